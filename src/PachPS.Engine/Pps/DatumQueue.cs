using System.Threading.Channels;

namespace PachPS.Engine.Pps;

/// <summary>
/// The datums of a running job still to run, in sets (datum_set_spec; one datum each without it): a worker takes a
/// set, and Restart-PachDatum may put datums back (each a set of its own) while the job runs. It completes when the
/// last outstanding datum is done; after that it takes no more.
/// </summary>
internal sealed class DatumQueue(string jobId)
{
    private readonly Channel<IReadOnlyList<PlannedDatum>> _work = Channel.CreateUnbounded<IReadOnlyList<PlannedDatum>>();
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly HashSet<string> _rerun = new(StringComparer.Ordinal);
    private Dictionary<string, PlannedDatum> _planned = [];
    private int _outstanding;

    /// <summary>Queues the sets of the pending datums; any datum of <paramref name="planned"/> may be restarted later.</summary>
    public void Fill(IReadOnlyList<PlannedDatum> planned, IReadOnlyList<IReadOnlyList<PlannedDatum>> sets)
    {
        _planned = planned.ToDictionary(d => d.Hash, StringComparer.Ordinal);
        _outstanding = sets.Sum(s => s.Count);
        foreach (var set in sets) _work.Writer.TryWrite(set);
        if (_outstanding == 0) _work.Writer.TryComplete();
    }

    public IAsyncEnumerable<IReadOnlyList<PlannedDatum>> ReadAllAsync(CancellationToken cancel) => _work.Reader.ReadAllAsync(cancel);

    public void Started(string hash)
    {
        lock (_running) _running.Add(hash);
    }

    public void Done(string hash)
    {
        lock (_running) _running.Remove(hash);
        if (Interlocked.Decrement(ref _outstanding) == 0) _work.Writer.TryComplete();
    }

    /// <summary>
    /// Puts datums back in the queue (Restart-PachDatum). Returns the ids it restarted; a datum that is running or
    /// already queued again is left alone.
    /// </summary>
    public IReadOnlyList<string> Restart(IEnumerable<string> idPrefixes)
    {
        var restarted = new List<string>();
        foreach (var prefix in idPrefixes)
        {
            var hash = MatchOne(_planned.Keys, prefix, jobId);
            lock (_running)
            {
                if (_running.Contains(hash) || _rerun.Contains(hash)) continue;
                // Only while the queue is open: a job that has run its last datum is finishing and takes no more.
                if (Interlocked.Increment(ref _outstanding) == 1 || !_work.Writer.TryWrite([_planned[hash]]))
                {
                    Interlocked.Decrement(ref _outstanding);
                    throw PachException.State("JobFinishing", $"Job {Ids.Short(jobId)} has run all its datums and is finishing; rerun it with Update-PachPipeline -Reprocess.", jobId);
                }
                _rerun.Add(hash);
            }
            restarted.Add(hash);
        }
        return restarted;
    }

    /// <summary>The one datum of a job whose id starts with <paramref name="prefix"/>.</summary>
    public static string MatchOne(IEnumerable<string> hashes, string prefix, string jobId)
    {
        var matches = string.IsNullOrEmpty(prefix) ? [] : hashes.Where(h => h.StartsWith(prefix, StringComparison.Ordinal)).Take(2).ToList();
        if (matches.Count != 1)
            throw PachException.NotFound("DatumNotFound", matches.Count == 0 ? $"Job {Ids.Short(jobId)} has no datum '{prefix}'." : $"'{prefix}' matches more than one datum.", prefix);
        return matches[0];
    }
}
