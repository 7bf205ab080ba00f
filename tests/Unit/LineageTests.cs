using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;

namespace PachPS.Tests.Unit;

public class LineageTests
{
    private static PipelineSpec Stage(string name, string input, string glob, string command) => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "{{name}}" }, "transform": { "cmd": [ "sh" ], "stdin": [ {{System.Text.Json.JsonSerializer.Serialize(command)}} ] },
          "input": { "pfs": { "repo": "{{input}}", "glob": "{{glob}}", "name": "in" } } }
        """);

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task FileLineageIsExactInBothDirectionsThroughThreeStages(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("raw");
        t.Pfs.PutFiles("raw", "master", [TempStore.Text("/a.txt", "a"), TempStore.Text("/b.txt", "b")]);
        var raw1 = t.Pfs.GetCommit("raw", "master").Commit;
        // upper: one datum per file; count: all of upper in one datum; report: one datum over count.
        t.Store.Pps.CreatePipeline(Stage("upper", "raw", "/*", "tr a-z A-Z < $in > /pfs/out/$(basename $in)"));
        t.Store.Pps.CreatePipeline(Stage("count", "upper", "/", "cat $in/* | wc -c > /pfs/out/total"));
        t.Store.Pps.CreatePipeline(Stage("report", "count", "/", "echo total $(cat $in/total) > /pfs/out/report.txt"));
        await t.Store.Pps.WaitCommitAsync("raw", "master", TimeSpan.FromSeconds(60), CancellationToken.None);

        var upperA = t.Store.Provenance.GetFileProvenance("upper", "master", "/A.txt".ToLowerInvariant());
        Assert.Equal(["raw@" + raw1[..16] + ":/a.txt"], upperA.Select(e => e.ToString()));
        Assert.All(upperA, e => Assert.Equal(LineageDirection.Input, e.Direction));
        Assert.Equal(["/a.txt", "/b.txt"], t.Store.Provenance.GetFileProvenance("count", "master", "/total").Select(e => e.Path));
        Assert.Equal(["/total"], t.Store.Provenance.GetFileProvenance("report", "master", "/report.txt").Select(e => e.Path));
        Assert.Empty(t.Store.Provenance.GetFileProvenance("raw", "master", "/a.txt")); // nothing made raw data

        var fromA = t.Store.Provenance.GetFileSubvenance("raw", "master", "/a.txt");
        Assert.Equal(["upper:/a.txt"], fromA.Select(e => $"{e.Repo}:{e.Path}"));
        Assert.Equal(["count:/total"], t.Store.Provenance.GetFileSubvenance("upper", "master", "/a.txt").Select(e => $"{e.Repo}:{e.Path}"));

        // A new file: /a.txt's datum is skipped, and its lineage still names the job where it ran.
        t.Put("raw", "/c.txt", "c");
        await t.Store.Pps.WaitCommitAsync("raw", "master", TimeSpan.FromSeconds(60), CancellationToken.None);
        var again = t.Store.Provenance.GetFileProvenance("upper", "master", "/a.txt").Single();
        Assert.NotEqual(again.JobId, again.RanInJob);
        Assert.Equal(t.Pfs.GetCommit("raw", "master").Commit, again.Commit);
        Assert.Equal(["/a.txt", "/b.txt", "/c.txt"], t.Store.Provenance.GetFileProvenance("count", "master", "/total").Select(e => e.Path));
    }
}
