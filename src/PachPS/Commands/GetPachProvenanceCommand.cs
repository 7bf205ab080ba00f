using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// What a commit (or a job's output) was derived from: every input commit, transitively, and the spec version.
/// With -Path: the exact input files (and commits) that the datum which wrote that output file read.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PachProvenance", DefaultParameterSetName = CommitSet)]
[OutputType(typeof(ProvenanceEntry), typeof(LineageEntry))]
public sealed class GetPachProvenanceCommand : PachCmdlet
{
    private const string CommitSet = "Commit";
    private const string JobSet = "Job";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    /// <summary>An output file: return the input files of the datum that wrote it.</summary>
    // In the same parameter set as Repo and Commit, so a piped file (which has a Path) gets file lineage and a
    // piped commit or job (which has none) gets commit provenance.
    [Parameter(Position = 2, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
    public string? Path { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = JobSet)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string Job { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        switch (ParameterSetName)
        {
            case JobSet: WriteObject(Lineage.GetJobProvenance(Job), enumerateCollection: true); break;
            default:
                WriteObject(Path is null ? Lineage.GetProvenance(Repo, Commit) : Lineage.GetFileProvenance(Repo, Commit, Path),
                    enumerateCollection: true);
                break;
        }
    });
}
