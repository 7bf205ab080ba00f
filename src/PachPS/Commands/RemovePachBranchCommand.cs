using System.Management.Automation;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Remove, "PachBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemovePachBranchCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Branch")]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Name { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        Files.GetBranch(Repo, Name);
        if (ShouldProcess($"{Repo}@{Name}", "Remove branch (its commits stay)")) Files.DeleteBranch(Repo, Name);
    });
}
