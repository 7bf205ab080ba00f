using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Get, "PachStore")]
[OutputType(typeof(StoreInfo))]
public sealed class GetPachStoreCommand : PachCmdlet
{
    protected override void EndProcessing() => Invoke(() => WriteObject(Admin.Info()));
}
