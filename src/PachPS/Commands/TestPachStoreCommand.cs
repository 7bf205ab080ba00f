using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Verifies every commit's tree nodes and content chunks; writes one object per problem found, then a one-line
/// summary to the information stream, shown like Write-Host. Output stays findings only, so `if (Test-PachStore)`
/// still means "something is wrong", and a clean store still shows that the check ran.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PachStore")]
[OutputType(typeof(IntegrityFinding), typeof(bool))]
public sealed class TestPachStoreCommand : PachCmdlet
{
    /// <summary>The tag of the summary record, for -InformationVariable and 6>&amp;1 users.</summary>
    public const string SummaryTag = "PachPS.Summary";

    /// <summary>Return $true or $false instead of the findings (and no summary).</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var commits = new CommitCount();
        var findings = Admin.Check(commits, CancelToken);
        if (Quiet)
        {
            WriteObject(findings.Count == 0);
            return;
        }
        WriteObject(findings, enumerateCollection: true);
        var summary = $"Test-PachStore: checked {Count(commits.Total, "commit")} in {Admin.Path}, every tree node and chunk they name: " +
            (findings.Count == 0 ? "no findings." : $"{Count(findings.Count, "finding")}.");
        // PSHOST makes the record show by default, as Write-Host's do; -InformationAction Ignore or 6>$null hides it.
        WriteInformation(new HostInformationMessage { Message = summary }, ["PSHOST", SummaryTag]);
    });

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    /// <summary>Keeps the number of commits the check reports it walks (the total of its progress).</summary>
    private sealed class CommitCount : IProgress<(int Done, int Total)>
    {
        private int _total;

        public int Total => Volatile.Read(ref _total);

        public void Report((int Done, int Total) value) => Volatile.Write(ref _total, value.Total);
    }
}
