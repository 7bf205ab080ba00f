using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// Issue 17 items 4 and 5 seen from a pipeline: a moved head, a merge and a revert on an input repo run a job over the
/// new head like any commit; moving a head back to commits an earlier job read reruns no datum.
/// </summary>
public class MovedHeadJobTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static PipelineSpec Copy() => PipelineSpec.Parse("""
        { "pipeline": { "name": "p" }, "transform": { "cmd": [ "sh" ], "stdin": [ "cp $in /pfs/out/" ] },
          "input": { "pfs": { "repo": "in", "glob": "/*" } } }
        """);

    private static async Task<JobInfo> Newest(TempStore t) =>
        await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);

    [Fact]
    public async Task MovingAHeadRunsAJobAndMovingItBackReusesTheEarlierResults()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        var first = t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Store.Pps.CreatePipeline(Copy());
        var job1 = await Newest(t);
        Assert.Equal((JobState.Success, 2, 0), (job1.State, job1.Processed, job1.Skipped));
        var second = t.Pfs.PutFiles("in", "master", [TempStore.Text("/b", "2b"), TempStore.Text("/c", "3")]);
        var job2 = await Newest(t);
        Assert.Equal((2, 1), (job2.Processed, job2.Skipped));

        // Back to the first commit: a job runs over it, but the job over that commit already made every datum's result.
        t.Pfs.SetBranchHead("in", "master", first.Commit[..10]);
        var job3 = await Newest(t);
        Assert.NotEqual(job2.JobId, job3.JobId);
        Assert.Equal((JobState.Success, first.Commit, 0, 2), (job3.State, job3.Inputs[0].Commit, job3.Processed, job3.Skipped));
        Assert.All(t.Store.Pps.ListDatums(job3.JobId), d => Assert.Equal(DatumState.Skipped, d.State));
        Assert.Equal(["/a", "/b"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));
        Assert.Equal("2", t.Read("p", "master", "/b"));
        Assert.Contains(t.Store.Provenance.GetProvenance("p", "master"), p => p.Commit == first.Commit);
        Assert.DoesNotContain(t.Store.Provenance.GetProvenance("p", "master"), p => p.Commit == second.Commit);

        // Forward again: the job over the second commit's results are reused too.
        t.Pfs.SetBranchHead("in", "master", second.Commit);
        var job4 = await Newest(t);
        Assert.Equal((0, 3), (job4.Processed, job4.Skipped));
        Assert.Equal("2b", t.Read("p", "master", "/b"));
        // A move to where the head is changes nothing and runs nothing.
        t.Pfs.SetBranchHead("in", "master", "master");
        Assert.Equal(job4.JobId, t.Store.Pps.ListJobs("p")[0].JobId);
    }

    [Fact]
    public async Task AMergeAndARevertOnAnInputRepoRunJobsOverTheNewHeadWithTruthfulProvenance()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        t.Pfs.CreateBranch("in", "dev", "master");
        t.Store.Pps.CreatePipeline(Copy());
        await Newest(t);
        var onDev = t.Put("in", "/d", "dev", "dev");
        t.Put("in", "/m", "master");
        await Newest(t);
        Assert.DoesNotContain(t.Store.Pps.ListJobs("p"), j => j.Inputs[0].Commit == onDev.Commit); // the pipeline reads master only

        var merge = t.Pfs.Merge("in", "dev", "master");
        var job = await Newest(t);
        Assert.Equal((JobState.Success, merge.Commit, 1, 2), (job.State, job.Inputs[0].Commit, job.Processed, job.Skipped));
        Assert.Equal(["/a", "/d", "/m"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));
        var provenance = t.Store.Provenance.GetProvenance("p", "master").Where(p => p.Kind != ProvenanceKind.Spec).ToList();
        Assert.Equal([("in", merge.Commit!)], provenance.Select(p => (p.Repo, p.Commit)));
        Assert.Empty(t.Pfs.GetCommit("in", "master").Provenance); // a user's merge on an input repo derives from nothing

        // Reverting the merge commit (against its first parent, master's previous head) takes /d out again.
        var revert = t.Pfs.RevertCommit("in", "master");
        Assert.Equal(("master", merge.Commit), (revert.Branch, revert.Parent));
        var afterRevert = await Newest(t);
        Assert.Equal((t.Pfs.GetBranch("in", "master").Head, 0, 2), (afterRevert.Inputs[0].Commit, afterRevert.Processed, afterRevert.Skipped));
        Assert.Equal(["/a", "/m"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));
    }
}
