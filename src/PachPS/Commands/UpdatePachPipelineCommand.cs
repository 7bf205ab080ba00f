using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Replaces pipelines' specs (a new version each; all or none) and runs a job over the current inputs; unchanged datums
/// are skipped unless -Reprocess (or reprocess: true in the spec).
/// </summary>
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
        var specs = SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
        var chosen = specs.Where(s => ShouldProcess(s.Name, "Update pipeline")).ToList();
        if (chosen.Count == 0) return;
        var updated = Pipelines.UpdatePipelines(chosen, Reprocess);
        foreach (var spec in chosen) SpecReader.WarnNotImplemented(this, spec);
        WriteObject(updated, enumerateCollection: true);
    });
}
