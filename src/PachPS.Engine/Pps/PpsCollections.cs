using LiteDB;

namespace PachPS.Engine.Pps;

/// <summary>The LiteDB collections of pipelines, jobs, datums and logs, by name, and their indexes.</summary>
internal static class PpsCollections
{
    public static ILiteCollection<PipelineDoc> Pipelines(this LiteDatabase db) => db.GetCollection<PipelineDoc>("pipelines");
    public static ILiteCollection<PipelineVersionDoc> PipelineVersions(this LiteDatabase db) => db.GetCollection<PipelineVersionDoc>("pipeline_versions");
    public static ILiteCollection<JobDoc> Jobs(this LiteDatabase db) => db.GetCollection<JobDoc>(JobsName);
    /// <summary>The jobs as stored, for reads of a few fields of every job without mapping each in full.</summary>
    public static ILiteCollection<BsonDocument> RawJobs(this LiteDatabase db) => db.GetCollection(JobsName);
    private const string JobsName = "jobs";
    public static ILiteCollection<DatumDoc> Datums(this LiteDatabase db) => db.GetCollection<DatumDoc>("datums");
    public static ILiteCollection<LogDoc> Logs(this LiteDatabase db) => db.GetCollection<LogDoc>("logs");

    /// <summary>
    /// A job's datums in datum id (hash) order, after <paramref name="after"/> (null: from the first), read as they are
    /// used: a range of the datums' own keys (job id, ':', datum id), so a job of 100,000 datums is never in memory at once.
    /// </summary>
    public static IEnumerable<DatumDoc> DatumsOfJob(this LiteDatabase db, string jobId, string? after = null)
    {
        var from = DatumDoc.Key(jobId, after ?? "");
        // ';' is the character after ':': [job:, job;) is exactly this job's datums.
        return db.Datums().Query()
            .Where(Query.Between("_id", from, jobId + ";"))
            .OrderBy("_id")
            .ToEnumerable()
            .Where(d => after is null || string.CompareOrdinal(d.Id, from) > 0);
    }

    /// <summary>Jobs that have not ended: created, running or egressing.</summary>
    public static IEnumerable<JobDoc> UnfinishedJobs(this LiteDatabase db) =>
        db.Jobs().Find(Query.In("State", StateMachines.Unfinished.Select(s => new BsonValue(s))));

    public static void EnsureIndexes(LiteDatabase db)
    {
        db.Jobs().EnsureIndex(j => j.Pipeline);
        db.Jobs().EnsureIndex(j => j.State);
        // Job listings read jobs newest first from this index, a page at a time (JobQueries.ListJobsPage).
        db.Jobs().EnsureIndex(j => j.Created);
        db.Datums().EnsureIndex(d => d.Job);
        db.Logs().EnsureIndex(l => l.Job);
        // A job's lines are read a page at a time from this index, in line order (JobQueries.GetLogsPage).
        db.Logs().EnsureIndex(LogKeys.JobLineIndex, LogKeys.JobLineExpression);
        db.Pipelines().EnsureIndex("Inputs", "$.Inputs[*]");
    }
}
