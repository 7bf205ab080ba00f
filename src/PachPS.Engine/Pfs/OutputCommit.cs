namespace PachPS.Engine.Pfs;

/// <summary>What a job's output commit records besides its files: its id, branch, provenance and the job that made it.</summary>
internal sealed record OutputCommit(string Id, string Repo, string Branch, IReadOnlyList<CommitProvenance> Provenance, string Job, string Pipeline,
    int PipelineVersion, string Message);
