using System.Collections;
using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Runs a job of a pipeline now, on chosen commits of some inputs and the current heads of the others.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "PachPipeline", SupportsShouldProcess = true)]
[OutputType(typeof(JobInfo))]
public sealed class InvokePachPipelineCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string Pipeline { get; set; } = "";

    /// <summary>Input name to the commit it reads: a reference in that input's repo, or a commit object.</summary>
    [Parameter(Position = 1)]
    public Hashtable? Input { get; set; }

    protected override void ProcessRecord()
    {
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Input ?? [])
        {
            var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            inputs[entry.Key.ToString() ?? ""] = value is CommitInfo commit ? commit.Commit : value?.ToString() ?? "";
        }
        var described = inputs.Count == 0 ? "the current heads of its inputs" : string.Join(", ", inputs.Select(i => $"{i.Key}={i.Value}"));
        if (!ShouldProcess(Pipeline, $"Run a job on {described}")) return;
        InvokeEach(() => WriteObject(Pipelines.RunPipeline(Pipeline, inputs)));
    }
}
