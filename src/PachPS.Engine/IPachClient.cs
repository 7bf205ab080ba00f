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
    /// <summary>
    /// The content objects of a store opened in this process (null through a server): an s3:// import naming no
    /// server of its own reads from the store's S3 server with its credentials.
    /// </summary>
    Storage.IObjectStore? LocalObjects => null;
    /// <summary>A server's tokens; an embedded store has none (TokensNeedServer).</summary>
    Remote.ITokenService Tokens => throw new PachException("TokensNeedServer", PachErrorKind.InvalidOperation,
        "Tokens belong to a PachPS server; this session works on an embedded store. Connect with Connect-PachStore -Server first.", null);
}
