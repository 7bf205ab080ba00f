using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>A job's datums, or (-Spec/-Path) the datums a spec would produce now, without creating anything.</summary>
[Cmdlet(VerbsCommon.Get, "PachDatum", DefaultParameterSetName = JobSet)]
[OutputType(typeof(DatumInfo))]
public sealed class GetPachDatumCommand : PachCmdlet
{
    private const string JobSet = "Job";
    private const string SpecSet = "Spec";
    private const string PathSet = "Path";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = JobSet, ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Job { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = SpecSet)]
    public object? Spec { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    public string Path { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        // A page at a time, in datum id order, each datum written as it comes.
        if (ParameterSetName == JobSet) foreach (var datum in Pipelines.StreamDatums(Job, CancelToken)) WriteObject(datum);
        else
        {
            var specs = SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
            var datums = Pipelines.PlanDatums(specs);
            foreach (var spec in specs) SpecReader.WarnNotImplemented(this, spec);
            WriteObject(datums, enumerateCollection: true);
        }
    });
}
