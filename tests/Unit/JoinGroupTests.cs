using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>Datum sets of join and group inputs, each checked against a set worked out by hand.</summary>
public class JoinGroupTests : IDisposable
{
    private readonly TempStore _t = new();

    public JoinGroupTests()
    {
        _t.Pfs.CreateRepo("left");
        _t.Pfs.CreateRepo("right");
        _t.Pfs.CreateRepo("third");
        _t.Pfs.PutFiles("left", "master", new[] { "/a-1.txt", "/a-2.txt", "/b-1.txt", "/c-9.txt" }.Select(p => TempStore.Text(p, p)).ToList());
        _t.Pfs.PutFiles("right", "master", new[] { "/1.csv", "/2.csv", "/3.csv" }.Select(p => TempStore.Text(p, p)).ToList());
        _t.Put("third", "/only", "x");
    }

    public void Dispose() => _t.Dispose();

    private static string Pfs(string repo, string glob, string extra = "") =>
        $$"""{ "pfs": { "repo": "{{repo}}", "glob": "{{glob}}" {{extra}} } }""";

    private List<string> Datums(string input)
    {
        var spec = PipelineSpec.Parse($$"""{ "pipeline": { "name": "dry" }, "transform": { "cmd": [ "true" ] }, "input": {{input}} }""");
        return _t.Store.Pps.PlanDatums(spec).Select(d => string.Join(" ", d.Inputs.Select(i => i.Repo + ":" + i.Path))).Order(StringComparer.Ordinal).ToList();
    }

    private const string Left = "/(*)-(*).txt";
    private const string Right = "/(*).csv";

    [Fact]
    public void InnerJoinPairsNodesWhoseKeysMatch() =>
        Assert.Equal(["left:/a-1.txt right:/1.csv", "left:/a-2.txt right:/2.csv", "left:/b-1.txt right:/1.csv"],
            Datums($$"""{ "join": [ {{Pfs("left", Left, ", \"join_on\": \"$2\"")}}, {{Pfs("right", Right, ", \"join_on\": \"$1\"")}} ] }"""));

    [Fact]
    public void OuterJoinAlsoEmitsTheOuterInputsMissingKeys() =>
        Assert.Equal(["left:/a-1.txt right:/1.csv", "left:/a-2.txt right:/2.csv", "left:/b-1.txt right:/1.csv", "right:/3.csv"],
            Datums($$"""{ "join": [ {{Pfs("left", Left, ", \"join_on\": \"$2\"")}}, {{Pfs("right", Right, ", \"join_on\": \"$1\", \"outer_join\": true")}} ] }"""));

    [Fact]
    public void JoinNestsInCrossAndATrailingSlashKeepsTheKey() =>
        Assert.Equal(["left:/a-1.txt right:/1.csv third:/", "left:/a-2.txt right:/2.csv third:/", "left:/b-1.txt right:/1.csv third:/"],
            Datums($$"""{ "cross": [ { "join": [ {{Pfs("left", Left + "/", ", \"join_on\": \"$2\"")}}, {{Pfs("right", Right, ", \"join_on\": \"$1\"")}} ] }, {{Pfs("third", "/")}} ] }"""));

    [Fact]
    public void GroupPutsEveryNodeWithTheSameKeyInOneDatum() =>
        Assert.Equal(["left:/a-1.txt left:/a-2.txt", "left:/b-1.txt", "left:/c-9.txt"],
            Datums($$"""{ "group": [ {{Pfs("left", Left, ", \"group_by\": \"$1\"")}} ] }"""));

    [Fact]
    public void GroupOfTwoInputsWithDifferentKeyTemplates() =>
        Assert.Equal(["left:/a-1.txt left:/b-1.txt right:/1.csv", "left:/a-2.txt right:/2.csv", "left:/c-9.txt", "right:/3.csv"],
            Datums($$"""{ "group": [ {{Pfs("left", Left, ", \"group_by\": \"$2\"")}}, {{Pfs("right", Right, ", \"group_by\": \"$1\"")}} ] }"""));

    [Fact]
    public void UnionOfAPlainInputWithAGroup() =>
        Assert.Equal(["left:/a-1.txt left:/a-2.txt", "left:/b-1.txt", "left:/c-9.txt", "right:/1.csv", "right:/2.csv", "right:/3.csv"],
            Datums($$"""{ "union": [ {{Pfs("right", "/*")}}, { "group": [ {{Pfs("left", Left, ", \"group_by\": \"$1\"")}} ] } ] }"""));

    [Fact]
    public void AJoinInputWithoutJoinOnIsRejected() =>
        Assert.Equal("PipelineSpecInvalidInput", Assert.Throws<PachPS.Engine.PachException>(() =>
            Datums($$"""{ "join": [ {{Pfs("left", Left)}}, {{Pfs("right", Right, ", \"join_on\": \"$1\"")}} ] }""")).ErrorId);

    [Fact]
    public async Task JoinKeysReachTheDatumsEnvironment()
    {
        _t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            { "pipeline": { "name": "joined" },
              "transform": { "cmd": [ "sh", "-c", "echo $PACH_DATUM_left_JOIN_ON $PACH_DATUM_right_JOIN_ON > /pfs/out/$PACH_DATUM_left_JOIN_ON-$(basename $left)" ] },
              "input": { "join": [ {{Pfs("left", Left, ", \"join_on\": \"$2\"")}}, {{Pfs("right", Right, ", \"join_on\": \"$1\"")}} ] } }
            """));
        await _t.Store.Pps.WaitCommitAsync("left", "master", TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal(["/1-a-1.txt", "/1-b-1.txt", "/2-a-2.txt"], _t.Pfs.ListFiles("joined", "master").Select(f => f.Path));
        Assert.Equal("1 1", _t.Read("joined", "master", "/1-a-1.txt").Trim());
    }
}
