using LiteDB;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// A job of more datums than one transaction records (<see cref="JobRunner.RecordsPerPart"/>), and the metadata
/// store's commits in parts that make it possible: LiteDB keeps a transaction's pages in memory until it commits.
/// </summary>
public class LargeJobTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AJobOfMoreDatumsThanOnePartRecordsThemAllAndTheNextJobReusesTheirOutputs()
    {
        using var t = new TempStore();
        var count = JobRunner.RecordsPerPart + 7;
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [.. Enumerable.Range(0, count).Select(i => TempStore.Text($"/d{i % 10}/f{i:D5}", $"file {i}"))]);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
        { "pipeline": { "name": "each" },
          "transform": { "cmd": [ "cp", "-r", "/pfs/in/.", "/pfs/out/" ] },
          "parallelism_spec": { "constant": 2 },
          "input": { "pfs": { "repo": "in", "glob": "/*/*" } } }
        """));
        var first = await LatestJob(t);
        Assert.Equal((JobState.Success, count, count, 0), (first.State, first.Total, first.Processed, first.Skipped));
        var datums = t.Store.Pps.ListDatums(first.JobId);
        Assert.Equal(count, datums.Count);
        Assert.All(datums, d => Assert.Equal(DatumState.Success, d.State));
        // In hash order, each once: the parts did not write a record twice or skip one.
        Assert.Equal(datums.Select(d => d.DatumId).Order(StringComparer.Ordinal), datums.Select(d => d.DatumId));
        Assert.Equal(count, datums.Select(d => d.DatumId).Distinct().Count());
        Assert.Equal(count, t.Pfs.ListFiles("each", "master", "/", recurse: true).Count(f => f.Type == PachFileType.File));

        t.Put("in", "/d3/new", "new file");
        var second = await LatestJob(t);
        Assert.Equal((JobState.Success, count + 1, 1, count), (second.State, second.Total, second.Processed, second.Skipped));
        // Skipped datums, recorded part after part, carried their outputs over: every file is still in the output.
        Assert.Equal(count + 1, t.Pfs.ListFiles("each", "master", "/", recurse: true).Count(f => f.Type == PachFileType.File));
        Assert.Equal($"file {count - 1}", t.Read("each", "master", $"/d{(count - 1) % 10}/f{count - 1:D5}"));
        Assert.Equal("new file", t.Read("each", "master", "/d3/new"));
    }

    [Fact]
    public void AWriteCommittedInPartsKeepsThePartsBeforeAFailure()
    {
        using var t = new TempStore();
        var meta = t.Store.Meta;
        Assert.Throws<InvalidOperationException>(() => meta.Write(db =>
        {
            Parts(db).Insert(new BsonDocument { ["_id"] = "first" });
            meta.CommitPart(db);
            Parts(db).Insert(new BsonDocument { ["_id"] = "second" });
            throw new InvalidOperationException("failed after a part");
        }));
        Assert.Equal(["first"], meta.Read(db => Parts(db).FindAll().Select(d => d["_id"].AsString).ToList()));
    }

    [Fact]
    public void AWriteNestedInAnotherCommitsNothingInParts()
    {
        // Inside another unit of work a part would commit the outer one's half-done work too: there it does nothing.
        using var t = new TempStore();
        var meta = t.Store.Meta;
        Assert.Throws<InvalidOperationException>(() => meta.Write(outer =>
        {
            Parts(outer).Insert(new BsonDocument { ["_id"] = "outer" });
            meta.Write(db =>
            {
                Parts(db).Insert(new BsonDocument { ["_id"] = "inner" });
                meta.CommitPart(db);
            });
            throw new InvalidOperationException("the outer write failed");
        }));
        Assert.Empty(meta.Read(db => Parts(db).FindAll().ToList()));
    }

    private static ILiteCollection<BsonDocument> Parts(LiteDatabase db) => db.GetCollection("test_parts");

    private static async Task<JobInfo> LatestJob(TempStore t)
    {
        var job = t.Store.Pps.ListJobs("each")[0];
        return await t.Store.Pps.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);
    }
}
