using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Creates pipelines from Pachyderm specs (JSON or YAML, one or several); all or none are created, and each one's first
/// job starts at once when its inputs have commits.
/// </summary>
[Cmdlet(VerbsCommon.New, "PachPipeline", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(PipelineInfo))]
public sealed class NewPachPipelineCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string SpecSet = "Spec";
    private const string ScriptBlockSet = "ScriptBlock";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>The spec as JSON or YAML text (one or several specs), a hashtable or an object, or a list of them.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SpecSet, ValueFromPipeline = true)]
    public object? Spec { get; set; }

    /// <summary>With -ScriptBlock: the pipeline's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ScriptBlockSet)]
    public string Name { get; set; } = "";

    /// <summary>With -ScriptBlock: the input, as in a spec (@{ pfs = @{ repo = 'raw'; glob = '/*' } }).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ScriptBlockSet)]
    public object? Input { get; set; }

    /// <summary>The transform: runs once per datum in a pwsh worker with param($Datum) (Id, Job, Inputs, Out).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ScriptBlockSet)]
    public ScriptBlock? ScriptBlock { get; set; }

    [Parameter(ParameterSetName = ScriptBlockSet)]
    [ValidateRange(1, 1024)]
    public int Parallelism { get; set; } = 1;

    /// <summary>With -ScriptBlock: one pwsh worker per parallel slot runs every datum (datum_batching).</summary>
    [Parameter(ParameterSetName = ScriptBlockSet)]
    public SwitchParameter Batch { get; set; }

    [Parameter(ParameterSetName = ScriptBlockSet)]
    public string? Description { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var specs = ParameterSetName == ScriptBlockSet
            ? SpecReader.Read(this, null, ScriptBlockTransform.Spec(Name, Input!, ScriptBlock!, Parallelism, Batch, Description))
            : SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
        var chosen = specs.Where(s => ShouldProcess(s.Name, "Create pipeline")).ToList();
        if (chosen.Count == 0) return;
        var created = Pipelines.CreatePipelines(chosen);
        foreach (var spec in chosen) SpecReader.WarnNotImplemented(this, spec);
        WriteObject(created, enumerateCollection: true);
    });
}
