using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;

using static PachPS.Tests.Unit.TempStore;

namespace PachPS.Tests.Unit;

/// <summary>Squash and retention (issue 15, item 2): history shrinks, content and provenance stay truthful.</summary>
public class SquashAndRetentionTests
{
    private const int LargeFileBytes = 3 << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>Every file of a commit with its bytes, by path.</summary>
    private static SortedDictionary<string, string> Snapshot(TempStore t, string repo, string commit)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in t.Pfs.Entries(repo, commit))
        {
            using var stream = t.Store.Pfs.OpenContent(entry.Content);
            using var sha = System.Security.Cryptography.SHA256.Create();
            files[entry.Path] = Convert.ToHexString(sha.ComputeHash(stream));
        }
        return files;
    }

    /// <summary>Everything a refused squash or policy must leave as it was: commits (with parents and provenance), branches, tags, policies.</summary>
    private static string State(TempStore t) => string.Join("\n", t.Pfs.ListRepos().SelectMany(r =>
        t.Pfs.ListCommits(r.Repo).Select(c => $"{c.Repo} {c.Commit} {c.Parent} {string.Join(",", c.Provenance)} {string.Join(",", c.SquashedFrom)} {string.Join(",", c.Tags)}")
            .Concat(t.Pfs.ListBranches(r.Repo).Select(b => $"{b.Repo}@{b.Branch}={b.Head}"))
            .Concat(t.Pfs.GetRetention(r.Repo).Select(p => p.ToString()))));

    private static string Error(Action action) => Assert.Throws<PachException>(action).ErrorId;

    /// <summary>Five commits on master: adds, a change, a removal; returns their ids, oldest first.</summary>
    private static List<string> FiveCommits(TempStore t, string repo = "r")
    {
        t.Pfs.CreateRepo(repo);
        var ids = new List<string>
        {
            t.Pfs.PutFiles(repo, "master", [TempStore.Text("/a.txt", "a1"), TempStore.Text("/keep/k.txt", "k")]).Commit,
            t.Pfs.PutFiles(repo, "master", [TempStore.Text("/b.txt", "b2"), TempStore.Text("/a.txt", "a2"), Bytes("/big.bin", RandomBytes(LargeFileBytes, 2))]).Commit,
            t.Pfs.PutFiles(repo, "master", [TempStore.Text("/c.txt", "c3")]).Commit,
            t.Pfs.DeleteFiles(repo, "master", ["/keep/k.txt"]).Commit,
            t.Pfs.PutFiles(repo, "master", [TempStore.Text("/a.txt", "a5")]).Commit,
        };
        return ids;
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void SquashFoldsAMidHistoryCommitIntoItsChildAndEveryLaterCommitStaysByteIdentical(string backend)
    {
        using var t = new TempStore(backend);
        var ids = FiveCommits(t);
        var before = ids.Skip(2).ToDictionary(id => id, id => Snapshot(t, "r", id));

        var result = t.Pfs.SquashCommit("r", "master~3");

        Assert.Equal((ids[1], ids[2], ids[0], false), (result.Squashed, result.Commit, result.Parent, result.DryRun));
        Assert.Equal([ids[4], ids[3], ids[2], ids[0]], t.Pfs.ListCommits("r", "master").Select(c => c.Commit));
        Assert.Equal(4, t.Pfs.ListCommits("r").Count);
        foreach (var (id, files) in before) Assert.Equal(files, Snapshot(t, "r", id));
        // The squashed commit's changes are in its child: the file it added, the change it made.
        Assert.Equal("b2", t.Read("r", ids[2], "/b.txt"));
        Assert.Equal("a2", t.Read("r", ids[2], "/a.txt"));
        Assert.Equal(RandomBytes(LargeFileBytes, 2), ReadAll(t, "r", ids[2], "/big.bin"));
        var child = t.Pfs.GetCommit("r", ids[2]);
        Assert.Equal(ids[0], child.Parent);
        Assert.Equal([ids[1]], child.SquashedFrom);
        // The gone id says where its data went; the files it wrote name the commit that holds them now.
        var gone = Assert.Throws<PachException>(() => t.Pfs.GetCommit("r", ids[1]));
        Assert.Equal("CommitSquashed", gone.ErrorId);
        Assert.Contains(ids[2], gone.Message);
        Assert.Equal(ids[2], t.Pfs.ListFiles("r", "master", "/b.txt").Single().CommittedIn);
        Assert.Equal([ids[2]], t.Pfs.FileHistory("r", "master", "/b.txt").Select(f => f.Commit));
        Assert.Equal([ids[4], ids[2], ids[0]], t.Pfs.FileHistory("r", "master", "/a.txt").Select(f => f.Commit));
        Assert.Equal("a1", t.Read("r", "master~3", "/a.txt"));
        // The head as it was while the squashed commit was it: that version is gone, and the error says where its changes went.
        var squashedId = ids[1];
        var movedAt = t.Store.Meta.Read(db => db.HeadMoves().FindAll().First(m => m.Commit == squashedId).Time).ToUniversalTime();
        var then = Assert.Throws<PachException>(() => t.Pfs.GetCommit("r", $"master@{{{movedAt:yyyy-MM-dd HH:mm:ss.fffffff}Z}}"));
        Assert.Equal(("CommitSquashed", true), (then.ErrorId, then.Message.Contains(ids[2])));

        // Squashing the survivor in turn keeps the whole lineage on the next one.
        t.Pfs.SquashCommit("r", ids[2]);
        Assert.Equal(Sorted(ids[1], ids[2]), Sorted([.. t.Pfs.GetCommit("r", ids[3]).SquashedFrom]));
        Assert.Equal(ids[3], t.Pfs.ListFiles("r", "master", "/b.txt").Single().CommittedIn);
        Assert.Equal(before[ids[3]], Snapshot(t, "r", ids[3]));
        Assert.Equal(before[ids[4]], Snapshot(t, "r", ids[4]));
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void SquashingTheFirstCommitMakesItsChildTheFirst()
    {
        using var t = new TempStore();
        var ids = FiveCommits(t);
        var files = Snapshot(t, "r", ids[1]);

        t.Pfs.SquashCommit("r", ids[0]);

        Assert.Null(t.Pfs.GetCommit("r", ids[1]).Parent);
        Assert.Equal(files, Snapshot(t, "r", ids[1]));
        Assert.Equal("k", t.Read("r", ids[1], "/keep/k.txt"));
        Assert.Equal(4, t.Pfs.ListCommits("r", "master").Count);
    }

    [Fact]
    public void RefusedSquashesNameWhyAndChangeNothing()
    {
        using var t = new TempStore();
        var ids = FiveCommits(t);
        t.Pfs.CreateTag("r", "v3", ids[2]);
        t.Pfs.CreateBranch("r", "dev", ids[1]);
        t.Pfs.CreateBranch("r", "fork", ids[0]);
        t.Put("r", "/f.txt", "forked", branch: "fork");
        var open = t.Pfs.StartCommit("r", "master");
        var state = State(t);

        Assert.Equal("CommitIsBranchHead", Error(() => t.Pfs.SquashCommit("r", "dev")));
        Assert.Equal("CommitIsBranchHead", Error(() => t.Pfs.SquashCommit("r", ids[4])));
        Assert.Equal("CommitHasSeveralChildren", Error(() => t.Pfs.SquashCommit("r", ids[0])));
        Assert.Equal("CommitTagged", Error(() => t.Pfs.SquashCommit("r", "v3")));
        Assert.Equal("CommitNotFinished", Error(() => t.Pfs.SquashCommit("r", open.Commit)));
        Assert.Equal("RepoNotFound", Error(() => t.Pfs.SquashCommit("nope", "master~1")));
        Assert.Equal("CommitNotFound", Error(() => t.Pfs.SquashCommit("r", "master~9")));
        Assert.Equal(state, State(t));

        var dry = t.Pfs.SquashCommit("r", ids[3], dryRun: true);
        Assert.True(dry.DryRun);
        Assert.Equal(ids[4], dry.Commit);
        Assert.Equal(state, State(t));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task SquashingAnInputCommitNeedsForceThenRepointsProvenanceAndLaterJobsStillSkipUnchangedDatums(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "out" }, "input": { "pfs": { "repo": "in", "glob": "/*" } },
              "transform": { "cmd": [ "sh", "-c", "cp /pfs/in/* /pfs/out/" ] } }
            """));
        var inputs = new List<string>();
        var outputs = new List<string>();
        foreach (var (name, text) in new[] { ("/a", "alpha"), ("/c", "gamma"), ("/d", "delta") })
        {
            inputs.Add(t.Put("in", name, text).Commit);
            await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
            outputs.Add(t.Pfs.GetCommit("out", "master").Commit);
        }
        var state = State(t);

        var refused = Assert.Throws<PachException>(() => t.Pfs.SquashCommit("in", inputs[1]));
        Assert.Equal("CommitNeededByProvenance", refused.ErrorId);
        var needing = Assert.IsAssignableFrom<IEnumerable<string>>(refused.Target);
        Assert.Contains($"out@{outputs[1]}", needing);
        Assert.Equal(state, State(t));

        var squash = t.Pfs.SquashCommit("in", inputs[1], force: true);

        Assert.Contains($"out@{outputs[1]}", squash.Outputs);
        var entry = t.Store.Provenance.GetProvenance("out", outputs[1]).Single(e => e.Kind == ProvenanceKind.Input);
        Assert.Equal(inputs[2], entry.Commit);
        Assert.Equal([inputs[1]], entry.SquashedFrom);
        Assert.Contains(t.Pfs.GetCommit("out", outputs[1]).Commit, t.Store.Provenance.GetSubvenance("in", inputs[2]).Select(c => c.Commit));
        // File lineage of the output still finds the input file, where it lives now.
        var lineage = t.Store.Provenance.GetFileProvenance("out", outputs[1], "/c").Single();
        Assert.Equal((inputs[2], "/c"), (lineage.Commit, lineage.Path));
        // The output commits themselves are untouched.
        Assert.Equal("gamma", t.Read("out", outputs[1], "/c"));

        // A later job skips every datum that did not change: datums are known by content, not by commit.
        t.Put("in", "/e", "epsilon");
        await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
        var job = t.Store.Pps.ListJobs("out").OrderByDescending(j => j.Created).First();
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal((4, 3, 1), (job.Total, job.Skipped, job.Processed));
        Assert.Equal("epsilon", t.Read("out", "master", "/e"));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void RetentionAppliedByACollectionSquashesTheOldCommitsAndTheCollectionFreesWhatOnlyTheyUsed(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("raw");
        var ids = Enumerable.Range(1, 6)
            .Select(i => t.Pfs.PutFiles("raw", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 100 + i)), TempStore.Text($"/n{i}.txt", $"n{i}")]).Commit)
            .ToList();
        var kept = ids.Skip(4).ToDictionary(id => id, id => Snapshot(t, "raw", id));
        t.Pfs.SetRetention("raw", "master", keepCommits: 2);
        var stored = t.Store.Objects.Usage().Bytes;

        var plan = t.Store.Collect(whatIf: true);
        Assert.Equal(4, plan.CommitsSquashed);
        Assert.Equal(6, t.Pfs.ListCommits("raw", "master").Count);

        var report = t.Store.Collect(whatIf: false);

        Assert.Equal(4, report.CommitsSquashed);
        Assert.Equal([ids[5], ids[4]], t.Pfs.ListCommits("raw", "master").Select(c => c.Commit));
        var oldest = t.Pfs.GetCommit("raw", ids[4]);
        Assert.Null(oldest.Parent);
        Assert.Equal(Sorted([.. ids.Take(4)]), Sorted([.. oldest.SquashedFrom]));
        foreach (var (id, files) in kept) Assert.Equal(files, Snapshot(t, "raw", id));
        Assert.Equal("n1", t.Read("raw", "master", "/n1.txt"));
        var freed = stored - t.Store.Objects.Usage().Bytes;
        Assert.True(freed >= 4L * LargeFileBytes, $"freed {freed} bytes");
        Assert.Empty(t.Store.Check());
        Assert.Equal(0, t.Store.Collect(whatIf: false).CommitsSquashed);
    }

    [Fact]
    public void RetentionNeedsBothLimitsToLetACommitGoAndSkipsTaggedCommits()
    {
        using var t = new TempStore();
        var ids = FiveCommits(t);
        t.Pfs.CreateTag("r", "pinned", ids[1]);
        // The three oldest finished three days ago; the two newest now.
        t.Store.Meta.Write(db =>
        {
            foreach (var id in ids.Take(3))
            {
                var c = db.Commits().FindById(id);
                c.Finished = DateTime.UtcNow.AddDays(-3);
                db.Commits().Update(c);
            }
        });
        t.Pfs.SetRetention("r", "master", keepCommits: 1, keepDays: 2);

        var squashed = t.Store.ApplyRetention();

        // ids[0] and ids[2] are old and beyond the newest one; ids[1] is tagged; ids[3] is too new.
        Assert.Equal([ids[0], ids[2]], squashed.Select(s => s.Squashed));
        Assert.All(squashed, s => Assert.Equal("retention", s.Cause));
        Assert.Equal([ids[4], ids[3], ids[1]], t.Pfs.ListCommits("r", "master").Select(c => c.Commit));
        Assert.Null(t.Pfs.GetCommit("r", "pinned").Parent);
    }

    [Fact]
    public void RetentionPoliciesAreValidatedStoredReplacedAndRemoved()
    {
        using var t = new TempStore();
        FiveCommits(t);
        Assert.Equal("RetentionPolicyInvalid", Error(() => t.Pfs.SetRetention("r", "master", keepCommits: 0)));
        Assert.Equal("RetentionPolicyInvalid", Error(() => t.Pfs.SetRetention("r", "master", keepCommits: -3)));
        Assert.Equal("RetentionPolicyInvalid", Error(() => t.Pfs.SetRetention("r", "master", keepDays: -1)));
        Assert.Equal("RetentionPolicyInvalid", Error(() => t.Pfs.SetRetention("r", "master", keepDays: double.NaN)));
        Assert.Equal("RetentionPolicyInvalid", Error(() => t.Pfs.SetRetention("r", "master")));
        Assert.Equal("BranchNotFound", Error(() => t.Pfs.SetRetention("r", "nope", keepCommits: 3)));
        Assert.Equal("RepoNotFound", Error(() => t.Pfs.SetRetention("nope", "master", keepCommits: 3)));
        Assert.Empty(t.Pfs.GetRetention());

        t.Pfs.SetRetention("r", "master", keepCommits: 3);
        var policy = t.Pfs.SetRetention("r", "master", keepDays: 7.5);
        Assert.Equal((null, 7.5), (policy.KeepCommits, policy.KeepDays));
        Assert.Equal([policy with { Set = default }], t.Pfs.GetRetention("r", "master").Select(p => p with { Set = default }));
        Assert.Empty(t.Store.ApplyRetention()); // nothing is a week old

        t.Pfs.RemoveRetention("r", "master");
        Assert.Empty(t.Pfs.GetRetention("r"));
        Assert.Equal("RetentionNotFound", Error(() => t.Pfs.RemoveRetention("r", "master")));
        t.Pfs.CreateBranch("r", "dev", "master");
        t.Pfs.SetRetention("r", "dev", keepCommits: 1);
        t.Pfs.DeleteBranch("r", "dev");
        Assert.Empty(t.Pfs.GetRetention());
    }

    [Fact]
    public async Task RetentionRepointsTheProvenanceOfOutputsItSquashesAnInputOf()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "out" }, "input": { "pfs": { "repo": "in", "glob": "/*" } },
              "transform": { "cmd": [ "sh", "-c", "cp /pfs/in/* /pfs/out/" ] } }
            """));
        var inputs = new List<string>();
        var outputs = new List<string>();
        foreach (var name in new[] { "/a", "/b", "/c" })
        {
            inputs.Add(t.Put("in", name, name).Commit);
            await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
            outputs.Add(t.Pfs.GetCommit("out", "master").Commit);
        }
        t.Pfs.SetRetention("in", "master", keepCommits: 1);

        Assert.Equal(2, t.Store.Collect(whatIf: false).CommitsSquashed);

        var first = t.Store.Provenance.GetProvenance("out", outputs[0]).Single(e => e.Kind == ProvenanceKind.Input);
        var second = t.Store.Provenance.GetProvenance("out", outputs[1]).Single(e => e.Kind == ProvenanceKind.Input);
        Assert.Equal(inputs[2], first.Commit);
        Assert.Equal(Sorted(inputs[0], inputs[1]), Sorted([.. first.SquashedFrom]));
        Assert.Equal(inputs[2], second.Commit);
        Assert.Equal([inputs[1]], second.SquashedFrom);
        Assert.Equal("/a", t.Read("out", outputs[0], "/a"));
    }

    [Fact]
    public async Task ACommitARunningJobReadsIsNotSquashedAndRetentionTriesItAgainLater()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        var first = t.Put("in", "/a", "a").Commit;
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "slow" }, "input": { "pfs": { "repo": "in", "glob": "/" } }, "transform": { "cmd": [ "sleep", "60" ] } }
            """));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (t.Store.Pps.ListJobs("slow", JobState.Running).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Single(t.Store.Pps.ListJobs("slow", JobState.Running));
        var second = t.Put("in", "/b", "b").Commit;
        var head = t.Put("in", "/c", "c").Commit;
        t.Pfs.SetRetention("in", "master", keepCommits: 1);
        var state = State(t);

        // The running job reads the first commit, the job waiting for it the second: both stay for a later run.
        Assert.Equal("JobStillRunning", Error(() => t.Pfs.SquashCommit("in", first, force: true)));
        Assert.Empty(t.Store.ApplyRetention());
        Assert.Equal(state, State(t));

        foreach (var unfinished in t.Store.Pps.ListJobs("slow").Where(j => j.State is JobState.Running or JobState.Created)) t.Store.Pps.StopJob(unfinished.JobId);
        Assert.Equal([first, second], t.Store.ApplyRetention().Select(s => s.Squashed));
        Assert.Equal([head], t.Pfs.ListCommits("in", "master").Select(c => c.Commit));
    }

    [Fact]
    public async Task TheServerAppliesRetentionPoliciesOnItsIntervalAndServesSquashWithItsErrorIds()
    {
        using var server = new TestServer(retentionInterval: TimeSpan.FromMilliseconds(500));
        using var client = server.Connect();
        var files = client.Files;
        files.CreateRepo("r");
        var ids = Enumerable.Range(1, 4).Select(i => files.PutFiles("r", "master", [TempStore.Text($"/f{i}.txt", $"f{i}")]).Commit).ToList();
        Assert.Equal("CommitIsBranchHead", Error(() => files.SquashCommit("r", "master")));
        Assert.Equal("RetentionPolicyInvalid", Error(() => files.SetRetention("r", "master", keepCommits: 0)));
        var squash = files.SquashCommit("r", ids[1]);
        Assert.Equal((ids[1], ids[2]), (squash.Squashed, squash.Commit));

        files.SetRetention("r", "master", keepCommits: 2);
        Assert.Equal(2, files.GetRetention("r", "master").Single().KeepCommits);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (files.ListCommits("r", "master").Count > 2 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal([ids[3], ids[2]], files.ListCommits("r", "master").Select(c => c.Commit));
        Assert.Equal(Sorted(ids[0], ids[1]), Sorted([.. files.GetCommit("r", ids[2]).SquashedFrom]));
        Assert.Equal("f1", new StreamReader(files.OpenFile("r", "master", "/f1.txt").Content).ReadToEnd());
    }

    private static List<string> Sorted(params string[] ids) => ids.Order(StringComparer.Ordinal).ToList();

    private static byte[] ReadAll(TempStore t, string repo, string reference, string path)
    {
        var (_, stream) = t.Pfs.OpenFile(repo, reference, path);
        using (stream)
        using (var ms = new MemoryStream())
        {
            stream.CopyTo(ms);
            return ms.ToArray();
        }
    }
}
