using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>What changed between a commit and its parent, or any other commit (-Other).</summary>
[Cmdlet(VerbsData.Compare, "PachCommit")]
[OutputType(typeof(DiffEntry))]
public sealed class ComparePachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    /// <summary>The older side of the comparison; the commit's parent when omitted.</summary>
    [Parameter(Position = 2)]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string? Other { get; set; }

    protected override void ProcessRecord() => Invoke(() => WriteObject(Files.Diff(Repo, Commit, Other), enumerateCollection: true));
}
