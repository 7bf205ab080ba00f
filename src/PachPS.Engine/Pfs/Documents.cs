using LiteDB;

namespace PachPS.Engine.Pfs;

// The LiteDB documents of repos, branches, commits, tree nodes and packed chunks. Mutable POCOs because that is
// what BsonMapper maps; the service hands out records instead.

internal sealed class RepoDoc
{
    [BsonId] public string Name { get; set; } = "";
    public DateTime Created { get; set; }
    public string Description { get; set; } = "";
}

internal sealed class BranchDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Name { get; set; } = "";
    public string? Head { get; set; }
    public string? OpenCommit { get; set; }
    public DateTime Created { get; set; }
    /// <summary>What moves this branch to another branch's head (added after 0.1.0: absent, so none, in older stores).</summary>
    public BranchTriggerDoc? Trigger { get; set; }
    public static string Key(string repo, string branch) => repo + "@" + branch;
}

/// <summary>A branch trigger: the branch follows <see cref="Branch"/> of its repo once the conditions hold.</summary>
internal sealed class BranchTriggerDoc
{
    public string Branch { get; set; } = "";
    public long? Size { get; set; }
    public int? Commits { get; set; }
    public string? CronSpec { get; set; }
    public bool All { get; set; }
    /// <summary>When the trigger last fired (or was set): the cron condition holds once a tick has come since.</summary>
    public DateTime Since { get; set; }
}

internal sealed class ProvenanceDoc
{
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string Commit { get; set; } = "";
    /// <summary>
    /// Input commits this entry stood for before they were squashed into <see cref="Commit"/> (added with squash:
    /// absent, so none, in older stores).
    /// </summary>
    public List<string>? SquashedFrom { get; set; }
}

/// <summary>
/// A commit squashed away (Remove-PachCommit -Squash, or a retention policy): its id, what it was, and the surviving
/// commit that now holds its changes (<see cref="Into"/>, kept current when that one is squashed in turn). Lineage
/// of a squashed commit survives here, so a reference to it can say where its data went.
/// </summary>
internal sealed class SquashedCommitDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string Into { get; set; } = "";
    public string Message { get; set; } = "";
    public DateTime Started { get; set; }
    public DateTime? Finished { get; set; }
    public DateTime Squashed { get; set; }
    /// <summary>"squash" (Remove-PachCommit -Squash) or "retention" (a policy applied by a collection or the server).</summary>
    public string Cause { get; set; } = "";
}

/// <summary>A retention policy of one branch (id <c>repo@branch</c>): see <see cref="Retention"/> for the rule.</summary>
internal sealed class RetentionDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public int? KeepCommits { get; set; }
    public double? KeepDays { get; set; }
    public DateTime Set { get; set; }
}

internal sealed class CommitDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string? Parent { get; set; }
    /// <summary>A merge commit's second parent: the source commit it merged (added after 0.1.0: absent in older stores).</summary>
    public string? MergedFrom { get; set; }
    public DateTime Started { get; set; }
    public DateTime? Finished { get; set; }
    public string? Root { get; set; }
    public long Size { get; set; }
    public long FileCount { get; set; }
    public string Message { get; set; } = "";
    /// <summary>Bytes of metadata (tree nodes) this commit added to the store.</summary>
    public long MetadataBytes { get; set; }
    public string Origin { get; set; } = "User";
    public string? Job { get; set; }
    public string? Pipeline { get; set; }
    public int PipelineVersion { get; set; }
    public List<ProvenanceDoc> Provenance { get; set; } = [];
    /// <summary>The writer's key/value pairs (added after 0.1.0: absent, so empty, in older stores).</summary>
    public List<MetadataEntryDoc> Metadata { get; set; } = [];
    /// <summary>
    /// Paths whose content Test-PachStore -Repair found gone and could not fetch again: the commit is Corrupt while
    /// any is listed (null or empty: sound).
    /// </summary>
    public List<DamageDoc>? Damage { get; set; }
}

/// <summary>
/// Paths of a commit that cannot be read: one file whose content is gone (<see cref="To"/> null and
/// <see cref="Range"/> false), or every path from <see cref="From"/> up to <see cref="To"/> (null: the end) below a
/// tree node that is gone.
/// </summary>
internal sealed class DamageDoc
{
    public string From { get; set; } = "";
    public string? To { get; set; }
    public bool Range { get; set; }
    /// <summary>The object or tree node that is missing or damaged.</summary>
    public string Object { get; set; } = "";

    public bool Covers(string path) => Range
        ? string.CompareOrdinal(path, From) >= 0 && (To is null || string.CompareOrdinal(path, To) < 0)
        : path == From;

    public override string ToString() => Range ? $"{(From.Length == 0 ? "/" : From)} … {To ?? "(end)"}" : From;
}

/// <summary>One key/value pair of a commit's metadata; a list of pairs, so any key is stored as given.</summary>
internal sealed class MetadataEntryDoc
{
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
}

/// <summary>A tag: an immutable name for one finished commit of a repo.</summary>
internal sealed class TagDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Name { get; set; } = "";
    public string Commit { get; set; } = "";
    public string Message { get; set; } = "";
    public DateTime Created { get; set; }
    public static string Key(string repo, string tag) => repo + "@" + tag;
}

/// <summary>
/// One move of a branch head: from <see cref="Time"/> on, the head of <see cref="Branch"/> (a <see cref="BranchDoc"/>
/// key) was <see cref="Commit"/> (null: none). The id orders the moves of a branch.
/// </summary>
internal sealed class HeadMoveDoc
{
    public long Id { get; set; }
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string? Commit { get; set; }
    public DateTime Time { get; set; }
    /// <summary>Why it moved: created, commit, undo, set (Set-PachBranch), merge (a fast-forward), trigger (a branch trigger fired), repair (Test-PachStore -Repair moved it off a missing commit); baseline is the head a store made before head history already had.</summary>
    public string Cause { get; set; } = "";
}

/// <summary>A finished commit not yet handed to its listeners (pipelines); the id orders them.</summary>
internal sealed class FinishedCommitDoc
{
    public long Id { get; set; }
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string Commit { get; set; } = "";
}

internal sealed class NodeDoc
{
    [BsonId] public string Id { get; set; } = "";
    public byte[] Data { get; set; } = [];
}

internal sealed class ChunkDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Object { get; set; } = "";
    public long Offset { get; set; }
    public int Length { get; set; }
}

/// <summary>A content object (chunk or pack) that some commit or job record names: a failed write must not remove it.</summary>
internal sealed class NamedObjectDoc
{
    [BsonId] public string Id { get; set; } = "";
}

/// <summary>A content object a failed write removed: a commit naming it (found there earlier) checks it is back first.</summary>
internal sealed class RemovedObjectDoc
{
    [BsonId] public string Id { get; set; } = "";
    public DateTime Removed { get; set; }
}

/// <summary>
/// A garbage collection in progress (at most one document, id <see cref="Current"/>): while it exists, every write
/// that names content records the objects it names in <see cref="LiveObjectDoc"/>s, which the collection keeps.
/// </summary>
internal sealed class CollectionRunDoc
{
    public const string Current = "current";
    [BsonId] public string Id { get; set; } = Current;
    /// <summary>When the collection started marking: objects written from then on are never deleted by it.</summary>
    public DateTime Started { get; set; }
    /// <summary>"Marking" (writers record what they name) or "Sweeping" (it decided; deletes are under way).</summary>
    public string Phase { get; set; } = "";
}

/// <summary>An object a write named while a collection was marking: the collection keeps it whatever its mark said.</summary>
internal sealed class LiveObjectDoc
{
    [BsonId] public string Id { get; set; } = "";
}

/// <summary>A pack a collection rewrote: trees still name it, and reads find its chunks through the chunk index.</summary>
internal sealed class RepackedPackDoc
{
    [BsonId] public string Id { get; set; } = "";
    public DateTime Repacked { get; set; }
}

/// <summary>What the last finished collection's mark found and what it freed (id "last"), for the store's and repos' counts.</summary>
internal sealed class CollectionSummaryDoc
{
    public const string Last = "last";
    [BsonId] public string Id { get; set; } = Last;
    public DateTime Finished { get; set; }
    public long LiveBytes { get; set; }
    /// <summary>Unreferenced bytes the collection had to leave (written while it ran): the next one frees them.</summary>
    public long ReclaimableBytes { get; set; }
    public long FreedBytes { get; set; }
    /// <summary>Stored bytes only that repo referenced, by repo: what removing it would have freed at that mark.</summary>
    public Dictionary<string, long> RepoExclusiveBytes { get; set; } = [];
}
