using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Copies a file or folder between commits and repos by reference: no content is copied.</summary>
[Cmdlet(VerbsCommon.Copy, "PachFile", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class CopyPachFileCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Branch")]
    [ArgumentCompleter(typeof(CommitCompleter))]
    public string Commit { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PathCompleter))]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, Position = 3)]
    public string Destination { get; set; } = "";

    /// <summary>The repo to copy into; the source repo when omitted.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string? DestinationRepo { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(BranchCompleter))]
    public string DestinationBranch { get; set; } = Names.DefaultBranch;

    /// <summary>The message of the commit this call makes (replaces the message of an open commit it copies into).</summary>
    [Parameter]
    public string? Message { get; set; }

    /// <summary>Key/value pairs (strings) stored on the commit; added to those of an open commit.</summary>
    [Parameter]
    public System.Collections.IDictionary? Metadata { get; set; }

    protected override void ProcessRecord()
    {
        var repo = DestinationRepo ?? Repo;
        if (!ShouldProcess($"{repo}@{DestinationBranch}:{Destination}", $"Copy {Repo}@{Commit}:{Path}")) return;
        Invoke(() => WriteObject(Files.CopyFile(Repo, Commit, Path, repo, DestinationBranch, Destination, CommitNoteArgument.From(Message, Metadata))));
    }
}
