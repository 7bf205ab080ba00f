using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Undo: removes a commit (open, or the newest of its branch) and every commit derived from it downstream, moving branch
/// heads back, in one transaction. -WhatIf lists what would go.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PachCommit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(CommitInfo))]
public sealed class RemovePachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>A branch (its open commit, else its head) or a commit id.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var doomed = Files.RemoveCommit(Repo, Commit, dryRun: true);
        var what = string.Join(", ", doomed.Select(c => $"{c.Repo}@{Display.Short(c.Commit)}"));
        if (!ShouldProcess(what, $"Remove {doomed.Count} commit(s)")) return;
        WriteObject(Files.RemoveCommit(Repo, Commit), enumerateCollection: true);
    });
}
