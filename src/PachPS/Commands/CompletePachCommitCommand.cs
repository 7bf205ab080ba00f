using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Finishes an open commit: it becomes the branch head, immutable, and pipelines downstream start.</summary>
[Cmdlet(VerbsLifecycle.Complete, "PachCommit", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class CompletePachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>The open commit's id, or its branch.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = "";

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Repo}@{Commit}", "Finish commit")) return;
        Invoke(() => WriteObject(Files.FinishCommit(Repo, Commit)));
    }
}
