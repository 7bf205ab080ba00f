using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Replaces a pipeline's spec (a new version), or with -Version restores an earlier spec version as a new one (a
/// rollback), and runs a job over the current inputs; unchanged datums are skipped unless -Reprocess.
/// </summary>
[Cmdlet(VerbsData.Update, "PachPipeline", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(PipelineInfo))]
public sealed class UpdatePachPipelineCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string SpecSet = "Spec";
    private const string VersionSet = "Version";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = SpecSet, ValueFromPipeline = true)]
    public object? Spec { get; set; }

    /// <summary>With -Version: the pipeline to roll back.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VersionSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Pipeline { get; set; } = "";

    /// <summary>The spec version to restore (Get-PachPipeline -History lists them).</summary>
    [Parameter(Mandatory = true, ParameterSetName = VersionSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Version { get; set; }

    /// <summary>Run every datum again, even those whose inputs did not change.</summary>
    [Parameter]
    public SwitchParameter Reprocess { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (ParameterSetName == VersionSet)
        {
            if (ShouldProcess(Pipeline, $"Restore spec version {Version} as a new version")) WriteObject(Pipelines.RestorePipelineVersion(Pipeline, Version, Reprocess));
            return;
        }
        var spec = SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
        if (ShouldProcess(spec.Name, "Update pipeline")) WriteObject(Pipelines.UpdatePipeline(spec, Reprocess));
    });
}
