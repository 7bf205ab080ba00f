using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Get, "PachBranch")]
[OutputType(typeof(BranchInfo))]
public sealed class GetPachBranchCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1)]
    [Alias("Branch")]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string? Name { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (Name is null) WriteObject(Files.ListBranches(Repo), enumerateCollection: true);
        else WriteObject(Files.GetBranch(Repo, Name));
    });
}
