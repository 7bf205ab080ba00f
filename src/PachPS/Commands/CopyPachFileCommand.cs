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
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
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

    protected override void ProcessRecord()
    {
        var repo = DestinationRepo ?? Repo;
        if (!ShouldProcess($"{repo}@{DestinationBranch}:{Destination}", $"Copy {Repo}@{Commit}:{Path}")) return;
        Invoke(() => WriteObject(Files.CopyFile(Repo, Commit, Path, repo, DestinationBranch, Destination)));
    }
}
