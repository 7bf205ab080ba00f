using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Kills a job: running datums stop and the job ends 'Killed'.</summary>
[Cmdlet(VerbsLifecycle.Stop, "PachJob", SupportsShouldProcess = true)]
[OutputType(typeof(JobInfo))]
public sealed class StopPachJobCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Id { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var job = Pipelines.GetJob(Id);
        if (ShouldProcess($"{job.Pipeline} job {job.JobId}", "Stop job")) WriteObject(Pipelines.StopJob(job.JobId));
    });
}
