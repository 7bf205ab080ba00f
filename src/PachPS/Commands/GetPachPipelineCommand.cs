using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Get, "PachPipeline")]
[OutputType(typeof(PipelineInfo))]
public sealed class GetPachPipelineCommand : PachCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Pipeline")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string? Name { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (Name is not null && !WildcardPattern.ContainsWildcardCharacters(Name))
        {
            WriteObject(Pipelines.GetPipeline(Name));
            return;
        }
        var pattern = new WildcardPattern(Name ?? "*");
        WriteObject(Pipelines.ListPipelines().Where(p => pattern.IsMatch(p.Name)), enumerateCollection: true);
    });
}
