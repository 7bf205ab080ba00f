using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Lists files: a folder's children, one file, everything matching a glob, or a file's versions (-History).</summary>
[Cmdlet(VerbsCommon.Get, "PachFile")]
[OutputType(typeof(PachFileInfo))]
public sealed class GetPachFileCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    /// <summary>A path or a glob (*, **, ?, [..], {a,b}); "/" when omitted.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [PathParameter]
    public string? Path { get; set; }

    [Parameter]
    public SwitchParameter Recurse { get; set; }

    [Parameter]
    public SwitchParameter History { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        if (History) WriteObject(Files.FileHistory(Repo, Commit, Path ?? ""), enumerateCollection: true);
        // A page at a time, each object written as it comes: the first long before the last of a million is read.
        else foreach (var file in Files.StreamFiles(Repo, Commit, Path, Recurse, CancelToken)) WriteObject(file);
    });
}
