using System.Reflection;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>Pps learns of finished commits from Pfs's durable queue, outside the transaction that finished them.</summary>
public class TriggerQueueTests
{
    [Fact]
    public async Task ACommitWhoseListenerNeverHeardOfItTriggersItsJobWhenTheStoreIsNextOpened()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "a");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "copy" }, "input": { "pfs": { "repo": "in", "glob": "/*" } }, "transform": { "cmd": [ "sh", "-c", "cp /pfs/in/* /pfs/out/" ] } }
            """));
        await t.Store.Pps.WaitCommitAsync("in", "master", TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Single(t.Store.Pps.ListJobs("copy"));

        // As if the process died between finishing the commit and telling Pps: nobody hears the event.
        typeof(PfsService).GetField(nameof(PfsService.CommitFinished), BindingFlags.Instance | BindingFlags.NonPublic)!.SetValue(t.Pfs, null);
        t.Put("in", "/b", "b");
        Assert.Single(t.Store.Pps.ListJobs("copy"));

        t.Reopen();
        var jobs = t.Store.Pps.ListJobs("copy");
        Assert.Equal(2, jobs.Count);
        var job = await t.Store.Pps.WaitJobAsync(jobs[0].JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(["/a", "/b"], t.Pfs.ListFiles("copy", "master").Select(f => f.Path));
        // Handled once: opening again creates no further job.
        t.Reopen();
        Assert.Equal(2, t.Store.Pps.ListJobs("copy").Count);
    }
}
