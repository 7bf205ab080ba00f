using System.Management.Automation;
using PachPS.Engine.Backup;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Writes a consistent backup of the store (a metadata snapshot and a manifest) to a folder or s3://bucket/prefix,
/// beside running jobs: content in S3 is pinned (kept by collections until Remove-PachBackup), local content copied.
/// </summary>
[Cmdlet(VerbsData.Backup, "PachStore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(BackupInfo))]
public sealed class BackupPachStoreCommand : BackupCmdlet
{
    /// <summary>A folder, or s3://bucket/prefix; the backup goes into a folder named -Name under it.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Destination { get; set; } = "";

    /// <summary>The backup's name under the destination; the UTC time (such as 2026-11-30T0300Z) when omitted.</summary>
    [Parameter]
    public string? Name { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var destination = Location(Destination);
        var admin = Admin; // taken here: the work runs on another thread, which has no runspace
        if (!ShouldProcess(Destination, $"Back up the store {admin.Path}" + (Name is null ? "" : $" as '{Name}'"))) return;
        WriteObject(WithProgress("Backing up the store", (progress, cancel) => admin.Backup(destination, Name, progress, cancel)));
    });
}
