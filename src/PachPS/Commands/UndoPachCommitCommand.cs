using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Reverts one earlier commit (git revert): a new commit on that commit's branch removes the files it added and
/// restores those it changed or removed; RevertConflict, and nothing written, when later commits changed the same paths.
/// </summary>
[Cmdlet(VerbsCommon.Undo, "PachCommit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CommitInfo))]
public sealed class UndoPachCommitCommand : CommitMakingCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>The commit to revert: any commit reference (master~3, an id, a tag).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var target = Files.GetCommit(Repo, Commit);
        if (!ShouldProcess($"{Repo}@{Display.Short(target.Commit)} ({target.Branch})", $"Revert with a new commit on '{target.Branch}'")) return;
        WriteObject(Files.RevertCommit(Repo, target.Commit, Note));
    });
}
