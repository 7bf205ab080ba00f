using LiteDB;

namespace PachPS.Engine.Pfs;

/// <summary>The LiteDB collections of the file system, by name, and their indexes.</summary>
internal static class PfsCollections
{
    public static ILiteCollection<RepoDoc> Repos(this LiteDatabase db) => db.GetCollection<RepoDoc>("repos");
    public static ILiteCollection<BranchDoc> Branches(this LiteDatabase db) => db.GetCollection<BranchDoc>("branches");
    public static ILiteCollection<CommitDoc> Commits(this LiteDatabase db) => db.GetCollection<CommitDoc>("commits");
    public static ILiteCollection<NodeDoc> Nodes(this LiteDatabase db) => db.GetCollection<NodeDoc>("nodes");
    /// <summary>The tree nodes as BSON, for reads of many (a collection's mark) that need no mapping to documents.</summary>
    public static ILiteCollection<BsonDocument> RawNodes(this LiteDatabase db) => db.GetCollection("nodes");
    public static ILiteCollection<ChunkDoc> Chunks(this LiteDatabase db) => db.GetCollection<ChunkDoc>("chunks");
    public static ILiteCollection<NamedObjectDoc> NamedObjects(this LiteDatabase db) => db.GetCollection<NamedObjectDoc>("named_objects");
    public static ILiteCollection<RemovedObjectDoc> RemovedObjects(this LiteDatabase db) => db.GetCollection<RemovedObjectDoc>("removed_objects");

    public static ILiteCollection<TagDoc> Tags(this LiteDatabase db) => db.GetCollection<TagDoc>("tags");
    public static ILiteCollection<HeadMoveDoc> HeadMoves(this LiteDatabase db) => db.GetCollection<HeadMoveDoc>("head_moves", BsonAutoId.Int64);

    public static ILiteCollection<SquashedCommitDoc> SquashedCommits(this LiteDatabase db) => db.GetCollection<SquashedCommitDoc>("squashed_commits");
    public static ILiteCollection<RetentionDoc> Retention(this LiteDatabase db) => db.GetCollection<RetentionDoc>("retention");

    public static ILiteCollection<FinishedCommitDoc> FinishedCommits(this LiteDatabase db) => db.GetCollection<FinishedCommitDoc>("finished_commits", BsonAutoId.Int64);

    public static ILiteCollection<CollectionRunDoc> CollectionRuns(this LiteDatabase db) => db.GetCollection<CollectionRunDoc>("collection_runs");
    public static ILiteCollection<LiveObjectDoc> LiveObjects(this LiteDatabase db) => db.GetCollection<LiveObjectDoc>("collection_live");
    public static ILiteCollection<RepackedPackDoc> RepackedPacks(this LiteDatabase db) => db.GetCollection<RepackedPackDoc>("repacked_packs");
    public static ILiteCollection<CollectionSummaryDoc> CollectionSummaries(this LiteDatabase db) => db.GetCollection<CollectionSummaryDoc>("collection_summaries");

    public static void EnsureIndexes(LiteDatabase db)
    {
        db.Branches().EnsureIndex(b => b.Repo);
        db.Commits().EnsureIndex(c => c.Repo);
        // Listings of a repo's commits read them newest first from this index, a page at a time (CommitPages).
        db.Commits().EnsureIndex(CommitPages.IndexName, CommitPages.KeyExpression);
        db.Commits().EnsureIndex(c => c.Parent);
        db.Commits().EnsureIndex(c => c.MergedFrom);
        db.Commits().EnsureIndex("Prov", "$.Provenance[*].Commit");
        // A collection drops or moves every index entry of a pack it frees or rewrites.
        db.Chunks().EnsureIndex(c => c.Object);
        db.Tags().EnsureIndex(t => t.Repo);
        db.Tags().EnsureIndex(t => t.Commit);
        db.HeadMoves().EnsureIndex(m => m.Branch);
        db.HeadMoves().EnsureIndex(m => m.Repo);
        db.SquashedCommits().EnsureIndex(s => s.Into);
        db.SquashedCommits().EnsureIndex(s => s.Repo);
        db.Retention().EnsureIndex(r => r.Repo);
    }
}
