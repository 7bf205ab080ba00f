using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.New, "PachBranch", SupportsShouldProcess = true)]
[OutputType(typeof(BranchInfo))]
public sealed class NewPachBranchCommand : PachCmdlet
{
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

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Repo}@{Name}", "Create branch")) return;
        Invoke(() => WriteObject(Files.CreateBranch(Repo, Name, Head)));
    }
}
