using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>What differs between two spec versions of a pipeline, one object per changed JSON path.</summary>
[Cmdlet(VerbsData.Compare, "PachPipeline")]
[OutputType(typeof(PipelineDiffEntry))]
public sealed class ComparePachPipelineCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Pipeline { get; set; } = "";

    /// <summary>The version whose values are Old.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int Version { get; set; }

    /// <summary>The version whose values are New; the current version when omitted.</summary>
    [Parameter(Position = 2)]
    [ValidateRange(1, int.MaxValue)]
    public int? Other { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
        WriteObject(Pipelines.ComparePipelineVersions(Pipeline, Version, Other), enumerateCollection: true));
}
