using System.Collections.Concurrent;

namespace PachPS.Engine.Pps;

/// <summary>
/// One datum_batching worker slot's share of a job: it takes the job's datum sets (datum_set_spec; without one, each
/// datum is a set) one whole set at a time, so a set's datums all run on this slot, and records a set's outcomes
/// together once every datum of it has its last one (as workers without batching do). A failed datum is tried again
/// on this slot until it has had datum_tries attempts. It outlives the worker processes the slot starts.
/// </summary>
internal sealed class BatchSlot(ConcurrentQueue<IReadOnlyList<PlannedDatum>> sets, Action<IReadOnlyList<DatumOutcome>> record)
{
    private readonly LinkedList<PlannedDatum> _waiting = new();
    private readonly Dictionary<string, DatumSetProgress> _setOf = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Attempts so far, by datum hash.</summary>
    public Dictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether datums remain to be handed out (taken sets' or the job's).</summary>
    public bool HasWork
    {
        get { lock (_gate) return _waiting.Count > 0 || !sets.IsEmpty; }
    }

    /// <summary>The next datum: of the set in hand, else the first of the next set; null when the job has no more.</summary>
    public PlannedDatum? Next()
    {
        lock (_gate)
        {
            if (_waiting.Count == 0)
            {
                if (!sets.TryDequeue(out var set)) return null;
                var progress = new DatumSetProgress(set.Count);
                foreach (var datum in set)
                {
                    _setOf[datum.Hash] = progress;
                    _waiting.AddLast(datum);
                }
            }
            var next = _waiting.First!.Value;
            _waiting.RemoveFirst();
            return next;
        }
    }

    /// <summary>A datum taken but not started (its batch ended first): it is the next handed out again.</summary>
    public void Return(PlannedDatum datum)
    {
        lock (_gate) _waiting.AddFirst(datum);
    }

    /// <summary>A datum to try again, after the rest of what this slot holds.</summary>
    public void Retry(PlannedDatum datum)
    {
        lock (_gate) _waiting.AddLast(datum);
    }

    /// <summary>A datum's last outcome; when it completes its set, the set's outcomes are recorded together.</summary>
    public void Finished(PlannedDatum datum, DatumOutcome outcome)
    {
        List<DatumOutcome>? complete = null;
        lock (_gate)
        {
            var progress = _setOf[datum.Hash];
            _setOf.Remove(datum.Hash);
            progress.Outcomes.Add(outcome);
            if (progress.Outcomes.Count == progress.Size) complete = progress.Outcomes;
        }
        if (complete is not null) record(complete);
    }

    private sealed record DatumSetProgress(int Size)
    {
        public List<DatumOutcome> Outcomes { get; } = new(Size);
    }
}

/// <summary>
/// Feeds one datum_batching worker process datums one at a time from its slot (<see cref="BatchSlot"/>) and settles
/// what it finishes like a single-datum run: an outcome when it succeeded or had its last try, another try otherwise.
/// </summary>
internal sealed class BatchSource(JobContext context, ResultFlusher results, JobDoc job, PipelineSpec spec, BatchSlot slot) : IBatchSource
{
    private readonly Dictionary<string, (PlannedDatum Datum, DatumDoc Doc)> _inHand = new(StringComparer.Ordinal);
    private volatile string? _current;

    /// <summary>How many datums the worker took (and did not give back).</summary>
    public int Taken { get; private set; }

    public DatumRequest? Next()
    {
        if (slot.Next() is not { } datum) return null;
        Taken++;
        var doc = DatumAttempt.NewRecord(job, datum);
        lock (slot.Attempts) doc.Attempts = slot.Attempts[datum.Hash] = slot.Attempts.GetValueOrDefault(datum.Hash) + 1;
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
            slot.Finished(datum, new DatumOutcome(doc, outputs, result.BytesDownloaded, outputs.Sum(o => o.Content.Size)));
        }
        else if (doc.Attempts < spec.DatumTries) slot.Retry(datum);
        else
        {
            StateMachines.MoveTo(doc, DatumState.Failed, result.Reason);
            slot.Finished(datum, new DatumOutcome(doc, [], result.BytesDownloaded, 0));
        }
    }

    public void Return(DatumRequest request)
    {
        var (datum, _) = _inHand[request.DatumId];
        _inHand.Remove(request.DatumId);
        lock (slot.Attempts) slot.Attempts[datum.Hash]--;
        Taken--;
        slot.Return(datum);
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
