using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Verifies every commit's tree nodes and content chunks; writes one object per problem found, then a one-line
/// summary to the information stream, shown like Write-Host. Output stays findings only, so `if (Test-PachStore)`
/// still means "something is wrong", and a clean store still shows that the check ran. -Repair fixes what can be
/// fixed (-From: fetching lost objects from a backup or another store) and each finding says what was done.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PachStore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = CheckSet)]
[OutputType(typeof(IntegrityFinding), typeof(bool))]
public sealed class TestPachStoreCommand : PachCmdlet
{
    /// <summary>The tag of the summary record, for -InformationVariable and 6>&amp;1 users.</summary>
    public const string SummaryTag = "PachPS.Summary";
    private const string CheckSet = "Check";
    private const string RepairSet = "Repair";

    /// <summary>Return $true or $false instead of the findings (and no summary).</summary>
    [Parameter(ParameterSetName = CheckSet)]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Fix what can be fixed; each finding's Repair property says what was done.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RepairSet)]
    public SwitchParameter Repair { get; set; }

    /// <summary>A backup or another store's folder to fetch lost objects and tree nodes from.</summary>
    [Parameter(ParameterSetName = RepairSet)]
    [ValidateNotNullOrEmpty]
    public string? From { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var commits = new CommitCount();
        var from = From is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(From);
        // -WhatIf: the check alone, which changes nothing, shows what a repair would look at.
        var repair = Repair && ShouldProcess(Admin.Path, "Repair what the integrity check finds" + (from is null ? "" : $", fetching lost objects from '{from}'"));
        var findings = repair ? Admin.Repair(from, commits, CancelToken) : Admin.Check(commits, CancelToken);
        if (Quiet)
        {
            WriteObject(findings.Count == 0);
            return;
        }
        WriteObject(findings, enumerateCollection: true);
        var repaired = findings.Count(f => f.Repair is not null);
        var summary = $"Test-PachStore: checked {Count(commits.Total, "commit")} in {Admin.Path}, every tree node and chunk they name: " +
            (findings.Count == 0 ? "no findings." : $"{Count(findings.Count, "finding")}") +
            (repair && findings.Count > 0 ? $", {repaired} repaired or marked." : findings.Count == 0 ? "" : ".");
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
