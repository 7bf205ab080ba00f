using System.Management.Automation;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Runs named datums of a running job again; their new results replace the earlier ones in the job.</summary>
[Cmdlet(VerbsLifecycle.Restart, "PachDatum", SupportsShouldProcess = true)]
[OutputType(typeof(string))]
public sealed class RestartPachDatumCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Job { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DatumId")]
    public string[] Datum { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"job {Job}", $"Restart datum(s) {string.Join(", ", Datum)}")) return;
        InvokeEach(() => WriteObject(Pipelines.RestartDatums(Job, Datum), enumerateCollection: true));
    }
}
