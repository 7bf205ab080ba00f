using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Opens a commit on a branch; Add-PachFile calls on the branch (or -Commit id) gather into it until Complete-PachCommit.</summary>
[Cmdlet(VerbsLifecycle.Start, "PachCommit", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class StartPachCommitCommand : CommitMakingCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>
    /// The branch to open a commit on, created when missing. The one -Branch without the -Commit alias: a branch with
    /// an open commit is refused here, and an id given as -Commit would name a new branch.
    /// </summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    public string Branch { get; set; } = PfsParameters.Default;

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Repo}@{Branch}", "Start commit")) return;
        Invoke(() => WriteObject(Files.StartCommit(Repo, Branch, Message, CommitNoteArgument.From(null, Metadata)?.Metadata)));
    }
}
