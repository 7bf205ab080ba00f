using PachPS.Engine.Storage;

namespace PachPS.Engine.Backup;

/// <summary>
/// Where backups go or come from: a folder, or s3://bucket/prefix with the endpoint, region and profile (or
/// credentials) to reach it, as Connect-PachStore takes them for a store's content.
/// </summary>
public sealed record BackupLocation(string Path, string? S3Endpoint = null, string? S3Region = null, string? ProfileName = null,
    S3Credentials? Credentials = null)
{
    public const string S3Scheme = "s3://";
    public bool IsS3 => Path.StartsWith(S3Scheme, StringComparison.OrdinalIgnoreCase);
    public override string ToString() => Path;
}

/// <summary>One backup: where it is, when it was taken, of which store, and what it needs.</summary>
public sealed record BackupInfo
{
    /// <summary>The backup's name under its destination (a UTC time such as 2026-11-30T0300Z unless given).</summary>
    public required string Name { get; init; }
    /// <summary>The backup itself: its destination and name (what Connect-PachStore -Restore and Remove-PachBackup take).</summary>
    public required string Backup { get; init; }
    public required string Destination { get; init; }
    public DateTimeOffset Created { get; init; }
    public string StoreId { get; init; } = "";
    /// <summary>Where the store's content was: Local (the backup holds a copy) or S3 (the backup pins it in the bucket).</summary>
    public string Backend { get; init; } = "";
    public string? Content { get; init; }
    /// <summary>Content objects the backup's metadata names.</summary>
    public long Objects { get; init; }
    /// <summary>Objects this backup copied to its destination (Local content; the rest were there already).</summary>
    public long ObjectsCopied { get; init; }
    public long BytesCopied { get; init; }
    /// <summary>Bytes of the metadata files.</summary>
    public long MetadataBytes { get; init; }
    /// <summary>Whether the store pins the backup's objects (S3 content) until Remove-PachBackup.</summary>
    public bool Pinned { get; init; }
    /// <summary>Complete, or Incomplete (a pin whose backup never finished: a crash while writing it).</summary>
    public string State { get; init; } = "Complete";
    public TimeSpan Duration { get; init; }
}

/// <summary>The stage a backup or restore is in, for progress reports.</summary>
public enum BackupStage { Snapshot, Marking, Pinning, CopyingObjects, WritingMetadata, Reading, Verifying, Removing }

/// <summary>Progress of a backup or restore: its stage and how far through it (Total 0: unknown).</summary>
public sealed record BackupProgress(BackupStage Stage, long Done, long Total);

/// <summary>A backup's manifest.json: what it is of, and the checksums of its files.</summary>
internal sealed record BackupManifest
{
    public const string CurrentFormat = "PachPS.Backup/1";
    public string Format { get; init; } = CurrentFormat;
    public string Name { get; init; } = "";
    public string StoreId { get; init; } = "";
    public int SchemaVersion { get; init; }
    public string PachPSVersion { get; init; } = "";
    public DateTime Created { get; init; }
    /// <summary>Local or S3.</summary>
    public string Backend { get; init; } = "";
    /// <summary>The content's bucket for S3 (never credentials).</summary>
    public S3Settings? S3 { get; init; }
    /// <summary>True when the content objects are in the destination's objects folder (Local content).</summary>
    public bool ContentCopied { get; init; }
    public long Objects { get; init; }
    public long ObjectBytes { get; init; }
    /// <summary>The backup's files (metadata, object list) with their sizes and SHA-256.</summary>
    public List<BackupFile> Files { get; init; } = [];
}

internal sealed record BackupFile(string Name, long Bytes, string Sha256);
