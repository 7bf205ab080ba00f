using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Pipelines, jobs, datums and logs: what a client of a store may ask of its pipeline system. Implemented in process
/// by <see cref="PpsService"/>, and by a client of an always-on service.
/// </summary>
public interface IPipelineService
{
    PipelineInfo CreatePipeline(PipelineSpec spec);
    PipelineInfo UpdatePipeline(PipelineSpec spec, bool reprocess);
    PipelineInfo RestorePipelineVersion(string name, int version, bool reprocess);
    IReadOnlyList<PipelineVersionInfo> ListPipelineVersions(string name);
    IReadOnlyList<PipelineDiffEntry> ComparePipelineVersions(string name, int version, int? other = null);
    IReadOnlyList<PipelineInfo> ListPipelines();
    PipelineInfo GetPipeline(string name);
    void DeletePipeline(string name, bool keepRepo);
    PipelineInfo SetPaused(string name, bool paused);
    CommitInfo TickCron(string pipeline, string? input = null);
    JobInfo RunPipeline(string name, IReadOnlyDictionary<string, string>? inputs = null);

    IReadOnlyList<JobInfo> ListJobs(string? pipeline = null, JobState? state = null);
    JobInfo GetJob(string id);
    JobInfo StopJob(string id);
    Task<JobInfo> WaitJobAsync(string id, TimeSpan? timeout, CancellationToken cancel, IProgress<JobInfo>? progress = null);
    Task<IReadOnlyList<CommitInfo>> WaitCommitAsync(string repo, string reference, TimeSpan? timeout, CancellationToken cancel,
        IProgress<JobInfo>? progress = null);

    IReadOnlyList<DatumInfo> ListDatums(string jobId);
    IReadOnlyList<DatumInfo> PlanDatums(PipelineSpec spec);
    IReadOnlyList<string> RestartDatums(string jobId, IEnumerable<string> datumIds);
    JobInfo RerunDatums(string jobId, IReadOnlyCollection<string> datumIds, bool failed);
    IReadOnlyList<LogLine> GetLogs(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? afterId = null);
    PachDag GetDag();
}
