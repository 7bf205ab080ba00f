using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>One commit by reference, or the history from a reference (newest first) with -History or -Max.</summary>
[Cmdlet(VerbsCommon.Get, "PachCommit")]
[OutputType(typeof(CommitInfo))]
public sealed class GetPachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>
    /// A branch, commit id or prefix, with optional ancestry (master^, master~2, master.1). The one optional -Commit
    /// without the master default: omitted, every commit of the repo is listed.
    /// </summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string? Commit { get; set; }

    /// <summary>List the commit and its ancestors instead of the one commit.</summary>
    [Parameter]
    public SwitchParameter History { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Max { get; set; } = int.MaxValue;

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (Commit is not null && !History && !MyInvocation.BoundParameters.ContainsKey(nameof(Max))) WriteObject(Files.GetCommit(Repo, Commit));
        // A page at a time, each commit written as it comes: read whole, a history of 100,000 commits wrote its first after 22 s.
        else foreach (var commit in Files.StreamCommits(Repo, Commit, Max, CancelToken)) WriteObject(commit);
    });
}
