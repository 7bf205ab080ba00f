using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Replaces a pipeline's spec (a new version) and runs a job over the current inputs; unchanged datums are skipped unless -Reprocess.</summary>
[Cmdlet(VerbsData.Update, "PachPipeline", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(PipelineInfo))]
public sealed class UpdatePachPipelineCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string SpecSet = "Spec";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = SpecSet, ValueFromPipeline = true)]
    public object? Spec { get; set; }

    /// <summary>Run every datum again, even those whose inputs did not change.</summary>
    [Parameter]
    public SwitchParameter Reprocess { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var spec = SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
        if (ShouldProcess(spec.Name, "Update pipeline")) WriteObject(Pipelines.UpdatePipeline(spec, Reprocess));
    });
}
