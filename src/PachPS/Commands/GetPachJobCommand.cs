using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;
using JobState = PachPS.Engine.Pps.JobState;

namespace PachPS.Commands;

/// <summary>Jobs, newest first: all, one pipeline's, one by id, or those in a state.</summary>
[Cmdlet(VerbsCommon.Get, "PachJob", DefaultParameterSetName = ListSet)]
[OutputType(typeof(JobInfo))]
public sealed class GetPachJobCommand : PachCmdlet
{
    private const string ListSet = "List";
    private const string IdSet = "Id";

    [Parameter(Position = 0, ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string? Pipeline { get; set; }

    [Parameter(ParameterSetName = ListSet)]
    public JobState? State { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Id { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        if (ParameterSetName == IdSet) WriteObject(Pipelines.GetJob(Id));
        // A page at a time, each job written as it comes (newest first, read from the index on creation time).
        else foreach (var job in Pipelines.StreamJobs(Pipeline, State, CancelToken)) WriteObject(job);
    });
}
