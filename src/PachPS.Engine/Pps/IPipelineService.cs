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

    /// <summary>A job's datums in datum id order. Whole; <see cref="JobListing.StreamDatums"/> reads it a page at a time.</summary>
    IReadOnlyList<DatumInfo> ListDatums(string jobId);
    /// <summary>Up to <paramref name="max"/> datums of <see cref="ListDatums"/> after the datum id <paramref name="after"/> (null: the first page); the page's Next resumes it.</summary>
    Page<DatumInfo> ListDatumsPage(string jobId, string? after = null, int max = Listing.LargestPage);
    IReadOnlyList<DatumInfo> PlanDatums(PipelineSpec spec);
    /// <summary>A dry run of specs in order: a cron input's tick repo, or an earlier spec's output, plans as empty.</summary>
    IReadOnlyList<DatumInfo> PlanDatums(IReadOnlyList<PipelineSpec> specs);
    IReadOnlyList<string> RestartDatums(string jobId, IEnumerable<string> datumIds);
    JobInfo RerunDatums(string jobId, IReadOnlyCollection<string> datumIds, bool failed);
    /// <summary>
    /// Log lines, oldest first (in line id order), of a job, a pipeline or everything; optionally of one datum (an id or
    /// prefix), from a time on, or only those after the line <paramref name="afterId"/>. Whole;
    /// <see cref="JobListing.StreamLogs"/> reads it a page at a time.
    /// </summary>
    IReadOnlyList<LogLine> GetLogs(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? afterId = null);
    /// <summary>Up to <paramref name="max"/> lines of <see cref="GetLogs"/> after the line id <paramref name="after"/> (null: the first page); the page's Next resumes it.</summary>
    Page<LogLine> GetLogsPage(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? after = null, int max = Listing.LargestPage);
    /// <summary>A job's lines after <paramref name="afterId"/>, once there are some, the job has finished, or <paramref name="wait"/> has passed.</summary>
    Task<LogBatch> FollowLogsAsync(string jobId, string? datumId, DateTimeOffset? since, string? afterId, TimeSpan wait, CancellationToken cancel);
    PachDag GetDag();
}

/// <summary>Listings of jobs, datums and log lines read a page at a time (<see cref="Listing"/>), embedded or through a server alike.</summary>
public static class JobListing
{
    /// <summary><see cref="IPipelineService.ListJobs"/> as a stream, newest first.</summary>
    public static IEnumerable<JobInfo> StreamJobs(this IPipelineService pipelines, string? pipeline = null, JobState? state = null, CancellationToken cancel = default) =>
        Listing.Stream<JobInfo>((after, max) => pipelines.ListJobsPage(pipeline, state, after, max), cancel);

    /// <summary><see cref="IPipelineService.ListDatums"/> as a stream, in datum id order.</summary>
    public static IEnumerable<DatumInfo> StreamDatums(this IPipelineService pipelines, string jobId, CancellationToken cancel = default) =>
        Listing.Stream<DatumInfo>((after, max) => pipelines.ListDatumsPage(jobId, after, max), cancel);

    /// <summary><see cref="IPipelineService.GetLogs"/> as a stream, oldest first.</summary>
    public static IEnumerable<LogLine> StreamLogs(this IPipelineService pipelines, string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null,
        CancellationToken cancel = default) =>
        Listing.Stream<LogLine>((after, max) => pipelines.GetLogsPage(pipeline, jobId, datumId, since, after, max), cancel);
}
