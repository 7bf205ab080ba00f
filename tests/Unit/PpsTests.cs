using PachPS.Engine;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

public class PpsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static PipelineSpec Spec(string name, string input, string stdin, int parallelism = 1, string extra = "") =>
        PipelineSpec.Parse($$"""
        {
          "pipeline": { "name": "{{name}}" },
          "transform": { "cmd": [ "sh" ], "stdin": [ {{System.Text.Json.JsonSerializer.Serialize(stdin)}} ] },
          "parallelism_spec": { "constant": {{parallelism}} },
          {{extra}}
          "input": {{input}}
        }
        """);

    private static string Pfs(string repo, string glob, string? name = null) =>
        $$"""{ "pfs": { "repo": "{{repo}}", "glob": "{{glob}}" {{(name is null ? "" : $", \"name\": \"{name}\"")}} } }""";

    private static async Task<JobInfo> LatestJob(TempStore t, string pipeline)
    {
        var job = t.Store.Pps.ListJobs(pipeline)[0];
        return await t.Store.Pps.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);
    }

    [Fact]
    public void SpecParsesTutorialStyleAndReportsUnknownFields()
    {
        var spec = PipelineSpec.Parse("""
        { "pipeline": {"name": "pre_process"}, "transform": {"image": "x", "cmd": ["/bin/bash"], "stdin": ["python3 a.py $training /pfs/out/"]},
          "parallelism_spec": {"constant": "3"}, "input": {"atom": {"repo": "training", "glob": "/*"}}, "enable_stats": true }
        """);
        Assert.Equal(3, spec.Parallelism);
        Assert.Equal("training", ((PfsInputSpec)spec.Input).Name);
        Assert.Equal(3, spec.DatumTries);
        Assert.Equal(["enable_stats"], spec.UnknownFields);
        Assert.Contains("enable_stats", spec.Json);
    }

    [Theory]
    [InlineData("{ \"pipeline\": { \"name\": \"x\" }, ", "PipelineSpecInvalidJson")]
    [InlineData("{ \"pipeline\": { \"name\": \"bad name\" }, \"transform\": {\"cmd\": [\"sh\"]}, \"input\": {\"pfs\": {\"repo\": \"a\", \"glob\": \"/\"}} }", "InvalidPipelineName")]
    [InlineData("{ \"pipeline\": { \"name\": \"x\" }, \"transform\": {\"cmd\": [\"sh\"]}, \"input\": {\"pfs\": {\"repo\": \"a\"}} }", "PipelineSpecMissingGlob")]
    [InlineData("{ \"pipeline\": { \"name\": \"x\" }, \"transform\": {\"cmd\": [\"sh\"]}, \"input\": {\"cross\": [{\"pfs\": {\"repo\": \"a\", \"glob\": \"/\"}}, {\"pfs\": {\"repo\": \"a\", \"glob\": \"/*\"}}]} }", "PipelineSpecDuplicateInput")]
    [InlineData("{ \"pipeline\": { \"name\": \"x\" }, \"input\": {\"pfs\": {\"repo\": \"a\", \"glob\": \"/\"}} }", "PipelineSpecMissingTransform")]
    public void BadSpecsHaveStableIds(string json, string id) =>
        Assert.Equal(id, Assert.Throws<PachException>(() => PipelineSpec.Parse(json)).ErrorId);

    /// <summary>Pachyderm's rule for input names: only the inputs of one union may share a name.</summary>
    [Theory]
    [InlineData("""{"union": [{"pfs": {"name": "a", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "a", "repo": "y", "glob": "/*"}}]}""", null)]
    [InlineData("""{"cross": [{"union": [{"pfs": {"name": "a", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "a", "repo": "y", "glob": "/*"}}]}, {"pfs": {"name": "b", "repo": "z", "glob": "/"}}]}""", null)]
    [InlineData("""{"union": [{"cross": [{"pfs": {"name": "a", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "b", "repo": "z", "glob": "/"}}]}, {"cross": [{"pfs": {"name": "a", "repo": "y", "glob": "/*"}}, {"pfs": {"name": "b", "repo": "z", "glob": "/"}}]}]}""", null)]
    [InlineData("""{"cross": [{"union": [{"pfs": {"name": "a", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "b", "repo": "y", "glob": "/*"}}]}, {"pfs": {"name": "a", "repo": "z", "glob": "/"}}]}""", "a")]
    [InlineData("""{"cross": [{"pfs": {"name": "a", "repo": "z", "glob": "/"}}, {"union": [{"pfs": {"name": "b", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "a", "repo": "y", "glob": "/*"}}]}]}""", "a")]
    [InlineData("""{"union": [{"cross": [{"pfs": {"name": "a", "repo": "x", "glob": "/*"}}, {"pfs": {"name": "a", "repo": "y", "glob": "/"}}]}, {"pfs": {"name": "c", "repo": "z", "glob": "/"}}]}""", "a")]
    [InlineData("""{"join": [{"pfs": {"name": "a", "repo": "x", "glob": "/(*)", "join_on": "$1"}}, {"pfs": {"name": "a", "repo": "y", "glob": "/(*)", "join_on": "$1"}}]}""", "a")]
    public void OnlyTheInputsOfAUnionShareAName(string input, string? duplicate)
    {
        var json = """{"pipeline": {"name": "p"}, "transform": {"cmd": ["sh"]}, "input": """ + input + "}";
        if (duplicate is null) Assert.NotNull(PipelineSpec.Parse(json));
        else
        {
            var ex = Assert.Throws<PachException>(() => PipelineSpec.Parse(json));
            Assert.Equal("PipelineSpecDuplicateInput", ex.ErrorId);
            Assert.Contains($"two inputs named '{duplicate}'", ex.Message);
        }
    }

    [Fact]
    public void InvalidJsonNamesLineAndColumn()
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.Parse("{\n  \"pipeline\": { \"name\": \"x\" },\n  \"transform\": [ oops ]\n}"));
        Assert.Contains("line 3", ex.Message);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void ServiceRejectsUnknownReposAndCyclesAndCreatesNothing(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("a");
        Assert.Equal("PipelineInputNotFound", Assert.Throws<PachException>(() => t.Store.Pps.CreatePipeline(Spec("p", Pfs("nope", "/"), "true"))).ErrorId);
        Assert.Equal("PipelineCycle", Assert.Throws<PachException>(() => t.Store.Pps.CreatePipeline(Spec("p", Pfs("p", "/"), "true"))).ErrorId);
        t.Store.Pps.CreatePipeline(Spec("p", Pfs("a", "/"), "true"));
        t.Store.Pps.CreatePipeline(Spec("q", Pfs("p", "/"), "true"));
        Assert.Equal("PipelineCycle", Assert.Throws<PachException>(() => t.Store.Pps.UpdatePipeline(Spec("p", Pfs("q", "/"), "true"), false)).ErrorId);
        Assert.Equal(["a", "p", "q"], t.Pfs.ListRepos().Select(r => r.Name));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void PlannerCoversGlobsCrossAndUnion(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("a");
        t.Pfs.CreateRepo("b");
        t.Pfs.PutFiles("a", "master", [TempStore.Text("/x/1", "1"), TempStore.Text("/x/2", "2"), TempStore.Text("/y", "3")]);
        t.Pfs.PutFiles("b", "master", [TempStore.Text("/m", "4"), TempStore.Text("/n", "5")]);
        int Count(string input) => t.Store.Pps.PlanDatums(Spec("dry", input, "true")).Count;
        Assert.Equal(1, Count(Pfs("a", "/")));
        Assert.Equal(2, Count(Pfs("a", "/*")));
        Assert.Equal(2, Count(Pfs("a", "/x/*")));
        Assert.Equal(3, Count(Pfs("a", "/**")) - 1); // /x, /x/1, /x/2, /y
        Assert.Equal(4, Count($$"""{ "cross": [ {{Pfs("a", "/*")}}, {{Pfs("b", "/*")}} ] }"""));
        Assert.Equal(4, Count($$"""{ "union": [ {{Pfs("a", "/*")}}, {{Pfs("b", "/*")}} ] }"""));
        Assert.DoesNotContain(t.Pfs.ListRepos(), r => r.Name == "dry");
        var datum = t.Store.Pps.PlanDatums(Spec("dry", Pfs("a", "/x"), "true")).Single();
        Assert.Equal("/x", datum.Inputs[0].Path);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task JobsRunSkipCarryOverAndDropRemovedOutputs(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Store.Pps.CreatePipeline(Spec("copy", Pfs("in", "/*"), "cp \"$in\" /pfs/out/; echo copied $PACH_DATUM_ID", parallelism: 2));
        var first = await LatestJob(t, "copy");
        Assert.Equal((JobState.Success, 2, 0, 2), (first.State, first.Processed, first.Skipped, first.Total));
        Assert.Equal("1", t.Read("copy", "master", "/a"));

        t.Put("in", "/c", "3");
        var second = await LatestJob(t, "copy");
        Assert.Equal((1, 2, 3), (second.Processed, second.Skipped, second.Total));
        Assert.Equal(["/a", "/b", "/c"], t.Pfs.ListFiles("copy", "master").Select(f => f.Path));

        t.Pfs.DeleteFiles("in", "master", ["/a"]);
        var third = await LatestJob(t, "copy");
        Assert.Equal((0, 2, 2), (third.Processed, third.Skipped, third.Total));
        Assert.Equal(["/b", "/c"], t.Pfs.ListFiles("copy", "master").Select(f => f.Path));

        var logs = t.Store.Pps.GetLogs("copy", null, null);
        Assert.Equal(3, logs.Count(l => l.Message.StartsWith("copied ")));
        var prov = t.Store.Provenance.GetProvenance("copy", "master");
        Assert.Contains(prov, p => p.Repo == "in" && p.Commit == t.Pfs.GetCommit("in", "master").Commit);
        Assert.Contains(prov, p => p.Kind == ProvenanceKind.Spec && p.SpecVersion == 1);
    }

    [Fact]
    public async Task APinnedCommitIsReadInsteadOfTheHeadAndEmptyFilesAreEmptyButCounted()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        var first = t.Put("in", "/a", "one");
        t.Put("in", "/a", "two!");
        t.Store.Pps.CreatePipeline(Spec("pinned", $$"""{ "pfs": { "repo": "in", "glob": "/", "commit": "{{first.Commit}}" } }""", "cp /pfs/in/a /pfs/out/a"));
        var pinned = await LatestJob(t, "pinned");
        Assert.Equal((JobState.Success, first.Commit), (pinned.State, pinned.Inputs.Single().Commit));
        Assert.Equal("one", t.Read("pinned", "master", "/a"));
        Assert.Equal("CommitNotFound", Assert.Throws<PachException>(() =>
            t.Store.Pps.CreatePipeline(Spec("gone", """{ "pfs": { "repo": "in", "glob": "/", "commit": "0000" } }""", "true"))).ErrorId);

        t.Store.Pps.CreatePipeline(Spec("sizes", """{ "pfs": { "repo": "in", "glob": "/*", "empty_files": true } }""", "wc -c < \"$in\" > /pfs/out/size"));
        var sizes = await LatestJob(t, "sizes");
        Assert.Equal((JobState.Success, 0L), (sizes.State, sizes.BytesDownloaded));
        Assert.Equal("0", t.Read("sizes", "master", "/size").Trim());
        t.Put("in", "/a", "three");
        Assert.Equal(1, (await LatestJob(t, "sizes")).Processed); // the content still decides whether a datum runs again
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task EnvironmentAndPfsPathsAreSet(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/dir/f", "x")]);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
        { "pipeline": { "name": "env" },
          "transform": { "cmd": [ "sh", "-c", "printf '%s|%s|%s|%s' \"$(cat $data/f)\" \"$data_COMMIT\" \"$PACH_JOB_ID\" \"$GREETING\" > /pfs/out/env" ],
                         "env": { "GREETING": "hello" } },
          "input": { "pfs": { "repo": "in", "glob": "/dir", "name": "data" } } }
        """));
        var job = await LatestJob(t, "env");
        Assert.Equal(JobState.Success, job.State);
        var parts = t.Read("env", "master", "/env").Split('|');
        Assert.Equal("x", parts[0]);
        Assert.Equal(t.Pfs.GetCommit("in", "master").Commit, parts[1]);
        Assert.Equal(job.JobId, parts[2]);
        Assert.Equal("hello", parts[3]);
    }

    [Fact]
    public async Task ARelativeCommandPathStartsFromTheWorkingFolder()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        var tools = Directory.CreateDirectory(Path.Combine(t.Folder, "project", "tools")).FullName;
        var script = Path.Combine(tools, "hello.sh");
        File.WriteAllText(script, "#!/bin/sh\necho \"hello $1\" > \"$PACH_OUT/hello\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "rel" },
              "transform": { "cmd": [ "./tools/hello.sh", "there" ], "working_dir": {{System.Text.Json.JsonSerializer.Serialize(Path.GetDirectoryName(tools))}} },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        var job = await LatestJob(t, "rel");
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal("hello there\n", t.Read("rel", "master", "/hello"));
    }

    [Fact]
    public async Task AWorkerFolderHoldsExactlyEachDatumsInputs()
    {
        // One worker runs every datum of a union in turn, in the same folder. Each lists what it sees under /pfs, then
        // litters its input folder and a fail-once datum litters /pfs/out: nothing of it may reach the next datum.
        using var t = new TempStore();
        t.Pfs.CreateRepo("a");
        t.Pfs.CreateRepo("b");
        t.Pfs.PutFiles("a", "master", [TempStore.Text("/x/1", "1"), TempStore.Text("/y", "2")]);
        t.Pfs.PutFiles("b", "master", [TempStore.Text("/z", "3")]);
        var marker = Path.Combine(t.Folder, "failed-once");
        t.Store.Pps.CreatePipeline(Spec("seen", $$"""{ "union": [ {{Pfs("a", "/*", "A")}}, {{Pfs("b", "/*", "B")}} ] }""",
            "cd /pfs/ && find . -mindepth 1 | sort | tr '\\n' ' ' > ../listing; name=$(basename \"$A$B\"); mv ../listing \"out/$name\"; " +
            "for d in A B; do [ -d $d ] && mkdir -p $d/junk && touch $d/junk/file; done; " +
            $"if [ $name = z ] && [ ! -f {marker} ]; then touch {marker} out/stray; exit 1; fi",
            extra: "\"datum_tries\": 2,"));
        var job = await LatestJob(t, "seen");
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal("./A ./A/x ./A/x/1 ./out ", t.Read("seen", "master", "/x"));
        Assert.Equal("./A ./A/y ./out ", t.Read("seen", "master", "/y"));
        Assert.Equal("./B ./B/z ./out ", t.Read("seen", "master", "/z"));
        Assert.Equal(["/x", "/y", "/z"], t.Pfs.ListFiles("seen", "master").Select(f => f.Path));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task FailuresRetryThenFailAndDownstreamIsUnrunnable(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        t.Store.Pps.CreatePipeline(Spec("bad", Pfs("in", "/*"), "echo boom >&2; exit 3", extra: "\"datum_tries\": 2,"));
        t.Store.Pps.CreatePipeline(Spec("after", Pfs("bad", "/"), "true"));
        var bad = await LatestJob(t, "bad");
        Assert.Equal(JobState.Failure, bad.State);
        Assert.Contains("boom", bad.Reason);
        Assert.Equal(2, t.Store.Pps.ListDatums(bad.JobId).Single().Attempts);
        Assert.Throws<PachException>(() => t.Pfs.GetCommit("bad", "master"));
        t.Put("in", "/b", "2");
        await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
        var after = t.Store.Pps.ListJobs("after");
        Assert.Contains(after, j => j.State == JobState.Unrunnable);
    }

    [Fact]
    public async Task AFailureMarksEachPipelineDownstreamUnrunnableOnceEvenThroughADiamond()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        t.Store.Pps.CreatePipeline(Spec("ok", Pfs("in", "/*"), "cp -r /pfs/in/* /pfs/out/"));
        t.Store.Pps.CreatePipeline(Spec("left", Pfs("ok", "/"), "cp -r /pfs/ok/* /pfs/out/"));
        t.Store.Pps.CreatePipeline(Spec("right", Pfs("ok", "/"), "cp -r /pfs/ok/* /pfs/out/"));
        t.Store.Pps.CreatePipeline(Spec("join", "{ \"cross\": [ " + Pfs("left", "/") + ", " + Pfs("right", "/") + " ] }", "true"));
        await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
        var before = t.Store.Pps.ListJobs("join").Count;

        // The top of the diamond now fails: left and right cannot run, and join, reached through both, once.
        t.Store.Pps.UpdatePipeline(Spec("ok", Pfs("in", "/*"), "exit 3"), reprocess: true);
        Assert.Equal(JobState.Failure, (await LatestJob(t, "ok")).State);
        await t.Store.Pps.WaitCommitAsync("in", "master", Timeout, CancellationToken.None);
        foreach (var name in new[] { "left", "right", "join" })
            Assert.Single(t.Store.Pps.ListJobs(name, JobState.Unrunnable));
        Assert.Equal(before + 1, t.Store.Pps.ListJobs("join").Count);
        Assert.Contains("'ok'", t.Store.Pps.ListJobs("left", JobState.Unrunnable).Single().Reason);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task TwoDatumsWritingOnePathFailTheJobNamingBoth(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Store.Pps.CreatePipeline(Spec("clash", Pfs("in", "/*"), "echo x > /pfs/out/same"));
        var job = await LatestJob(t, "clash");
        Assert.Equal(JobState.Failure, job.State);
        Assert.Contains("both write '/same'", job.Reason);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task UpdateSkipsUnchangedDatumsAndReprocessRunsThemAgain(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Store.Pps.CreatePipeline(Spec("p", Pfs("in", "/*"), "cp $in /pfs/out/"));
        await LatestJob(t, "p");
        t.Store.Pps.UpdatePipeline(Spec("p", Pfs("in", "/*"), "cp $in /pfs/out/", parallelism: 3), reprocess: false);
        var updated = await LatestJob(t, "p");
        Assert.Equal("0 + 2 / 2", updated.Progress);
        Assert.Equal(2, updated.PipelineVersion);
        t.Store.Pps.UpdatePipeline(Spec("p", Pfs("in", "/*"), "cp $in /pfs/out/", parallelism: 3), reprocess: true);
        Assert.Equal("2 + 0 / 2", (await LatestJob(t, "p")).Progress);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task AJobLeftRunningByADeadOwnerResumesWithoutRedoingDatums(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        var marker = Path.Combine(t.Folder, "runs");
        // Datum /b blocks until a file exists: the first store is closed while it waits.
        var gate = Path.Combine(t.Folder, "gate");
        t.Store.Pps.CreatePipeline(Spec("slow", Pfs("in", "/*"),
            $"echo $in >> {marker}; case $in in */b) while [ ! -f {gate} ]; do sleep 0.05; done;; esac; cp $in /pfs/out/"));
        await WaitUntil(() => t.Store.Pps.ListJobs("slow")[0].Processed == 1);
        t.Reopen(); // disposing stops the job in this process; opening again resumes it
        File.WriteAllText(gate, "");
        var job = await LatestJob(t, "slow");
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(1, job.Restarts);
        var runs = File.ReadAllLines(marker);
        Assert.Single(runs, r => r.EndsWith("/a")); // the finished datum was not redone
        Assert.Equal(["/a", "/b"], t.Pfs.ListFiles("slow", "master").Select(f => f.Path));
    }

    [Fact]
    public async Task AnOpenSessionTakesOverTheJobsOfASessionThatClosedAndOnlyOneRunsThem()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        var marker = Path.Combine(t.Folder, "runs");
        var gate = Path.Combine(t.Folder, "gate");
        // A second session on the folder, open throughout: it never opens again, so only its sweep can find the job.
        using var other = PachStore.Open(t.Folder);
        t.Store.Pps.CreatePipeline(Spec("slow", Pfs("in", "/*"),
            $"echo $in >> {marker}; case $in in */b) while [ ! -f {gate} ]; do sleep 0.05; done;; esac; cp $in /pfs/out/"));
        await WaitUntil(() => t.Store.Pps.ListJobs("slow")[0].Processed == 1);

        t.Store.Dispose(); // the first session closes mid-job and stays closed
        File.WriteAllText(gate, "");
        var job = await other.Pps.WaitJobAsync(other.Pps.ListJobs("slow")[0].JobId, TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(1, job.Restarts);
        Assert.Single(File.ReadAllLines(marker), r => r.EndsWith("/a")); // its finished datum was not redone
        Assert.Equal(["/a", "/b"], other.Pfs.ListFiles("slow", "master").Select(f => f.Path));
        t.Reopen();
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task StopKillsARunningJob(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        t.Store.Pps.CreatePipeline(Spec("sleepy", Pfs("in", "/*"), "sleep 30"));
        await WaitUntil(() => t.Store.Pps.ListJobs("sleepy")[0].State == JobState.Running);
        var started = DateTime.UtcNow;
        t.Store.Pps.StopJob(t.Store.Pps.ListJobs("sleepy")[0].JobId);
        var job = await LatestJob(t, "sleepy");
        Assert.Equal(JobState.Killed, job.State);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException();
            await Task.Delay(50);
        }
    }
}

public class PpsSpecFieldTests
{
    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task AcceptReturnCodeOutputBranchAndWorkingDirAreHonoured(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        var workDir = Path.Combine(t.Folder, "wd");
        Directory.CreateDirectory(workDir);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
        { "pipeline": { "name": "p" }, "output_branch": "results",
          "transform": { "cmd": [ "sh", "-c", "pwd > /pfs/out/where; exit 7" ], "accept_return_code": [ 7 ], "working_dir": "{{workDir}}" },
          "input": { "pfs": { "repo": "in", "glob": "/" } } }
        """));
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("p")[0].JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(workDir, t.Read("p", "results", "/where").Trim());
        Assert.Throws<PachException>(() => t.Pfs.GetCommit("p", "master"));
    }

    [Fact]
    public void SaltChangesEveryDatumHash()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        string Spec(string salt) => $$"""{ "pipeline": { "name": "p" }, "salt": "{{salt}}", "transform": { "cmd": [ "true" ] }, "input": { "pfs": { "repo": "in", "glob": "/*" } } }""";
        var one = t.Store.Pps.PlanDatums(PipelineSpec.Parse(Spec("x"))).Single().DatumId;
        var same = t.Store.Pps.PlanDatums(PipelineSpec.Parse(Spec("x"))).Single().DatumId;
        var other = t.Store.Pps.PlanDatums(PipelineSpec.Parse(Spec("y"))).Single().DatumId;
        Assert.Equal(one, same);
        Assert.NotEqual(one, other);
    }
}

public class LiveLogTests
{
    [Fact]
    public async Task LinesOfARunningDatumAreReadableBeforeItEnds()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "1");
        var gate = Path.Combine(t.Folder, "gate");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "p" }, "transform": { "cmd": [ "sh", "-c", "echo first; while [ ! -f {{gate}} ]; do sleep 0.05; done; echo second" ] },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (t.Store.Pps.GetLogs("p", null, null).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        var early = t.Store.Pps.GetLogs("p", null, null);
        Assert.Equal(["first"], early.Select(l => l.Message));
        Assert.Equal(JobState.Running, t.Store.Pps.ListJobs("p")[0].State);
        File.WriteAllText(gate, "");
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("p")[0].JobId, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(["second"], t.Store.Pps.GetLogs("p", null, null, afterId: early[0].LineId).Select(l => l.Message));
    }
}

public class CronTests
{
    [Fact]
    public void SchedulesGiveNextTicksAndCollapseMissedOnes()
    {
        var start = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);
        var every = CronSchedule.Parse("@every 30s", "p");
        Assert.Equal(start.AddSeconds(30), every.Next(start));
        Assert.Null(every.Due(start, start.AddSeconds(10)));
        Assert.Equal(start.AddSeconds(300), every.Due(start, start.AddSeconds(310))); // ten missed ticks: one catch-up
        var daily = CronSchedule.Parse("@daily", "p");
        Assert.Equal(new DateTime(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc), daily.Next(start));
        Assert.Equal(new DateTime(2026, 11, 29, 0, 0, 0, DateTimeKind.Utc), daily.Due(start, start.AddDays(3)));
        Assert.Equal(start.AddMinutes(15), CronSchedule.Parse("*/15 * * * *", "p").Next(start));
        Assert.Equal(start.AddSeconds(5), CronSchedule.Parse("*/5 * * * * *", "p").Next(start));
        Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => CronSchedule.Parse("every now and then", "p")).ErrorId);
    }

    [Fact]
    public async Task ACronInputTicksByItselfAndOnDemandWithOverwrite()
    {
        using var t = new TempStore();
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "clock" }, "transform": { "cmd": [ "sh", "-c", "ls /pfs/tick > /pfs/out/seen" ] },
              "input": { "cron": { "name": "tick", "spec": "@every 1s", "overwrite": true } } }
            """));
        Assert.Contains(t.Pfs.ListRepos(), r => r.Name == "clock_tick");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (t.Pfs.ListCommits("clock_tick").Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(t.Pfs.ListCommits("clock_tick").Count >= 2, "ticks every second while the store is open");
        Assert.Single(t.Pfs.ListFiles("clock_tick", "master")); // overwrite keeps only the latest tick
        var before = t.Pfs.ListCommits("clock_tick").Count;
        t.Store.Pps.TickCron("clock");
        Assert.True(t.Pfs.ListCommits("clock_tick").Count > before);
        await t.Store.Pps.WaitCommitAsync("clock_tick", "master", TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t.Read("clock", "master", "/seen").Trim());
    }
}

public class BatchingTests
{
    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task ABatchingTransformStartsOncePerWorkerAndKeepsPerDatumResults(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", Enumerable.Range(1, 20).Select(i => TempStore.Text($"/f{i}", $"{i}")).ToList());
        var starts = Path.Combine(t.Folder, "starts");
        // yes | head: the worker, like a single datum's command, must not inherit PowerShell's ignored SIGPIPE.
        var worker = $"echo start >> {starts}; while :; do echo next > \"$PACH_DATUM_REQUEST\"; read -r r < \"$PACH_DATUM_RESPONSE\"; [ \"$r\" = done ] && exit 0; . \"$PACH_DATUM_ENV\"; echo \"$PACH_DATUM_ID\" > /pfs/out/$(basename $in); yes | head -n 1 > /dev/null; done";
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "b" }, "parallelism_spec": { "constant": 2 },
              "transform": { "cmd": [ "sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(worker)}} ], "datum_batching": true },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("b")[0].JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal("20 + 0 / 20", job.Progress);
        Assert.Equal(2, File.ReadAllLines(starts).Length); // one start per worker
        var datums = t.Store.Pps.ListDatums(job.JobId);
        Assert.All(datums, d => Assert.Equal(d.DatumId, t.Read("b", "master", d.Inputs[0].Path).Trim())); // each output came from its own datum
        Assert.Contains(t.Store.Provenance.GetFileProvenance("b", "master", "/f7"), e => e.Path == "/f7");
        Assert.DoesNotContain(t.Store.Pps.GetLogs("b", null, null), l => l.Message.Contains("Broken pipe"));
    }
}

public class RestartDatumTests
{
    [Fact]
    public async Task ARestartedDatumRunsAgainAndReplacesItsResult()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/slow", "s"), TempStore.Text("/quick", "q")]);
        var gate = Path.Combine(t.Folder, "gate");
        var runs = Path.Combine(t.Folder, "runs");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "p" }, "parallelism_spec": { "constant": 2 },
              "transform": { "cmd": [ "sh", "-c", "echo $in >> {{runs}}; case $in in */slow) while [ ! -f {{gate}} ]; do sleep 0.05; done;; esac; wc -l < {{runs}} > /pfs/out/$(basename $in)" ] },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        var job = t.Store.Pps.ListJobs("p")[0];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        DatumInfo? quick = null;
        while (quick is null && DateTime.UtcNow < deadline)
        {
            quick = t.Store.Pps.ListDatums(job.JobId).FirstOrDefault(d => d.State == DatumState.Success && d.Inputs[0].Path == "/quick");
            await Task.Delay(50);
        }
        Assert.NotNull(quick);
        Assert.Equal([quick.DatumId], t.Store.Pps.RestartDatums(job.JobId, [quick.DatumId[..12]]));
        Assert.Equal("DatumNotFound", Assert.Throws<PachException>(() => t.Store.Pps.RestartDatums(job.JobId, ["ffffffffffff"])).ErrorId);
        while (File.ReadAllLines(runs).Count(l => l.EndsWith("/quick")) < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
        File.WriteAllText(gate, "");
        var done = await t.Store.Pps.WaitJobAsync(job.JobId, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal("2 + 0 / 2", done.Progress);
        Assert.Equal("3", t.Read("p", "master", "/quick").Trim());
        Assert.Equal("JobFinished", Assert.Throws<PachException>(() => t.Store.Pps.RestartDatums(job.JobId, [quick.DatumId])).ErrorId);
    }
}

public class BatchProtocolTests
{
    [Fact]
    public void DatumVariablesSurviveTheEnvironmentFileIncludingQuotes()
    {
        var file = Path.GetTempFileName();
        try
        {
            var env = new Dictionary<string, string> { ["in"] = "/tmp/a b/it's.txt", ["PACH_DATUM_ID"] = "abc", ["empty"] = "" };
            PachPS.Engine.Execution.BatchProtocol.WriteEnvironment(file, env);
            Assert.Equal(env, PachPS.Engine.Execution.BatchProtocol.ReadEnvironment(file));
            Assert.Contains("in='/tmp/a b/it'\\''s.txt'", File.ReadAllLines(file)); // sh-sourceable quoting
        }
        finally { File.Delete(file); }
    }
}
