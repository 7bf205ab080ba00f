using PachPS.Engine;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

public class StateMachineTests
{
    [Theory]
    [InlineData(JobState.Created, JobState.Running, true)]
    [InlineData(JobState.Running, JobState.Running, true)]
    [InlineData(JobState.Running, JobState.Success, true)]
    [InlineData(JobState.Created, JobState.Unrunnable, true)]
    [InlineData(JobState.Created, JobState.Success, false)]
    [InlineData(JobState.Success, JobState.Running, false)]
    [InlineData(JobState.Failure, JobState.Success, false)]
    [InlineData(JobState.Killed, JobState.Failure, false)]
    [InlineData(JobState.Unrunnable, JobState.Running, false)]
    [InlineData(JobState.Running, JobState.Unrunnable, false)]
    [InlineData(JobState.Running, JobState.Egressing, true)]
    [InlineData(JobState.Egressing, JobState.Egressing, true)]
    [InlineData(JobState.Egressing, JobState.Success, true)]
    [InlineData(JobState.Egressing, JobState.EgressFailed, true)]
    [InlineData(JobState.Egressing, JobState.Killed, true)]
    [InlineData(JobState.Egressing, JobState.Failure, false)]
    [InlineData(JobState.Egressing, JobState.Running, false)]
    [InlineData(JobState.Created, JobState.Egressing, false)]
    [InlineData(JobState.Running, JobState.EgressFailed, false)]
    [InlineData(JobState.EgressFailed, JobState.Egressing, false)]
    [InlineData(JobState.Running, JobState.StorageFull, true)]
    [InlineData(JobState.Created, JobState.StorageFull, true)]
    [InlineData(JobState.StorageFull, JobState.Running, true)]
    [InlineData(JobState.StorageFull, JobState.Killed, true)]
    [InlineData(JobState.StorageFull, JobState.Success, false)]
    [InlineData(JobState.Egressing, JobState.StorageFull, false)]
    [InlineData(JobState.Success, JobState.StorageFull, false)]
    [InlineData(JobState.EgressFailed, JobState.Success, false)]
    public void JobMoves(JobState from, JobState to, bool legal) => Assert.Equal(legal, StateMachines.CanMove(from, to));

    [Fact]
    public void EgressStatesAreTerminalOrUnfinishedAndKeepTheOutput()
    {
        Assert.False(JobState.Egressing.IsTerminal());
        Assert.True(JobState.EgressFailed.IsTerminal());
        Assert.Equal(["Created", "Running", "Egressing", "StorageFull"], StateMachines.Unfinished);
        Assert.False(JobState.StorageFull.IsTerminal()); // a job waiting for room is not finished: it resumes
        Assert.False(JobState.StorageFull.HasOutput());
        Assert.Equal([JobState.Success, JobState.Egressing, JobState.EgressFailed], Enum.GetValues<JobState>().Where(s => s.HasOutput()));
    }

    [Theory]
    [InlineData(DatumState.Pending, DatumState.Success, true)]
    [InlineData(DatumState.Pending, DatumState.Skipped, true)]
    [InlineData(DatumState.Success, DatumState.Pending, true)]
    [InlineData(DatumState.Success, DatumState.Failed, false)]
    [InlineData(DatumState.Failed, DatumState.Success, false)]
    [InlineData(DatumState.Skipped, DatumState.Running, false)]
    public void DatumMoves(DatumState from, DatumState to, bool legal) => Assert.Equal(legal, StateMachines.CanMove(from, to));

    [Fact]
    public void AnIllegalMoveIsRefusedAndChangesNothing()
    {
        var job = new JobDoc { Id = "0123456789abcdef0123456789abcdef", State = JobState.Success, Reason = "", Finished = new DateTime(2026, 1, 1) };
        var ex = Assert.Throws<PachException>(() => StateMachines.MoveTo(job, JobState.Running));
        Assert.Equal("JobStateTransitionInvalid", ex.ErrorId);
        Assert.Equal(JobState.Success, job.State);
        Assert.Null(job.Started);
        Assert.Equal(new DateTime(2026, 1, 1), job.Finished);
    }

    [Fact]
    public void MovesCarryTheirTimesAndRestarts()
    {
        var job = new JobDoc { Id = "j" };
        StateMachines.MoveTo(job, JobState.Running);
        var started = job.Started;
        Assert.NotNull(started);
        StateMachines.MoveTo(job, JobState.Running);
        Assert.Equal(1, job.Restarts);
        Assert.Equal(started, job.Started);
        StateMachines.MoveTo(job, JobState.Failure, "why");
        Assert.Equal("why", job.Reason);
        Assert.NotNull(job.Finished);
    }

    /// <summary>
    /// A store written by PachPS 0.1.0 (states stored as strings; tests/Unit/Fixtures/store-0.1.0, made by the module of
    /// commit 1b02e25: a succeeded copy pipeline, now paused; a failed one; an unrunnable one downstream of it) opens,
    /// reads back its states as enums, passes its integrity check and runs new work.
    /// </summary>
    [Fact]
    public async Task AStoreWrittenByTheEarlierVersionOpensAndWorks()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-fixture-" + Guid.NewGuid().ToString("N")[..12]);
        Fixtures.Copy("store-0.1.0", folder);
        try
        {
            using var store = PachStore.Open(folder);
            var jobs = store.Pps.ListJobs();
            Assert.Equal(JobState.Success, jobs.Single(j => j.Pipeline == "copy").State);
            Assert.Equal(JobState.Failure, jobs.Single(j => j.Pipeline == "broken").State);
            Assert.Equal(JobState.Unrunnable, jobs.Single(j => j.Pipeline == "after").State);
            Assert.All(store.Pps.ListDatums(jobs.Single(j => j.Pipeline == "copy").JobId), d => Assert.Equal(DatumState.Success, d.State));
            Assert.Equal(PipelineState.Paused, store.Pps.GetPipeline("copy").State);
            Assert.Empty(store.Check());
            Assert.Equal(["/a.txt", "/b.txt"], store.Pfs.ListFiles("copy", "master").Select(f => f.Path));
            // Jobs and spec versions stored before triggers and changes were recorded read back as the pipeline's own and as create/update.
            Assert.All(jobs, j => Assert.Equal(JobTrigger.Automatic, j.Trigger));
            var history = store.Pps.ListPipelineVersions("copy");
            Assert.Equal(PipelineChange.Create, history[^1].Change);
            Assert.All(history.SkipLast(1), v => Assert.Equal(PipelineChange.Update, v.Change));
            Assert.Empty(store.Pps.ComparePipelineVersions("copy", history[0].Version));

            store.Pfs.PutFiles("in", "master", [TempStore.Text("/c.txt", "gamma\n")]);
            store.Pps.SetPaused("copy", paused: false);
            var job = store.Pps.ListJobs("copy")[0];
            job = await store.Pps.WaitJobAsync(job.JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
            Assert.Equal(JobState.Success, job.State);
            Assert.Equal("1 + 2 / 3", job.Progress);
            // A job stored by 0.1.0 can be rerun: the new job carries its results over.
            var rerun = store.Pps.RerunDatums(jobs.Single(j => j.Pipeline == "copy").JobId, [store.Pps.ListDatums(jobs.Single(j => j.Pipeline == "copy").JobId)[0].DatumId], failed: false);
            rerun = await store.Pps.WaitJobAsync(rerun.JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
            Assert.Equal((JobState.Success, "1 + 1 / 2", JobTrigger.Rerun), (rerun.State, rerun.Progress, rerun.Trigger));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

}

/// <summary>Files the tests keep in tests/Unit/Fixtures.</summary>
internal static class Fixtures
{
    public static string Path(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "Unit", "Fixtures", name);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/Unit/Fixtures/{name} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Copies a fixture folder (a store, say) to <paramref name="to"/>, so a test can change its copy.</summary>
    public static void Copy(string name, string to)
    {
        var from = Path(name);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
