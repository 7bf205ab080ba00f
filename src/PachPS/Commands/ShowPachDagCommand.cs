using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Draws the graph of repos and pipelines: text boxes and arrows in the console, or Mermaid/Graphviz for documents.</summary>
[Cmdlet(VerbsCommon.Show, "PachDag")]
[OutputType(typeof(string))]
public sealed class ShowPachDagCommand : PachCmdlet
{
    [Parameter(Position = 0)]
    [ValidateSet("Text", "Mermaid", "Dot")]
    public string Format { get; set; } = "Text";

    protected override void EndProcessing() => Invoke(() =>
    {
        var dag = Pipelines.GetDag();
        WriteObject(Format switch { "Mermaid" => dag.ToMermaid(), "Dot" => dag.ToDot(), _ => dag.ToText() });
    });
}
