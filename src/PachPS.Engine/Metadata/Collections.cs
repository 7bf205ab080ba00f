using LiteDB;

namespace PachPS.Engine.Metadata;

/// <summary>Every LiteDB collection of a store, by name, in one place.</summary>
internal static class Collections
{
    public static ILiteCollection<RepoDoc> Repos(this LiteDatabase db) => db.GetCollection<RepoDoc>("repos");
    public static ILiteCollection<BranchDoc> Branches(this LiteDatabase db) => db.GetCollection<BranchDoc>("branches");
    public static ILiteCollection<CommitDoc> Commits(this LiteDatabase db) => db.GetCollection<CommitDoc>("commits");
    public static ILiteCollection<NodeDoc> Nodes(this LiteDatabase db) => db.GetCollection<NodeDoc>("nodes");
    public static ILiteCollection<ChunkDoc> Chunks(this LiteDatabase db) => db.GetCollection<ChunkDoc>("chunks");
    public static ILiteCollection<PipelineDoc> Pipelines(this LiteDatabase db) => db.GetCollection<PipelineDoc>("pipelines");
    public static ILiteCollection<PipelineVersionDoc> PipelineVersions(this LiteDatabase db) => db.GetCollection<PipelineVersionDoc>("pipeline_versions");
    public static ILiteCollection<JobDoc> Jobs(this LiteDatabase db) => db.GetCollection<JobDoc>("jobs");
    public static ILiteCollection<DatumDoc> Datums(this LiteDatabase db) => db.GetCollection<DatumDoc>("datums");
    public static ILiteCollection<LogDoc> Logs(this LiteDatabase db) => db.GetCollection<LogDoc>("logs");
}
