using System.Management.Automation;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Removes a branch's retention policy; no commit changes, and no more are squashed away.</summary>
[Cmdlet(VerbsCommon.Remove, "PachRetention", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemovePachRetentionCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string Branch { get; set; } = "";

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var policy = Files.GetRetention(Repo, Branch);
        if (policy.Count == 0)
            throw new PachPS.Engine.PachException("RetentionNotFound", PachPS.Engine.PachErrorKind.NotFound,
                $"Branch '{Branch}' of '{Repo}' has no retention policy.", $"{Repo}@{Branch}");
        if (ShouldProcess($"{Repo}@{Branch}", $"Remove retention policy ({policy[0]})")) Files.RemoveRetention(Repo, Branch);
    });
}
