using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Moves a branch head to a finished commit of the same repo (like pachctl create branch --head); pipelines that read
/// the branch run as for a new commit, and the move is recorded in the head history.
/// </summary>
[Cmdlet(VerbsCommon.Set, "PachBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BranchInfo))]
public sealed class SetPachBranchCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias(PfsParameters.Branch)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Where the head goes: any commit reference of the repo (a tag, an id, master~2, master@{time}).</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string Head { get; set; } = "";

    protected override void ProcessRecord() => Invoke(() =>
    {
        var branch = Files.GetBranch(Repo, Name);
        var from = branch.Head is null ? "no commit" : Display.Short(branch.Head);
        if (!ShouldProcess($"{Repo}@{Name} (head {from})", $"Move head to {Head}")) return;
        WriteObject(Files.SetBranchHead(Repo, Name, Head));
    });
}
