using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>Issue 17 item 6: every spec version listed with what made it, restored as a new version, and compared.</summary>
public class PipelineHistoryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static PipelineSpec Copy(string stdin, int parallelism = 1) => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "p" }, "parallelism_spec": { "constant": {{parallelism}} },
          "transform": { "cmd": [ "sh" ], "stdin": [ {{System.Text.Json.JsonSerializer.Serialize(stdin)}} ] },
          "input": { "pfs": { "repo": "in", "glob": "/*" } } }
        """);

    private static async Task<JobInfo> Latest(TempStore t) =>
        await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);

    [Fact]
    public async Task JobsOfOnePipelineRunOneAtATimeInTheOrderTheyWereMadeAndTheNewestOutputStays()
    {
        // Updates one after another, none waited for: each queues a job, and each job must start only after the one
        // before it ended, however its thread is scheduled; the branch ends with the last version's output.
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1")]);
        t.Store.Pps.CreatePipeline(Copy("sleep 0.05; echo v0 > /pfs/out/$(basename $in)"));
        for (var v = 1; v <= 8; v++) t.Store.Pps.UpdatePipeline(Copy($"sleep 0.05; echo v{v} > /pfs/out/$(basename $in)"), reprocess: true);
        var jobs = t.Store.Pps.ListJobs("p").OrderBy(j => j.PipelineVersion).ToList();
        Assert.Equal(9, jobs.Count);
        foreach (var job in jobs) await t.Store.Pps.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);
        jobs = t.Store.Pps.ListJobs("p").OrderBy(j => j.PipelineVersion).ToList();
        Assert.All(jobs, j => Assert.Equal(JobState.Success, j.State));
        for (var i = 1; i < jobs.Count; i++)
            Assert.True(jobs[i].Started >= jobs[i - 1].Finished, $"version {jobs[i].PipelineVersion} started before version {jobs[i - 1].PipelineVersion} ended");
        Assert.Equal("v8\n", t.Read("p", "master", "/a"));
    }

    [Fact]
    public async Task HistoryRecordsCreateUpdateReprocessAndRollbackAndARollbackRunsTheOldSpecAsANewVersion()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        var v1 = Copy("cp $in /pfs/out/");
        t.Store.Pps.CreatePipeline(v1);
        await Latest(t);
        t.Store.Pps.UpdatePipeline(Copy("cp $in /pfs/out/", parallelism: 2), reprocess: false);
        await Latest(t);
        t.Store.Pps.UpdatePipeline(Copy("echo changed > /pfs/out/$(basename $in)", parallelism: 2), reprocess: true);
        Assert.Equal("changed\n", await Latest(t) is { State: JobState.Success } ? t.Read("p", "master", "/a") : "job failed");

        var restored = t.Store.Pps.RestorePipelineVersion("p", 1, reprocess: false);
        Assert.Equal(4, restored.Version);
        Assert.Equal(v1.Json, restored.Spec.Json);
        var job = await Latest(t);
        Assert.Equal((JobState.Success, 4), (job.State, job.PipelineVersion));
        Assert.Equal("1", t.Read("p", "master", "/a")); // version 1's command ran again
        Assert.Contains(t.Store.Provenance.GetProvenance("p", "master"), p => p.Kind == ProvenanceKind.Spec && p.SpecVersion == 4);

        var history = t.Store.Pps.ListPipelineVersions("p");
        Assert.Equal([4, 3, 2, 1], history.Select(v => v.Version));
        Assert.Equal([PipelineChange.Rollback, PipelineChange.Reprocess, PipelineChange.Update, PipelineChange.Create], history.Select(v => v.Change));
        Assert.Equal([1, null, null, null], history.Select(v => v.RestoredFrom));
        Assert.Equal(v1.Json, history[3].Spec.Json);
        Assert.Equal(2, history[1].Spec.Parallelism);
    }

    [Fact]
    public async Task ARollbackSkipsTheDatumsWhoseHashIsUnchanged()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Store.Pps.CreatePipeline(Copy("cp $in /pfs/out/"));
        await Latest(t);
        // Only parallelism changed (not part of a datum's hash), so going back to version 1 reruns nothing.
        t.Store.Pps.UpdatePipeline(Copy("cp $in /pfs/out/", parallelism: 3), reprocess: false);
        await Latest(t);
        t.Store.Pps.RestorePipelineVersion("p", 1, reprocess: false);
        Assert.Equal("0 + 2 / 2", (await Latest(t)).Progress);
        t.Store.Pps.RestorePipelineVersion("p", 1, reprocess: true);
        Assert.Equal("2 + 0 / 2", (await Latest(t)).Progress);
        Assert.Equal(PipelineChange.Rollback, t.Store.Pps.ListPipelineVersions("p")[0].Change);
    }

    [Fact]
    public async Task UnknownVersionsAndPipelinesFailWithStableIdsAndChangeNothing()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        t.Store.Pps.CreatePipeline(Copy("cp $in /pfs/out/"));
        await Latest(t);
        Assert.Equal("PipelineVersionNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RestorePipelineVersion("p", 2, false)).ErrorId);
        Assert.Equal("PipelineVersionNotFound", Assert.Throws<PachException>(() => t.Store.Pps.ComparePipelineVersions("p", 1, 7)).ErrorId);
        Assert.Equal("PipelineVersionNotFound", Assert.Throws<PachException>(() => t.Store.Pps.ComparePipelineVersions("p", 0)).ErrorId);
        Assert.Equal("PipelineNotFound", Assert.Throws<PachException>(() => t.Store.Pps.ListPipelineVersions("q")).ErrorId);
        Assert.Equal("PipelineNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RestorePipelineVersion("q", 1, false)).ErrorId);
        Assert.Equal(1, t.Store.Pps.GetPipeline("p").Version);
        Assert.Single(t.Store.Pps.ListPipelineVersions("p"));
        Assert.Single(t.Store.Pps.ListJobs("p"));
    }

    [Fact]
    public void ARollbackToASpecWhoseInputIsGoneIsRefused()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.CreateRepo("other");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""{ "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ] }, "input": { "pfs": { "repo": "other", "glob": "/" } } }"""));
        t.Store.Pps.UpdatePipeline(Copy("true"), reprocess: false);
        t.Pfs.RemoveRepo("other");
        Assert.Equal("PipelineInputNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RestorePipelineVersion("p", 1, false)).ErrorId);
        Assert.Equal(2, t.Store.Pps.GetPipeline("p").Version);
    }

    [Fact]
    public void CompareGivesOneEntryPerChangedPathWithTheCurrentVersionByDefault()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Store.Pps.CreatePipeline(Copy("cp $in /pfs/out/"));
        t.Store.Pps.UpdatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "parallelism_spec": { "constant": "4" }, "datum_tries": 1,
              "transform": { "cmd": [ "sh", "-e" ], "stdin": [ "cp $in /pfs/out/" ] },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """), reprocess: false);
        var diff = t.Store.Pps.ComparePipelineVersions("p", 1);
        Assert.Equal(
            ["parallelism_spec.constant Modified 1 \"4\"", "transform.cmd[1] Added  \"-e\"", "datum_tries Added  1"],
            diff.Select(d => $"{d.Path} {d.Change} {d.Old} {d.New}"));
        Assert.All(diff, d => Assert.Equal((1, 2, "p"), (d.OldVersion, d.NewVersion, d.Pipeline)));
        var back = t.Store.Pps.ComparePipelineVersions("p", 2, 1);
        Assert.Equal([DiffChange.Modified, DiffChange.Removed, DiffChange.Removed], back.Select(d => d.Change));
        Assert.Empty(t.Store.Pps.ComparePipelineVersions("p", 2));
    }

    [Fact]
    public void SpecDiffWalksObjectsKeyByKeyAndArraysIndexByIndex()
    {
        var diff = SpecDiff.Compare(
            """{ "a": { "b": [1, 2, 3], "c": "x" }, "env": { "MY.VAR": "1" }, "gone": null, "kind": { "x": 1 } }""",
            """{ "a": { "b": [1, 5], "c": "x", "d": true }, "env": { "MY.VAR": "2" }, "kind": "flat" }""");
        Assert.Equal([
            "a.b[1] Modified 2 5",
            "a.b[2] Removed 3 ",
            "a.d Added  true",
            "env[\"MY.VAR\"] Modified \"1\" \"2\"",
            "gone Removed null ",
            "kind Modified {\"x\":1} \"flat\"",
        ], diff.Select(d => $"{d.Path} {d.Change} {d.Old} {d.New}"));
        Assert.Empty(SpecDiff.Compare("""{ "a": 1, "b": 2 }""", """{ "b": 2, "a": 1 }"""));
    }
}

/// <summary>Issue 17 item 7: a job run now on chosen input commits, and a new job that redoes some datums of a finished one.</summary>
public class PreciseRerunTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Task<JobInfo> Wait(TempStore t, JobInfo job) => t.Store.Pps.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);

    private static async Task<JobInfo> Latest(TempStore t, string pipeline) => await Wait(t, t.Store.Pps.ListJobs(pipeline)[0]);

    /// <summary>A copy of in:/* that records every datum it runs and fails on /b while <paramref name="blocker"/> exists.</summary>
    private static PipelineSpec Recording(string runs, string blocker, string name = "p", string extraInput = "") => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "{{name}}" }, "datum_tries": 1,
          "transform": { "cmd": [ "sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(
              $"echo $in >> {runs}; case $in in */b) [ -f {blocker} ] && exit 3;; esac; cp $in /pfs/out/")}} ] },
          "input": {{(extraInput.Length == 0 ? """{ "pfs": { "repo": "in", "glob": "/*" } }"""
              : $$"""{ "cross": [ { "pfs": { "repo": "in", "glob": "/*" } }, {{extraInput}} ] }""")}} }
        """);

    [Fact]
    public async Task AManualRunReadsTheChosenCommitAndItsOutputNamesExactlyThatCommit()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.CreateRepo("cfg");
        var old = t.Put("in", "/a", "1");
        t.Put("in", "/b", "2");
        var cfg = t.Put("cfg", "/c", "x");
        var runs = Path.Combine(t.Folder, "runs");
        t.Store.Pps.CreatePipeline(Recording(runs, Path.Combine(t.Folder, "never"), extraInput: """{ "pfs": { "repo": "cfg", "glob": "/" } }"""));
        var first = await Latest(t, "p");
        Assert.Equal((JobState.Success, JobTrigger.Automatic), (first.State, first.Trigger));

        var manual = t.Store.Pps.RunPipeline("p", new Dictionary<string, string> { ["in"] = "master^" });
        Assert.Equal(JobTrigger.Manual, manual.Trigger);
        Assert.Equal(old.Commit, manual.Inputs.Single(i => i.Name == "in").Commit);
        manual = await Wait(t, manual);
        Assert.Equal((JobState.Success, "0 + 1 / 1"), (manual.State, manual.Progress)); // /a is unchanged since the last job: skipped as usual
        Assert.Equal(["/a"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));
        var output = t.Pfs.GetCommit("p", "master");
        Assert.Equal(manual.OutputCommit, output.Commit);
        Assert.Equal(new[] { cfg.Commit, old.Commit }.Order(StringComparer.Ordinal), output.Provenance.Select(p => p.Commit).Order(StringComparer.Ordinal));
        Assert.Contains("run by hand", output.Message);
        Assert.Equal(old.Commit, Assert.Single(t.Store.Provenance.GetFileProvenance("p", "master", "/a"), e => e.Repo == "in").Commit);

        // Without -Input it runs on the current heads, even though a job for exactly those commits exists.
        var again = await Wait(t, t.Store.Pps.RunPipeline("p"));
        Assert.Equal((JobState.Success, JobTrigger.Manual), (again.State, again.Trigger));
        Assert.Equal(["/a", "/b"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));

        // A paused pipeline starts no job by itself, but one asked for runs.
        t.Store.Pps.SetPaused("p", paused: true);
        Assert.Equal(JobState.Success, (await Wait(t, t.Store.Pps.RunPipeline("p"))).State);
    }

    [Fact]
    public async Task BadManualRunsFailWithStableIdsAndCreateNoJob()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.CreateRepo("other");
        t.Put("in", "/a", "1");
        var elsewhere = t.Put("other", "/z", "1");
        var open = t.Pfs.StartCommit("in", "master");
        t.Store.Pps.CreatePipeline(Recording(Path.Combine(t.Folder, "runs"), Path.Combine(t.Folder, "never")));
        await Latest(t, "p");
        string Fails(Dictionary<string, string> inputs, string pipeline = "p") =>
            Assert.Throws<PachException>(() => t.Store.Pps.RunPipeline(pipeline, inputs)).ErrorId;
        Assert.Equal("PipelineInputNameNotFound", Fails(new() { ["nope"] = "master" }));
        Assert.Equal("CommitNotInInputRepo", Fails(new() { ["in"] = elsewhere.Commit }));
        Assert.Equal("CommitNotFound", Fails(new() { ["in"] = "master~5" }));
        Assert.Equal("BranchNotFound", Fails(new() { ["in"] = "dev" }));
        Assert.Equal("InvalidCommitReference", Fails(new() { ["in"] = "not a ref" }));
        Assert.Equal("CommitNotFinished", Fails(new() { ["in"] = open.Commit }));
        Assert.Equal("PipelineNotFound", Fails(new(), pipeline: "q"));
        Assert.Single(t.Store.Pps.ListJobs("p"));
    }

    [Fact]
    public async Task RestartingTheFailedDatumsOfAFinishedJobRedoesOnlyThemAndCarriesOverTheRest()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        var runs = Path.Combine(t.Folder, "runs");
        var blocker = Path.Combine(t.Folder, "blocker");
        File.WriteAllText(blocker, "");
        t.Store.Pps.CreatePipeline(Recording(runs, blocker));
        var failed = await Latest(t, "p");
        Assert.Equal((JobState.Failure, 1, 1), (failed.State, failed.Processed, failed.Failed));

        File.Delete(blocker); // what made /b fail is fixed
        var rerun = t.Store.Pps.RerunDatums(failed.JobId, [], failed: true);
        Assert.Equal((JobTrigger.Rerun, failed.JobId), (rerun.Trigger, rerun.RerunOf));
        Assert.Equal(failed.Inputs, rerun.Inputs);
        rerun = await Wait(t, rerun);
        Assert.Equal((JobState.Success, "1 + 1 / 2"), (rerun.State, rerun.Progress));
        Assert.Equal(["/in/a", "/in/b", "/in/b"], File.ReadAllLines(runs).Select(l => l[l.LastIndexOf("/in/", StringComparison.Ordinal)..]).Order());
        Assert.Equal(["/a", "/b"], t.Pfs.ListFiles("p", "master").Select(f => f.Path));
        var output = t.Pfs.GetCommit("p", "master");
        Assert.Equal(rerun.OutputCommit, output.Commit);
        Assert.Equal([t.Pfs.GetCommit("in", "master").Commit], output.Provenance.Select(p => p.Commit));
        var datums = t.Store.Pps.ListDatums(rerun.JobId);
        Assert.Equal(DatumState.Skipped, datums.Single(d => d.Inputs[0].Path == "/a").State);
        // File lineage still finds where /a was made: in the failed job, whose output it carried over.
        var a = t.Store.Provenance.GetFileProvenance("p", "master", "/a").Single();
        Assert.Equal(failed.JobId, a.RanInJob);
        Assert.Equal("NoFailedDatums", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(rerun.JobId, [], failed: true)).ErrorId);
    }

    [Fact]
    public async Task RestartingNamedDatumsOfASuccessfulJobRedoesJustThose()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2"), TempStore.Text("/c", "3")]);
        var runs = Path.Combine(t.Folder, "runs");
        t.Store.Pps.CreatePipeline(Recording(runs, Path.Combine(t.Folder, "never")));
        var done = await Latest(t, "p");
        var b = t.Store.Pps.ListDatums(done.JobId).Single(d => d.Inputs[0].Path == "/b");
        var rerun = await Wait(t, t.Store.Pps.RerunDatums(done.JobId, [b.DatumId[..12]], failed: false));
        Assert.Equal((JobState.Success, "1 + 2 / 3"), (rerun.State, rerun.Progress));
        Assert.Equal(2, File.ReadAllLines(runs).Count(l => l.EndsWith("/b")));
        Assert.Equal(4, File.ReadAllLines(runs).Length);
        Assert.Equal(DatumState.Success, t.Store.Pps.ListDatums(rerun.JobId).Single(d => d.DatumId == b.DatumId).State);
    }

    [Fact]
    public async Task BadRerunsFailWithStableIdsAndCreateNoJob()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        var gate = Path.Combine(t.Folder, "gate");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "p" }, "datum_tries": 1,
              "transform": { "cmd": [ "sh", "-c", "while [ ! -f {{gate}} ]; do sleep 0.05; done; cp $in /pfs/out/" ] },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "after" }, "transform": { "cmd": [ "true" ] }, "input": { "pfs": { "repo": "p", "glob": "/" } } }
            """));
        var running = t.Store.Pps.ListJobs("p")[0];
        Assert.Equal("JobNotFinished", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(running.JobId, [], failed: true)).ErrorId);
        // Stopped once its datum is planned (stopped before, the job would have no datums at all: JobHasNoDatums).
        for (var i = 0; i < 400 && t.Store.Pps.ListDatums(running.JobId).Count == 0; i++) await Task.Delay(25);
        Assert.Single(t.Store.Pps.ListDatums(running.JobId));
        t.Store.Pps.StopJob(running.JobId); // killed: downstream gets an unrunnable job, without datums
        var unrunnable = t.Store.Pps.ListJobs("after", JobState.Unrunnable).Single();
        Assert.Equal("JobHasNoDatums", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(unrunnable.JobId, [], failed: true)).ErrorId);
        Assert.Equal("DatumNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(running.JobId, ["ffffffffffff"], failed: false)).ErrorId);
        Assert.Equal("NoDatumsNamed", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(running.JobId, [], failed: false)).ErrorId);
        Assert.Equal("JobNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums("0000", [], failed: true)).ErrorId);
        Assert.Single(t.Store.Pps.ListJobs("p"));

        // The killed job's datum never finished, so there is nothing failed to redo; named, it runs in a new job.
        Assert.Equal("NoFailedDatums", Assert.Throws<PachException>(() => t.Store.Pps.RerunDatums(running.JobId, [], failed: true)).ErrorId);
        File.WriteAllText(gate, "");
        var datum = t.Store.Pps.ListDatums(running.JobId).Single();
        var rerun = await Wait(t, t.Store.Pps.RerunDatums(running.JobId, [datum.DatumId], failed: false));
        Assert.Equal((JobState.Success, "1 + 0 / 1"), (rerun.State, rerun.Progress));
    }
}
