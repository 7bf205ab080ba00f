using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>The retention policies of a branch, of a repo's branches, or of every repo.</summary>
[Cmdlet(VerbsCommon.Get, "PachRetention")]
[OutputType(typeof(RetentionPolicy))]
public sealed class GetPachRetentionCommand : PachCmdlet
{
    /// <summary>The repo; every repo when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string? Repo { get; set; }

    /// <summary>One branch of the repo; every branch with a policy when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string? Branch { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
        WriteObject(Files.GetRetention(string.IsNullOrEmpty(Repo) ? null : Repo, string.IsNullOrEmpty(Repo) || string.IsNullOrEmpty(Branch) ? null : Branch),
            enumerateCollection: true));
}
