using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Creates a branch, empty or at a commit, optionally with a trigger that moves it to another branch's head.</summary>
[Cmdlet(VerbsCommon.New, "PachBranch", SupportsShouldProcess = true, DefaultParameterSetName = PlainSet)]
[OutputType(typeof(BranchInfo))]
public sealed class NewPachBranchCommand : PachCmdlet
{
    private const string PlainSet = "Plain";
    private const string TriggerSet = "Trigger";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Branch")]
    public string Name { get; set; } = "";

    /// <summary>The commit the branch starts at (a branch, id or ancestry reference); empty when omitted.</summary>
    [Parameter(Position = 2)]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string? Head { get; set; }

    /// <summary>The branch of the same repo this one follows: it moves to that branch's head when the conditions hold.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TriggerSet)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Trigger { get; set; } = "";

    /// <summary>Bytes added on the trigger branch since this branch's head ("100MB", "1.5GB", 4096).</summary>
    [Parameter(ParameterSetName = TriggerSet)]
    public string? Size { get; set; }

    /// <summary>Commits made on the trigger branch since this branch's head.</summary>
    [Parameter(ParameterSetName = TriggerSet)]
    [ValidateRange(1, int.MaxValue)]
    public int? Commits { get; set; }

    /// <summary>A cron schedule: the branch moves at those times if the trigger branch moved.</summary>
    [Parameter(ParameterSetName = TriggerSet)]
    public string? Cron { get; set; }

    /// <summary>Every given condition must hold (by default any one does).</summary>
    [Parameter(ParameterSetName = TriggerSet)]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var what = ParameterSetName == TriggerSet ? $"Create branch triggered by {Trigger}" : "Create branch";
        if (!ShouldProcess($"{Repo}@{Name}", what)) return;
        Invoke(() => WriteObject(Files.CreateBranch(Repo, Name, Head,
            ParameterSetName == TriggerSet ? BranchTriggerParameters.Build(Trigger, Size, Commits, Cron, All) : null)));
    }
}
