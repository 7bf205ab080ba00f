using System.Management.Automation;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Removes tags; their commits stay.</summary>
[Cmdlet(VerbsCommon.Remove, "PachTag", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemovePachTagCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Tag")]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            InvokeEach(() =>
            {
                var tag = Files.GetTag(Repo, name);
                if (ShouldProcess($"{Repo}@{name}", $"Remove tag (commit {Display.Short(tag.Commit)} stays)")) Files.RemoveTag(Repo, name);
            });
        }
    }
}
