using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Stores a branch's retention policy: commits beyond the newest -KeepCommits and older than -KeepDays are squashed
/// away, oldest first (lineage kept), by Optimize-PachStore and by the server.
/// </summary>
[Cmdlet(VerbsCommon.Set, "PachRetention", SupportsShouldProcess = true)]
[OutputType(typeof(RetentionPolicy))]
public sealed class SetPachRetentionCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string Branch { get; set; } = "";

    /// <summary>The newest commits of the branch that always stay (1 or more).</summary>
    [Parameter]
    public int? KeepCommits { get; set; }

    /// <summary>Commits finished within this many days always stay (0 or more; fractions allowed).</summary>
    [Parameter]
    public double? KeepDays { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        // Refused before the prompt (-WhatIf too): a branch that does not exist, a policy that could not be set.
        Files.GetBranch(Repo, Branch);
        RetentionPolicy.Validate(Repo, Branch, KeepCommits, KeepDays);
        var policy = new RetentionPolicy(Repo, Branch, KeepCommits, KeepDays, DateTimeOffset.UtcNow);
        if (!ShouldProcess($"{Repo}@{Branch}", $"Set retention policy ({policy})")) return;
        WriteObject(Files.SetRetention(Repo, Branch, KeepCommits, KeepDays));
    });
}
