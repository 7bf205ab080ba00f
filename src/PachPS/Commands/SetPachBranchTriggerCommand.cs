using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Sets or removes a branch's trigger (Pachyderm's branch trigger): the branch moves to the head of another branch of
/// the repo once enough has accumulated there (-Size, -Commits) or a -Cron time has come, so pipelines reading it run
/// in batches.
/// </summary>
[Cmdlet(VerbsCommon.Set, "PachBranchTrigger", SupportsShouldProcess = true, DefaultParameterSetName = SetSet)]
[OutputType(typeof(BranchInfo))]
public sealed class SetPachBranchTriggerCommand : PachCmdlet
{
    private const string SetSet = "Set";
    private const string RemoveSet = "Remove";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias(PfsParameters.Branch)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The branch of the same repo this one follows.</summary>
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = SetSet)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Trigger { get; set; } = "";

    /// <summary>Bytes added on the trigger branch since this branch's head ("100MB", "1.5GB", 4096).</summary>
    [Parameter(ParameterSetName = SetSet)]
    public string? Size { get; set; }

    /// <summary>Commits made on the trigger branch since this branch's head.</summary>
    [Parameter(ParameterSetName = SetSet)]
    [ValidateRange(1, int.MaxValue)]
    public int? Commits { get; set; }

    /// <summary>A cron schedule: the branch moves at those times if the trigger branch moved.</summary>
    [Parameter(ParameterSetName = SetSet)]
    public string? Cron { get; set; }

    /// <summary>Every given condition must hold (by default any one does).</summary>
    [Parameter(ParameterSetName = SetSet)]
    public SwitchParameter All { get; set; }

    /// <summary>Removes the trigger: the branch moves only when told to.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RemoveSet)]
    public SwitchParameter Remove { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var trigger = Remove ? null : BranchTriggerParameters.Build(Trigger, Size, Commits, Cron, All);
        if (!ShouldProcess($"{Repo}@{Name}", trigger is null ? "Remove trigger" : $"Set trigger {trigger}")) return;
        WriteObject(Files.SetBranchTrigger(Repo, Name, trigger));
    });
}
