using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;

namespace PachPS.Engine;

/// <summary>
/// Everything the cmdlets reach a store through: an open in-process store (<see cref="PachStore"/>) or, later, a
/// connection to an always-on service. Disposing it closes the store or the connection.
/// </summary>
public interface IPachClient : IDisposable
{
    IFileService Files { get; }
    IPipelineService Pipelines { get; }
    IProvenanceService Provenance { get; }
    IStoreAdmin Admin { get; }
}
