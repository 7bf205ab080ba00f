using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Undo: removes a commit (open, or the newest of its branch) and every commit derived from it downstream, moving branch
/// heads back, in one transaction. -Squash instead folds one mid-history commit into its child (its changes stay,
/// the commit leaves the history). -WhatIf lists what would go.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PachCommit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = UndoSet)]
[OutputType(typeof(CommitInfo), ParameterSetName = [UndoSet])]
[OutputType(typeof(SquashResult), ParameterSetName = [SquashSet])]
public sealed class RemovePachCommitCommand : PachCmdlet
{
    private const string UndoSet = "Undo";
    private const string SquashSet = "Squash";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>A branch (its open commit, else its head) or a commit id; with -Squash any reference (master~3).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = "";

    /// <summary>Folds the commit into its only child instead of removing it and what derives from it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SquashSet)]
    public SwitchParameter Squash { get; set; }

    /// <summary>Squashes a commit output commits' provenance names: their provenance then names the child (SquashedFrom says so).</summary>
    [Parameter(ParameterSetName = SquashSet)]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        if (Squash)
        {
            // The dry run checks every refusal first, so -WhatIf and the prompt name what the squash would do.
            var plan = Files.SquashCommit(Repo, Commit, Force, dryRun: true);
            var outputs = plan.Outputs.Count == 0 ? "" : $"; re-point the provenance of {plan.Outputs.Count} output commit(s)";
            if (!ShouldProcess($"{Repo}@{Display.Short(plan.Squashed)}", $"Squash into child {Display.Short(plan.Commit)}{outputs}")) return;
            WriteObject(Files.SquashCommit(Repo, plan.Squashed, Force));
            return;
        }
        var doomed = Files.RemoveCommit(Repo, Commit, dryRun: true);
        var what = string.Join(", ", doomed.Select(c => $"{c.Repo}@{Display.Short(c.Commit)}"));
        if (!ShouldProcess(what, $"Remove {doomed.Count} commit(s)")) return;
        WriteObject(Files.RemoveCommit(Repo, Commit), enumerateCollection: true);
    });
}
