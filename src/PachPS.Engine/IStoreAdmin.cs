using PachPS.Engine.Pfs;

namespace PachPS.Engine;

/// <summary>Administration of a whole store: where it is, what it holds, whether it is sound.</summary>
public interface IStoreAdmin
{
    /// <summary>Where the store is (a folder here; a server's address for a remote one).</summary>
    string Path { get; }
    StoreInfo Info();
    /// <summary>Checks that every commit's tree nodes and chunks exist and match their hashes.</summary>
    IReadOnlyList<IntegrityFinding> Check(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default);
    /// <summary>
    /// Checks, then fixes what can be fixed: fetches lost objects and tree nodes again from <paramref name="from"/> (another
    /// store's folder, such as a backup), re-derives sizes and the chunk index, moves heads off missing commits, and
    /// marks commits whose content is still gone Corrupt. Returns every finding, each saying what was done about it.
    /// </summary>
    IReadOnlyList<IntegrityFinding> Repair(string? from = null, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default);
    /// <summary>
    /// Garbage collection: deletes every content object and tree node nothing names and rewrites mostly-garbage packs,
    /// safely beside writers in other processes; with <paramref name="whatIf"/> only reports what it would free.
    /// </summary>
    Collection.CollectionReport Collect(bool whatIf, IProgress<Collection.CollectionProgress>? progress = null, CancellationToken cancel = default);
    /// <summary>
    /// Writes a consistent backup (metadata snapshot and manifest; content copied when it is local, pinned when it is in
    /// S3) to a folder or s3://bucket/prefix, beside running jobs. Through a server the folder is on the server's machine.
    /// </summary>
    Backup.BackupInfo Backup(Backup.BackupLocation destination, string? name = null, IProgress<Backup.BackupProgress>? progress = null, CancellationToken cancel = default);
    /// <summary>The backups the store pins and, with <paramref name="destination"/>, every backup there.</summary>
    IReadOnlyList<Backup.BackupInfo> ListBackups(Backup.BackupLocation? destination = null);
    /// <summary>Deletes a backup (destination/name) and the store's pin of it; the next collection frees what only it needed.</summary>
    Backup.BackupInfo RemoveBackup(Backup.BackupLocation backup, IProgress<Backup.BackupProgress>? progress = null, CancellationToken cancel = default);
}
