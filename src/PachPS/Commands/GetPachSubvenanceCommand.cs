using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Every commit derived from a commit, directly or through other pipelines.</summary>
[Cmdlet(VerbsCommon.Get, "PachSubvenance")]
[OutputType(typeof(CommitInfo))]
public sealed class GetPachSubvenanceCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Branch", "Id")]
    public string Commit { get; set; } = PfsService.DefaultBranch;

    protected override void ProcessRecord() => InvokeEach(() => WriteObject(Store.Pps.GetSubvenance(Repo, Commit), enumerateCollection: true));
}
