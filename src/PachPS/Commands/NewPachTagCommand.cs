using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Names a finished commit with a tag that never moves (to move one, remove it and make it again).</summary>
[Cmdlet(VerbsCommon.New, "PachTag", SupportsShouldProcess = true)]
[OutputType(typeof(TagInfo))]
public sealed class NewPachTagCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>The tag's name (letters, digits, '_', '-'); not a branch's name.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Tag")]
    public string Name { get; set; } = "";

    /// <summary>The commit to tag: any commit reference; master's head when omitted.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    /// <summary>Why this version has a name.</summary>
    [Parameter]
    public string? Message { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var commit = Files.GetCommit(Repo, Commit);
        if (ShouldProcess($"{Repo}@{Name}", $"Create tag on commit {Display.Short(commit.Commit)}"))
            WriteObject(Files.CreateTag(Repo, Name, commit.Commit, Message));
    });
}
