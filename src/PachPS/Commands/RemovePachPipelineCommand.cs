using System.Management.Automation;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Removes a pipeline, its jobs and (unless -KeepRepo) its output repo.</summary>
[Cmdlet(VerbsCommon.Remove, "PachPipeline", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemovePachPipelineCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Pipeline")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter KeepRepo { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        Pipelines.GetPipeline(Name);
        if (ShouldProcess(Name, KeepRepo ? "Remove pipeline (keep its repo)" : "Remove pipeline and its output repo"))
            Pipelines.DeletePipeline(Name, KeepRepo);
    });
}
