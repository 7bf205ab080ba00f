using System.Management.Automation;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Remove, "PachRepo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemovePachRepoCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Repo")]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            InvokeEach(() =>
            {
                Files.GetRepo(name);
                if (ShouldProcess(name, "Remove repo and all its commits")) Files.RemoveRepo(name);
            });
        }
    }
}
