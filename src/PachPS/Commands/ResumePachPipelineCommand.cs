using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsLifecycle.Resume, "PachPipeline", SupportsShouldProcess = true)]
[OutputType(typeof(PipelineInfo))]
public sealed class ResumePachPipelineCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Pipeline")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Name { get; set; } = "";

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, "Resume pipeline")) return;
        InvokeEach(() => WriteObject(Pipelines.SetPaused(Name, paused: false)));
    }
}
