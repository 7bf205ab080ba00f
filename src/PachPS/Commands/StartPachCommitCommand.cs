using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Opens a commit on a branch; Add-PachFile calls on the branch (or -Commit id) gather into it until Complete-PachCommit.</summary>
[Cmdlet(VerbsLifecycle.Start, "PachCommit", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class StartPachCommitCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string Branch { get; set; } = Names.DefaultBranch;

    /// <summary>The commit's message.</summary>
    [Parameter]
    public string? Message { get; set; }

    /// <summary>Key/value pairs (strings) stored on the commit.</summary>
    [Parameter]
    public System.Collections.IDictionary? Metadata { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Repo}@{Branch}", "Start commit")) return;
        Invoke(() => WriteObject(Files.StartCommit(Repo, Branch, Message, CommitNoteArgument.From(null, Metadata)?.Metadata)));
    }
}
