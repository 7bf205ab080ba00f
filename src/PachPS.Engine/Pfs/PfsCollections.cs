using LiteDB;

namespace PachPS.Engine.Pfs;

/// <summary>The LiteDB collections of the file system, by name, and their indexes.</summary>
internal static class PfsCollections
{
    public static ILiteCollection<RepoDoc> Repos(this LiteDatabase db) => db.GetCollection<RepoDoc>("repos");
    public static ILiteCollection<BranchDoc> Branches(this LiteDatabase db) => db.GetCollection<BranchDoc>("branches");
    public static ILiteCollection<CommitDoc> Commits(this LiteDatabase db) => db.GetCollection<CommitDoc>("commits");
    public static ILiteCollection<NodeDoc> Nodes(this LiteDatabase db) => db.GetCollection<NodeDoc>("nodes");
    public static ILiteCollection<ChunkDoc> Chunks(this LiteDatabase db) => db.GetCollection<ChunkDoc>("chunks");
    public static ILiteCollection<NamedObjectDoc> NamedObjects(this LiteDatabase db) => db.GetCollection<NamedObjectDoc>("named_objects");
    public static ILiteCollection<RemovedObjectDoc> RemovedObjects(this LiteDatabase db) => db.GetCollection<RemovedObjectDoc>("removed_objects");

    public static ILiteCollection<TagDoc> Tags(this LiteDatabase db) => db.GetCollection<TagDoc>("tags");
    public static ILiteCollection<HeadMoveDoc> HeadMoves(this LiteDatabase db) => db.GetCollection<HeadMoveDoc>("head_moves", BsonAutoId.Int64);

    public static ILiteCollection<FinishedCommitDoc> FinishedCommits(this LiteDatabase db) => db.GetCollection<FinishedCommitDoc>("finished_commits", BsonAutoId.Int64);

    public static void EnsureIndexes(LiteDatabase db)
    {
        db.Branches().EnsureIndex(b => b.Repo);
        db.Commits().EnsureIndex(c => c.Repo);
        db.Commits().EnsureIndex(c => c.Parent);
        db.Commits().EnsureIndex(c => c.MergedFrom);
        db.Commits().EnsureIndex("Prov", "$.Provenance[*].Commit");
        db.Tags().EnsureIndex(t => t.Repo);
        db.Tags().EnsureIndex(t => t.Commit);
        db.HeadMoves().EnsureIndex(m => m.Branch);
        db.HeadMoves().EnsureIndex(m => m.Repo);
    }
}
