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

    /// <summary>Commits in the first page of a history, and the most in a later one (each page is four times the one before).</summary>
    private const int FirstPage = 100, LargestPage = 10_000;

    protected override void ProcessRecord() => Invoke(() =>
    {
        if (Commit is null) WriteObject(Files.ListCommits(Repo, null, Max), enumerateCollection: true);
        else if (!History && !MyInvocation.BoundParameters.ContainsKey(nameof(Max))) WriteObject(Files.GetCommit(Repo, Commit));
        else WriteHistory(Commit);
    });

    /// <summary>
    /// A history a page at a time, each page from the parent of the last commit of the page before (ids never change):
    /// the newest commits are written before older ones are read, the store is held for one page at a time, and on a
    /// server each page is one request. Read whole, a history of 100,000 commits wrote its first after 17 s.
    /// </summary>
    private void WriteHistory(string reference)
    {
        var left = Max;
        var page = FirstPage;
        while (left > 0)
        {
            var want = Math.Min(page, left);
            var commits = Files.ListCommits(Repo, reference, want);
            WriteObject(commits, enumerateCollection: true);
            left -= commits.Count;
            if (commits.Count < want || commits[^1].Parent is not { } parent) return;
            reference = parent;
            page = Math.Min(page * 4, LargestPage);
        }
    }
}
