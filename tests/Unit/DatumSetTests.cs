using System.Collections.Concurrent;
using PachPS.Engine;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>datum_set_spec: how its values are read and checked, how datums split into sets, and sets at run time.</summary>
public sealed class DatumSetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static PipelineSpec Spec(string datumSetSpec, int parallelism = 1) => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ] }, "parallelism_spec": { "constant": {{parallelism}} },
          "datum_set_spec": {{datumSetSpec}}, "input": { "pfs": { "repo": "in", "glob": "/*" } } }
        """);

    [Fact]
    public void ItsFieldsAreReadInEitherNameStyleAndAreNoLongerNotedAsNotImplemented()
    {
        var spec = Spec("""{ "number": "3", "sizeBytes": 1024, "per_worker": 2 }""");
        Assert.Equal(new DatumSetSpec(3, 1024, 2), spec.DatumSets);
        Assert.DoesNotContain(spec.NotImplemented, n => n.Field.StartsWith("datum_set_spec", StringComparison.Ordinal));
        // All zero is Pachyderm's "not set": datums go one at a time.
        Assert.Null(Spec("""{ "number": 0, "size_bytes": 0 }""").DatumSets);
    }

    [Theory]
    [InlineData("""{ "number": -1 }""", "datum_set_spec.number is -1")]
    [InlineData("""{ "size_bytes": -5 }""", "datum_set_spec.size_bytes is -5")]
    [InlineData("""{ "per_worker": -2 }""", "datum_set_spec.per_worker is -2")]
    [InlineData("""{ "number": "many" }""", "datum_set_spec.number must be a whole number")]
    [InlineData("""{ "number": 1.5 }""", "datum_set_spec.number must be a whole number")]
    [InlineData("3", "datum_set_spec must be an object")]
    public void BadValuesAreRefusedNamingTheField(string value, string message)
    {
        var ex = Assert.Throws<PachException>(() => Spec(value));
        Assert.Equal(("PipelineSpecDatumSetInvalid", PachErrorKind.InvalidArgument), (ex.ErrorId, ex.Kind));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void ASetClosesAtItsNumberOrItsSizeWhicheverComesFirst()
    {
        long[] sizes = [10, 10, 10, 10, 10, 10, 10];
        string Sets(DatumSetSpec spec, int workers = 1) =>
            string.Join(" | ", spec.Split(Enumerable.Range(0, sizes.Length).ToList(), i => sizes[i], workers).Select(s => string.Join(",", s)));
        Assert.Equal("0,1,2 | 3,4,5 | 6", Sets(new DatumSetSpec(3, 0, 0)));
        // A set closes once it holds size_bytes (the datum that reaches it is in it), as Pachyderm's shouldCreateSet.
        Assert.Equal("0,1 | 2,3 | 4,5 | 6", Sets(new DatumSetSpec(0, 15, 0)));
        Assert.Equal("0,1 | 2,3 | 4,5 | 6", Sets(new DatumSetSpec(3, 20, 0)));
        Assert.Equal("0,1,2 | 3,4,5 | 6", Sets(new DatumSetSpec(3, 1000, 0)));
        // per_worker alone: that many sets per worker, the datums split evenly (2 workers x 2 sets: 4 sets of up to 2).
        Assert.Equal("0,1 | 2,3 | 4,5 | 6", Sets(new DatumSetSpec(0, 0, 2), workers: 2));
        Assert.Equal("0,1,2,3,4,5,6", Sets(new DatumSetSpec(0, 0, 1)));
    }

    [Fact]
    public async Task ASetsDatumsRunOnOneWorkerAndTheirResultsAreRecordedTogether()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        var executor = new SetWatcher();
        using var store = PachStore.Open(folder, new LocalObjectStore(Path.Combine(folder, "objects")), temporary: true, executor: executor);
        executor.Store = store;
        store.Pfs.CreateRepo("in");
        store.Pfs.PutFiles("in", "master", Enumerable.Range(1, 6).Select(i => TempStore.Text($"/f{i}", $"{i}")).ToList());
        store.Pps.CreatePipeline(Spec("""{ "number": 3 }"""));
        var job = await store.Pps.WaitJobAsync(store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);

        Assert.Equal(JobState.Success, job.State);
        // Datums recorded when each datum started (after waiting over two flushes): a set's results become durable
        // only when its last datum ends, so the first set's three show up together, just before the second set starts.
        Assert.Equal([0, 0, 0, 3, 3, 3], executor.RecordedAtStart.ToArray());
        Assert.Equal(6, store.Pfs.ListFiles("p", "master").Count);
    }

    [Fact]
    public async Task WithTwoWorkersEachSetRunsWhollyOnOneOfThem()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        var executor = new SetWatcher { Wait = TimeSpan.FromMilliseconds(100) };
        using var store = PachStore.Open(folder, new LocalObjectStore(Path.Combine(folder, "objects")), temporary: true, executor: executor);
        executor.Store = store;
        store.Pfs.CreateRepo("in");
        store.Pfs.PutFiles("in", "master", Enumerable.Range(1, 8).Select(i => TempStore.Text($"/f{i}", $"{i}")).ToList());
        store.Pps.CreatePipeline(Spec("""{ "number": 4 }""", parallelism: 2));
        var job = await store.Pps.WaitJobAsync(store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);

        Assert.Equal(JobState.Success, job.State);
        // Input paths f1..f4 are one set and f5..f8 the other: each ran in one worker's folder, in order.
        var byWorker = executor.Runs.GroupBy(r => r.Worker).Select(g => string.Join(",", g.Select(r => r.File))).Order().ToList();
        Assert.Contains(byWorker, w => w.Contains("/f1,/f2,/f3,/f4", StringComparison.Ordinal));
        Assert.Contains(byWorker, w => w.Contains("/f5,/f6,/f7,/f8", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithDatumBatchingEachSetRunsWhollyInOneWorkerProcessInOrder()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", Enumerable.Range(1, 8).Select(i => TempStore.Text($"/f{i}", $"{i}")).ToList());
        // Each datum's output names the worker process that ran it and how many datums that process had run before.
        var worker = "n=0; while :; do echo next > \"$PACH_DATUM_REQUEST\"; read -r r < \"$PACH_DATUM_RESPONSE\"; [ \"$r\" = done ] && exit 0; " +
            ". \"$PACH_DATUM_ENV\"; echo \"$$ $n\" > /pfs/out/$(basename $in); n=$((n+1)); sleep 0.05; done";
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "p" }, "parallelism_spec": { "constant": 2 }, "datum_set_spec": { "number": 4 },
              "transform": { "cmd": [ "sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(worker)}} ], "datum_batching": true },
              "input": { "pfs": { "repo": "in", "glob": "/*" } } }
            """));
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        var runs = Enumerable.Range(1, 8).Select(i => t.Read("p", "master", $"/f{i}").Trim().Split(' ')).ToList();
        // f1..f4 are one set and f5..f8 the other: each set ran in one process, its datums one after another in order.
        Assert.Single(runs.Take(4).Select(r => r[0]).Distinct());
        Assert.Single(runs.Skip(4).Select(r => r[0]).Distinct());
        Assert.Equal(runs.Take(4).Select(r => int.Parse(r[1])), Enumerable.Range(int.Parse(runs[0][1]), 4));
        Assert.Equal(runs.Skip(4).Select(r => int.Parse(r[1])), Enumerable.Range(int.Parse(runs[4][1]), 4));
    }

    /// <summary>Writes each datum's input path as its output, noting its worker folder and how many datums the store had recorded.</summary>
    private sealed class SetWatcher : IDatumExecutor
    {
        public PachStore? Store { get; set; }
        public TimeSpan Wait { get; init; } = TimeSpan.FromMilliseconds(800);
        public ConcurrentQueue<int> RecordedAtStart { get; } = new();
        public ConcurrentQueue<(string Worker, string File)> Runs { get; } = new();

        public async Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel)
        {
            await Task.Delay(Wait, cancel);
            RecordedAtStart.Enqueue(Store!.Pps.ListDatums(request.JobId).Count(d => d.State == DatumState.Success));
            var file = request.Inputs[0].Files[0].Path;
            Runs.Enqueue((request.WorkFolder, file));
            var output = Path.Combine(request.WorkFolder, "pfs", "out");
            Directory.CreateDirectory(output);
            File.WriteAllText(Path.Combine(output, file.TrimStart('/')), file);
            return new DatumResult(true, 0, "", output, 0);
        }
    }
}
