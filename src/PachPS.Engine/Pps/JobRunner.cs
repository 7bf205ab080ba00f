using PachPS.Engine.Execution;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>
/// Runs one job: plans datums, reuses results of unchanged datums, runs the rest in parallel through the executor,
/// records progress in small batches (so a resumed job redoes at most the last batch) and writes the output commit.
/// </summary>
internal sealed class JobRunner(PpsService pps, PachStore store, string jobId)
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(300);
    private readonly MetadataStore _meta = store.Meta;
    private string JobId => jobId;
    private readonly System.Threading.Channels.Channel<PlannedDatum> _work = System.Threading.Channels.Channel.CreateUnbounded<PlannedDatum>();
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly HashSet<string> _rerun = new(StringComparer.Ordinal);
    private Dictionary<string, PlannedDatum> _planned = [];
    private int _outstanding;

    /// <summary>
    /// Puts datums of this running job back in the queue (Restart-PachDatum). Returns the ids it restarted; a datum
    /// that is running or already queued is left alone.
    /// </summary>
    internal IReadOnlyList<string> Restart(IEnumerable<string> idPrefixes)
    {
        var restarted = new List<string>();
        foreach (var prefix in idPrefixes)
        {
            var matches = _planned.Keys.Where(h => h.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (matches.Count != 1)
                throw PachException.NotFound("DatumNotFound", matches.Count == 0 ? $"Job {jobId[..16]} has no datum '{prefix}'." : $"'{prefix}' matches more than one datum.", prefix);
            var hash = matches[0];
            lock (_running)
            {
                if (_running.Contains(hash) || _rerun.Contains(hash)) continue;
                // Only while the queue is open: a job that has run its last datum is finishing and takes no more.
                if (Interlocked.Increment(ref _outstanding) == 1 || !_work.Writer.TryWrite(_planned[hash]))
                {
                    Interlocked.Decrement(ref _outstanding);
                    throw PachException.State("JobFinishing", $"Job {jobId[..16]} has run all its datums and is finishing; rerun it with Update-PachPipeline -Reprocess.", jobId);
                }
                _rerun.Add(hash);
            }
            restarted.Add(hash);
        }
        return restarted;
    }
    private readonly List<DatumOutcome> _batch = [];
    // Log lines as the processes write them; each flush stores them, so Get-PachLog -Follow sees a running datum.
    private readonly System.Collections.Concurrent.ConcurrentQueue<LogDoc> _logs = new();
    private readonly object _writerGate = new();
    private ContentWriter _writer = null!;
    // Datums whose results are already in the store in this run (a restarted datum's new result replaces its earlier one).
    private readonly HashSet<string> _flushed = new(StringComparer.Ordinal);

    // Names this run's worker folders apart from those of an earlier run of the same job.
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    private string WorkerFolder(string name) => Path.Combine(pps.WorkRoot, jobId, $"{_run}-{name}");

    private sealed record DatumOutcome(DatumDoc Doc, IReadOnlyList<TreeEntry> Outputs, long Downloaded, long Uploaded);

    public async Task RunAsync(CancellationToken cancel)
    {
        var start = _meta.Write<(JobDoc Job, PipelineSpec Spec)?>(db =>
        {
            var job = db.Jobs().FindById(jobId);
            if (job is null || job.State.IsTerminal()) return null;
            var version = db.PipelineVersions().FindById($"{job.Pipeline}@{job.PipelineVersion}");
            if (version is null) return null;
            StateMachines.MoveTo(job, JobState.Running);
            db.Jobs().Update(job);
            return (Job: job, Spec: PipelineSpec.Parse(version.SpecJson));
        });
        if (start is null) return;
        // What an earlier run of this job left goes (a killed session's datum processes may even still be writing
        // there); this run's folders have names of their own, so such a process can never write into them.
        TryDelete(Path.Combine(pps.WorkRoot, jobId));
        var (job, spec) = start.Value;

        var planned = _meta.Read(db =>
        {
            var tree = PfsService.Tree(db);
            return DatumPlanner.Plan(spec, job.Salt, tree, leaf =>
            {
                var input = job.Inputs.First(i => i.Name == leaf.Name);
                return new InputHead(input.Commit, db.Commits().FindById(input.Commit)?.Root);
            });
        });

        var pending = PrepareDatums(job, spec, planned);
        _writer = store.Content.BeginWrite(store.Pfs.FindPacked);
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        string? failure = null;
        using var jobTimer = new CancellationTokenSource();
        if (spec.JobTimeout is { } jobTimeout)
        {
            var elapsed = DateTime.UtcNow - job.Started!.Value;
            jobTimer.Token.Register(() =>
            {
                failure ??= $"job_timeout {Describe(jobTimeout)} exceeded: the job was stopped";
                failFast.Cancel();
            });
            jobTimer.CancelAfter(jobTimeout > elapsed ? jobTimeout - elapsed : TimeSpan.Zero);
        }
        using var flusher = new PeriodicTimer(FlushInterval);
        var flushing = Task.Run(async () =>
        {
            try { while (await flusher.WaitForNextTickAsync(failFast.Token)) FlushBatch(failFast); }
            catch (OperationCanceledException) { }
        });
        void Record(DatumOutcome outcome)
        {
            lock (_batch) _batch.Add(outcome);
            if (outcome.Doc.State != DatumState.Failed) return;
            failure ??= $"datum {outcome.Doc.Hash[..16]} failed after {outcome.Doc.Attempts} attempt(s): {outcome.Doc.Reason}";
            failFast.Cancel();
        }
        try
        {
            if (spec.Transform.DatumBatching)
            {
                var queue = new System.Collections.Concurrent.ConcurrentQueue<PlannedDatum>(pending);
                var workers = Enumerable.Range(0, Math.Max(1, Math.Min(spec.Parallelism, pending.Count))).Select(slot => RunBatchWorkerAsync(job, spec, queue, slot, Record,
                    reason => { failure ??= reason; failFast.Cancel(); }, failFast.Token));
                await Task.WhenAll(workers);
                failFast.Token.ThrowIfCancellationRequested();
            }
            else
            {
                // A work queue rather than a fixed list, so Restart-PachDatum can put finished datums back while the job runs.
                _planned = planned.ToDictionary(d => d.Hash, StringComparer.Ordinal);
                _outstanding = pending.Count;
                foreach (var datum in pending) _work.Writer.TryWrite(datum);
                if (pending.Count == 0) _work.Writer.TryComplete();
                // Each worker starts on a thread of its own: the local executor runs a datum on the calling thread.
                var workers = Enumerable.Range(0, Math.Max(1, spec.Parallelism)).Select(slot => Task.Factory.StartNew(async () =>
                {
                    // One work folder per worker, reused datum after datum (see ClearDatumFolder).
                    var folder = WorkerFolder($"worker-{slot}");
                    await foreach (var datum in _work.Reader.ReadAllAsync(failFast.Token))
                    {
                        lock (_running) _running.Add(datum.Hash);
                        try { Record(await RunDatumAsync(job, spec, datum, folder, failFast.Token)); }
                        finally
                        {
                            lock (_running) _running.Remove(datum.Hash);
                            if (Interlocked.Decrement(ref _outstanding) == 0) _work.Writer.TryComplete();
                        }
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap());
                await Task.WhenAll(workers);
            }
        }
        catch (OperationCanceledException) when (failure is not null && !cancel.IsCancellationRequested) { }
        finally
        {
            jobTimer.Dispose();
            flusher.Dispose();
            await flushing;
        }
        FlushBatch(null);
        cancel.ThrowIfCancellationRequested();
        Finish(job, failure);
        TryDelete(Path.Combine(pps.WorkRoot, jobId));
    }

    /// <summary>Creates the job's datum records: results already in this job (a resume) or in the last successful job are reused.</summary>
    private List<PlannedDatum> PrepareDatums(JobDoc job, PipelineSpec spec, List<PlannedDatum> planned) => _meta.Write(db =>
    {
        var datums = db.Datums();
        var existing = datums.Find(d => d.Job == jobId).ToDictionary(d => d.Hash, StringComparer.Ordinal);
        var lastSuccess = db.Pipelines().FindById(job.Pipeline)?.LastSuccess;
        var previousJob = lastSuccess is null || lastSuccess == jobId || spec.ReprocessSpec == "every_job" ? null : db.Jobs().FindById(lastSuccess);
        var previous = previousJob is null
            ? new Dictionary<string, DatumDoc>()
            : datums.Find(d => d.Job == previousJob.Id).Where(d => d.State is DatumState.Success or DatumState.Skipped)
                .ToDictionary(d => d.Hash, StringComparer.Ordinal);
        var pending = new List<PlannedDatum>();
        var fresh = new List<DatumDoc>();
        int processed = 0, skipped = 0;
        foreach (var d in planned)
        {
            if (existing.TryGetValue(d.Hash, out var done) && done.State is DatumState.Success or DatumState.Skipped)
            {
                if (done.State == DatumState.Success) processed++; else skipped++;
                continue;
            }
            var doc = new DatumDoc { Id = DatumDoc.Key(jobId, d.Hash), Job = jobId, Pipeline = job.Pipeline, Hash = d.Hash, Inputs = ToInputDocs(d) };
            if (previous.TryGetValue(d.Hash, out var earlier))
            {
                StateMachines.MoveTo(doc, DatumState.Skipped);
                doc.Outputs = earlier.Outputs;
                doc.SourceJob = string.IsNullOrEmpty(earlier.SourceJob) ? earlier.Job : earlier.SourceJob;
                skipped++;
            }
            else pending.Add(d);
            fresh.Add(doc);
        }
        // A new job has no records yet: inserting them in bulk costs a fraction of upserting one by one.
        if (existing.Count == 0) datums.InsertBulk(fresh); else datums.Upsert(fresh);
        var current = db.Jobs().FindById(jobId);
        current.Total = planned.Count;
        current.Skipped = skipped;
        current.Processed = processed;
        current.Failed = 0;
        current.Recovered = 0;
        db.Jobs().Update(current);
        return pending;
    });

    private async Task<DatumOutcome> RunDatumAsync(JobDoc job, PipelineSpec spec, PlannedDatum datum, string folder, CancellationToken cancel)
    {
        var doc = new DatumDoc
        {
            Id = DatumDoc.Key(jobId, datum.Hash), Job = jobId, Pipeline = job.Pipeline, Hash = datum.Hash, Inputs = ToInputDocs(datum),
            Started = DateTime.UtcNow, SourceJob = jobId,
        };
        var request = Request(job, spec, datum, folder) with
        {
            OnLog = line => _logs.Enqueue(new LogDoc { Job = jobId, Pipeline = job.Pipeline, Datum = datum.Hash, Time = line.Time, Stream = line.Stream, Message = line.Message }),
        };
        DatumResult? result = null;
        if (pps.Executor.RetriesItself)
        {
            result = await pps.Executor.RunAsync(request, cancel);
            doc.Attempts = result.Attempts;
        }
        else
        {
            for (var attempt = 1; attempt <= spec.DatumTries; attempt++)
            {
                doc.Attempts = attempt;
                result = await RunWithTimeoutAsync(request, spec.DatumTimeout, cancel);
                if (result.Success) break;
            }
        }
        if (!result!.Success && spec.Transform.ErrCmd.Count > 0)
        {
            // err_cmd decides whether the failure is acceptable: exit 0 marks the datum recovered (no output; it is
            // tried again in the next job).
            var recovery = await RunWithTimeoutAsync(request with { Transform = spec.Transform with { Cmd = spec.Transform.ErrCmd, Stdin = spec.Transform.ErrStdin }, Tries = 1 },
                spec.DatumTimeout, cancel);
            if (recovery.Success)
            {
                StateMachines.MoveTo(doc, DatumState.Recovered, "recovered by err_cmd after: " + result.Reason);
                TryDelete(request.WorkFolder);
                return new DatumOutcome(doc, [], result.BytesDownloaded, 0);
            }
        }
        if (!result.Success)
        {
            StateMachines.MoveTo(doc, DatumState.Failed, result.Reason);
            TryDelete(request.WorkFolder);
            return new DatumOutcome(doc, [], result.BytesDownloaded, 0);
        }
        var outputs = IngestOutputs(result.OutputFolder);
        ClearDatumFolder(request, result.OutputFolder, outputs);
        StateMachines.MoveTo(doc, DatumState.Success);
        return new DatumOutcome(doc, outputs, result.BytesDownloaded, outputs.Sum(o => o.Content.Size));
    }

    /// <summary>
    /// One batch worker slot: (re)starts the transform while datums remain; each datum it finishes is recorded like
    /// a single-datum run; a failed datum is retried up to datum_tries times by a later worker start.
    /// </summary>
    private async Task RunBatchWorkerAsync(JobDoc job, PipelineSpec spec, System.Collections.Concurrent.ConcurrentQueue<PlannedDatum> queue, int slot,
        Action<DatumOutcome> record, Action<string> fail, CancellationToken cancel)
    {
        if (pps.Executor is not IBatchExecutor executor)
        {
            fail("datum_batching is not supported by this executor");
            return;
        }
        var attempts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        while (!queue.IsEmpty && !cancel.IsCancellationRequested)
        {
            var source = new BatchSource(this, job, spec, queue, attempts, record);
            await executor.RunBatchAsync(WorkerFolder($"batch-{slot}"), spec.Transform, source, source.Log, cancel);
            if (source.Taken == 0 && !queue.IsEmpty)
            {
                fail("the batch worker exited without asking for a datum (see the datum_batching protocol in the README)");
                return;
            }
        }
    }

    /// <summary>Feeds one batch worker process and records what it finishes.</summary>
    private sealed class BatchSource(JobRunner runner, JobDoc job, PipelineSpec spec, System.Collections.Concurrent.ConcurrentQueue<PlannedDatum> queue,
        System.Collections.Concurrent.ConcurrentDictionary<string, int> attempts, Action<DatumOutcome> record) : IBatchSource
    {
        private readonly Dictionary<string, (PlannedDatum Datum, DatumDoc Doc)> _inHand = new(StringComparer.Ordinal);
        private volatile string? _current;

        public int Taken { get; private set; }

        public DatumRequest? Next()
        {
            if (!queue.TryDequeue(out var datum)) return null;
            Taken++;
            var attempt = attempts.AddOrUpdate(datum.Hash, 1, (_, n) => n + 1);
            var doc = new DatumDoc
            {
                Id = DatumDoc.Key(runner.JobId, datum.Hash), Job = runner.JobId, Pipeline = job.Pipeline, Hash = datum.Hash, Inputs = ToInputDocs(datum),
                Started = DateTime.UtcNow, SourceJob = runner.JobId, Attempts = attempt,
            };
            _inHand[datum.Hash] = (datum, doc);
            _current = datum.Hash;
            return runner.Request(job, spec, datum, "");
        }

        public void Complete(DatumRequest request, DatumResult result)
        {
            var (datum, doc) = _inHand[request.DatumId];
            _inHand.Remove(request.DatumId);
            if (result.Success)
            {
                var outputs = runner.IngestOutputs(result.OutputFolder);
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
            runner._logs.Enqueue(new LogDoc
            {
                Job = runner.JobId, Pipeline = job.Pipeline, Datum = _current ?? "", Time = line.Time, Stream = line.Stream, Message = line.Message,
            });
        }
    }

    /// <summary>The executor's view of a datum.</summary>
    private DatumRequest Request(JobDoc job, PipelineSpec spec, PlannedDatum datum, string workFolder) =>
        new(jobId, datum.Hash, job.Pipeline, job.OutputCommit, spec.Transform,
            datum.Inputs.Select(i => new DatumMount(i.Name, i.Repo, i.Commit, i.Path,
                i.Files.Select(f => new DatumFile(f.Path, f.Content)).ToList())).ToList(),
            workFolder)
        {
            Reader = store.Content, Env = datum.Env, Tries = spec.DatumTries, Timeout = spec.DatumTimeout, Pod = spec.Pod, Closing = pps.Closing };

    /// <summary>Runs one try; past <paramref name="timeout"/> the process tree is killed and the try fails saying so.</summary>
    private async Task<DatumResult> RunWithTimeoutAsync(DatumRequest request, TimeSpan? timeout, CancellationToken cancel)
    {
        if (timeout is null) return await pps.Executor.RunAsync(request, cancel);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timer.CancelAfter(timeout.Value);
        try { return await pps.Executor.RunAsync(request, timer.Token); }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new DatumResult(false, -1, $"datum_timeout {Describe(timeout.Value)} exceeded: the process was killed",
                Path.Combine(request.WorkFolder, "pfs", "out"), 0, []);
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{span.TotalHours}h"
        : span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes) ? $"{span.TotalMinutes}m"
        : $"{span.TotalSeconds}s";

    /// <summary>
    /// Readies a worker's folder for its next datum by deleting exactly the files the finished datum is known to hold
    /// (its inputs and the outputs just ingested) and the folders under them, keeping pfs/out and pfs/&lt;input&gt;:
    /// far cheaper than recreating the folder at thousands of datums. Anything unexpected left behind deletes the
    /// whole folder.
    /// </summary>
    private static void ClearDatumFolder(DatumRequest request, string outFolder, IReadOnlyList<TreeEntry> outputs)
    {
        var pfs = Path.Combine(request.WorkFolder, "pfs");
        var kept = new HashSet<string>(StringComparer.Ordinal) { request.WorkFolder, pfs, outFolder };
        foreach (var input in request.Inputs) kept.Add(Path.Combine(pfs, input.Name));
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var files = request.Inputs.SelectMany(i => i.Files.Select(f => Path.Combine(pfs, i.Name, f.Path.TrimStart('/'))))
            .Concat(outputs.Select(o => Path.Combine(outFolder, o.Path.TrimStart('/'))));
        try
        {
            foreach (var file in files)
            {
                File.Delete(file);
                for (var dir = Path.GetDirectoryName(file); dir is not null && !kept.Contains(dir) && dir.Length > request.WorkFolder.Length; dir = Path.GetDirectoryName(dir))
                    if (!removed.Add(dir)) break;
            }
            foreach (var dir in removed.OrderByDescending(d => d.Length)) Directory.Delete(dir, recursive: false);
        }
        catch (IOException) { TryDelete(request.WorkFolder); }
        catch (UnauthorizedAccessException) { TryDelete(request.WorkFolder); }
    }

    private List<TreeEntry> IngestOutputs(string folder)
    {
        var outputs = new List<TreeEntry>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var path = "/" + Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            FileContent content;
            lock (_writerGate) content = _writer.Write(stream);
            outputs.Add(new TreeEntry(path, content, ""));
        }
        return outputs;
    }

    /// <summary>Makes finished datums durable: their content first, then their records, counters and logs in one transaction.</summary>
    private void FlushBatch(CancellationTokenSource? killSwitch)
    {
        List<DatumOutcome> batch;
        lock (_batch)
        {
            batch = [.. _batch];
            _batch.Clear();
        }
        var lines = new List<LogDoc>();
        while (_logs.TryDequeue(out var line)) lines.Add(line);
        if (batch.Count == 0 && lines.Count == 0) return;
        List<(DatumOutcome Outcome, byte[]? Encoded)> resolved;
        lock (_writerGate)
        {
            _writer.Flush();
            resolved = batch.Select(o => (o, o.Doc.State == DatumState.Success
                ? TreeCodec.Encode(new PathTree.Leaf(o.Outputs.Select(e => e with { Content = _writer.Resolve(e.Content) }).ToArray()))
                : null)).ToList();
        }
        var killed = _meta.Write(db =>
        {
            store.Pfs.RecordPackedChunks(_writer.NewPackedChunks);
            var job = db.Jobs().FindById(jobId);
            foreach (var (outcome, encoded) in resolved)
            {
                // A restarted datum replaces its earlier result: take that one out of the counters first.
                if (!_flushed.Add(outcome.Doc.Hash) && db.Datums().FindById(outcome.Doc.Id) is { } earlier)
                {
                    switch (earlier.State)
                    {
                        case DatumState.Success: job.Processed--; break;
                        case DatumState.Skipped: job.Skipped--; break;
                        case DatumState.Recovered: job.Recovered--; break;
                        case DatumState.Failed: job.Failed--; break;
                    }
                }
                outcome.Doc.Outputs = encoded;
                db.Datums().Upsert(outcome.Doc);
                switch (outcome.Doc.State)
                {
                    case DatumState.Success: job.Processed++; break;
                    case DatumState.Recovered: job.Recovered++; break;
                    default: job.Failed++; break;
                }
                job.BytesDownloaded += outcome.Downloaded;
                job.BytesUploaded += outcome.Uploaded;

            }
            if (lines.Count > 0) db.Logs().InsertBulk(lines);
            db.Jobs().Update(job);
            return job.State == JobState.Killed;
        });
        if (killed) killSwitch?.Cancel();
    }

    private void Finish(JobDoc started, string? failure)
    {
        _meta.Write(db =>
        {
            var job = db.Jobs().FindById(jobId);
            if (job is null || job.State.IsTerminal()) return null;
            if (failure is null)
            {
                var files = new List<FileChange>();
                foreach (var d in db.Datums().Find(d => d.Job == jobId).OrderBy(d => d.Hash, StringComparer.Ordinal))
                {
                    if (d.Outputs is null) continue;
                    foreach (var entry in ((PathTree.Leaf)TreeCodec.Decode(d.Outputs)).Entries) files.Add(FileChange.Write(entry.Path, entry.Content, d.Hash));
                }
                try
                {
                    var info = store.Pfs.WriteOutputCommit(new OutputCommit(job.OutputCommit, job.Pipeline, job.OutputBranch,
                        job.Provenance.Select(p => new CommitProvenance(p.Repo, p.Branch, p.Commit)).ToList(), job.Id, job.Pipeline,
                        job.PipelineVersion, $"job {Ids.Short(job.Id)}"), files);
                    StateMachines.MoveTo(job, JobState.Success);
                    db.Jobs().Update(job);
                    if (db.Pipelines().FindById(job.Pipeline) is { } pipeline)
                    {
                        pipeline.LastSuccess = job.Id;
                        db.Pipelines().Update(pipeline);
                    }
                    return info;
                }
                // The writer refuses outputs that cannot form one tree (two datums writing one path, a file over a directory).
                catch (PachException ex) when (ex.Kind == PachErrorKind.InvalidArgument)
                {
                    failure = $"{ex.ErrorId}: {ex.Message}";
                }
            }
            StateMachines.MoveTo(job, JobState.Failure, failure!);
            db.Jobs().Update(job);
            PpsService.MarkDownstreamUnrunnable(db, job);
            return null;
        });
    }

    private static List<DatumInputDoc> ToInputDocs(PlannedDatum d) =>
        d.Inputs.Select(i => new DatumInputDoc { Name = i.Name, Repo = i.Repo, Commit = i.Commit, Path = i.Path }).ToList();

    private static void TryDelete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
