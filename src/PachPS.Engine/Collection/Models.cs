namespace PachPS.Engine.Collection;

/// <summary>Why a collection frees something (stable names, for reports and scripts).</summary>
public static class CollectionReasons
{
    /// <summary>A large chunk (an object of its own) that no commit, datum result or write in progress names.</summary>
    public const string UnreferencedChunk = "UnreferencedChunk";
    /// <summary>A pack none of whose small chunks anything names.</summary>
    public const string UnreferencedPack = "UnreferencedPack";
    /// <summary>A pack mostly holding chunks nothing names: its live chunks move to a new pack, the rest is freed.</summary>
    public const string MostlyGarbagePack = "MostlyGarbagePack";
    /// <summary>A tree node (metadata) that no commit's tree reaches.</summary>
    public const string UnreferencedTreeNode = "UnreferencedTreeNode";
}

/// <summary>What a collection frees for one reason: how many objects (or tree nodes) and how many bytes.</summary>
public sealed record CollectionItem(string Reason, long Objects, long Bytes);

/// <summary>The stage a collection is in, for progress reports.</summary>
public enum CollectionStage { Marking, MarkingDatums, Listing, WaitingForWriters, Repacking, Deciding, Deleting }

/// <summary>Progress of a collection: its stage and how far through it (Total 0: unknown).</summary>
public sealed record CollectionProgress(CollectionStage Stage, long Done, long Total);

/// <summary>
/// What a garbage collection freed or, with <see cref="WhatIf"/>, would free: by reason, and in total. Content
/// objects are chunks and packs in the object store; tree nodes are metadata.
/// </summary>
public sealed record CollectionReport
{
    public required string Store { get; init; }
    /// <summary>True when nothing was written or deleted (a -WhatIf run).</summary>
    public bool WhatIf { get; init; }
    public IReadOnlyList<CollectionItem> Reasons { get; init; } = [];
    /// <summary>Content objects deleted (chunks, packs, and packs replaced by a rewrite).</summary>
    public long ObjectsRemoved { get; init; }
    /// <summary>Packs among them, deleted whole or after a rewrite.</summary>
    public long PacksRemoved { get; init; }
    /// <summary>New packs written to hold the live chunks of mostly-garbage packs.</summary>
    public long PacksWritten { get; init; }
    public long TreeNodesRemoved { get; init; }
    /// <summary>Commits retention policies squashed away before the mark (with <see cref="WhatIf"/>: would squash).</summary>
    public long CommitsSquashed { get; init; }
    /// <summary>Bytes freed in the object store (deleted minus rewritten) plus tree node bytes freed in the metadata.</summary>
    public long BytesFreed { get; init; }
    /// <summary>Content objects something names, and their bytes, when the mark finished.</summary>
    public long LiveObjects { get; init; }
    public long LiveBytes { get; init; }
    /// <summary>Unnamed objects spared because they were written after the collection started (writes in progress).</summary>
    public long RecentObjectsKept { get; init; }
    public TimeSpan Duration { get; init; }
}
