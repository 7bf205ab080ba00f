using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Ticks a pipeline's cron input now: commits a file named by the current time to its cron repo.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "PachCron", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class InvokePachCronCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Pipeline { get; set; } = "";

    /// <summary>The cron input's name; the pipeline's first cron input when omitted.</summary>
    [Parameter(Position = 1)]
    public string? Input { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Pipeline, "Tick cron input" + (Input is null ? "" : $" '{Input}'"))) return;
        InvokeEach(() => WriteObject(Pipelines.TickCron(Pipeline, Input)));
    }
}
