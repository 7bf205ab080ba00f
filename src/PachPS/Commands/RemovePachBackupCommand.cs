using System.Management.Automation;
using PachPS.Engine.Backup;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Deletes backups (their files at the destination) and the store's pins of them, so the next Optimize-PachStore
/// frees what only they needed.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PachBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(BackupInfo))]
public sealed class RemovePachBackupCommand : BackupCmdlet
{
    /// <summary>The backup: its destination and name, such as s3://bucket/backups/2026-11-30T0300Z (Get-PachBackup's Backup).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[] Backup { get; set; } = [];

    /// <summary>Write the removed backups' records.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var backup in Backup)
        {
            InvokeEach(() =>
            {
                var location = Location(backup);
                var admin = Admin; // taken here: the work runs on another thread, which has no runspace
                if (!ShouldProcess(backup, "Remove the backup and the store's pin of its content")) return;
                var removed = WithProgress("Removing a backup", (progress, cancel) => admin.RemoveBackup(location, progress, cancel));
                if (PassThru) WriteObject(removed);
            });
        }
    }
}
