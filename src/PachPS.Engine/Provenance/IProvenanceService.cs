using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Provenance;

/// <summary>Where data came from and where it went, for commits, jobs and single files.</summary>
public interface IProvenanceService
{
    IReadOnlyList<ProvenanceEntry> GetProvenance(string repo, string reference);
    IReadOnlyList<ProvenanceEntry> GetJobProvenance(string jobId);
    IReadOnlyList<CommitInfo> GetSubvenance(string repo, string reference);
    IReadOnlyList<LineageEntry> GetFileProvenance(string repo, string reference, string path);
    IReadOnlyList<LineageEntry> GetFileSubvenance(string repo, string reference, string path);
}
