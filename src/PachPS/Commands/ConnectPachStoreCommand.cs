using System.Management.Automation;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommunications.Connect, "PachStore", DefaultParameterSetName = PathSet)]
[OutputType(typeof(StoreInfo))]
public sealed class ConnectPachStoreCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string TemporarySet = "Temporary";

    [Parameter(Position = 0, ParameterSetName = PathSet)]
    public string? Path { get; set; }

    /// <summary>A throw-away store in a new temporary folder, deleted by Disconnect-PachStore.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TemporarySet)]
    public SwitchParameter Temporary { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var path = Temporary
            ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pachps-" + Guid.NewGuid().ToString("N")[..12])
            : Path is null ? PachStore.DefaultPath() : GetUnresolvedProviderPathFromPSPath(Path);
        WriteObject(StoreSession.Connect(path, Temporary).Info());
    });
}
