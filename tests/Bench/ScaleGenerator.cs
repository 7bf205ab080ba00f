using LiteDB;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Bench;

/// <summary>
/// Data for the scale bench (build.ps1 Bench -BenchOnly Scale), written fast: many tiny files in a folder, many commits
/// on one branch, many jobs of one pipeline, many datums or log lines of one job. Commits, jobs, datums and log lines are
/// copies of a real one the engine wrote, inserted straight into the metadata a batch per transaction (through the
/// cmdlets, a million would take hours).
/// </summary>
internal static class ScaleGenerator
{
    private const int Batch = 50_000;

    /// <summary>
    /// <paramref name="count"/> files of a few bytes (each its own number, so no two are alike) under
    /// <paramref name="folder"/>, 1,000 per subfolder (d0000/f0.txt ...).
    /// </summary>
    public static void Files(string folder, int count)
    {
        const int perFolder = 1000;
        var folders = (count + perFolder - 1) / perFolder;
        Parallel.For(0, folders, new ParallelOptions { MaxDegreeOfParallelism = 2 }, d =>
        {
            var dir = Path.Combine(folder, $"d{d:D4}");
            Directory.CreateDirectory(dir);
            for (var i = d * perFolder; i < Math.Min(count, (d + 1) * perFolder); i++)
                File.WriteAllText(Path.Combine(dir, $"f{i}.txt"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
    }

    /// <summary>
    /// A repo <paramref name="repo"/> whose master has one real commit (a few files), then <paramref name="count"/> more
    /// commits, each a child of the one before and sharing its tree (as a commit that changed nothing would).
    /// </summary>
    public static void Commits(PachStore store, string repo, int count)
    {
        store.Pfs.CreateRepo(repo);
        var sources = Enumerable.Range(0, 10).Select(i => new FileSource($"/f{i}.txt",
            () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"file {i}")), $"f{i}")).ToList();
        store.Pfs.PutFiles(repo, "master", sources);
        var start = DateTime.UtcNow.AddDays(-1);
        for (var done = 0; done < count; done += Batch)
        {
            var first = done;
            store.Meta.Write(db =>
            {
                var branch = db.Branches().FindById(BranchDoc.Key(repo, "master"));
                var template = db.Commits().FindById(branch.Head);
                var parent = template.Id;
                var docs = new List<CommitDoc>(Batch);
                for (var i = first; i < Math.Min(count, first + Batch); i++)
                {
                    var id = Ids.New();
                    docs.Add(new CommitDoc
                    {
                        Id = id, Repo = repo, Branch = "master", Parent = parent, Started = start.AddMilliseconds(i), Finished = start.AddMilliseconds(i + 0.5),
                        Root = template.Root, Size = template.Size, FileCount = template.FileCount, Message = $"commit {i}", Origin = template.Origin,
                    });
                    parent = id;
                }
                db.Commits().InsertBulk(docs, Batch);
                branch.Head = parent;
                db.Branches().Update(branch);
            });
        }
    }

    /// <summary><paramref name="count"/> copies (new ids, one millisecond apart) of the newest job of <paramref name="pipeline"/>.</summary>
    public static void Jobs(PachStore store, string pipeline, int count)
    {
        var start = DateTime.UtcNow.AddDays(-1);
        for (var done = 0; done < count; done += Batch)
        {
            var first = done;
            store.Meta.Write(db =>
            {
                var template = db.Jobs().Find(j => j.Pipeline == pipeline).OrderByDescending(j => j.Created).First();
                var raw = db.GetCollection("jobs");
                var bson = raw.FindById(template.Id);
                var docs = new List<BsonDocument>(Batch);
                for (var i = first; i < Math.Min(count, first + Batch); i++)
                {
                    var copy = new BsonDocument(bson.ToDictionary(p => p.Key, p => p.Value));
                    copy["_id"] = Ids.New();
                    copy["Created"] = start.AddMilliseconds(i);
                    copy["Started"] = start.AddMilliseconds(i);
                    copy["Finished"] = start.AddMilliseconds(i + 0.5);
                    docs.Add(copy);
                }
                raw.InsertBulk(docs, Batch);
            });
        }
    }

    /// <summary>
    /// <paramref name="count"/> more datums of the one job of <paramref name="pipeline"/>, copies of its real first datum
    /// with hashes of their own (SHA-256 hex, as the planner's) and so keys of their own (job id, ':', hash); the job's
    /// counts say it processed them all.
    /// </summary>
    public static void Datums(PachStore store, string pipeline, int count)
    {
        var start = DateTime.UtcNow.AddDays(-1);
        for (var done = 0; done < count; done += Batch)
        {
            var first = done;
            store.Meta.Write(db =>
            {
                var job = db.Jobs().Find(j => j.Pipeline == pipeline).Single();
                var raw = db.GetCollection("datums");
                var template = raw.Find(Query.EQ("Job", job.Id)).First();
                var docs = new List<BsonDocument>(Batch);
                for (var i = first; i < Math.Min(count, first + Batch); i++)
                {
                    var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                        System.Text.Encoding.UTF8.GetBytes(template["Hash"].AsString + "\0" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                    var copy = new BsonDocument(template.ToDictionary(p => p.Key, p => p.Value));
                    copy["_id"] = DatumDoc.Key(job.Id, hash);
                    copy["Hash"] = hash;
                    copy["Started"] = start.AddMilliseconds(i);
                    copy["Finished"] = start.AddMilliseconds(i + 0.5);
                    docs.Add(copy);
                }
                raw.InsertBulk(docs, Batch);
                job.Total += docs.Count;
                job.Processed += docs.Count;
                db.Jobs().Update(job);
            });
        }
    }

    /// <summary>
    /// <paramref name="count"/> more log lines of the one job of <paramref name="pipeline"/>, copies of its real first line
    /// (same datum and stream, a message of their own, a millisecond apart: LiteDB keeps times to the millisecond), with
    /// line ids as LiteDB gives them (ObjectIds, growing).
    /// </summary>
    public static void Logs(PachStore store, string pipeline, int count)
    {
        for (var done = 0; done < count; done += Batch)
        {
            var first = done;
            store.Meta.Write(db =>
            {
                var job = db.Jobs().Find(j => j.Pipeline == pipeline).Single();
                var raw = db.GetCollection("logs");
                var template = raw.Find(Query.EQ("Job", job.Id)).First();
                var time = template["Time"].AsDateTime;
                var docs = new List<BsonDocument>(Batch);
                for (var i = first; i < Math.Min(count, first + Batch); i++)
                {
                    var copy = new BsonDocument(template.ToDictionary(p => p.Key, p => p.Value));
                    copy["_id"] = ObjectId.NewObjectId();
                    copy["Time"] = time.AddMilliseconds(i + 1);
                    copy["Message"] = $"line {i}";
                    docs.Add(copy);
                }
                raw.InsertBulk(docs, Batch);
            });
        }
    }
}
