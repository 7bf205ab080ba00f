using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Creates a pipeline from a Pachyderm JSON spec (1.x atom or 2.x pfs inputs); its first job starts at once when its inputs have commits.</summary>
[Cmdlet(VerbsCommon.New, "PachPipeline", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(PipelineInfo))]
public sealed class NewPachPipelineCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string SpecSet = "Spec";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>The spec as JSON text, a hashtable or an object.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SpecSet, ValueFromPipeline = true)]
    public object? Spec { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var spec = SpecReader.Read(this, ParameterSetName == PathSet ? Path : null, Spec);
        if (ShouldProcess(spec.Name, "Create pipeline")) WriteObject(Store.Pps.CreatePipeline(spec));
    });
}
