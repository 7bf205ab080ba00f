using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

public class IntegrityCheckTests
{
    [Fact]
    public void ATreeThatAlreadyHoldsAPathAsFileAndFolderIsAFinding()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("old");
        t.Put("old", "/x", "A");
        var head = t.Pfs.GetCommit("old", "master");
        // What a job could write before every commit went through CommitWriter: /x and /x/y in one tree.
        var entry = t.Pfs.Entries("old", "master").Single();
        t.Store.Meta.Write(db =>
        {
            var commit = db.Commits().FindById(head.Commit);
            commit.Root = PathTree.In(db).Apply(commit.Root, [new("/x/y", entry with { Path = "/x/y" })]);
            db.Commits().Update(commit);
        });
        // The size recorded no longer matches the tree either (a second finding, SizeMismatch).
        var finding = Assert.Single(t.Store.Check(), f => f.Kind != "SizeMismatch");
        Assert.Equal("PathConflict", finding.Kind);
        Assert.Equal(head.Commit, finding.Commit);
        Assert.Contains("'/x/y'", finding.Message);
    }

    [Fact]
    public async Task ACheckBesideRunningJobsAndNewCommitsReportsNothing()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", Enumerable.Range(0, 200).Select(i => TempStore.Text($"/f{i:000}", $"{i}\n")).ToList());
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "copy" }, "input": { "pfs": { "repo": "in", "glob": "/*" } },
              "parallelism_spec": { "constant": 2 }, "transform": { "cmd": [ "sh", "-c", "cp /pfs/in/* /pfs/out/" ] } }
            """));
        var first = t.Store.Pps.ListJobs("copy")[0].JobId;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                t.Put("in", $"/new{i}", "n");
                t.Pfs.CreateRepo($"side{i}");
                t.Put($"side{i}", "/a", "a");
            }
        });
        var checks = 0;
        var findings = new List<IntegrityFinding>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && (checks < 5 || !writer.IsCompleted || !t.Store.Pps.GetJob(first).IsFinished))
        {
            findings.AddRange(t.Store.Check());
            checks++;
        }
        await writer;
        Assert.Empty(findings);
        Assert.True(checks >= 5);
        await t.Store.Pps.WaitCommitAsync("in", "master", TimeSpan.FromSeconds(120), CancellationToken.None);
        Assert.Empty(t.Store.Check());
    }
}
