using System.Collections.Concurrent;

namespace PachPS.Engine.Pps;

/// <summary>
/// Feeds one datum_batching worker process the job's datums one at a time and records what it finishes like a
/// single-datum run; a failed datum goes back in the queue until it has had datum_tries attempts.
/// </summary>
internal sealed class BatchSource(JobContext context, ResultFlusher results, JobDoc job, PipelineSpec spec, ConcurrentQueue<PlannedDatum> queue,
    ConcurrentDictionary<string, int> attempts, Action<DatumOutcome> record) : IBatchSource
{
    private readonly Dictionary<string, (PlannedDatum Datum, DatumDoc Doc)> _inHand = new(StringComparer.Ordinal);
    private volatile string? _current;

    /// <summary>How many datums the worker took (and did not give back).</summary>
    public int Taken { get; private set; }

    public DatumRequest? Next()
    {
        if (!queue.TryDequeue(out var datum)) return null;
        Taken++;
        var doc = DatumAttempt.NewRecord(job, datum);
        doc.Attempts = attempts.AddOrUpdate(datum.Hash, 1, (_, n) => n + 1);
        _inHand[datum.Hash] = (datum, doc);
        _current = datum.Hash;
        return DatumAttempt.Request(context, job, spec, datum, "");
    }

    public void Complete(DatumRequest request, DatumResult result)
    {
        var (datum, doc) = _inHand[request.DatumId];
        _inHand.Remove(request.DatumId);
        if (result.Success)
        {
            var outputs = results.Ingest(result.OutputFolder);
            StateMachines.MoveTo(doc, DatumState.Success);
            record(new DatumOutcome(doc, outputs, result.BytesDownloaded, outputs.Sum(o => o.Content.Size)));
        }
        else if (doc.Attempts < spec.DatumTries) queue.Enqueue(datum);
        else
        {
            StateMachines.MoveTo(doc, DatumState.Failed, result.Reason);
            record(new DatumOutcome(doc, [], result.BytesDownloaded, 0));
        }
    }

    public void Return(DatumRequest request)
    {
        var (datum, _) = _inHand[request.DatumId];
        _inHand.Remove(request.DatumId);
        attempts.AddOrUpdate(datum.Hash, 0, (_, n) => n - 1);
        Taken--;
        queue.Enqueue(datum);
    }

    public void Log(ExecutionLog line)
    {
        if (line.Stream == LogStreams.DatumSwitch)
        {
            _current = line.Message;
            return;
        }
        results.Log(new LogDoc { Job = job.Id, Pipeline = job.Pipeline, Datum = _current ?? "", Time = line.Time, Stream = line.Stream, Message = line.Message });
    }
}
