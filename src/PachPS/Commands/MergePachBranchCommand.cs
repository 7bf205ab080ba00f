using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Merges a branch (or any commit) into a branch: a fast-forward when the destination head is an ancestor of the
/// source, else a three-way merge commit. Conflicts fail it (MergeConflict, nothing written) unless -Strategy takes a
/// side; with -WhatIf nothing is written and the conflicts the merge would meet are written out.
/// </summary>
[Cmdlet(VerbsData.Merge, "PachBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MergeResult), typeof(MergeConflict))]
public sealed class MergePachBranchCommand : CommitMakingCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>What to merge: a branch or any commit reference of the repo.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string Source { get; set; } = "";

    /// <summary>The branch merged into.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Where both sides changed a path differently: Fail (default), or take the Source's or the Destination's side.</summary>
    [Parameter]
    public MergeStrategy Strategy { get; set; } = MergeStrategy.Fail;

    protected override void ProcessRecord() => Invoke(() =>
    {
        var note = Note;
        var preview = Files.Merge(Repo, Source, Destination, Strategy, note, dryRun: true);
        var action = preview.Kind switch
        {
            MergeKind.UpToDate => $"Nothing to merge: {Source} is already in '{Destination}'",
            MergeKind.FastForward => $"Fast-forward to {Display.Short(preview.Source)} ({preview.Changes} changed path(s))",
            _ => $"Merge {Source} ({preview.Changes} change(s)" + (preview.Conflicts.Count == 0 ? ")"
                : $", {preview.Conflicts.Count} conflict(s): {string.Join(", ", preview.Conflicts.Take(10).Select(c => c.Path))})"),
        };
        var target = $"{Repo}@{Destination}";
        if (!ShouldProcess($"Performing the operation \"{action}\" on target \"{target}\".", $"{action} on {target}?", "Merge-PachBranch", out var reason))
        {
            if (reason == ShouldProcessReason.WhatIf) WriteObject(preview.Conflicts, enumerateCollection: true);
            return;
        }
        WriteObject(Files.Merge(Repo, Source, Destination, Strategy, note));
    });
}
