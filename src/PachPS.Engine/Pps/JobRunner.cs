using PachPS.Engine.Metadata;
using System.Collections.Concurrent;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Runs one job: plans its datums, reuses results of unchanged datums, runs the rest in parallel through the
/// executor (<see cref="DatumAttempt"/>, or batch workers), has the <see cref="ResultFlusher"/> make them durable as
/// they finish, and writes the output commit through Pfs.
/// </summary>
/// <param name="claimed">Whether the job was moved to Running for this process before the runner started (a resume
/// from StorageFull): the runner then does not move it again, which would count a second restart.</param>
internal sealed class JobRunner(JobContext context, string jobId, bool claimed = false)
{
    private readonly DatumQueue _queue = new(jobId);
    // Names this run's worker folders apart from those of an earlier run of the same job.
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    /// <summary>Puts datums of this running job back in its queue (Restart-PachDatum).</summary>
    internal IReadOnlyList<string> Restart(IEnumerable<string> idPrefixes) => _queue.Restart(idPrefixes);

    private string JobFolder => Path.Combine(context.WorkRoot, jobId);

    private string WorkerFolder(string name) => Path.Combine(JobFolder, $"{_run}-{name}");

    /// <summary>What the run is doing ("planning its datums", ...): named in the job's reason if it fails unexpectedly.</summary>
    public string Phase { get; private set; } = "starting";

    public async Task RunAsync(CancellationToken cancel)
    {
        var start = context.Meta.Write<(JobDoc Job, PipelineSpec Spec)?>(db =>
        {
            var job = db.Jobs().Get(jobId);
            if (job is null || job.State.IsTerminal()) return null;
            // Sessions that all find a job whose session ended (a sweep, an open) race for it: the first to claim it runs it.
            if (job.Owner.Length > 0 && job.Owner != JobScheduler.ThisProcess && JobScheduler.OwnerAlive(job.Owner)) return null;
            var version = db.PipelineVersions().Get(PipelineVersionDoc.Key(job.Pipeline, job.PipelineVersion));
            if (version is null) return null;
            job.Owner = JobScheduler.ThisProcess;
            // A pipeline's jobs write their output commits in creation order: behind an older one waiting for room
            // (StorageFull), this one waits too, and both resume together (in order) when there is room.
            if (job.State != JobState.Egressing && OlderWaitingForRoom(db, job) is { } older)
            {
                StateMachines.MoveTo(job, JobState.StorageFull, JobScheduler.WaitingReason(
                    $"{StorageFull.ErrorId}: job {Ids.Short(older.Id)} of '{job.Pipeline}', created before this one, waits for room in the store; this job runs after it.",
                    job.Pipeline));
                db.Jobs().Update(job);
                return null;
            }
            // A job whose output commit is written resumes its egress; any other resumes (or starts) its datums.
            if (!(claimed && job.State == JobState.Running))
            {
                StateMachines.MoveTo(job, job.State == JobState.Egressing ? JobState.Egressing : JobState.Running);
                db.Jobs().Update(job);
            }
            return (Job: job, Spec: PipelineSpec.Load(version.SpecJson));
        });
        if (start is null) return;
        if (start.Value.Job.State == JobState.Egressing)
        {
            await EgressAsync(start.Value.Spec, cancel);
            return;
        }
        // What an earlier run of this job left goes (a killed session's datum processes may even still be writing
        // there); this run's folders have names of their own, so such a process can never write into them.
        WorkFolders.TryDelete(JobFolder);
        var (job, spec) = start.Value;

        Phase = "planning its datums";
        // Input i of a job is leaf i of its spec (the inputs of a union may share a name).
        var leaves = spec.Input.Leaves().ToList();
        var planned = context.Pfs.ReadTree(tree => DatumPlanner.Plan(spec, job.Salt, tree, leaf =>
        {
            var input = job.Inputs[leaves.IndexOf(leaf)];
            return new InputHead(input.Commit, context.Pfs.FindCommit(input.Commit)?.Root);
        }));

        var pending = PrepareDatums(job, spec, planned);
        using var results = new ResultFlusher(context.Meta, context.Pfs, jobId);
        try { await RunDatumsAsync(job, spec, planned, pending, results, cancel); }
        catch
        {
            // Content written for results no record names (a flush that found the disk full, say) is removed again, and
            // so are the datums' folders: a job that failed for want of room gives all of it back. (A resumed run would
            // delete them first anyway.)
            results.Abandon();
            WorkFolders.TryDelete(JobFolder);
            throw;
        }
        WorkFolders.TryDelete(JobFolder);
        await EgressAsync(spec, cancel);
    }

    /// <summary>The oldest other job of the job's pipeline, created before it, that waits for room (StorageFull).</summary>
    private static JobDoc? OlderWaitingForRoom(LiteDB.LiteDatabase db, JobDoc job) =>
        db.Jobs().Find(j => j.Pipeline == job.Pipeline)
            .Where(j => j.State == JobState.StorageFull && j.Id != job.Id && j.Created <= job.Created)
            .OrderBy(j => j.Created).FirstOrDefault();

    /// <summary>Sends the output commit to the spec's egress, if it has one and the job is egressing (its commit written).</summary>
    private async Task EgressAsync(PipelineSpec spec, CancellationToken cancel)
    {
        if (spec.Egress is not { } egress) return;
        Phase = "egressing its output commit";
        await new JobEgress(context, jobId, egress).RunAsync(cancel);
    }

    private async Task RunDatumsAsync(JobDoc job, PipelineSpec spec, List<PlannedDatum> planned, List<PlannedDatum> pending, ResultFlusher results,
        CancellationToken cancel)
    {
        Phase = "running its datums";
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        string? failure = null;
        using var jobTimer = new CancellationTokenSource();
        if (spec.JobTimeout is { } jobTimeout)
        {
            var elapsed = DateTime.UtcNow - job.Started!.Value;
            jobTimer.Token.Register(() =>
            {
                failure ??= $"job_timeout {DatumAttempt.Describe(jobTimeout)} exceeded: the job was stopped";
                failFast.Cancel();
            });
            jobTimer.CancelAfter(jobTimeout > elapsed ? jobTimeout - elapsed : TimeSpan.Zero);
        }
        using var flusher = new PeriodicTimer(ResultFlusher.Interval);
        var flushing = Task.Run(async () =>
        {
            try
            {
                while (await flusher.WaitForNextTickAsync(failFast.Token))
                    if (results.Flush()) failFast.Cancel();
            }
            catch (OperationCanceledException) { }
            // A flush that found no room (StorageFull) ends the job: the workers stop, the error comes out below.
            catch (PachException)
            {
                failFast.Cancel();
                throw;
            }
        });
        var noRoom = false;
        // A set's outcomes are recorded at once, so one flush makes all of them durable or none.
        void Record(IReadOnlyList<DatumOutcome> outcomes)
        {
            results.Record(outcomes);
            foreach (var outcome in outcomes.Where(o => o.Doc.State == DatumState.Failed))
                failure ??= $"datum {Ids.Short(outcome.Doc.Hash)} failed after {outcome.Doc.Attempts} attempt(s): {outcome.Doc.Reason}";
            if (failure is not null) failFast.Cancel();
        }
        try
        {
            if (spec.Transform.DatumBatching)
            {
                // Sets as without batching (each datum one, without datum_set_spec); a slot takes a whole set at a time.
                var sets = new ConcurrentQueue<IReadOnlyList<PlannedDatum>>(
                    spec.DatumSets?.Split(pending, DatumBytes, spec.Parallelism) ?? pending.Select(d => (IReadOnlyList<PlannedDatum>)[d]).ToList());
                var workers = Enumerable.Range(0, Math.Max(1, Math.Min(spec.Parallelism, pending.Count))).Select(slot => RunBatchWorkerAsync(job, spec, results,
                    new BatchSlot(sets, Record), slot, reason => { failure ??= reason; failFast.Cancel(); }, failFast.Token));
                await Task.WhenAll(workers);
                failFast.Token.ThrowIfCancellationRequested();
            }
            else
            {
                _queue.Fill(planned, spec.DatumSets?.Split(pending, DatumBytes, spec.Parallelism) ?? pending.Select(d => (IReadOnlyList<PlannedDatum>)[d]).ToList());
                var attempt = new DatumAttempt(context, results, job, spec);
                // Each worker starts on a thread of its own: the local executor runs a datum on the calling thread.
                var workers = Enumerable.Range(0, Math.Max(1, spec.Parallelism)).Select(slot => Task.Factory.StartNew(async () =>
                {
                    // One work folder per worker, reused datum after datum (see WorkFolders.ClearDatumFolder).
                    var folder = WorkerFolder($"worker-{slot}");
                    await foreach (var set in _queue.ReadAllAsync(failFast.Token))
                    {
                        var outcomes = new List<DatumOutcome>(set.Count);
                        try
                        {
                            // The set's datums run one after another on this worker; a failed one ends the set (and the job).
                            foreach (var datum in set)
                            {
                                _queue.Started(datum.Hash);
                                outcomes.Add(await attempt.RunAsync(datum, folder, failFast.Token));
                                if (outcomes[^1].Doc.State == DatumState.Failed) break;
                            }
                            Record(outcomes);
                        }
                        // No room (StorageFull) or an unexpected failure: the job ends, so the other workers stop now.
                        catch (Exception) when (!failFast.IsCancellationRequested)
                        {
                            failFast.Cancel();
                            throw;
                        }
                        // A set cut short by a stop is not recorded: a resumed job runs it again whole.
                        finally { foreach (var datum in set) _queue.Done(datum.Hash); }
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap());
                await Task.WhenAll(workers);
            }
        }
        catch (OperationCanceledException) when (failure is not null && !cancel.IsCancellationRequested) { }
        catch (PachException ex) when (ex.ErrorId == StorageFull.ErrorId)
        {
            noRoom = true;
            throw;
        }
        finally
        {
            jobTimer.Dispose();
            flusher.Dispose();
            // The job waits for room: what the periodic flushes made durable is kept, the rest runs again when it
            // resumes. (Not flushed now: a flush keeps every output stored so far, the part of the one that did not fit too.)
            if (noRoom) { try { await flushing; } catch (PachException) { } }
            else await flushing;
        }
        Phase = "recording its datums' results";
        results.Flush();
        cancel.ThrowIfCancellationRequested();
        Phase = "writing its output commit";
        Finish(failure, spec.Egress is not null);
    }

    /// <summary>A datum's input bytes, for datum_set_spec.size_bytes.</summary>
    private static long DatumBytes(PlannedDatum datum) => datum.Inputs.Sum(i => i.Files.Sum(f => f.Content.Size));

    /// <summary>Datum records written per transaction when a job starts (LiteDB holds a transaction's pages in memory).</summary>
    internal const int RecordsPerPart = 5000;

    /// <summary>
    /// Creates the job's datum records: results already in this job (a resume) are kept, and outputs of the job it
    /// carries over from are reused: the last successful job's, or for a rerun those of the job it reruns, except the
    /// datums it redoes.
    /// </summary>
    private List<PlannedDatum> PrepareDatums(JobDoc job, PipelineSpec spec, List<PlannedDatum> planned) => context.Meta.Write(db =>
    {
        var datums = db.Datums();
        // Only what the records are needed for is kept: a job's or its predecessor's 100,000 records are not held whole.
        var existing = db.DatumsOfJob(jobId).ToDictionary(d => d.Hash, d => d.State, StringComparer.Ordinal);
        var carryFrom = job.RerunOf ?? db.Pipelines().Get(job.Pipeline)?.LastSuccess;
        var everyJob = job.RerunOf is null && spec.ReprocessSpec == "every_job";
        var previousJob = carryFrom is null || carryFrom == jobId || everyJob ? null : db.Jobs().Get(carryFrom);
        var redo = job.Redo.ToHashSet(StringComparer.Ordinal);
        var previous = new Dictionary<string, (byte[]? Outputs, string SourceJob)>(StringComparer.Ordinal);
        // A head moved back to commits an earlier job already read (Set-PachBranch, an undo): that job's results are
        // this job's too, even when jobs over other commits ran since.
        var sameInputs = job.RerunOf is not null || everyJob ? null : EarlierJobOverSameInputs(db, job);
        foreach (var source in new[] { sameInputs, previousJob })
        {
            if (source is null) continue;
            foreach (var d in db.DatumsOfJob(source.Id))
                if (d.State is DatumState.Success or DatumState.Skipped && !redo.Contains(d.Hash))
                    previous.TryAdd(d.Hash, (d.Outputs, string.IsNullOrEmpty(d.SourceJob) ? d.Job : d.SourceJob));
        }
        var pending = new List<PlannedDatum>();
        var part = new List<DatumDoc>(RecordsPerPart);
        int processed = 0, skipped = 0;
        void WritePart()
        {
            // A new job has no records yet: inserting them in bulk costs a fraction of upserting one by one.
            if (existing.Count == 0) datums.InsertBulk(part); else datums.Upsert(part);
            part.Clear();
            // Records written so far are what a resumed run finds in `existing`: any prefix of them leaves a valid job.
            context.Meta.CommitPart(db);
        }
        foreach (var d in planned)
        {
            if (existing.TryGetValue(d.Hash, out var done) && done is DatumState.Success or DatumState.Skipped)
            {
                if (done == DatumState.Success) processed++; else skipped++;
                continue;
            }
            var doc = new DatumDoc { Id = DatumDoc.Key(jobId, d.Hash), Job = jobId, Pipeline = job.Pipeline, Hash = d.Hash, Inputs = DatumAttempt.InputDocs(d) };
            if (previous.TryGetValue(d.Hash, out var earlier))
            {
                StateMachines.MoveTo(doc, DatumState.Skipped);
                doc.Outputs = earlier.Outputs;
                doc.SourceJob = earlier.SourceJob;
                skipped++;
            }
            else pending.Add(d);
            part.Add(doc);
            if (part.Count == RecordsPerPart) WritePart();
        }
        if (part.Count > 0) WritePart();
        var current = db.Jobs().Get(jobId);
        current.Total = planned.Count;
        current.Skipped = skipped;
        current.Processed = processed;
        current.Failed = 0;
        current.Recovered = 0;
        db.Jobs().Update(current);
        return pending;
    });

    /// <summary>The newest other successful job of the pipeline with this job's salt over exactly its input commits, if any.</summary>
    private static JobDoc? EarlierJobOverSameInputs(LiteDB.LiteDatabase db, JobDoc job) =>
        db.Jobs().Find(j => j.Pipeline == job.Pipeline)
            .Where(j => j.State.HasOutput() && j.Id != job.Id && j.Salt == job.Salt && j.Inputs.Select(i => i.Commit).SequenceEqual(job.Inputs.Select(i => i.Commit)))
            .OrderByDescending(j => j.Finished).FirstOrDefault();

    /// <summary>
    /// One batch worker slot: (re)starts the transform while its <see cref="BatchSlot"/> has datums; each set's
    /// outcomes are recorded together as without batching; a failed datum is retried up to datum_tries times by a later
    /// worker start on this slot.
    /// </summary>
    private async Task RunBatchWorkerAsync(JobDoc job, PipelineSpec spec, ResultFlusher results, BatchSlot work, int slot,
        Action<string> fail, CancellationToken cancel)
    {
        if (context.Executor is not IBatchExecutor executor)
        {
            fail("datum_batching is not supported by this executor");
            return;
        }
        while (work.HasWork && !cancel.IsCancellationRequested)
        {
            var source = new BatchSource(context, results, job, spec, work);
            await executor.RunBatchAsync(WorkerFolder($"batch-{slot}"), spec.Transform, source, source.Log, cancel);
            if (source.Taken == 0 && work.HasWork)
            {
                fail("the batch worker exited without asking for a datum (see the datum_batching protocol in the README)");
                return;
            }
        }
    }

    private static string CommitMessage(JobDoc job) => job.Trigger switch
    {
        JobTrigger.Manual => $"job {Ids.Short(job.Id)} (run by hand)",
        JobTrigger.Rerun => $"job {Ids.Short(job.Id)} (rerun of job {Ids.Short(job.RerunOf ?? "")})",
        _ => $"job {Ids.Short(job.Id)}",
    };

    /// <summary>
    /// Ends the job: on success the output commit (every datum's files, through Pfs's commit writer, which refuses
    /// outputs that cannot form one tree) and the job's success in one transaction (with an egress to do, it is
    /// Egressing instead until that is done); otherwise the failure, which makes every job downstream unrunnable.
    /// </summary>
    private void Finish(string? failure, bool egress)
    {
        context.Meta.Write(db =>
        {
            var job = db.Jobs().Get(jobId);
            if (job is null || job.State.IsTerminal()) return;
            if (failure is null)
            {
                var files = new List<FileChange>();
                // Streamed in hash order: only the outputs are kept, not every datum's record.
                foreach (var d in db.DatumsOfJob(jobId))
                {
                    if (d.Outputs is null) continue;
                    foreach (var entry in TreeCodec.DecodeFiles(d.Outputs)) files.Add(FileChange.Write(entry.Path, entry.Content, d.Hash));
                }
                try
                {
                    context.Pfs.WriteOutputCommit(new OutputCommit(job.OutputCommit, job.Pipeline, job.OutputBranch,
                        job.Provenance.Select(p => new CommitProvenance(p.Repo, p.Branch, p.Commit)).ToList(), job.Id, job.Pipeline,
                        job.PipelineVersion, CommitMessage(job)), files);
                    StateMachines.MoveTo(job, egress ? JobState.Egressing : JobState.Success);
                    db.Jobs().Update(job);
                    if (db.Pipelines().Get(job.Pipeline) is { } pipeline)
                    {
                        pipeline.LastSuccess = job.Id;
                        db.Pipelines().Update(pipeline);
                    }
                    return;
                }
                // The writer refuses outputs that cannot form one tree (two datums writing one path, a file over a directory).
                catch (PachException ex) when (ex.Kind == PachErrorKind.InvalidArgument)
                {
                    failure = $"{ex.ErrorId}: {ex.Message}";
                }
            }
            StateMachines.MoveTo(job, JobState.Failure, failure!);
            db.Jobs().Update(job);
            PipelineGraph.MarkDownstreamUnrunnable(db, job, JobScheduler.ThisProcess);
        });
    }
}
