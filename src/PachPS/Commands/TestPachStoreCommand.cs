using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Verifies every commit's tree nodes and content chunks; writes one object per problem found.</summary>
[Cmdlet(VerbsDiagnostic.Test, "PachStore")]
[OutputType(typeof(IntegrityFinding), typeof(bool))]
public sealed class TestPachStoreCommand : PachCmdlet
{
    /// <summary>Return $true or $false instead of the findings.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var findings = Store.Check(cancel: CancelToken);
        if (Quiet) WriteObject(findings.Count == 0);
        else WriteObject(findings, enumerateCollection: true);
    });
}
