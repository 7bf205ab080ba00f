using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Like pachctl flush-commit: waits for every pipeline downstream of a commit, then returns the commits derived from it.</summary>
[Cmdlet(VerbsLifecycle.Wait, "PachCommit")]
[OutputType(typeof(CommitInfo))]
public sealed class WaitPachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Branch", "Id")]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string Commit { get; set; } = Names.DefaultBranch;

    [Parameter]
    public int TimeoutSec { get; set; } = 0;

    protected override void ProcessRecord() => Invoke(() =>
        WriteObject(AwaitWithJobProgress(progress => Pipelines.WaitCommitAsync(Repo, Commit, TimeoutSec > 0 ? TimeSpan.FromSeconds(TimeoutSec) : null, CancelToken, progress)),
            enumerateCollection: true));
}
