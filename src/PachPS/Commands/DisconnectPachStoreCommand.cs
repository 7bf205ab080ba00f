using System.Management.Automation;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommunications.Disconnect, "PachStore")]
[OutputType(typeof(void))]
public sealed class DisconnectPachStoreCommand : PachCmdlet
{
    protected override void EndProcessing() => StoreSession.Disconnect();
}
