using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.New, "PachRepo", SupportsShouldProcess = true)]
[OutputType(typeof(RepoInfo))]
public sealed class NewPachRepoCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Repo")]
    public string[] Name { get; set; } = [];

    [Parameter]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcess(name, "Create repo")) continue;
            InvokeEach(() => WriteObject(Files.CreateRepo(name, Description)));
        }
    }
}
