using CsCheck;
using LiteDB;
using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>
/// Issue 19 item 5: CommitRef.Parse and CommitResolver.Resolve against a model of a generated history. The history is
/// simulated step by step (commits, new branches, head moves, tags, a minute apart) and written as the engine writes
/// it; the model answers from the simulation's own timeline, not from the stored head moves.
/// </summary>
[Collection(PropertyCollection.Name)]
public class CommitRefPropertyTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The store's mapper settings; one mapper for the run (building its type maps is most of a small test's time).</summary>
    private static readonly BsonMapper Mapper = new() { EmptyStringToNull = false, TrimWhitespace = false };

    // Branch and tag names never coincide (the engine refuses that), but some look like commit id prefixes.
    private static readonly string[] BranchNames = ["master", "dev", "abab"];
    private static readonly string[] TagNames = ["v1", "aaab", "v2"];
    // Few id prefixes, so 4-character prefixes are often shared by several commits.
    private static readonly string[] IdPrefixes = ["aaaa", "aaab", "abab", "abba"];

    /// <summary>One step of a history: what it does and two numbers choosing its operands.</summary>
    private sealed record Step(int Kind, int A, int B);

    private sealed class History
    {
        public List<string> Commits { get; } = [];
        public Dictionary<string, string?> Parent { get; } = new();
        public Dictionary<string, DateTime> Created { get; } = new();
        /// <summary>Every head a branch had, from when: the model's answer to branch@{time}.</summary>
        public Dictionary<string, List<(DateTime At, string? Head)>> Heads { get; } = new();
        public Dictionary<string, string> Tags { get; } = new();

        public string? Head(string branch) => Heads[branch][^1].Head;
    }

    /// <summary>Runs the steps into both a fresh in-memory database (as the engine writes) and the model.</summary>
    private static (LiteDatabase Db, History Model) Simulate(IEnumerable<Step> steps)
    {
        var db = new LiteDatabase(new MemoryStream(), Mapper);
        var model = new History();
        db.Repos().Insert(new RepoDoc { Name = "r", Created = Start });
        var now = Start;
        void CreateBranch(string name, string? head)
        {
            var doc = new BranchDoc { Id = BranchDoc.Key("r", name), Repo = "r", Name = name, Head = head, Created = now };
            db.Branches().Insert(doc);
            HeadHistory.Start(db, doc);
            model.Created[name] = now;
            model.Heads[name] = [(now, head)];
        }
        void MoveBranch(string name, string? head, string cause)
        {
            var doc = db.Branches().FindById(BranchDoc.Key("r", name));
            HeadHistory.Move(db, doc, head, cause, now);
            db.Branches().Update(doc);
            model.Heads[name].Add((now, head));
        }
        CreateBranch("master", null);
        foreach (var step in steps)
        {
            now = now.AddMinutes(1);
            var branches = model.Heads.Keys.Order(StringComparer.Ordinal).ToList();
            var branch = branches[step.A % branches.Count];
            switch (step.Kind)
            {
                case 0:
                    var id = IdPrefixes[step.B % IdPrefixes.Length] + model.Commits.Count.ToString("x").PadLeft(Ids.FullLength - 4, '0');
                    var parent = model.Head(branch);
                    db.Commits().Insert(new CommitDoc { Id = id, Repo = "r", Branch = branch, Parent = parent, Started = now, Finished = now });
                    model.Commits.Add(id);
                    model.Parent[id] = parent;
                    MoveBranch(branch, id, "commit");
                    break;
                case 1 when BranchNames[step.B % BranchNames.Length] is var name && !model.Heads.ContainsKey(name):
                    CreateBranch(name, model.Head(branch));
                    break;
                case 2 when model.Commits.Count > 0:
                    MoveBranch(branch, model.Commits[step.B % model.Commits.Count], "set");
                    break;
                case 3 when model.Commits.Count > 0 && TagNames[step.A % TagNames.Length] is var tag && !model.Tags.ContainsKey(tag):
                    var tagged = model.Commits[step.B % model.Commits.Count];
                    db.Tags().Insert(new TagDoc { Id = TagDoc.Key("r", tag), Repo = "r", Name = tag, Commit = tagged, Created = now });
                    model.Tags[tag] = tagged;
                    break;
            }
        }
        return (db, model);
    }

    /// <summary>A reference as parts: the model reads the parts, the engine the text they make.</summary>
    private sealed record Reference(string Base, int? AtMinutes, IReadOnlyList<int> Steps, int? FromOldest)
    {
        /// <summary>0 is '^', n &gt; 0 is '~n'.</summary>
        public string Text =>
            Base + (AtMinutes is { } m ? "@{" + Start.AddMinutes(m).AddSeconds(m % 2 == 0 ? 0 : 30).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) + "}" : "")
            + string.Concat(Steps.Select(s => s == 0 ? "^" : "~" + s)) + (FromOldest is { } n ? "." + n : "");
        public int Ancestors => Steps.Sum(s => s == 0 ? 1 : s);
    }

    /// <summary>
    /// What a reference names, from the timeline: the base is a branch (its head; with @{time}, the head it had then, and
    /// nothing before it existed), a tag, or the commit whose id it is or uniquely starts with (4 to 31 hex digits). A
    /// name that is a branch or tag and also names a commit is AmbiguousReference; a prefix of two commits is
    /// AmbiguousCommit. Then '.N' counts from the oldest commit of the base's ancestry, and '^'/'~N' go back from there.
    /// Returns the commit id, or the error id (any "not found" as NotFound).
    /// </summary>
    private static string Model(History h, Reference r)
    {
        var name = r.Base;
        var isHex = name.All(ch => ch is >= '0' and <= '9' or >= 'a' and <= 'f');
        var commits = name.Length == Ids.FullLength ? h.Commits.Where(c => c == name).ToList()
            : name.Length >= Ids.MinPrefixLength && isHex ? h.Commits.Where(c => c.StartsWith(name, StringComparison.Ordinal)).ToList() : [];
        var isBranch = h.Heads.ContainsKey(name);
        var isTag = h.Tags.ContainsKey(name);
        string? commit;
        if (r.AtMinutes is { } minutes)
        {
            if (!isBranch) return isTag || commits.Count > 0 ? "InvalidCommitReference" : "NotFound";
            var at = Start.AddMinutes(minutes).AddSeconds(minutes % 2 == 0 ? 0 : 30);
            if (at < h.Created[name]) return "NotFound";
            commit = h.Heads[name].Last(x => x.At <= at).Head;
        }
        else
        {
            if ((isBranch || isTag) && (isBranch ? 1 : 0) + (isTag ? 1 : 0) + commits.Count > 1) return "AmbiguousReference";
            if (commits.Count > 1) return "AmbiguousCommit";
            commit = isBranch ? h.Head(name) : isTag ? h.Tags[name] : commits.SingleOrDefault();
        }
        if (commit is null) return "NotFound";
        if (r.FromOldest is { } n)
        {
            var chain = new List<string>();
            for (var c = commit; c is not null; c = h.Parent[c]) chain.Insert(0, c);
            if (n > chain.Count) return "NotFound";
            commit = chain[n - 1];
        }
        for (var i = 0; i < r.Ancestors; i++)
        {
            commit = h.Parent[commit!];
            if (commit is null) return "NotFound";
        }
        return commit!;
    }

    private static string Engine(LiteDatabase db, string text)
    {
        try { return CommitResolver.Resolve(db, "r", text).Id; }
        catch (PachException ex) { return ex.Kind == PachErrorKind.NotFound ? "NotFound" : ex.ErrorId; }
    }

    [Fact]
    public void ReferencesNameWhatTheTimelineSays()
    {
        var steps = Gen.Select(Gen.Frequency((5, Gen.Const(0)), (2, Gen.Const(1)), (2, Gen.Const(2)), (1, Gen.Const(3))), Gen.Int[0, 9], Gen.Int[0, 99])
            .Select((kind, a, b) => new Step(kind, a, b)).List[0, 14];
        // The base: a branch or tag name, a commit id prefix of 3 to 32 characters (chosen once the history exists), or a miss.
        var baseChoice = Gen.Select(Gen.Int[0, 5], Gen.Int[0, 99], Gen.Int[3, Ids.FullLength]);
        var suffix = Gen.Select(Gen.Frequency((1, Gen.Const((int?)null)), (1, Gen.Int[-1, 16].Select(m => (int?)m))),
            Gen.Int[0, 3].List[0, 3], Gen.Frequency((3, Gen.Const((int?)null)), (1, Gen.Int[1, 6].Select(n => (int?)n))));
        Gen.Select(steps, baseChoice, suffix).Sample((history, choice, rest) =>
        {
            var (db, model) = Simulate(history);
            using var _ = db;
            var (kind, pick, length) = choice;
            var name = kind switch
            {
                0 or 5 => BranchNames[pick % BranchNames.Length],
                1 => TagNames[pick % TagNames.Length],
                2 or 3 when model.Commits.Count > 0 => model.Commits[pick % model.Commits.Count][..length],
                _ => IdPrefixes[pick % IdPrefixes.Length],
            };
            var reference = new Reference(name, rest.Item1, rest.Item2, rest.Item3);
            // The parser reads back the parts the text was made of.
            var parsed = CommitRef.Parse(reference.Text);
            Assert.Equal((reference.Base, reference.Ancestors, reference.FromOldest), (parsed.Base, parsed.Ancestors, parsed.FromOldest));
            Assert.Equal(reference.AtMinutes is null, parsed.At is null);
            Assert.Equal(Model(model, reference), Engine(db, reference.Text));
        }, iter: 500, threads: 1, print: t => $"{t.Item1.Count} steps: {string.Join(" ", t.Item1)}; base {t.Item2}; suffix {t.Item3}");
    }
}
