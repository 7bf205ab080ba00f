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

    private static readonly ConcurrentDictionary<string, byte> ActiveJobs = new(StringComparer.Ordinal);
    /// <summary>"pid:start-ticks" of this process, recorded on the jobs it runs.</summary>
    internal static readonly string ThisProcess = OwnerId(Process.GetCurrentProcess());

    private readonly MetadataStore _meta;
    private readonly PfsService _pfs;
    private readonly JobContext _context;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _pipelineGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _toStart = new();
    private readonly ConcurrentDictionary<string, JobRunner> _runners = new(StringComparer.Ordinal);
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _shutdown;

    internal JobScheduler(MetadataStore meta, PfsService pfs, IDatumExecutor executor, string workRoot, CancellationTokenSource shutdown)
    {
        _meta = meta;
        _pfs = pfs;
        _shutdown = shutdown;
        _context = new JobContext(meta, pfs, executor, workRoot, shutdown.Token);
    }

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
        var inputs = new List<JobInputDoc>();
        var provenance = new Dictionary<string, ProvenanceDoc>(StringComparer.Ordinal);
        foreach (var leaf in spec.Input.Leaves())
        {
            var head = _pfs.Head(leaf.Repo, leaf.Branch);
            if (head is null) return; // an input without commits: nothing to run yet
            inputs.Add(new JobInputDoc { Name = leaf.Name, Repo = leaf.Repo, Branch = leaf.Branch, Commit = head.Id });
            provenance.TryAdd(head.Id, new ProvenanceDoc { Repo = leaf.Repo, Branch = leaf.Branch, Commit = head.Id });
            foreach (var p in head.Provenance) provenance.TryAdd(p.Commit, new ProvenanceDoc { Repo = p.Repo, Branch = p.Branch, Commit = p.Commit });
        }
        // Two triggers for the same input commits (two processes, or a resume) make one job.
        var last = pipeline.LastJob is null ? null : db.Jobs().FindById(pipeline.LastJob);
        if (last is not null && last.PipelineVersion == pipeline.Version &&
            last.Inputs.Select(i => i.Commit).SequenceEqual(inputs.Select(i => i.Commit))) return;
        var job = new JobDoc
        {
            Id = Ids.New(), Pipeline = pipeline.Name, PipelineVersion = pipeline.Version, Salt = pipeline.EffectiveSalt, OutputCommit = Ids.New(),
            OutputBranch = spec.OutputBranch, Inputs = inputs, Provenance = provenance.Values.ToList(), Created = DateTime.UtcNow, Owner = ThisProcess,
        };
        db.Jobs().Insert(job);
        pipeline.LastJob = job.Id;
        db.Pipelines().Update(pipeline);
        _toStart.Enqueue(job.Id);
    }

    public void StartQueuedJobs()
    {
        while (_toStart.TryDequeue(out var id)) StartJob(id);
    }

    /// <summary>Resumes jobs left unfinished by a process that no longer runs them (a closed or killed session).</summary>
    public void ResumeOrphans()
    {
        var orphans = _meta.Read(db => db.UnfinishedJobs()
            .Where(j => !ActiveJobs.ContainsKey(j.Id) && (j.Owner == ThisProcess || !OwnerAlive(j.Owner)))
            .OrderBy(j => j.Created).Select(j => j.Id).ToList());
        foreach (var id in orphans) StartJob(id);
    }

    /// <summary>Kills a job: its running datums are stopped and it ends 'Killed'.</summary>
    public JobInfo StopJob(string id)
    {
        var job = _meta.Write(db =>
        {
            var doc = JobQueries.RequireJob(db, id);
            if (!doc.State.IsTerminal())
            {
                StateMachines.MoveTo(doc, JobState.Killed, "stopped by the user");
                db.Jobs().Update(doc);
                PipelineGraph.MarkDownstreamUnrunnable(db, doc, ThisProcess);
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
            throw PachException.State("JobFinished", $"Job {Ids.Short(job.JobId)} is {job.State}; only datums of a running job can be restarted.", job.JobId);
        if (!_runners.TryGetValue(job.JobId, out var runner))
            throw PachException.State("JobNotRunningHere", $"Job {Ids.Short(job.JobId)} is not running in this session; restart its datums where it runs.", job.JobId);
        return runner.Restart(datumIds);
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
            pipeline.LastSuccess = remaining.Where(j => j.State == JobState.Success).OrderByDescending(j => j.Finished).FirstOrDefault()?.Id;
            db.Pipelines().Update(pipeline);
        }
    }

    private void StartJob(string jobId)
    {
        if (_shutdown.IsCancellationRequested || !ActiveJobs.TryAdd(jobId, 0)) return;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        _running[jobId] = cts;
        var task = Task.Run(async () =>
        {
            string? pipeline = null;
            SemaphoreSlim? gate = null;
            try
            {
                pipeline = _meta.Read(db => db.Jobs().FindById(jobId)?.Pipeline);
                if (pipeline is null) return;
                gate = _pipelineGates.GetOrAdd(pipeline, _ => new SemaphoreSlim(1, 1));
                await gate.WaitAsync(cts.Token);
                var runner = new JobRunner(_context, jobId);
                _runners[jobId] = runner;
                try { await runner.RunAsync(cts.Token); }
                finally { _runners.TryRemove(jobId, out _); }
            }
            catch (OperationCanceledException) { }
            catch (Exception ex)
            {
                // Anything unexpected still ends the job with a reason: a job is never left running silently.
                TryFailJob(jobId, "internal error: " + ex.Message);
            }
            finally
            {
                gate?.Release();
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

    private void TryFailJob(string jobId, string reason)
    {
        try
        {
            _meta.Write(db =>
            {
                var job = db.Jobs().FindById(jobId);
                if (job is null || job.State.IsTerminal()) return;
                StateMachines.MoveTo(job, JobState.Failure, reason);
                db.Jobs().Update(job);
                PipelineGraph.MarkDownstreamUnrunnable(db, job, ThisProcess);
            });
        }
        catch (Exception) { /* the store is gone; the job is resumed when it is opened again */ }
    }

    private static string OwnerId(Process p) => $"{p.Id}:{p.StartTime.ToUniversalTime().Ticks}";

    private static bool OwnerAlive(string owner)
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
    }
}
