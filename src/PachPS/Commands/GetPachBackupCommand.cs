using System.Management.Automation;
using PachPS.Engine.Backup;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Lists the backups the store pins and, with -Destination, every backup in a folder or S3 prefix.</summary>
[Cmdlet(VerbsCommon.Get, "PachBackup")]
[OutputType(typeof(BackupInfo))]
public sealed class GetPachBackupCommand : BackupCmdlet
{
    /// <summary>A folder or s3://bucket/prefix to list backups in (of any store).</summary>
    [Parameter(Position = 0)]
    public string? Destination { get; set; }

    /// <summary>Only backups with these names (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        var backups = Admin.ListBackups(Destination is null ? null : Location(Destination));
        var patterns = Name?.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToList();
        WriteObject(backups.Where(b => patterns is null || patterns.Any(p => p.IsMatch(b.Name))), enumerateCollection: true);
    });
}
