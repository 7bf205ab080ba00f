namespace PachPS.Engine.Pfs;

/// <summary>A repo; <see cref="Size"/> is the size of its master head.</summary>
public sealed record RepoInfo(string Repo, DateTimeOffset Created, long Size, string Description, IReadOnlyList<string> Branches)
{
    public string Name => Repo;
    /// <summary>
    /// Stored bytes only this repo references (content and tree nodes), what removing it would free, as the last
    /// garbage collection measured them; null before any collection measured this repo.
    /// </summary>
    public long? ExclusiveBytes { get; init; }
}

/// <summary>A branch and its head commit (null while it has none).</summary>
public sealed record BranchInfo(string Repo, string Branch, string? Head, string? OpenCommit, DateTimeOffset Created)
{
    /// <summary>What moves this branch to another branch's head; null when nothing does.</summary>
    public BranchTrigger? Trigger { get; init; }

    public string Name => Branch;
    public string? Commit => Head;
}

/// <summary>One input commit that an output commit was derived from.</summary>
public sealed record CommitProvenance(string Repo, string Branch, string Commit)
{
    /// <summary>
    /// The input commits this entry stood for before they were squashed into <see cref="Commit"/>, which holds their
    /// changes now (empty unless a squash re-pointed it).
    /// </summary>
    public IReadOnlyList<string> SquashedFrom { get; init; } = [];

    public override string ToString() => $"{Repo}@{Branch}={Ids.Short(Commit)}" + (SquashedFrom.Count > 0 ? $" (squashed from {string.Join(", ", SquashedFrom.Select(Ids.Short))})" : "");
}

/// <summary>A commit: open while files are being added, finished once it is immutable.</summary>
public sealed record CommitInfo(
    string Repo, string Branch, string Commit, string? Parent, DateTimeOffset Started, DateTimeOffset? Finished,
    long Size, long FileCount, long MetadataBytes, string Message, string Origin, string? JobId, string? Pipeline, int PipelineVersion,
    IReadOnlyList<CommitProvenance> Provenance)
{
    public bool IsFinished => Finished is not null;
    /// <summary>Open, Finished, or Corrupt: finished, but content of <see cref="MissingPaths"/> is gone (Test-PachStore -Repair marks it).</summary>
    public string State => !IsFinished ? "Open" : MissingPaths.Count > 0 ? "Corrupt" : "Finished";
    /// <summary>
    /// Paths whose content is gone, as Test-PachStore -Repair found them: a file, or "from … to" for every path in a
    /// range below a lost tree node. Empty for a sound commit.
    /// </summary>
    public IReadOnlyList<string> MissingPaths { get; init; } = [];
    public string Id => Commit;
    /// <summary>The names of the tags on this commit, in order.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The key/value pairs its writer gave (-Metadata), keys in ordinal order.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = CommitNote.NoMetadata;
    /// <summary>A merge commit's second parent: the source commit it merged (null for any other commit).</summary>
    public string? MergedFrom { get; init; }
    /// <summary>The commits squashed into this one (Remove-PachCommit -Squash, retention): their changes live on here.</summary>
    public IReadOnlyList<string> SquashedFrom { get; init; } = [];
}

/// <summary>
/// What a squash did (or, <see cref="DryRun"/>, would do): <see cref="Squashed"/> is gone from the history of
/// <see cref="Repo"/>, folded into its child <see cref="Commit"/>, whose parent is now <see cref="Parent"/>.
/// <see cref="Outputs"/> are the output commits (<c>repo@id</c>) whose provenance was re-pointed from it to <see cref="Commit"/>.
/// </summary>
public sealed record SquashResult(string Repo, string Branch, string Squashed, string Commit, string? Parent, string Message, IReadOnlyList<string> Outputs)
{
    public bool DryRun { get; init; }
    /// <summary>"squash" (asked for) or "retention" (a branch's retention policy).</summary>
    public string Cause { get; init; } = "squash";
}

/// <summary>
/// A branch's retention policy: commits of its history beyond the newest <see cref="KeepCommits"/> and finished more
/// than <see cref="KeepDays"/> days ago are squashed away, oldest first (a null limit does not protect any commit).
/// </summary>
public sealed record RetentionPolicy(string Repo, string Branch, int? KeepCommits, double? KeepDays, DateTimeOffset Set)
{
    /// <summary>Throws RetentionPolicyInvalid for limits no policy can have (neither given, KeepCommits below 1, KeepDays below 0).</summary>
    public static void Validate(string repo, string branch, int? keepCommits, double? keepDays) => Retention.Validate(repo, branch, keepCommits, keepDays);

    public override string ToString() => $"{Repo}@{Branch}: keep " +
        string.Join(" and ", new[] { KeepCommits is { } n ? $"the newest {n} commits" : null, KeepDays is { } d ? $"{d} days" : null }.Where(x => x is not null));
}

/// <summary>A tag: an immutable name for one finished commit.</summary>
public sealed record TagInfo(string Repo, string Tag, string Commit, string Message, DateTimeOffset Created)
{
    public string Name => Tag;
}

/// <summary>
/// What a writer says about the commit it makes: a message and key/value metadata (both optional). Validated by
/// <see cref="CommitNotes"/> before anything is written.
/// </summary>
public sealed record CommitNote(string? Message = null, IReadOnlyDictionary<string, string>? Metadata = null)
{
    internal static readonly IReadOnlyDictionary<string, string> NoMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());
}

public enum PachFileType { File, Directory }

/// <summary>A file or directory at a commit.</summary>
public sealed record PachFileInfo(string Repo, string Branch, string Commit, string Path, PachFileType Type, long Size, string? Hash, string? CommittedIn)
{
    /// <summary>For a file imported by reference (Import-PachObject -Reference), the s3:// object its bytes are read from; else null.</summary>
    public string? Reference { get; init; }
    public string Name => Path == "/" ? "/" : Path[(Path.LastIndexOf('/') + 1)..];
}

public enum DiffChange { Added, Modified, Removed }

/// <summary>One difference between two commits.</summary>
public sealed record DiffEntry(string Repo, string Path, DiffChange Change, long OldSize, long NewSize, string? OldHash, string? NewHash);

/// <summary>Where a store is and what it holds.</summary>
public sealed record StoreInfo(string Path, string Backend, string ContentLocation, long StoredBytes, long ObjectCount, long Requests,
    long MetadataBytes, int RepoCount, int CommitCount, bool Temporary)
{
    /// <summary>Where datums run: local processes, or Kubernetes Jobs in a namespace.</summary>
    public string Executor { get; init; } = "local processes";
    /// <summary>Bytes of the files at every branch head (each head commit once): what users see, before deduplication.</summary>
    public long LogicalBytes { get; init; }
    /// <summary>
    /// Stored bytes a garbage collection would free, from the last one's mark: what it had to leave, plus what the
    /// repos removed since then referenced alone. Null before the first collection.
    /// </summary>
    public long? ReclaimableBytes { get; init; }
    /// <summary>When the last garbage collection finished (null: never).</summary>
    public DateTimeOffset? LastCollection { get; init; }
    /// <summary>The server this session reaches the store through (null: embedded, opened in this process).</summary>
    public string? Server { get; init; }
    /// <summary>On a server: the user its token belongs to.</summary>
    public string? User { get; init; }
}

/// <summary>A problem found by the integrity check.</summary>
public sealed record IntegrityFinding(string Kind, string Repo, string Commit, string? Path, string Object, string Message)
{
    /// <summary>What Test-PachStore -Repair did about it (null: nothing could be done, or no repair was asked for).</summary>
    public string? Repair { get; init; }
}

/// <summary>A file to add: where it goes in the repo and how to read it.</summary>
public sealed record FileSource(string Path, Func<Stream> Open, string Origin)
{
    /// <summary>The failure of a source that cannot be opened or read (a missing or locked local file).</summary>
    internal PachException NotReadable(Exception ex) =>
        new("SourceNotReadable", PachErrorKind.ResourceUnavailable, $"Cannot read '{Origin}': {ex.Message}", Origin, ex);
}

/// <summary>What a merge does where both sides changed one path differently: fail (the default), or take one side.</summary>
public enum MergeStrategy { Fail, Source, Destination }

/// <summary>How the two sides of a merge (or a revert and the commits after it) disagree about a path.</summary>
public enum MergeConflictKind
{
    /// <summary>Both sides wrote the path, with different content (add/add or modify/modify).</summary>
    BothChanged,
    /// <summary>One side changed the file, the other removed it.</summary>
    ChangedAndRemoved,
    /// <summary>The path is a file on one side and a directory on the other.</summary>
    FileAndDirectory,
}

/// <summary>A path as one side of a merge has it: a file (content hash, size) or a directory (total size under it).</summary>
public sealed record MergeSide(PachFileType Type, string? Hash, long Size);

/// <summary>
/// One path a merge or revert cannot decide by itself: how it is at the merge base and on each side (null: absent).
/// <see cref="Resolution"/> says which side a -Strategy took (null when the merge failed on it).
/// </summary>
public sealed record MergeConflict(string Repo, string Path, MergeConflictKind Kind, MergeSide? Base, MergeSide? Source, MergeSide? Destination)
{
    public MergeStrategy? Resolution { get; init; }
}

/// <summary>What a merge did: a new merge commit, a fast-forward of the destination head, or nothing (already merged).</summary>
public enum MergeKind { Merge, FastForward, UpToDate }

/// <summary>
/// The outcome of a merge into <see cref="Branch"/>: <see cref="Commit"/> is its head afterwards (null in a dry run that
/// would write a merge commit), <see cref="Base"/> the merge base (null: no common ancestor), <see cref="Changes"/> the
/// paths applied to the destination and <see cref="Conflicts"/> those the strategy decided (or would fail on).
/// </summary>
public sealed record MergeResult(string Repo, string Branch, string? Commit, string Source, string? Base, MergeKind Kind, MergeStrategy Strategy,
    int Changes, IReadOnlyList<MergeConflict> Conflicts)
{
    public bool DryRun { get; init; }
}

public enum WriteLandingKind { OpenCommit, NewCommit, FirstCommit, NewBranch }

/// <summary>
/// Where a write to a branch or open commit would land, found without writing (so a prompt can name it): the branch's
/// open commit, a new commit on its head, its first commit, or a new branch. <see cref="Base"/> is the commit whose
/// files the change starts from (null when there are none).
/// </summary>
public sealed record WriteLanding(string Repo, string Branch, WriteLandingKind Kind, string? Base);

/// <summary>
/// A branch trigger (Pachyderm's <c>trigger</c>): the branch moves to the head of <see cref="Branch"/> (of the same repo)
/// when that head moves and the conditions hold: <see cref="Size"/> bytes added and/or <see cref="Commits"/> commits
/// made on it since the triggered branch's head, and/or a tick of <see cref="CronSpec"/> since the trigger last fired.
/// <see cref="All"/>: every given condition must hold (else any one); no condition: every move.
/// </summary>
public sealed record BranchTrigger(string Branch, long? Size = null, int? Commits = null, string? CronSpec = null, bool All = false)
{
    /// <summary>A size as bytes: "100MB", "1.5GB", "4096" (units are powers of 1024); else BranchTriggerInvalid.</summary>
    public static long ParseSize(string text) => BranchTriggers.ParseSize(text);

    public override string ToString()
    {
        var conditions = new List<string>();
        if (Size is { } size) conditions.Add($"size>={size}");
        if (Commits is { } commits) conditions.Add($"commits>={commits}");
        if (CronSpec is { } cron) conditions.Add($"cron '{cron}'");
        return conditions.Count == 0 ? Branch : $"{Branch} ({string.Join(All ? " and " : " or ", conditions)})";
    }
}
