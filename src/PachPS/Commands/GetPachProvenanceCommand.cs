using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>What a commit (or a job's output) was derived from: every input commit, transitively, and the spec version.</summary>
[Cmdlet(VerbsCommon.Get, "PachProvenance", DefaultParameterSetName = CommitSet)]
[OutputType(typeof(ProvenanceEntry))]
public sealed class GetPachProvenanceCommand : PachCmdlet
{
    private const string CommitSet = "Commit";
    private const string JobSet = "Job";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Branch", "Id")]
    public string Commit { get; set; } = "master";

    /// <summary>A job: the provenance of its output commit, or of its inputs when it produced none.</summary>
    [Parameter(Mandatory = true, ParameterSetName = JobSet)]
    public string JobId { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() => WriteObject(
        ParameterSetName == JobSet ? Store.Pps.GetJobProvenance(JobId) : Store.Pps.GetProvenance(Repo, Commit), enumerateCollection: true));
}
