using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>The graph of repos and pipelines: nodes (with each pipeline's newest job state) and edges.</summary>
[Cmdlet(VerbsCommon.Get, "PachDag")]
[OutputType(typeof(PachDag))]
public sealed class GetPachDagCommand : PachCmdlet
{
    protected override void EndProcessing() => Invoke(() => WriteObject(Pipelines.GetDag()));
}
