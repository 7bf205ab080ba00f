using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The pipeline system of an open store, as its clients see it: pipelines (<see cref="PipelineRegistry"/>), jobs run
/// in the background of this process (<see cref="JobScheduler"/>), cron inputs (<see cref="CronTicker"/>), spouts
/// (<see cref="SpoutRunner"/>) and the read
/// side (<see cref="JobQueries"/>). It reads and writes repos and commits only through Pfs.
/// </summary>
public sealed class PpsService : IPipelineService, IDisposable
{
    private readonly CancellationTokenSource _shutdown = new();
    private readonly JobScheduler _scheduler;
    private readonly CronTicker _cron;
    private readonly SpoutRunner _spouts;
    private readonly PipelineRegistry _registry;
    private readonly JobQueries _queries;

    /// <param name="openEgress">Opens a pipeline's egress target (the store's S3 connection is the owner's to hand out).</param>
    /// <param name="hasRoom">Whether the store has room again for jobs that stopped with StorageFull (a probe write).</param>
    internal PpsService(MetadataStore meta, PfsService pfs, IDatumExecutor executor, string workRoot, Func<EgressSpec, EgressTarget> openEgress,
        Func<bool> hasRoom)
    {
        _scheduler = new JobScheduler(meta, pfs, executor, workRoot, _shutdown, openEgress, hasRoom);
        _cron = new CronTicker(meta, pfs, _shutdown.Token);
        _spouts = new SpoutRunner(meta, pfs, executor, workRoot, _shutdown.Token);
        _registry = new PipelineRegistry(meta, pfs, _scheduler, SpoutRunner.Supported(executor) ? null : executor.Description, () => executor.Description,
            executor.CheckTransform);
        _queries = new JobQueries(meta, pfs, TriggerJobs);
    }

    /// <summary>Starts what an opened store must do by itself: unfinished jobs, queued triggers, cron ticks and spouts.</summary>
    internal void Start()
    {
        _scheduler.ResumeOrphans();
        TriggerJobs();
        _cron.Ensure();
        _spouts.Ensure();
    }

    /// <summary>How egresses are retried (tests shorten the waits).</summary>
    internal EgressRetry EgressRetry => _scheduler.EgressRetry;

    /// <summary>How jobs waiting for room are retried (tests shorten the waits).</summary>
    internal RoomRetry RoomRetry => _scheduler.RoomRetry;

    /// <summary>Takes over the jobs of sessions that ended (PachStore calls it every <see cref="JobScheduler.OrphanSweep"/>).</summary>
    internal void ResumeOrphans() => _scheduler.ResumeOrphans();

    /// <summary>Creates and starts the jobs of commits finished since the last call (PachStore calls it when Pfs says so).</summary>
    internal void TriggerJobs() => _scheduler.TriggerJobs();

    /// <summary>Pfs asks this before a repo goes: a repo a pipeline reads or writes stays.</summary>
    internal static void GuardRepoRemoval(LiteDatabase db, string repo) => PipelineRegistry.GuardRepoRemoval(db, repo);

    /// <summary>Pfs tells this which commits an undo removes: the jobs that made them go in the same transaction.</summary>
    internal static void ForgetOutputs(LiteDatabase db, IReadOnlyList<CommitDoc> removed) => JobScheduler.ForgetOutputs(db, removed);

    /// <summary>Refuses (JobStillRunning) to squash a commit a job that has not finished still reads.</summary>
    internal static void GuardSquash(LiteDatabase db, CommitDoc commit) => JobScheduler.GuardSquash(db, commit);

    // ---------------------------------------------------------------- pipelines

    public PipelineInfo CreatePipeline(PipelineSpec spec) => CreatePipelines([spec])[0];

    public IReadOnlyList<PipelineInfo> CreatePipelines(IReadOnlyList<PipelineSpec> specs) => AndStart(() => _registry.Create(specs), cron: true);

    public PipelineInfo UpdatePipeline(PipelineSpec spec, bool reprocess) => UpdatePipelines([spec], reprocess)[0];

    public IReadOnlyList<PipelineInfo> UpdatePipelines(IReadOnlyList<PipelineSpec> specs, bool reprocess) =>
        AndStart(() => _registry.Update(specs, reprocess), cron: true);

    /// <summary>Makes spec version <paramref name="version"/> current again as a new version (a rollback); a job runs as for any update.</summary>
    public PipelineInfo RestorePipelineVersion(string name, int version, bool reprocess) =>
        AndStart(() => _registry.Restore(name, version, reprocess), cron: true);

    /// <summary>Every spec version of a pipeline, newest first, with what made each.</summary>
    public IReadOnlyList<PipelineVersionInfo> ListPipelineVersions(string name) => _registry.History(name);

    /// <summary>The JSON paths whose values differ between two spec versions (<paramref name="other"/> defaults to the current one).</summary>
    public IReadOnlyList<PipelineDiffEntry> ComparePipelineVersions(string name, int version, int? other = null) => _registry.Compare(name, version, other);

    public IReadOnlyList<PipelineInfo> ListPipelines() => _registry.List();

    public PipelineInfo GetPipeline(string name) => _registry.Get(name);

    /// <summary>Removes a pipeline; a spout's command is stopped first.</summary>
    public void DeletePipeline(string name, bool keepRepo) => _spouts.Removing(name, () => _registry.Delete(name, keepRepo));

    /// <summary>
    /// Paused pipelines start no jobs; resuming runs one over the current inputs, and resumes at once (without waiting
    /// for the next probe) the pipeline's jobs that wait for room (StorageFull).
    /// </summary>
    public PipelineInfo SetPaused(string name, bool paused)
    {
        // Those first: a job the resume starts waits behind them, as jobs of one pipeline run in creation order.
        if (!paused) _scheduler.ResumeWaitingForRoom(name);
        return AndStart(() => _registry.SetPaused(name, paused), cron: false);
    }

    /// <summary>Ticks a cron input now (Invoke-PachCron), whatever its schedule says.</summary>
    public CommitInfo TickCron(string pipeline, string? input = null) => _cron.TickNow(pipeline, input);

    /// <summary>Runs a job now over chosen commits of some inputs (input name to commit reference) and the heads of the others.</summary>
    public JobInfo RunPipeline(string name, IReadOnlyDictionary<string, string>? inputs = null) =>
        AndStart(() => _scheduler.QueueManualJob(name, inputs ?? new Dictionary<string, string>()), cron: false);

    // ---------------------------------------------------------------- jobs, datums, logs

    public IReadOnlyList<JobInfo> ListJobs(string? pipeline = null, JobState? state = null) => _queries.ListJobs(pipeline, state);
    public Page<JobInfo> ListJobsPage(string? pipeline = null, JobState? state = null, string? after = null, int max = Listing.LargestPage) =>
        _queries.ListJobsPage(pipeline, state, after, max);

    public JobInfo GetJob(string id) => _queries.GetJob(id);

    /// <summary>Every job counted by state, and their datums summed by outcome.</summary>
    public JobTotals CountJobs() => _queries.CountJobs();

    /// <summary>Kills a job: its running datums are stopped and it ends 'Killed'.</summary>
    public JobInfo StopJob(string id) => _scheduler.StopJob(id);

    public Task<JobInfo> WaitJobAsync(string id, TimeSpan? timeout, CancellationToken cancel, IProgress<JobInfo>? progress = null) =>
        _queries.WaitJobAsync(id, timeout, cancel, progress);

    public Task<IReadOnlyList<CommitInfo>> WaitCommitAsync(string repo, string reference, TimeSpan? timeout, CancellationToken cancel,
        IProgress<JobInfo>? progress = null) => _queries.WaitCommitAsync(repo, reference, timeout, cancel, progress);

    public IReadOnlyList<DatumInfo> ListDatums(string jobId) => _queries.ListDatums(jobId);
    public Page<DatumInfo> ListDatumsPage(string jobId, string? after = null, int max = Listing.LargestPage) => _queries.ListDatumsPage(jobId, after, max);

    public IReadOnlyList<DatumInfo> PlanDatums(PipelineSpec spec) => _queries.PlanDatums([spec]);

    public IReadOnlyList<DatumInfo> PlanDatums(IReadOnlyList<PipelineSpec> specs) => _queries.PlanDatums(specs);

    /// <summary>Runs named datums of a running job again (the job must be running in this process).</summary>
    public IReadOnlyList<string> RestartDatums(string jobId, IEnumerable<string> datumIds) => _scheduler.RestartDatums(GetJob(jobId), datumIds);

    /// <summary>
    /// Starts a new job over a finished job's input commits that runs the named datums (with <paramref name="failed"/>,
    /// also every failed one) again and carries over every other output of that job.
    /// </summary>
    public JobInfo RerunDatums(string jobId, IReadOnlyCollection<string> datumIds, bool failed) =>
        AndStart(() => _scheduler.QueueRerun(jobId, datumIds, failed), cron: false);

    public IReadOnlyList<LogLine> GetLogs(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? afterId = null) =>
        _queries.GetLogs(pipeline, jobId, datumId, since, afterId);
    public Page<LogLine> GetLogsPage(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? after = null, int max = Listing.LargestPage) =>
        _queries.GetLogsPage(pipeline, jobId, datumId, since, after, max);

    public Task<LogBatch> FollowLogsAsync(string jobId, string? datumId, DateTimeOffset? since, string? afterId, TimeSpan wait, CancellationToken cancel) =>
        _queries.FollowLogsAsync(jobId, datumId, since, afterId, wait, cancel);

    public PachDag GetDag() => _queries.GetDag();

    /// <summary>Runs a change, then starts the jobs it queued (after its transaction), cron ticking if asked, and starts or stops spouts.</summary>
    private T AndStart<T>(Func<T> change, bool cron)
    {
        var result = change();
        _scheduler.StartQueuedJobs();
        if (cron) _cron.Ensure();
        _spouts.Ensure();
        return result;
    }

    /// <summary>Stops the background work of this process; unfinished jobs resume when the store is opened again.</summary>
    public void Dispose()
    {
        _shutdown.Cancel();
        _cron.Dispose();
        _spouts.Dispose();
        _scheduler.Dispose();
    }
}
