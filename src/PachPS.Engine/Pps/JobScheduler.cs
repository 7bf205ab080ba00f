using System.Collections.Concurrent;
using System.Diagnostics;
using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Creates jobs (for finished input commits, new or resumed pipelines) and runs them in the background of this
/// process: one job at a time per pipeline, each job's datums in parallel. Jobs another live process runs are left
/// to it; those of a dead or closed process are resumed.
/// </summary>
internal sealed class JobScheduler : IDisposable
{
    /// <summary>How long closing a store waits for its running jobs to stop (they resume when it is opened again).</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Jobs whose run is under way in this process (from its start until its task has ended).</summary>
    internal static readonly ConcurrentDictionary<string, byte> ActiveJobs = new(StringComparer.Ordinal);
    /// <summary>"pid:start-ticks" of this process, recorded on the jobs it runs.</summary>
    internal static readonly string ThisProcess = OwnerId(Process.GetCurrentProcess());

    private readonly MetadataStore _meta;
    private readonly PfsService _pfs;
    private readonly JobContext _context;
    // Per pipeline, when the last job started here has ended: each job waits for the one started before it.
    private readonly Dictionary<string, Task> _pipelineTurns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _toStart = new();
    private readonly ConcurrentDictionary<string, JobRunner> _runners = new(StringComparer.Ordinal);
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _shutdown;
    private readonly Func<bool> _hasRoom;
    // When a job last ran out of room or a probe last found none, and how many times in a row (see RoomRetry); the
    // next probe is due FirstDelay * 2^count after it. Guarded by _roomGate.
    private readonly object _roomGate = new();
    private DateTime _lastNoRoom = DateTime.MinValue;
    private int _noRoomCount;

    internal JobScheduler(MetadataStore meta, PfsService pfs, IDatumExecutor executor, string workRoot, CancellationTokenSource shutdown,
        Func<EgressSpec, EgressTarget> openEgress, Func<bool> hasRoom)
    {
        _meta = meta;
        _pfs = pfs;
        _shutdown = shutdown;
        _hasRoom = hasRoom;
        _context = new JobContext(meta, pfs, executor, workRoot, shutdown.Token, openEgress);
    }

    /// <summary>How egresses are retried (tests shorten the waits).</summary>
    internal EgressRetry EgressRetry => _context.EgressRetry;

    /// <summary>How jobs waiting for room are retried (tests shorten the waits).</summary>
    internal RoomRetry RoomRetry { get; } = new();

    /// <summary>
    /// Creates the jobs that finished commits trigger, outside the transactions that finished them (Pfs queues them,
    /// see <see cref="PfsService.ConsumeFinishedCommits"/>), and starts them. PachStore calls it whenever Pfs says a
    /// commit finished; opening a store and waiting for a commit call it too, for commits a dead process left queued.
    /// </summary>
    public void TriggerJobs()
    {
        _pfs.ConsumeFinishedCommits(branches => _meta.Write(db =>
        {
            foreach (var (repo, branch) in branches)
                foreach (var pipeline in PipelineGraph.ReadersOf(db, repo, branch))
                    if (pipeline.State == PipelineState.Running) QueueJob(db, pipeline);
        }));
        StartQueuedJobs();
    }

    /// <summary>
    /// Creates a job over the current heads of every input, unless one exists for exactly those commits; it starts
    /// with the next <see cref="StartQueuedJobs"/>, after the caller's transaction.
    /// </summary>
    public void QueueJob(LiteDatabase db, PipelineDoc pipeline)
    {
        var spec = PipelineSpec.Load(pipeline.SpecJson);
        if (spec.Spout is not null) return; // a spout has no input to run a job over: SpoutRunner runs its command
        // By position among the leaves: the inputs of a union may share a name.
        var heads = new List<CommitPointer>();
        foreach (var leaf in spec.Input.Leaves())
        {
            // An input without commits, or whose pinned commit is gone: nothing to run.
            CommitPointer? head;
            try { head = InputCommit(_pfs, pipeline.Name, leaf); }
            catch (PachException) { return; }
            if (head is null) return;
            heads.Add(head);
        }
        // Two triggers for the same input commits (two processes, or a resume) make one job.
        var last = pipeline.LastJob is null ? null : db.Jobs().Get(pipeline.LastJob);
        if (last is not null && last.PipelineVersion == pipeline.Version && last.Inputs.Select(i => i.Commit).SequenceEqual(heads.Select(h => h.Id))) return;
        Queue(db, pipeline, NewJob(pipeline, spec, heads));
    }

    /// <summary>
    /// Runs a pipeline now (Invoke-PachPipeline): a job over the commits <paramref name="chosen"/> names for some inputs
    /// (input name to commit reference in that input's repo) and the current heads of the others, even when a job for
    /// those commits exists or the pipeline is paused. Its output goes to the output branch as any job's would.
    /// </summary>
    public JobInfo QueueManualJob(string name, IReadOnlyDictionary<string, string> chosen) => _meta.Write(db =>
    {
        var pipeline = PipelineRegistry.RequirePipeline(db, name);
        var spec = PipelineSpec.Load(pipeline.SpecJson);
        if (spec.Spout is not null)
            throw PachException.State("PipelineIsSpout",
                $"Pipeline '{name}' is a spout: it has no input to run a job over. Its command runs by itself while the store is open " +
                "(Get-PachLog -Pipeline shows it); Suspend-/Resume-PachPipeline stop and start it.", name);
        var leaves = spec.Input.Leaves().ToList();
        foreach (var input in chosen.Keys.Where(k => !leaves.Any(l => l.Name == k)))
            throw PachException.NotFound("PipelineInputNameNotFound",
                $"Pipeline '{name}' has no input named '{input}'; its inputs are {string.Join(", ", leaves.Select(l => $"'{l.Name}'"))}.", input);
        // -Input names an input; the inputs of a union that share that name each read the reference in their own repo.
        var commits = new List<CommitPointer>();
        foreach (var leaf in leaves)
            commits.Add(chosen.TryGetValue(leaf.Name, out var reference) ? ChosenCommit(_pfs, name, leaf, reference)
                : InputCommit(_pfs, name, leaf) is { } head ? head : throw PachException.NotFound("CommitNotFound",
                    $"Input '{leaf.Name}' of '{name}' reads {leaf.Repo}@{leaf.Branch}, which has no commit yet; name one with -Input.", $"{leaf.Repo}@{leaf.Branch}"));
        var job = NewJob(pipeline, spec, commits);
        job.Trigger = JobTrigger.Manual;
        Queue(db, pipeline, job);
        return JobQueries.ToJob(job);
    });

    /// <summary>
    /// Starts a new job over a finished job's input commits, spec version and salt that runs the named datums (and,
    /// with <paramref name="failed"/>, every failed or recovered one) again and carries over every other output of that
    /// job; a datum with no output to carry over (failed, recovered, never run) runs too, as in any next job.
    /// </summary>
    public JobInfo QueueRerun(string jobId, IReadOnlyCollection<string> datumIds, bool failed) => _meta.Write(db =>
    {
        var origin = JobQueries.RequireJob(db, jobId);
        if (!origin.State.IsTerminal())
            throw PachException.State("JobNotFinished",
                $"Job {Ids.Short(origin.Id)} is {origin.State}; name the datums to run again within it, or wait until it ends.", origin.Id);
        var pipeline = PipelineRegistry.RequirePipeline(db, origin.Pipeline);
        var datums = db.Datums().Find(d => d.Job == origin.Id).ToList();
        if (datums.Count == 0)
            throw PachException.State("JobHasNoDatums", $"Job {Ids.Short(origin.Id)} ({origin.State}) has no datums to run again.", origin.Id);
        var redo = datumIds.Select(id => DatumQueue.MatchOne(datums.Select(d => d.Hash), id, origin.Id)).ToHashSet(StringComparer.Ordinal);
        if (failed)
        {
            var failures = datums.Where(d => d.State is DatumState.Failed or DatumState.Recovered).Select(d => d.Hash).ToList();
            if (failures.Count == 0 && redo.Count == 0)
                throw PachException.State("NoFailedDatums", $"Job {Ids.Short(origin.Id)} ({origin.State}) has no failed datums.", origin.Id);
            redo.UnionWith(failures);
        }
        if (redo.Count == 0) throw PachException.Invalid("NoDatumsNamed", "Name the datums to run again, or ask for the failed ones.", origin.Id);
        var job = new JobDoc
        {
            Id = Ids.New(), Pipeline = origin.Pipeline, PipelineVersion = origin.PipelineVersion, Salt = origin.Salt, OutputCommit = Ids.New(),
            OutputBranch = origin.OutputBranch, Inputs = origin.Inputs, Provenance = origin.Provenance, Created = DateTime.UtcNow, Owner = ThisProcess,
            Trigger = JobTrigger.Rerun, RerunOf = origin.Id, Redo = [.. redo.Order(StringComparer.Ordinal)],
        };
        Queue(db, pipeline, job);
        return JobQueries.ToJob(job);
    });

    /// <summary>
    /// A job of the pipeline's current version over the given commits (one per input, in the order of the spec's
    /// leaves; each with the branch it is read as), with them and every commit they were derived from as provenance.
    /// The job's inputs keep that order: input i of a job is leaf i of its spec.
    /// </summary>
    private static JobDoc NewJob(PipelineDoc pipeline, PipelineSpec spec, IReadOnlyList<CommitPointer> commits)
    {
        var inputs = new List<JobInputDoc>();
        var provenance = new Dictionary<string, ProvenanceDoc>(StringComparer.Ordinal);
        foreach (var (leaf, commit) in spec.Input.Leaves().Zip(commits))
        {
            inputs.Add(new JobInputDoc { Name = leaf.Name, Repo = leaf.Repo, Branch = commit.Branch, Commit = commit.Id });
            provenance.TryAdd(commit.Id, new ProvenanceDoc { Repo = commit.Repo, Branch = commit.Branch, Commit = commit.Id });
            foreach (var p in commit.Provenance) provenance.TryAdd(p.Commit, new ProvenanceDoc { Repo = p.Repo, Branch = p.Branch, Commit = p.Commit });
        }
        return new JobDoc
        {
            Id = Ids.New(), Pipeline = pipeline.Name, PipelineVersion = pipeline.Version, Salt = pipeline.EffectiveSalt, OutputCommit = Ids.New(),
            OutputBranch = spec.OutputBranch, Inputs = inputs, Provenance = provenance.Values.ToList(), Created = DateTime.UtcNow, Owner = ThisProcess,
        };
    }

    /// <summary>Stores a new job as the pipeline's newest; it starts with the next <see cref="StartQueuedJobs"/>.</summary>
    private void Queue(LiteDatabase db, PipelineDoc pipeline, JobDoc job)
    {
        db.Jobs().Insert(job);
        pipeline.LastJob = job.Id;
        db.Pipelines().Update(pipeline);
        _toStart.Enqueue(job.Id);
    }

    /// <summary>The finished commit a reference names in the repo an input reads; one of another repo, or still open, is refused.</summary>
    /// <summary>
    /// The commit an input reads now: its pinned commit (the spec's pfs.commit), or the head of its branch (null when
    /// the branch has none), with the branch it is read as. A pinned commit that is missing, in another repo or still
    /// open fails as <see cref="ChosenCommit"/> does.
    /// </summary>
    public static CommitPointer? InputCommit(PfsService pfs, string pipeline, PfsInputSpec leaf) =>
        leaf.Commit is { } pinned ? ChosenCommit(pfs, pipeline, leaf, pinned) with { Branch = leaf.Branch }
            : pfs.Head(leaf.Repo, leaf.Branch) is { } head ? head with { Branch = leaf.Branch } : null;

    private static CommitPointer ChosenCommit(PfsService _pfs, string pipeline, PfsInputSpec leaf, string reference)
    {
        CommitInfo commit;
        try { commit = _pfs.GetCommit(leaf.Repo, reference); }
        catch (PachException ex) when (ex.ErrorId is "CommitNotFound" or "BranchNotFound" && _pfs.FindCommit(reference) is { } elsewhere)
        {
            throw PachException.Invalid("CommitNotInInputRepo",
                $"Commit {Ids.Short(elsewhere.Id)} is in repo '{elsewhere.Repo}'; input '{leaf.Name}' of '{pipeline}' reads repo '{leaf.Repo}'.", reference);
        }
        if (!commit.IsFinished)
            throw PachException.State("CommitNotFinished", $"Commit {Ids.Short(commit.Commit)} of '{leaf.Repo}' is still open; finish it before a job reads it.", commit.Commit);
        return _pfs.FindCommit(commit.Commit)!;
    }

    public void StartQueuedJobs()
    {
        while (_toStart.TryDequeue(out var id)) StartJob(id);
    }

    /// <summary>How often an open store looks for jobs whose session ended (closed or killed) to take them over.</summary>
    public static readonly TimeSpan OrphanSweep = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Resumes jobs left unfinished by a process that no longer runs them (a closed or killed session); an open store
    /// calls it on opening and every <see cref="OrphanSweep"/>, so a job never waits for the next session to open.
    /// Jobs that stopped with StorageFull are among them: they resume (as after a crash: finished datums are kept)
    /// once a probe write finds room, probed at most as often as <see cref="RoomRetry"/> says.
    /// </summary>
    public void ResumeOrphans()
    {
        lock (_resumeGate)
        {
            var orphans = _meta.Read(db => db.UnfinishedJobs()
                .Where(j => !ActiveJobs.ContainsKey(j.Id) && (j.Owner == ThisProcess || !OwnerAlive(j.Owner)))
                .OrderBy(j => j.Created).Select(j => (j.Id, j.State)).ToList());
            var room = orphans.Any(j => j.State == JobState.StorageFull) && ProbeForRoom();
            // In creation order, so a pipeline's jobs keep theirs (a newer one waits behind an older one waiting for room).
            foreach (var (id, state) in orphans)
                if (state != JobState.StorageFull || room) StartJob(id);
        }
    }

    // A sweep and Resume-PachPipeline take jobs one at a time: a job Resume-PachPipeline has claimed (Running, this
    // process's) but not yet started is no orphan for the sweep to start again, counting a second restart.
    private readonly object _resumeGate = new();

    /// <summary>
    /// Resumes a pipeline's jobs that wait for room now, without a probe (Resume-PachPipeline): one that still finds
    /// no room waits again. Jobs another live session runs are left to it. They are claimed (Running, this process's)
    /// before this returns, so a Wait-PachJob right after Resume-PachPipeline waits for them instead of ending at once
    /// on a job still marked StorageFull.
    /// </summary>
    public void ResumeWaitingForRoom(string pipeline)
    {
        lock (_resumeGate)
        {
            // A job that has just stopped for want of room is marked StorageFull a moment before its run here has ended:
            // that end is waited for, or the resume would pass the job by until the next probe (an hour later, perhaps).
            var ending = _meta.Read(db => db.Jobs().Find(j => j.Pipeline == pipeline)
                .Where(j => j.State == JobState.StorageFull && ActiveJobs.ContainsKey(j.Id)).Select(j => j.Id).ToList());
            SpinWait.SpinUntil(() => !ending.Any(ActiveJobs.ContainsKey), StopTimeout);
            var claimed = _meta.Write(db =>
            {
                var waiting = db.Jobs().Find(j => j.Pipeline == pipeline).Where(j => j.State == JobState.StorageFull
                    && !ActiveJobs.ContainsKey(j.Id) && (j.Owner == ThisProcess || !OwnerAlive(j.Owner))).OrderBy(j => j.Created).ToList();
                foreach (var job in waiting)
                {
                    job.Owner = ThisProcess;
                    StateMachines.MoveTo(job, JobState.Running);
                    db.Jobs().Update(job);
                }
                return waiting.Select(j => j.Id).ToList();
            });
            foreach (var id in claimed) StartJob(id, claimed: true);
        }
    }

    /// <summary>Whether a probe finds room, when one is due; a probe that finds none makes the next wait longer.</summary>
    private bool ProbeForRoom()
    {
        lock (_roomGate)
        {
            var wait = TimeSpan.FromTicks((long)Math.Min(RoomRetry.FirstDelay.Ticks * Math.Pow(2, Math.Max(0, _noRoomCount - 1)), RoomRetry.MaxDelay.Ticks));
            if (DateTime.UtcNow < _lastNoRoom + wait) return false;
            bool room;
            try { room = _hasRoom(); }
            catch (Exception) { room = false; }
            if (!room) PostponeProbe();
            return room;
        }
    }

    /// <summary>Puts the next probe off: each time in a row there is no room, the wait doubles (up to RoomRetry.MaxDelay).</summary>
    private void PostponeProbe()
    {
        lock (_roomGate)
        {
            _lastNoRoom = DateTime.UtcNow;
            _noRoomCount++;
        }
    }

    /// <summary>Kills a job: its running datums are stopped and it ends 'Killed'.</summary>
    public JobInfo StopJob(string id)
    {
        var job = _meta.Write(db =>
        {
            var doc = JobQueries.RequireJob(db, id);
            if (!doc.State.IsTerminal())
            {
                // A job stopped while egressing has written its output commit: it stays, and jobs downstream read it.
                var written = doc.State.HasOutput();
                StateMachines.MoveTo(doc, JobState.Killed, written ? "stopped by the user during egress (the output commit stays)" : "stopped by the user");
                db.Jobs().Update(doc);
                if (!written) PipelineGraph.MarkDownstreamUnrunnable(db, doc, ThisProcess);
            }
            return JobQueries.ToJob(doc);
        });
        if (_running.TryGetValue(job.JobId, out var cts)) cts.Cancel();
        return job;
    }

    /// <summary>Runs named datums of a running job again (the job must be running in this process).</summary>
    public IReadOnlyList<string> RestartDatums(JobInfo job, IEnumerable<string> datumIds)
    {
        if (job.IsFinished)
            throw PachException.State("JobFinished",
                $"Job {Ids.Short(job.JobId)} is {job.State}; its datums run again in a new job (Restart-PachDatum on a finished job).", job.JobId);
        if (!_runners.TryGetValue(job.JobId, out var runner))
            throw PachException.State("JobNotRunningHere", $"Job {Ids.Short(job.JobId)} is not running in this session; restart its datums where it runs.", job.JobId);
        return runner.Restart(datumIds);
    }

    /// <summary>
    /// Refuses to squash a commit that a job not yet finished reads (its tree goes with the commit, and the job's
    /// output would name it); the job's records are left as they are: they say what it read.
    /// </summary>
    public static void GuardSquash(LiteDatabase db, CommitDoc commit)
    {
        var running = db.UnfinishedJobs().FirstOrDefault(j =>
            j.Provenance.Any(p => p.Commit == commit.Id) || j.Inputs.Any(i => i.Commit == commit.Id));
        if (running is not null)
            throw PachException.State("JobStillRunning",
                $"Job {Ids.Short(running.Id)} of '{running.Pipeline}' still reads commit {Ids.Short(commit.Id)} of '{commit.Repo}'; wait for it or stop it first.", running.Id);
    }

    /// <summary>
    /// Drops the jobs that made (or would make) the given commits, so skipping never reuses a removed output; refuses
    /// while such a job still runs.
    /// </summary>
    public static void ForgetOutputs(LiteDatabase db, IReadOnlyList<CommitDoc> removed)
    {
        var ids = removed.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var jobs = db.Jobs().FindAll().Where(j => ids.Contains(j.OutputCommit) || j.Provenance.Any(p => ids.Contains(p.Commit))).ToList();
        if (jobs.FirstOrDefault(j => !j.State.IsTerminal()) is { } running)
            throw PachException.State("JobStillRunning", $"Job {Ids.Short(running.Id)} of '{running.Pipeline}' still works on these commits; wait for it or stop it first.", running.Id);
        foreach (var job in jobs)
        {
            db.Datums().DeleteMany(d => d.Job == job.Id);
            db.Logs().DeleteMany(l => l.Job == job.Id);
            db.Jobs().Delete(job.Id);
        }
        foreach (var pipeline in db.Pipelines().FindAll().Where(p => jobs.Any(j => j.Id == p.LastJob || j.Id == p.LastSuccess)).ToList())
        {
            var remaining = db.Jobs().Find(j => j.Pipeline == pipeline.Name).ToList();
            pipeline.LastJob = remaining.OrderByDescending(j => j.Created).FirstOrDefault()?.Id;
            pipeline.LastSuccess = remaining.Where(j => j.State.HasOutput()).OrderByDescending(j => j.Finished).FirstOrDefault()?.Id;
            db.Pipelines().Update(pipeline);
        }
    }

    /// <param name="claimed">The caller has already moved the job to Running for this process (counting the restart).</param>
    private void StartJob(string jobId, bool claimed = false)
    {
        if (_shutdown.IsCancellationRequested || !ActiveJobs.TryAdd(jobId, 0)) return;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        _running[jobId] = cts;
        string? pipeline = null;
        Task previous = Task.CompletedTask;
        TaskCompletionSource? turn = null;
        try
        {
            pipeline = _meta.Read(db => db.Jobs().Get(jobId)?.Pipeline);
            // The turn is taken here, in the order jobs are started (creation order), not when a thread gets to it: two
            // jobs of one pipeline must never run at once, and a newer job's output must never be followed by an older's.
            if (pipeline is not null) (previous, turn) = TakeTurn(pipeline);
        }
        catch (PachException) { /* the task below ends the job with the reason, as for any failure to start */ }
        var task = Task.Run(async () =>
        {
            JobRunner? runner = null;
            try
            {
                pipeline ??= _meta.Read(db => db.Jobs().Get(jobId)?.Pipeline);
                if (pipeline is null) return;
                await previous.WaitAsync(cts.Token);
                runner = new JobRunner(_context, jobId, claimed);
                _runners[jobId] = runner;
                try { await runner.RunAsync(cts.Token); }
                finally { _runners.TryRemove(jobId, out _); }
                // Room was found (or not needed): the next job that runs out of it is probed for soon again.
                if (runner.Phase != "starting") lock (_roomGate) _noRoomCount = 0;
            }
            catch (OperationCanceledException) { }
            // No room for what the job wrote (its datums' outputs, its output commit, their records): it waits for room
            // and resumes with the datums it finished, instead of failing for good (a job stopped meanwhile stays Killed).
            catch (PachException ex) when (ex.ErrorId == StorageFull.ErrorId)
            {
                var phase = runner?.Phase ?? "starting";
                if (!TryWaitForRoom(jobId, pipeline ?? "", $"{ex.ErrorId} while {phase}: {ex.Message}"))
                    TryFailJob(jobId, $"{ex.ErrorId} while {phase}: {ex.Message}");
            }
            // Anything else still ends the job with a reason: a job is never left running silently.
            catch (PachException ex)
            {
                // A failure PachPS knows (StorageFull, StoreBusy, ...): its id and message say what to do.
                TryFailJob(jobId, $"{ex.ErrorId} while {runner?.Phase ?? "starting"}: {ex.Message}");
            }
            catch (Exception ex)
            {
                var phase = runner?.Phase ?? "starting";
                var trace = TryLogTrace(jobId, pipeline ?? "", phase, ex)
                    ? $"the full trace is in the job's log: Get-PachLog -JobId {jobId}"
                    : "the full trace could not be logged (the store could not be written)";
                TryFailJob(jobId, $"unexpected {ex.GetType().FullName} while {phase}: {ex.Message} ({trace})");
            }
            finally
            {
                // A job stopped while it waited hands its turn on only once the job before it has ended.
                if (turn is not null) _ = previous.ContinueWith(_ => turn.TrySetResult(), TaskScheduler.Default);
                _running.TryRemove(jobId, out _);
                ActiveJobs.TryRemove(jobId, out _);
                cts.Dispose();
                StartQueuedJobs();
            }
        });
        lock (_tasks)
        {
            _tasks.RemoveAll(t => t.IsCompleted);
            _tasks.Add(task);
        }
    }

    /// <summary>A place in the pipeline's line of jobs: the end of the job before (to wait for) and this job's own end.</summary>
    private (Task Previous, TaskCompletionSource Turn) TakeTurn(string pipeline)
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pipelineTurns)
        {
            var previous = _pipelineTurns.GetValueOrDefault(pipeline) ?? Task.CompletedTask;
            _pipelineTurns[pipeline] = turn.Task;
            return (previous, turn);
        }
    }

    /// <summary>Writes an unexpected exception's full trace to the job's log; false when the store could not take it.</summary>
    private bool TryLogTrace(string jobId, string pipeline, string phase, Exception ex)
    {
        try
        {
            _meta.Write(db => db.Logs().Insert(new LogDoc
            {
                Job = jobId, Pipeline = pipeline, Datum = "", Time = DateTime.UtcNow, Stream = LogStreams.Engine,
                Message = $"job failed while {phase}: {ex}",
            }));
            return true;
        }
        catch (Exception) { return false; }
    }

    /// <summary>
    /// Stops a job for want of room (StorageFull): not finished, it keeps its finished datums and resumes when a probe
    /// finds room or the pipeline is resumed. False when the job cannot wait (its output commit is written: an egress
    /// fails as before) or the store could not record it.
    /// </summary>
    private bool TryWaitForRoom(string jobId, string pipeline, string reason)
    {
        PostponeProbe();
        try
        {
            return _meta.Write(db =>
            {
                var job = db.Jobs().Get(jobId);
                if (job is null || job.State.IsTerminal()) return true;
                if (!StateMachines.CanMove(job.State, JobState.StorageFull)) return false;
                StateMachines.MoveTo(job, JobState.StorageFull, WaitingReason(reason, pipeline));
                db.Jobs().Update(job);
                return true;
            });
        }
        // The metadata itself is full: the job stays as it is, this session's, and the next sweep resumes it.
        catch (PachException) { return true; }
        catch (ObjectDisposedException) { return true; }
    }

    /// <summary>What a job waiting for room says: why, and that it resumes by itself or with Resume-PachPipeline.</summary>
    internal static string WaitingReason(string why, string pipeline) =>
        $"{why} The job waits for room: it resumes by itself once a probe write finds room again, or at once with " +
        $"Resume-PachPipeline '{pipeline}'; its finished datums are kept.";

    private void TryFailJob(string jobId, string reason)
    {
        try
        {
            _meta.Write(db =>
            {
                var job = db.Jobs().Get(jobId);
                if (job is null || job.State.IsTerminal()) return;
                // A job that failed while egressing keeps its output commit, which jobs downstream read.
                var written = job.State.HasOutput();
                StateMachines.MoveTo(job, written ? JobState.EgressFailed : JobState.Failure, written ? $"EgressFailed: {reason}" : reason);
                db.Jobs().Update(job);
                if (!written) PipelineGraph.MarkDownstreamUnrunnable(db, job, ThisProcess);
            });
        }
        catch (Exception) { /* the store is gone; the job is resumed when it is opened again */ }
    }

    /// <summary>
    /// A process's id as owner of jobs: "pid:start", where start is when it started. On Linux that is the kernel's own
    /// count of clock ticks since boot (/proc/pid/stat), exact from one reading to the next. Process.StartTime is
    /// computed from it and the clocks of the moment, and so differs by microseconds between readings: compared
    /// exactly, a sweep took a live session's running jobs for orphans and ran them a second time.
    /// </summary>
    private static string OwnerId(Process p) => $"{p.Id}:{StartOf(p)}";

    private static string StartOf(Process p)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
                var stat = File.ReadAllText($"/proc/{p.Id}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 19) return "k" + fields[19];
            }
            catch (IOException) { /* gone meanwhile: the start below fails the same way */ }
        }
        // Elsewhere to the second: what a reading of the clocks cannot move.
        return (p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the process an owner id ("pid:start") names still runs.</summary>
    internal static bool OwnerAlive(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var pid)) return false;
        try
        {
            using var p = Process.GetProcessById(pid);
            return OwnerId(p) == owner;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Waits (a bounded time) for this process's jobs to stop; the caller has cancelled the shutdown source.</summary>
    public void Dispose()
    {
        Task[] tasks;
        lock (_tasks) tasks = [.. _tasks];
        try { Task.WaitAll(tasks, StopTimeout); }
        catch (AggregateException) { }
        _context.CloseS3Endpoint();
        // The jobs this process stopped are nobody's now: another open session takes them over at its next sweep,
        // instead of leaving them until this process ends.
        try
        {
            _meta.Write(db =>
            {
                foreach (var job in db.UnfinishedJobs().Where(j => j.Owner == ThisProcess && !ActiveJobs.ContainsKey(j.Id)).ToList())
                {
                    job.Owner = "";
                    db.Jobs().Update(job);
                }
            });
        }
        catch (PachException) { /* a busy or damaged store: they resume when the process has ended, as before */ }
        catch (ObjectDisposedException) { }
    }
}
