using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Pipelines (all, by name or wildcard), or with -History every spec version of them, newest first.</summary>
[Cmdlet(VerbsCommon.Get, "PachPipeline", DefaultParameterSetName = ListSet)]
[OutputType(typeof(PipelineInfo), ParameterSetName = [ListSet])]
[OutputType(typeof(PipelineVersionInfo), ParameterSetName = [HistorySet])]
public sealed class GetPachPipelineCommand : PachCmdlet
{
    private const string ListSet = "List";
    private const string HistorySet = "History";

    [Parameter(Position = 0, ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = HistorySet, ValueFromPipelineByPropertyName = true)]
    [Alias("Pipeline")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string? Name { get; set; }

    /// <summary>List every spec version (what made it: Create, Update, Reprocess, Rollback) instead of the pipeline.</summary>
    [Parameter(Mandatory = true, ParameterSetName = HistorySet)]
    public SwitchParameter History { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (Name is not null && !WildcardPattern.ContainsWildcardCharacters(Name))
        {
            if (History) WriteObject(Pipelines.ListPipelineVersions(Name), enumerateCollection: true);
            else WriteObject(Pipelines.GetPipeline(Name));
            return;
        }
        var pattern = new WildcardPattern(Name ?? "*");
        foreach (var pipeline in Pipelines.ListPipelines().Where(p => pattern.IsMatch(p.Name)))
        {
            if (History) WriteObject(Pipelines.ListPipelineVersions(pipeline.Name), enumerateCollection: true);
            else WriteObject(pipeline);
        }
    });
}
