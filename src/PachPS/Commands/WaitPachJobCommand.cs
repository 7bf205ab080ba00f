using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Waits until jobs finish and returns them.</summary>
[Cmdlet(VerbsLifecycle.Wait, "PachJob")]
[OutputType(typeof(JobInfo))]
public sealed class WaitPachJobCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Id { get; set; } = "";

    /// <summary>Seconds to wait before failing with WaitTimeout.</summary>
    [Parameter]
    public int TimeoutSec { get; set; } = 0;

    protected override void ProcessRecord() => InvokeEach(() =>
        WriteObject(AwaitWithJobProgress(progress => Pipelines.WaitJobAsync(Id, TimeoutSec > 0 ? TimeSpan.FromSeconds(TimeoutSec) : null, CancelToken, progress))));
}
