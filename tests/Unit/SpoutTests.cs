using PachPS.Engine;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

public class SpoutTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static PipelineSpec Spout(string name, string script, bool overwrite = false) => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "{{name}}" }, "transform": { "cmd": [ "sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(script)}} ] },
          "spout": { "overwrite": {{(overwrite ? "true" : "false")}} } }
        """);

    private const string Loop = "i=0; while true; do i=$((i+1)); echo $i > /pfs/out/f$i; sleep 0.3; done";

    [Fact]
    public void SpoutSpecsParseWithoutInputAndRefuseOne()
    {
        var spec = PipelineSpec.Parse("pipeline: {name: s}\ntransform: {cmd: [sh]}\nspout: {}\n");
        Assert.Equal(new SpoutSpec(false), spec.Spout);
        Assert.IsType<NoInputSpec>(spec.Input);
        Assert.Empty(spec.NotImplemented);
        Assert.True(PipelineSpec.Parse("""{ "pipeline": { "name": "s" }, "transform": { "cmd": ["sh"] }, "spout": { "overwrite": true } }""").Spout!.Overwrite);
        var withInput = Assert.Throws<PachException>(() => PipelineSpec.Parse(
            """{ "pipeline": { "name": "s" }, "transform": { "cmd": ["sh"] }, "spout": {}, "input": { "pfs": { "repo": "a", "glob": "/" } } }"""));
        Assert.Equal("PipelineSpecSpoutHasInput", withInput.ErrorId);
        // spout.service is named in a warning, like any field PachPS does not implement.
        Assert.Equal(["spout.service"], PipelineSpec.Parse("pipeline: {name: s}\ntransform: {cmd: [sh]}\nspout: {service: {type: NodePort}}\n").NotImplemented.Select(n => n.Field));
    }

    [Fact]
    public async Task ASpoutWritingInALoopMakesCommitsAndNoJobs()
    {
        using var t = new TempStore();
        var info = t.Store.Pps.CreatePipeline(Spout("stream", Loop));
        Assert.True(info.IsSpout);
        Assert.Equal("spout", info.InputSummary);
        await WaitUntil(() => Commits(t, "stream") >= 3);
        var commits = t.Pfs.ListCommits("stream", "master");
        Assert.All(commits, c => Assert.StartsWith("Spout stream:", c.Message));
        var files = t.Pfs.ListFiles("stream", "master").Select(f => f.Path).ToList();
        Assert.Equal(Enumerable.Range(1, files.Count).Select(i => $"/f{i}").Order(StringComparer.Ordinal), files.Order(StringComparer.Ordinal));
        Assert.Equal("3\n", t.Read("stream", "master", "/f3"));
        // Each file is committed once: moved out of /pfs/out before its commit.
        Assert.Single(t.Pfs.FileHistory("stream", "master", "/f1"));
        Assert.Empty(t.Store.Pps.ListJobs("stream"));
        Assert.Equal("PipelineIsSpout", Assert.Throws<PachException>(() => t.Store.Pps.RunPipeline("stream")).ErrorId);
        await WaitUntil(() => t.Store.Pps.GetLogs("stream", null, null).Any(l => l.Stream == "spout" && l.Message.StartsWith("committed")));
        Assert.Contains(t.Store.Pps.GetLogs("stream", null, null), l => l.Message == "run 1 started");
    }

    [Fact]
    public async Task OverwriteReplacesTheBranchContent()
    {
        using var t = new TempStore();
        t.Store.Pps.CreatePipeline(Spout("latest", Loop, overwrite: true));
        await WaitUntil(() => Commits(t, "latest") >= 3);
        var head = t.Pfs.ListFiles("latest", "master").Select(f => f.Path).ToList();
        var parent = t.Pfs.ListFiles("latest", "master^").Select(f => f.Path).ToList();
        Assert.NotEmpty(head);
        Assert.NotEmpty(parent);
        Assert.Empty(head.Intersect(parent)); // nothing of the commit before survives
    }

    [Fact]
    public async Task ACommandThatExitsIsRestartedWithGrowingDelays()
    {
        using var t = new TempStore();
        t.Store.Pps.CreatePipeline(Spout("bursty", "echo x > /pfs/out/$(date +%s%N); exit 3"));
        await WaitUntil(() => t.Store.Pps.GetLogs("bursty", null, null).Any(l => l.Message.StartsWith("run 3 exited")));
        var ends = t.Store.Pps.GetLogs("bursty", null, null).Where(l => l.Stream == "spout" && l.Message.Contains("exited")).Take(3).ToList();
        Assert.Equal(["run 1 exited with code 3; restarting in 0.5s", "run 2 exited with code 3; restarting in 1s", "run 3 exited with code 3; restarting in 2s"],
            ends.Select(l => l.Message));
        Assert.True(ends[2].Time - ends[1].Time >= TimeSpan.FromSeconds(0.9), $"{ends[2].Time - ends[1].Time}");
        // What each run wrote is committed when it exits.
        await WaitUntil(() => Files(t, "bursty").Count >= 3);
    }

    [Fact]
    public async Task PausingRemovingAndClosingLeaveNoProcess()
    {
        using var t = new TempStore();
        // The command and a child of it (same process group): both must go.
        t.Store.Pps.CreatePipeline(Spout("idle", "echo $$ > /pfs/pid; sleep 1000 & wait"));
        var pidFile = Path.Combine(t.Folder, "work", "spouts", "idle", "pfs", "pid");
        var group = await Started(pidFile);
        Assert.Equal(2, GroupMembers(group));

        t.Store.Pps.SetPaused("idle", true);
        Assert.Equal(0, GroupMembers(group));
        File.Delete(pidFile);
        t.Store.Pps.SetPaused("idle", false);
        group = await Started(pidFile);

        t.Reopen(); // closing stops it, opening starts it again
        Assert.Equal(0, GroupMembers(group));
        File.Delete(pidFile);
        group = await Started(pidFile);

        t.Store.Pps.DeletePipeline("idle", keepRepo: false);
        Assert.Equal(0, GroupMembers(group));
        Assert.False(Directory.Exists(Path.Combine(t.Folder, "work", "spouts", "idle")));
        Assert.DoesNotContain(t.Store.Pps.GetLogs(null, null, null), l => l.Pipeline == "idle");
    }

    [Fact]
    public async Task FilesLeftWhenTheStoreClosedAreCommittedWhenItOpens()
    {
        using var t = new TempStore();
        t.Store.Pps.CreatePipeline(Spout("late", "echo $$ > /pfs/pid; sleep 1000"));
        var pidFile = Path.Combine(t.Folder, "work", "spouts", "late", "pfs", "pid");
        await Started(pidFile);
        t.Store.Pps.SetPaused("late", true);
        File.WriteAllText(Path.Combine(t.Folder, "work", "spouts", "late", "pfs", "out", "left"), "behind");
        t.Store.Pps.SetPaused("late", false);
        await WaitUntil(() => Files(t, "late").Count == 1);
        Assert.Equal("behind", t.Read("late", "master", "/left"));
    }

    [Fact]
    public async Task FilesTheCommitWriterRefusesAreSetAsideAndTheSpoutGoesOn()
    {
        using var t = new TempStore();
        // /x is committed as a file; /x/y then conflicts with it, and /z after it still lands. Each is written once the
        // one before has been taken from /pfs/out, so a slow machine does not change the order.
        t.Store.Pps.CreatePipeline(Spout("clash",
            "echo 1 > /pfs/out/x; while [ -e /pfs/out/x ]; do sleep 0.1; done; mkdir /pfs/out/x; echo 2 > /pfs/out/x/y; " +
            "while [ -e /pfs/out/x/y ]; do sleep 0.1; done; echo 3 > /pfs/out/z; sleep 1000"));
        await WaitUntil(() => Files(t, "clash").Any(f => f.Path == "/z"));
        Assert.Equal(["/x", "/z"], Files(t, "clash").Select(f => f.Path).Order(StringComparer.Ordinal));
        var rejected = Path.Combine(t.Folder, "work", "spouts", "clash", "rejected");
        Assert.Equal("2\n", File.ReadAllText(Assert.Single(Directory.GetFiles(rejected, "y", SearchOption.AllDirectories))));
        await WaitUntil(() => t.Store.Pps.GetLogs("clash", null, null).Any(l => l.Message.StartsWith("could not commit /x/y (PathConflict")));
    }

    [Fact]
    public void AnExecutorWithoutSpoutsRefusesThem()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        using var store = PachStore.Open(folder, new LocalObjectStore(Path.Combine(folder, "objects")), temporary: true, executor: new DatumsOnly());
        var ex = Assert.Throws<PachException>(() => store.Pps.CreatePipeline(Spout("s", "true")));
        Assert.Equal(("SpoutNotSupported", PachErrorKind.NotSupported), (ex.ErrorId, ex.Kind));
        Assert.Empty(store.Pps.ListPipelines());
    }

    private sealed class DatumsOnly : IDatumExecutor
    {
        public Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel) => throw new NotSupportedException();
        public string Description => "a test executor";
    }

    /// <summary>The files at the head of master, none while the spout has not committed yet (no branch).</summary>
    private static IReadOnlyList<PachPS.Engine.Pfs.PachFileInfo> Files(TempStore t, string repo) =>
        t.Pfs.ListBranches(repo).Count == 0 ? [] : t.Pfs.ListFiles(repo, "master");

    private static int Commits(TempStore t, string repo) => t.Pfs.ListBranches(repo).Count == 0 ? 0 : t.Pfs.ListCommits(repo, "master").Count;

    /// <summary>The process group the spout's command leads, once it has written its pid.</summary>
    private static async Task<int> Started(string pidFile)
    {
        var pid = 0;
        await WaitUntil(() => File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out pid) && GroupMembers(pid) == 2);
        return pid;
    }

    /// <summary>Live processes in a process group (from /proc: the field after the state is the parent, then the group).</summary>
    private static int GroupMembers(int group)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] != "Z" && int.Parse(fields[2]) == group) count++;
        }
        return count;
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
