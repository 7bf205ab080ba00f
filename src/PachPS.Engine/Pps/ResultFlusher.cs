using System.Collections.Concurrent;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>A finished datum, not yet durable: its record, the files it wrote and the bytes it moved.</summary>
internal sealed record DatumOutcome(DatumDoc Doc, IReadOnlyList<TreeEntry> Outputs, long Downloaded, long Uploaded);

/// <summary>
/// Makes a running job's results durable in small batches, so a resumed job redoes at most the last batch: output
/// content is written as datums finish; each flush stores that content first, then the datums' records, the job's
/// counters and the log lines gathered so far, in one transaction.
/// </summary>
/// <remarks>
/// The content writer holds the store's collection lock from the first output it stores until a flush has recorded
/// every output stored so far (<see cref="_unrecorded"/> empty): a garbage collection never sweeps while a datum's
/// output is stored but named by no datum record, and a job that runs for hours does not hold it off between datums.
/// </remarks>
internal sealed class ResultFlusher(MetadataStore meta, PfsService pfs, string jobId) : IDisposable
{
    /// <summary>How often finished datums and log lines are made durable while a job runs.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    private readonly List<DatumOutcome> _batch = [];
    // Log lines as the processes write them; each flush stores them, so Get-PachLog -Follow sees a running datum.
    private readonly ConcurrentQueue<LogDoc> _logs = new();
    private readonly object _writerGate = new();
    private readonly ContentWriter _writer = pfs.BeginWrite();
    // Datums whose results are already in the store in this run (a restarted datum's new result replaces its earlier one).
    private readonly HashSet<string> _flushed = new(StringComparer.Ordinal);
    // Outputs stored by Ingest whose datum records are not yet durable (by reference; guarded by _writerGate).
    private readonly HashSet<object> _unrecorded = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Writes every file a datum left in its output folder as content, by <see cref="DatumOutputs"/>' rules (the datum's
    /// /pfs is the folder's parent); the paths are relative to that folder. Throws DatumOutputInvalid.
    /// </summary>
    public List<TreeEntry> Ingest(string folder)
    {
        var outputs = new List<TreeEntry>();
        foreach (var (path, file) in DatumOutputs.List(folder, Path.GetDirectoryName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar))!))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            lock (_writerGate)
            {
                _unrecorded.Add(outputs);
                outputs.Add(new TreeEntry(path, _writer.Write(stream), ""));
            }
        }
        return outputs;
    }

    /// <summary>Queues finished datums to be made durable; outcomes recorded in one call go into the same flush.</summary>
    public void Record(IEnumerable<DatumOutcome> outcomes)
    {
        lock (_batch) _batch.AddRange(outcomes);
    }

    public void Log(LogDoc line) => _logs.Enqueue(line);

    /// <summary>Makes what finished since the last flush durable. Returns whether the job was killed meanwhile.</summary>
    public bool Flush()
    {
        List<DatumOutcome> batch;
        lock (_batch)
        {
            batch = [.. _batch];
            _batch.Clear();
        }
        var lines = new List<LogDoc>();
        while (_logs.TryDequeue(out var line)) lines.Add(line);
        if (batch.Count == 0 && lines.Count == 0) return false;
        // Held throughout, so no output is stored between the records being written and the lock being released.
        lock (_writerGate)
        {
            _writer.Flush();
            var resolved = batch.Select(o => (o, o.Doc.State == DatumState.Success
                ? TreeCodec.EncodeFiles(o.Outputs.Select(e => e with { Content = _writer.Resolve(e.Content) }).ToList())
                : null)).ToList();
            var killed = Write(resolved, lines);
            // The datum records now name this content (and perhaps some of a datum not yet recorded: kept, never lost).
            _writer.Keep();
            foreach (var outcome in batch) _unrecorded.Remove(outcome.Outputs);
            if (_unrecorded.Count == 0) _writer.Release();
            return killed;
        }
    }

    private bool Write(List<(DatumOutcome Outcome, byte[]? Encoded)> resolved, List<LogDoc> lines) =>
        meta.Write(db =>
        {
            pfs.RecordContent(_writer);
            var job = db.Jobs().Get(jobId);
            foreach (var (outcome, encoded) in resolved)
            {
                // A restarted datum replaces its earlier result: take that one out of the counters first.
                if (!_flushed.Add(outcome.Doc.Hash) && db.Datums().Get(outcome.Doc.Id) is { } earlier) Count(job, earlier.State, -1);
                outcome.Doc.Outputs = encoded;
                db.Datums().Upsert(outcome.Doc);
                Count(job, outcome.Doc.State, +1);
                job.BytesDownloaded += outcome.Downloaded;
                job.BytesUploaded += outcome.Uploaded;
            }
            if (lines.Count > 0) db.Logs().InsertBulk(lines);
            db.Jobs().Update(job);
            return job.State == JobState.Killed;
        });

    /// <summary>
    /// The job failed (a full disk, say) with results not yet recorded: removes the content written for them, which
    /// no record names. Called once no datum of the job runs any more.
    /// </summary>
    public void Abandon()
    {
        lock (_writerGate) _writer.Abandon();
    }

    /// <summary>Lets go of the collection lock, whatever is left unrecorded (a job that stops abandons it).</summary>
    public void Dispose()
    {
        lock (_writerGate) _writer.Dispose();
    }

    private static void Count(JobDoc job, DatumState state, int delta)
    {
        switch (state)
        {
            case DatumState.Success: job.Processed += delta; break;
            case DatumState.Skipped: job.Skipped += delta; break;
            case DatumState.Recovered: job.Recovered += delta; break;
            case DatumState.Failed: job.Failed += delta; break;
        }
    }
}
