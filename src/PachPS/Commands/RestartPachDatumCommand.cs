using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Runs datums again. In a running job (this session's) they go back in its queue and the restarted ids are returned;
/// for a finished job a new job over its input commits redoes them (-Failed: its failed ones) and carries over every
/// other output, and that job is returned.
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "PachDatum", SupportsShouldProcess = true, DefaultParameterSetName = DatumSet)]
[OutputType(typeof(string), typeof(JobInfo))]
public sealed class RestartPachDatumCommand : PachCmdlet
{
    private const string DatumSet = "Datum";
    private const string FailedSet = "Failed";

    // Datums of finished jobs, gathered from the whole pipeline so that each job gets one new job (in EndProcessing).
    private readonly Dictionary<string, List<string>> _reruns = new(StringComparer.Ordinal);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Job { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = DatumSet, ValueFromPipelineByPropertyName = true)]
    [Alias("DatumId")]
    public string[] Datum { get; set; } = [];

    /// <summary>Redo every failed datum of a finished job.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FailedSet)]
    public SwitchParameter Failed { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var job = Pipelines.GetJob(Job);
        if (job.IsFinished || Failed)
        {
            if (!_reruns.TryGetValue(job.JobId, out var datums)) _reruns[job.JobId] = datums = [];
            datums.AddRange(Datum);
            return;
        }
        if (ShouldProcess($"job {job.JobId}", $"Restart datum(s) {string.Join(", ", Datum)}"))
            WriteObject(Pipelines.RestartDatums(job.JobId, Datum), enumerateCollection: true);
    });

    protected override void EndProcessing()
    {
        foreach (var (job, datums) in _reruns)
        {
            var what = Failed ? "its failed datums" : $"datum(s) {string.Join(", ", datums)}";
            if (ShouldProcess($"job {job}", $"Start a new job that redoes {what} and carries over its other results"))
                InvokeEach(() => WriteObject(Pipelines.RerunDatums(job, datums, Failed)));
        }
    }
}
