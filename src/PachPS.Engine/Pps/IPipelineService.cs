using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Pipelines, jobs, datums and logs: what a client of a store may ask of its pipeline system. Implemented in process
/// by <see cref="PpsService"/>, and by a client of an always-on service.
/// </summary>
public interface IPipelineService
{
    PipelineInfo CreatePipeline(PipelineSpec spec);
    /// <summary>Creates pipelines in order, all or none (a later spec may read an earlier one's output).</summary>
    IReadOnlyList<PipelineInfo> CreatePipelines(IReadOnlyList<PipelineSpec> specs);
    PipelineInfo UpdatePipeline(PipelineSpec spec, bool reprocess);
    PipelineInfo RestorePipelineVersion(string name, int version, bool reprocess);
    IReadOnlyList<PipelineVersionInfo> ListPipelineVersions(string name);
    IReadOnlyList<PipelineDiffEntry> ComparePipelineVersions(string name, int version, int? other = null);
    /// <summary>Replaces the specs of existing pipelines in order, all or none.</summary>
    IReadOnlyList<PipelineInfo> UpdatePipelines(IReadOnlyList<PipelineSpec> specs, bool reprocess);
    IReadOnlyList<PipelineInfo> ListPipelines();
    PipelineInfo GetPipeline(string name);
    void DeletePipeline(string name, bool keepRepo);
    PipelineInfo SetPaused(string name, bool paused);
    CommitInfo TickCron(string pipeline, string? input = null);
    JobInfo RunPipeline(string name, IReadOnlyDictionary<string, string>? inputs = null);

    /// <summary>Jobs, newest first (by creation time; jobs of the same millisecond by id, ascending), of one pipeline or all, in one state or any. Whole; <see cref="JobListing.StreamJobs"/> reads it a page at a time.</summary>
    IReadOnlyList<JobInfo> ListJobs(string? pipeline = null, JobState? state = null);
    /// <summary>Up to <paramref name="max"/> jobs of <see cref="ListJobs"/> after the cursor <paramref name="after"/> (null: the first page); the page's Next resumes it.</summary>
    Page<JobInfo> ListJobsPage(string? pipeline = null, JobState? state = null, string? after = null, int max = Listing.LargestPage);
    JobInfo GetJob(string id);
    JobInfo StopJob(string id);
    Task<JobInfo> WaitJobAsync(string id, TimeSpan? timeout, CancellationToken cancel, IProgress<JobInfo>? progress = null);
    Task<IReadOnlyList<CommitInfo>> WaitCommitAsync(string repo, string reference, TimeSpan? timeout, CancellationToken cancel,
        IProgress<JobInfo>? progress = null);

    IReadOnlyList<DatumInfo> ListDatums(string jobId);
    IReadOnlyList<DatumInfo> PlanDatums(PipelineSpec spec);
    /// <summary>A dry run of specs in order: a cron input's tick repo, or an earlier spec's output, plans as empty.</summary>
    IReadOnlyList<DatumInfo> PlanDatums(IReadOnlyList<PipelineSpec> specs);
    IReadOnlyList<string> RestartDatums(string jobId, IEnumerable<string> datumIds);
    JobInfo RerunDatums(string jobId, IReadOnlyCollection<string> datumIds, bool failed);
    IReadOnlyList<LogLine> GetLogs(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? afterId = null);
    /// <summary>A job's lines after <paramref name="afterId"/>, once there are some, the job has finished, or <paramref name="wait"/> has passed.</summary>
    Task<LogBatch> FollowLogsAsync(string jobId, string? datumId, DateTimeOffset? since, string? afterId, TimeSpan wait, CancellationToken cancel);
    PachDag GetDag();
}

/// <summary>Job listings read a page at a time (<see cref="Listing"/>), embedded or through a server alike.</summary>
public static class JobListing
{
    /// <summary><see cref="IPipelineService.ListJobs"/> as a stream, newest first.</summary>
    public static IEnumerable<JobInfo> StreamJobs(this IPipelineService pipelines, string? pipeline = null, JobState? state = null, CancellationToken cancel = default) =>
        Listing.Stream<JobInfo>((after, max) => pipelines.ListJobsPage(pipeline, state, after, max), cancel);
}
