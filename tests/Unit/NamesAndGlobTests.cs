using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

public class NamesAndGlobTests
{
    [Theory]
    [InlineData("/", "/", true)]
    [InlineData("/*", "/a.csv", true)]
    [InlineData("/*", "/dir", true)]
    [InlineData("/*", "/dir/a.csv", false)]
    [InlineData("/*/*", "/dir/a.csv", true)]
    [InlineData("/**", "/dir/sub/a.csv", true)]
    [InlineData("/**/*.csv", "/dir/sub/a.csv", true)]
    [InlineData("/a/**/b", "/a/b", true)]
    [InlineData("/file?.txt", "/file1.txt", true)]
    [InlineData("/file?.txt", "/file10.txt", false)]
    [InlineData("/[ab]*", "/apple", true)]
    [InlineData("/[!ab]*", "/apple", false)]
    [InlineData("/{x,y}.csv", "/y.csv", true)]
    [InlineData("/{x,y}.csv", "/z.csv", false)]
    [InlineData("/!(*.tmp)", "/keep.csv", true)]
    [InlineData("/!(*.tmp)", "/drop.tmp", false)]
    [InlineData("/*/", "/dir", true)]
    [InlineData("*", "/top", true)]
    public void GlobMatchesLikePachyderm(string pattern, string path, bool expected) =>
        Assert.Equal(expected, new Glob(pattern).IsMatch(path));

    [Fact]
    public void GlobCaptureGroupsAreExposed()
    {
        var m = new Glob("/(*)-(*).csv").Match("/2024-jan.csv");
        Assert.Equal("2024", m.Groups[1].Value);
        Assert.Equal("jan", m.Groups[2].Value);
    }

    [Fact]
    public void InvalidGlobHasAnErrorId() =>
        Assert.Equal("InvalidGlob", Assert.Throws<PachException>(() => new Glob("/[ab")).ErrorId);

    [Theory]
    [InlineData("master", "master", 0, null)]
    [InlineData("master^", "master", 1, null)]
    [InlineData("master^^", "master", 2, null)]
    [InlineData("master~3", "master", 3, null)]
    [InlineData("master~2^", "master", 3, null)]
    [InlineData("master.1", "master", 0, 1)]
    [InlineData("3f1c9a27", "3f1c9a27", 0, null)]
    public void CommitReferencesParse(string text, string @base, int ancestors, int? nth)
    {
        var r = CommitRef.Parse(text);
        Assert.Equal((@base, ancestors, nth), (r.Base, r.Ancestors, r.FromOldest));
    }

    [Theory]
    [InlineData("master^x")]
    [InlineData("")]
    [InlineData("ma ster")]
    [InlineData("master.0")]
    public void BadCommitReferencesAreRejected(string text) =>
        Assert.Equal("InvalidCommitReference", Assert.Throws<PachException>(() => CommitRef.Parse(text)).ErrorId);

    [Theory]
    [InlineData("a/b", "/a/b")]
    [InlineData("/a/b/", "/a/b")]
    [InlineData("\\a\\b", "/a/b")]
    public void PathsNormalize(string input, string expected) => Assert.Equal(expected, Names.NormalizePath(input));

    [Theory]
    [InlineData("../../x")]
    [InlineData("/a//b")]
    [InlineData("/a/./b")]
    [InlineData("/a\u0001b")]
    [InlineData("")]
    public void BadPathsAreRejected(string path) =>
        Assert.Equal("InvalidPath", Assert.Throws<PachException>(() => Names.NormalizePath(path)).ErrorId);

    [Theory]
    [InlineData("with space")]
    [InlineData("dot.ted")]
    [InlineData("")]
    [InlineData("slash/")]
    public void BadNamesAreRejected(string name) =>
        Assert.Equal("InvalidRepoName", Assert.Throws<PachException>(() => Names.ValidateName(name, "Repo")).ErrorId);

    [Fact]
    public void AGlobThatBacktracksForEverFailsWithGlobTooComplexInsteadOfHanging()
    {
        var glob = new Glob("/+(a|aa)b");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<PachException>(() => glob.IsMatch("/" + new string('a', 40)));
        Assert.Equal(("GlobTooComplex", PachErrorKind.InvalidArgument), (ex.ErrorId, ex.Kind));
        Assert.Contains("+(a|aa)b", ex.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        Assert.True(glob.IsMatch("/aaab"));
    }
}
