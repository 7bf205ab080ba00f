using System.Diagnostics;
using System.Text.Json;
using PachPS.Engine;
using PachPS.Engine.Collection;

namespace PachPS.Bench;

/// <summary>
/// <c>PachPS.Bench generate &lt;store&gt; &lt;scale&gt;</c> writes a store for the collection bench and prints what it holds as
/// JSON; <c>PachPS.Bench collect &lt;store&gt; [whatif]</c> collects it in this process and prints the time of each stage, the
/// report and the process's peak resident memory as JSON (the last line of output, in both cases). The scale bench's
/// generators: <c>scale-files &lt;folder&gt; &lt;count&gt;</c>, <c>scale-commits &lt;store&gt; &lt;repo&gt; &lt;count&gt;</c>,
/// <c>scale-jobs &lt;store&gt; &lt;pipeline&gt; &lt;count&gt;</c>, <c>scale-datums &lt;store&gt; &lt;pipeline&gt; &lt;count&gt;</c>,
/// <c>scale-logs &lt;store&gt; &lt;pipeline&gt; &lt;count&gt;</c> (see <see cref="ScaleGenerator"/>).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args)
        {
            case ["generate", var path, var scale]:
            {
                var clock = Stopwatch.StartNew();
                using var store = PachStore.Open(path);
                var generated = StoreGenerator.Generate(store, double.Parse(scale, System.Globalization.CultureInfo.InvariantCulture),
                    log: line => Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds,6:N1} s {line}"));
                Console.WriteLine(JsonSerializer.Serialize(new { Generated = generated, Seconds = clock.Elapsed.TotalSeconds }));
                return 0;
            }
            case ["scale-files", var folder, var count]:
                ScaleGenerator.Files(folder, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            case ["scale-commits", var path, var repo, var count]:
            {
                using var store = PachStore.Open(path);
                ScaleGenerator.Commits(store, repo, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            }
            case ["scale-jobs", var path, var pipeline, var count]:
            {
                using var store = PachStore.Open(path);
                ScaleGenerator.Jobs(store, pipeline, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            }
            case ["scale-datums", var path, var pipeline, var count]:
            {
                using var store = PachStore.Open(path);
                ScaleGenerator.Datums(store, pipeline, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            }
            case ["scale-logs", var path, var pipeline, var count]:
            {
                using var store = PachStore.Open(path);
                ScaleGenerator.Logs(store, pipeline, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            }
            case ["collect", var path, ..]:
                Console.WriteLine(JsonSerializer.Serialize(Collect(path, whatIf: args is [_, _, "whatif"])));
                return 0;
            default:
                Console.Error.WriteLine("usage: PachPS.Bench generate <store> <scale> | collect <store> [whatif] | scale-files <folder> <count> | scale-commits <store> <repo> <count> | scale-jobs <store> <pipeline> <count> | scale-datums <store> <pipeline> <count> | scale-logs <store> <pipeline> <count>");
                return 2;
        }
    }

    private static object Collect(string path, bool whatIf)
    {
        using var store = PachStore.Open(path);
        var opened = PeakRss();
        var stages = new StageClock();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var report = store.Collect(whatIf, stages);
        stages.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return new
        {
            Seconds = report.Duration.TotalSeconds, CpuSeconds = cpu.TotalSeconds, Stages = stages.Seconds, PeakRss = PeakRss(), OpenedRss = opened,
            PeakRssAfter = stages.PeakRss,
            report.ObjectsRemoved, report.PacksRemoved, report.PacksWritten, report.TreeNodesRemoved, report.BytesFreed,
            report.LiveObjects, report.LiveBytes, report.RecentObjectsKept,
            Reasons = report.Reasons.ToDictionary(r => r.Reason, r => new { r.Objects, r.Bytes }),
        };
    }

    /// <summary>VmHWM: the most resident memory this process has had (Linux).</summary>
    internal static long PeakRss() =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(new string(l.Where(char.IsAsciiDigit).ToArray())) * 1024).FirstOrDefault();

    /// <summary>Seconds spent in each stage, from the first report of a stage to the first report of the next.</summary>
    private sealed class StageClock : IProgress<CollectionProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private CollectionStage? _stage;
        private TimeSpan _since;
        public Dictionary<string, double> Seconds { get; } = [];
        /// <summary>The process's peak resident memory when each stage ended.</summary>
        public Dictionary<string, long> PeakRss { get; } = [];

        public void Report(CollectionProgress value)
        {
            if (_stage == value.Stage) return;
            Stop();
            _stage = value.Stage;
        }

        public void Stop()
        {
            var now = _clock.Elapsed;
            if (_stage is { } stage)
            {
                Seconds[stage.ToString()] = Seconds.GetValueOrDefault(stage.ToString()) + (now - _since).TotalSeconds;
                PeakRss[stage.ToString()] = Program.PeakRss();
            }
            _since = now;
        }
    }
}
