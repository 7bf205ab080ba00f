using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Like pachctl flush-commit: waits for every pipeline downstream of a commit, then returns the commits derived from it.</summary>
[Cmdlet(VerbsLifecycle.Wait, "PachCommit")]
[OutputType(typeof(CommitInfo))]
public sealed class WaitPachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    [Parameter]
    public int TimeoutSec { get; set; } = 0;

    protected override void ProcessRecord() => Invoke(() =>
        WriteObject(AwaitWithJobProgress(progress => Pipelines.WaitCommitAsync(Repo, Commit, TimeoutSec > 0 ? TimeSpan.FromSeconds(TimeoutSec) : null, CancelToken, progress)),
            enumerateCollection: true));
}
