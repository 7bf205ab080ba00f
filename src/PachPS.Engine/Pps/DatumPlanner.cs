using System.Security.Cryptography;
using System.Text;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>One input of a planned datum: the matched path and every file under it.</summary>
internal sealed record PlannedInput(string Name, string Repo, string Branch, string Commit, string Path, IReadOnlyList<TreeEntry> Files, string Hash)
{
    /// <summary>The input's empty_files: its files are laid out empty for the command.</summary>
    public bool EmptyFiles { get; init; }
    /// <summary>The input's lazy: its files appear without being copied where the executor can do that.</summary>
    public bool Lazy { get; init; }
    /// <summary>The input's s3: the datum reads it through its S3 endpoint, not from files.</summary>
    public bool S3 { get; init; }
}

/// <summary>A datum to run: its inputs and the hash that decides whether an earlier result can be reused.</summary>
internal sealed record PlannedDatum(string Hash, IReadOnlyList<PlannedInput> Inputs)
{
    /// <summary>Datum-level environment, such as PACH_DATUM_&lt;name&gt;_JOIN_ON.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
}

/// <summary>The head commit (and its tree root) an input reads.</summary>
internal sealed record InputHead(string Commit, string? Root);

/// <summary>
/// Turns a pipeline's input into datums: each pfs glob match (file or directory, with its whole subtree) is one
/// datum; cross multiplies, union concatenates. A datum's hash covers the input names, paths and content hashes,
/// the transform and the salt, so an unchanged datum is recognised in the next job.
/// </summary>
internal static class DatumPlanner
{
    public static List<PlannedDatum> Plan(PipelineSpec spec, string salt, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        var transformKey = string.Join("\u0001", spec.Transform.Cmd) + "\u0002" + string.Join("\u0001", spec.Transform.Stdin) + "\u0002" +
            string.Join("\u0001", spec.Transform.Env.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + "=" + e.Value)) + "\u0002" +
            spec.Transform.Image + "\u0002" + spec.Transform.WorkingDir;
        // Union inputs may share a name: two of them holding the same path with the same content are the same datum.
        return Expand(spec.Input, tree, heads)
            .Select(c => new PlannedDatum(DatumHash(salt, transformKey, c.Inputs), c.Inputs) { Env = c.Env })
            .DistinctBy(d => d.Hash, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>A datum being assembled: its inputs and datum-level environment.</summary>
    private sealed record Candidate(List<PlannedInput> Inputs, Dictionary<string, string> Env)
    {
        public static Candidate Of(PlannedInput input) => new([input], new Dictionary<string, string>(StringComparer.Ordinal));

        public Candidate Plus(Candidate other) =>
            new([.. Inputs, .. other.Inputs], new Dictionary<string, string>(Env.Concat(other.Env), StringComparer.Ordinal));
    }

    private static List<Candidate> Expand(InputSpec input, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        switch (input)
        {
            case PfsInputSpec pfs:
                return Matches(pfs, tree, heads(pfs)).Select(m => Candidate.Of(m.Input)).ToList();
            case UnionInputSpec union:
                return union.Inputs.SelectMany(i => Expand(i, tree, heads)).ToList();
            case CrossInputSpec cross:
                var result = new List<Candidate> { new([], new Dictionary<string, string>(StringComparer.Ordinal)) };
                foreach (var child in cross.Inputs)
                {
                    var options = Expand(child, tree, heads);
                    result = result.SelectMany(prefix => options.Select(prefix.Plus)).ToList();
                }
                return result;
            case JoinInputSpec join:
                return Join(join, tree, heads);
            case GroupInputSpec group:
                return Group(group, tree, heads);
            case NoInputSpec:
                return [];
            default:
                throw new InvalidOperationException("Unknown input type " + input.GetType().Name);
        }
    }

    /// <summary>
    /// Every key present in all inputs gives one datum per combination of the matching nodes; a key that some inputs
    /// lack gives datums only when an outer_join input has it, holding only the outer inputs' nodes.
    /// </summary>
    private static List<Candidate> Join(JoinInputSpec join, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        var inputs = join.Inputs.Cast<PfsInputSpec>().ToList();
        var byInput = inputs.Select(i => Matches(i, tree, heads(i)).GroupBy(m => Key(i.JoinOn!, m.Match), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(m => m.Input).ToList(), StringComparer.Ordinal)).ToList();
        var keys = byInput.SelectMany(d => d.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var result = new List<Candidate>();
        foreach (var key in keys)
        {
            var everywhere = byInput.All(d => d.ContainsKey(key));
            var taking = Enumerable.Range(0, inputs.Count)
                .Where(i => byInput[i].ContainsKey(key) && (everywhere || inputs[i].OuterJoin)).ToList();
            if (taking.Count == 0 || (!everywhere && !taking.Any(i => inputs[i].OuterJoin))) continue;
            var combos = new List<Candidate> { new([], new Dictionary<string, string>(StringComparer.Ordinal)) };
            foreach (var i in taking)
            {
                var nodes = byInput[i][key];
                combos = combos.SelectMany(prefix => nodes.Select(n => prefix.Plus(Candidate.Of(n)))).ToList();
            }
            foreach (var c in combos)
            {
                foreach (var i in taking) c.Env[$"PACH_DATUM_{inputs[i].Name}_JOIN_ON"] = key;
                result.Add(c);
            }
        }
        return result;
    }

    /// <summary>Every node of every input whose group_by key is the same forms one datum.</summary>
    private static List<Candidate> Group(GroupInputSpec group, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        var members = new SortedDictionary<string, Candidate>(StringComparer.Ordinal);
        foreach (var input in group.Inputs.Cast<PfsInputSpec>())
        {
            foreach (var (node, match) in Matches(input, tree, heads(input)))
            {
                var key = Key(input.GroupBy!, match);
                if (!members.TryGetValue(key, out var c)) members[key] = c = new Candidate([], new Dictionary<string, string>(StringComparer.Ordinal));
                c.Inputs.Add(node);
                c.Env[$"PACH_DATUM_{input.Name}_GROUP_BY"] = key;
            }
        }
        return [.. members.Values];
    }

    /// <summary>Expands "$1", "$2$1", ... with the glob's capture groups.</summary>
    private static string Key(string template, System.Text.RegularExpressions.Match match) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\$(\d+)", m =>
        {
            var n = int.Parse(m.Groups[1].Value);
            return n < match.Groups.Count ? match.Groups[n].Value : "";
        });

    private static IEnumerable<(PlannedInput Input, System.Text.RegularExpressions.Match Match)> Matches(PfsInputSpec pfs, PathTree tree, InputHead head)
    {
        var glob = new Glob(pfs.Glob);
        if (glob.Pattern == "/")
        {
            var all = tree.All(head.Root).ToList();
            if (all.Count > 0) yield return (Input(pfs, head, "/", all), glob.Match("/"));
            yield break;
        }
        // Files first, then each directory's subtree from the same ordered walk.
        var files = tree.All(head.Root).ToList();
        var dirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
            for (var p = Names.Parent(f.Path); p.Length > 1; p = Names.Parent(p)) dirs.Add(p);
        var matches = files.Select(f => f.Path).Concat(dirs).Select(p => (Path: p, Match: glob.Match(p))).Where(m => m.Match.Success)
            .OrderBy(m => m.Path, StringComparer.Ordinal);
        foreach (var (path, match) in matches) yield return (Input(pfs, head, path, Subtree(files, path, dirs.Contains(path))), match);
    }

    // files is in ordinal path order, so a path's subtree is one contiguous run found by binary search.
    private static List<TreeEntry> Subtree(List<TreeEntry> files, string path, bool isDir)
    {
        var prefix = isDir ? path + "/" : path;
        int lo = 0, hi = files.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (string.CompareOrdinal(files[mid].Path, prefix) < 0) lo = mid + 1; else hi = mid;
        }
        var result = new List<TreeEntry>();
        for (var i = lo; i < files.Count && (isDir ? files[i].Path.StartsWith(prefix, StringComparison.Ordinal) : files[i].Path == path); i++)
            result.Add(files[i]);
        return result;
    }

    private static PlannedInput Input(PfsInputSpec pfs, InputHead head, string path, List<TreeEntry> files)
    {
        var sb = new StringBuilder().Append(pfs.Name).Append('\0').Append(path).Append('\0');
        foreach (var f in files) sb.Append(f.Path).Append('\0').Append(f.Content.Hash).Append('\0');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
        return new PlannedInput(pfs.Name, pfs.Repo, pfs.Branch, head.Commit, path, files, hash) { EmptyFiles = pfs.EmptyFiles, Lazy = pfs.Lazy, S3 = pfs.S3 };
    }

    private static string DatumHash(string salt, string transformKey, IReadOnlyList<PlannedInput> inputs)
    {
        var sb = new StringBuilder().Append(salt).Append('\0').Append(transformKey).Append('\0');
        foreach (var i in inputs) sb.Append(i.Hash).Append('\0');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
