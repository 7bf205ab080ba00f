using System.Collections.Concurrent;
using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Runs one spout's command for as long as it is wanted: started again when it exits, after a delay that doubles from
/// <see cref="FirstRestartDelay"/> up to <see cref="MaxRestartDelay"/> (a run of <see cref="HealthyRun"/> or more starts
/// the doubling over), while <see cref="SpoutOutput"/> commits what it writes. Its lines, and the runner's own
/// (stream "spout"), go to the pipeline's log.
/// </summary>
internal sealed class SpoutLoop(MetadataStore meta, PfsService pfs, ISpoutExecutor executor, string workFolder, PipelineSpec spec)
{
    /// <summary>The wait before the first restart of a command that exited.</summary>
    public static readonly TimeSpan FirstRestartDelay = TimeSpan.FromMilliseconds(500);
    /// <summary>The longest wait between restarts.</summary>
    public static readonly TimeSpan MaxRestartDelay = TimeSpan.FromMinutes(1);
    /// <summary>A command that ran this long before it exited is restarted after <see cref="FirstRestartDelay"/> again.</summary>
    public static readonly TimeSpan HealthyRun = TimeSpan.FromMinutes(1);
    /// <summary>Log lines kept per spout; older ones are removed as new ones come (a spout runs for ever).</summary>
    public const int LogLinesKept = 10_000;
    /// <summary>How often log lines are made durable.</summary>
    private static readonly TimeSpan LogInterval = ResultFlusher.Interval;

    private readonly ConcurrentQueue<LogDoc> _logs = new();
    private int _sinceTrim;

    /// <summary>Runs the command, restarting it, until <paramref name="cancel"/> fires (which kills it).</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        var request = new SpoutRequest(spec.Name, spec.Transform, workFolder) { OnLog = e => Log(e.Stream, e.Message, e.Time), Pod = spec.Pod };
        var output = new SpoutOutput(pfs, spec.Name, spec.OutputBranch, spec.Spout!.Overwrite, request.OutFolder, workFolder, m => Log("spout", m));
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var watcher = Task.Run(() => WatchAsync(output, watching.Token), CancellationToken.None);
        try
        {
            Safely(output.CommitStaged);
            var delay = FirstRestartDelay;
            for (var run = 1; !cancel.IsCancellationRequested; run++)
            {
                var started = DateTime.UtcNow;
                Log("spout", $"run {run} started");
                string ended;
                try { ended = $"exited with code {await executor.RunSpoutAsync(request, cancel)}"; }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested) { break; }
                catch (Exception ex) when (ex is not OperationCanceledException) { ended = $"could not run: {ex.Message}"; }
                Safely(output.CommitAll);
                if (DateTime.UtcNow - started >= HealthyRun) delay = FirstRestartDelay;
                Log("spout", $"run {run} {ended}; restarting in {delay.TotalSeconds:0.###}s");
                try { await Task.Delay(delay, cancel); }
                catch (OperationCanceledException) { break; }
                delay = delay * 2 > MaxRestartDelay ? MaxRestartDelay : delay * 2;
            }
        }
        finally
        {
            watching.Cancel();
            await watcher;
            Log("spout", "stopped");
            try { FlushLogs(); }
            catch (Exception) { /* the store is going; the lines are lost, nothing else */ }
        }
    }

    private async Task WatchAsync(SpoutOutput output, CancellationToken cancel)
    {
        var lastFlush = DateTime.UtcNow;
        while (!cancel.IsCancellationRequested)
        {
            try { await Task.Delay(SpoutOutput.PollInterval, cancel); }
            catch (OperationCanceledException) { return; }
            Safely(output.Poll);
            if (DateTime.UtcNow - lastFlush < LogInterval) continue;
            lastFlush = DateTime.UtcNow;
            Safely(FlushLogs);
        }
    }

    /// <summary>Runs a step of the loop; a failure is logged and the loop goes on (the next poll or run tries again).</summary>
    private void Safely(Action step)
    {
        try { step(); }
        catch (Exception ex) when (ex is PachException or IOException or UnauthorizedAccessException or LiteException)
        {
            Log("spout", $"{(ex as PachException)?.ErrorId ?? ex.GetType().Name}: {ex.Message}");
        }
    }

    private void Log(string stream, string message, DateTime? time = null) =>
        _logs.Enqueue(new LogDoc { Job = "", Pipeline = spec.Name, Datum = "", Time = time ?? DateTime.UtcNow, Stream = stream, Message = message });

    private void FlushLogs()
    {
        var lines = new List<LogDoc>();
        while (_logs.TryDequeue(out var line)) lines.Add(line);
        if (lines.Count == 0) return;
        _sinceTrim += lines.Count;
        var trim = _sinceTrim >= LogLinesKept / 10;
        if (trim) _sinceTrim = 0;
        meta.Write(db =>
        {
            db.Logs().InsertBulk(lines);
            if (!trim) return;
            var ofThisSpout = Query.And(Query.EQ("Job", ""), Query.EQ("Pipeline", spec.Name));
            var oldestKept = db.Logs().Find(ofThisSpout).OrderByDescending(l => l.Id).Skip(LogLinesKept - 1).FirstOrDefault();
            if (oldestKept?.Id is { } id) db.Logs().DeleteMany(Query.And(ofThisSpout, Query.LT("_id", id)));
        });
    }
}
