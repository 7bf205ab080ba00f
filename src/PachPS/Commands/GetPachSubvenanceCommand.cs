using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Engine.Provenance;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Every commit derived from a commit, directly or through other pipelines; with -Path, the output files made from one input file.</summary>
[Cmdlet(VerbsCommon.Get, "PachSubvenance", DefaultParameterSetName = CommitSet)]
[OutputType(typeof(CommitInfo), typeof(LineageEntry))]
public sealed class GetPachSubvenanceCommand : PachCmdlet
{
    private const string CommitSet = "Commit";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    /// <summary>An input file: return the output files derived from it.</summary>
    // In the same parameter set as Repo and Commit, so a piped file (which has a Path) gets file lineage and a
    // piped commit or job (which has none) gets commit provenance.
    [Parameter(Position = 2, ParameterSetName = CommitSet, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
    public string? Path { get; set; }

    protected override void ProcessRecord() => InvokeEach(() => WriteObject(Path is null
        ? Lineage.GetSubvenance(Repo, Commit)
        : Lineage.GetFileSubvenance(Repo, Commit, Path), enumerateCollection: true));
}
