using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Copies a file or folder between commits and repos by reference: no content is copied.</summary>
[Cmdlet(VerbsCommon.Copy, "PachFile", SupportsShouldProcess = true)]
[OutputType(typeof(CommitInfo))]
public sealed class CopyPachFileCommand : CommitMakingCmdlet
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
    public string DestinationBranch { get; set; } = PfsParameters.Default;

    protected override void ProcessRecord() => Invoke(() =>
    {
        // Resolved before asking: the prompt names the commit and files copied and where they land, and an unknown
        // repo, commit or path fails with its own ErrorId before anyone is asked.
        var from = Files.GetCommit(Repo, Commit);
        var source = Names.NormalizePath(Path, allowRoot: true);
        var entries = WriteTarget.Entries(Files, Repo, Commit, from.Commit, source);
        var repo = DestinationRepo ?? Repo;
        var destination = Names.NormalizePath(Destination, allowRoot: true);
        var into = WriteTarget.Resolve(Files, repo, DestinationBranch);
        var size = Display.Size(entries.Sum(e => e.Content.Size));
        if (!ShouldProcess($"{repo}@{DestinationBranch}:{destination} ({into.Landing})",
                $"Copy {Repo}@{Commit}={Display.Short(from.Commit)}:{WriteTarget.Describe(source, entries)}, {size}")) return;
        // The commit that was resolved, not the reference again: what is copied is what was confirmed.
        WriteObject(Files.CopyFile(Repo, from.Commit, source, repo, DestinationBranch, destination, Note));
    });
}
