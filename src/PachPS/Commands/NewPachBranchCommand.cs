using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.New, "PachBranch", SupportsShouldProcess = true)]
[OutputType(typeof(BranchInfo))]
public sealed class NewPachBranchCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Branch")]
    public string Name { get; set; } = "";

    /// <summary>The commit the branch starts at (a branch, id or ancestry reference); empty when omitted.</summary>
    [Parameter(Position = 2)]
    public string? Head { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Repo}@{Name}", "Create branch")) return;
        Invoke(() => WriteObject(Store.Pfs.CreateBranch(Repo, Name, Head)));
    }
}
