using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Lines the datums' processes wrote (stdout and stderr), by pipeline, job or datum.</summary>
[Cmdlet(VerbsCommon.Get, "PachLog")]
[OutputType(typeof(LogLine))]
public sealed class GetPachLogCommand : PachCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Pipeline { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    public string? Job { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DatumId")]
    public string? Datum { get; set; }

    [Parameter]
    public int Tail { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var lines = Store.Pps.GetLogs(Job is null ? Pipeline : null, Job, Datum);
        WriteObject(Tail > 0 ? lines.TakeLast(Tail) : lines, enumerateCollection: true);
    });
}
