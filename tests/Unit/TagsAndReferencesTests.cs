using System.Globalization;
using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>Issue 17, items 1 to 3: tags, references (tags, branch@{time}, ambiguity) and commit messages and metadata.</summary>
public class TagsAndReferencesTests
{
    private static string ErrorId(Action action) => Assert.Throws<PachException>(action).ErrorId;

    private static IEnumerable<string> Pairs(IEnumerable<KeyValuePair<string, string>> pairs) =>
        pairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}");

    private static string At(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- tags

    [Fact]
    public void ATagNamesOneFinishedCommitAndNeverMoves()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("training");
        var c1 = t.Put("training", "/iris.csv", "v1");
        var tag = t.Pfs.CreateTag("training", "v1", "master", "data the March model saw");
        Assert.Equal(("training", "v1", c1.Commit, "data the March model saw"), (tag.Repo, tag.Name, tag.Commit, tag.Message));
        Assert.True(tag.Created > DateTimeOffset.UtcNow.AddMinutes(-1));
        t.Put("training", "/iris.csv", "v2");

        // A tag works wherever a commit reference does, with ancestry too.
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("training", "v1").Commit);
        Assert.Equal("v1", t.Read("training", "v1", "/iris.csv"));
        Assert.Equal("v2", t.Read("training", "master", "/iris.csv"));
        Assert.Equal(["/iris.csv"], t.Pfs.ListFiles("training", "v1").Select(f => f.Path));
        Assert.Equal(DiffChange.Modified, Assert.Single(t.Pfs.Diff("training", "master", "v1")).Change);

        // Shown on the commit; immutable: the same name again fails, moving it is remove + new.
        Assert.Equal(["v1"], t.Pfs.GetCommit("training", c1.Commit).Tags);
        Assert.Empty(t.Pfs.GetCommit("training", "master").Tags);
        Assert.Equal("TagAlreadyExists", ErrorId(() => t.Pfs.CreateTag("training", "v1", "master")));
        Assert.Equal(c1.Commit, t.Pfs.GetTag("training", "v1").Commit);
        t.Pfs.RemoveTag("training", "v1");
        Assert.Equal("TagNotFound", ErrorId(() => t.Pfs.GetTag("training", "v1")));
        var moved = t.Pfs.CreateTag("training", "v1", "master");
        Assert.NotEqual(c1.Commit, moved.Commit);
        Assert.Empty(t.Pfs.GetCommit("training", c1.Commit).Tags);
        Assert.Equal(["v1"], t.Pfs.ListCommits("training", "master")[0].Tags);
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void TagsListPerRepoOrEverywhereAndGoWithTheirRepo()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("a");
        t.Pfs.CreateRepo("b");
        t.Put("a", "/x", "1");
        t.Put("b", "/y", "2");
        t.Pfs.CreateTag("a", "v2", "master");
        t.Pfs.CreateTag("a", "v1", "master");
        t.Pfs.CreateTag("b", "v1", "master");
        Assert.Equal(["a/v1", "a/v2", "b/v1"], t.Pfs.ListTags().Select(x => $"{x.Repo}/{x.Name}"));
        Assert.Equal(["v1", "v2"], t.Pfs.ListTags("a").Select(x => x.Name));
        Assert.Equal(["v1", "v2"], t.Pfs.GetCommit("a", "master").Tags);
        t.Pfs.RemoveRepo("a");
        Assert.Equal(["b/v1"], t.Pfs.ListTags().Select(x => $"{x.Repo}/{x.Name}"));
        // A new repo of the same name starts without them.
        t.Pfs.CreateRepo("a");
        Assert.Empty(t.Pfs.ListTags("a"));
        Assert.Equal("TagNotFound", ErrorId(() => t.Pfs.GetTag("a", "v1")));
    }

    [Fact]
    public void BadTagsAreRefusedAndChangeNothing()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        t.Put("data", "/a", "1");
        var open = t.Pfs.StartCommit("data", "staging");
        Assert.Equal("RepoNotFound", ErrorId(() => t.Pfs.CreateTag("nope", "v1", "master")));
        Assert.Equal("InvalidTagName", ErrorId(() => t.Pfs.CreateTag("data", "bad name", "master")));
        Assert.Equal("InvalidTagName", ErrorId(() => t.Pfs.CreateTag("data", "v1^", "master")));
        Assert.Equal("BranchNotFound", ErrorId(() => t.Pfs.CreateTag("data", "v1", "nope")));
        Assert.Equal("InvalidCommitReference", ErrorId(() => t.Pfs.CreateTag("data", "v1", "master^x")));
        Assert.Equal("CommitNotFinished", ErrorId(() => t.Pfs.CreateTag("data", "v1", open.Commit)));
        Assert.Equal("NameInUse", ErrorId(() => t.Pfs.CreateTag("data", "master", "master")));
        Assert.Equal("TagNotFound", ErrorId(() => t.Pfs.RemoveTag("data", "v1")));
        Assert.Equal("RepoNotFound", ErrorId(() => t.Pfs.ListTags("nope")));
        Assert.Empty(t.Pfs.ListTags());

        // Nor does a branch take a tag's name, however it would be made.
        t.Pfs.CreateTag("data", "v1", "master");
        Assert.Equal("NameInUse", ErrorId(() => t.Pfs.CreateBranch("data", "v1", "master")));
        Assert.Equal("NameInUse", ErrorId(() => t.Pfs.StartCommit("data", "v1")));
        Assert.Equal(["master", "staging"], t.Pfs.ListBranches("data").Select(b => b.Name));
    }

    [Fact]
    public void ATagCannotBeWrittenToAndATaggedCommitCannotBeUndone()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a", "1");
        t.Pfs.CreateTag("data", "v1", "master");
        Assert.Equal("CommitFinished", ErrorId(() => t.Put("data", "/b", "2", branch: "v1")));
        Assert.Equal("CommitFinished", ErrorId(() => t.Pfs.DeleteFiles("data", "v1", ["/a"])));
        Assert.Equal("CommitFinished", ErrorId(() => t.Pfs.FinishCommit("data", "v1")));
        Assert.Equal(["master"], t.Pfs.ListBranches("data").Select(b => b.Name));

        var refused = Assert.Throws<PachException>(() => t.Pfs.RemoveCommit("data", "master", dryRun: true));
        Assert.Equal("CommitTagged", refused.ErrorId);
        Assert.Contains("'v1'", refused.Message);
        Assert.Equal("CommitTagged", ErrorId(() => t.Pfs.RemoveCommit("data", "master")));
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", "master").Commit);
        t.Pfs.RemoveTag("data", "v1");
        Assert.Equal(c1.Commit, Assert.Single(t.Pfs.RemoveCommit("data", "master")).Commit);
    }

    [Fact]
    public void TheIntegrityCheckReportsATagWhoseCommitIsGone()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        t.Put("data", "/a", "1");
        t.Pfs.CreateTag("data", "v1", "master");
        Assert.Empty(t.Store.Check());
        // Only a damaged store gets here: an undo refuses a tagged commit and a removed repo takes its tags.
        t.Store.Meta.Write(db => db.Tags().Insert(new TagDoc { Id = TagDoc.Key("data", "gone"), Repo = "data", Name = "gone", Commit = new string('9', 32), Created = DateTime.UtcNow }));
        var finding = Assert.Single(t.Store.Check());
        Assert.Equal(("TagTargetMissing", "data", "data@gone"), (finding.Kind, finding.Repo, finding.Object));
        Assert.Equal("CommitNotFound", ErrorId(() => t.Pfs.GetCommit("data", "gone")));
    }

    // ---------------------------------------------------------------- references

    [Fact]
    public void BranchAtATimeIsTheHeadAsItWasThen()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var created = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        var c1 = t.Put("data", "/a", "1");
        Thread.Sleep(20);
        var c2 = t.Put("data", "/a", "2");
        Thread.Sleep(20);
        var between = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        var c3 = t.Put("data", "/a", "3");

        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", $"master@{{{At(c1.Finished!.Value)}}}").Commit);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", $"master@{{{At(between)}}}").Commit);
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", $"master@{{{At(between)}}}^").Commit);
        Assert.Equal(c3.Commit, t.Pfs.GetCommit("data", "master@{2999-01-01}").Commit);
        Assert.Equal("2", t.Read("data", $"master@{{{At(between)}}}", "/a"));
        // Before the branch's first commit it had none; before the repo's branch existed there was no branch.
        Assert.Equal("CommitNotFound", ErrorId(() => t.Pfs.GetCommit("data", "master@{2000-01-01}")));
        Assert.Equal("CommitNotFound", ErrorId(() => t.Pfs.GetCommit("data", $"master@{{{At(created)}}}")));

        // A time with an offset means that instant; without one, UTC.
        var local = between.ToOffset(TimeSpan.FromHours(5)).ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", $"master@{{{local}}}").Commit);
        var unmarked = between.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", $"master@{{{unmarked}}}").Commit);

        // An undo moves the head back, and that move is history too.
        Thread.Sleep(20);
        t.Pfs.RemoveCommit("data", "master");
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", "master@{2999-01-01}").Commit);
        Assert.Equal("CommitNotFound", ErrorId(() => t.Pfs.GetCommit("data", $"master@{{{At(c3.Finished!.Value)}}}")));
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", $"master@{{{At(between)}}}").Commit);

        // Head history survives reopening the store.
        t.Reopen();
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", $"master@{{{At(c1.Finished!.Value)}}}").Commit);
    }

    [Fact]
    public void ABranchMadeLaterDidNotExistBeforeAndARemovedBranchForgetsItsHistory()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a", "1");
        Thread.Sleep(20);
        var before = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        t.Pfs.CreateBranch("data", "dev", "master");
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", "dev@{2999-01-01}").Commit);
        var missing = Assert.Throws<PachException>(() => t.Pfs.GetCommit("data", $"dev@{{{At(before)}}}"));
        Assert.Equal("CommitNotFound", missing.ErrorId);
        Assert.Contains("did not exist", missing.Message);
        t.Pfs.DeleteBranch("data", "dev");
        Assert.Equal("BranchNotFound", ErrorId(() => t.Pfs.GetCommit("data", "dev@{2999-01-01}")));
        Assert.Equal(0, t.Store.Meta.Read(db => db.HeadMoves().Count(m => m.Branch == "data@dev")));
    }

    [Fact]
    public void AStoreWithoutHeadHistoryFallsBackToFinishedTimesAlongTheAncestry()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a", "1");
        Thread.Sleep(20);
        var between = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        var c2 = t.Put("data", "/a", "2");
        // As a store made before head history: no moves recorded at all.
        t.Store.Meta.Write(db => db.HeadMoves().DeleteAll());
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", $"master@{{{At(between)}}}").Commit);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", "master@{2999-01-01}").Commit);
        Assert.Equal("CommitNotFound", ErrorId(() => t.Pfs.GetCommit("data", "master@{2000-01-01}")));

        // The first move from now on records where the head was, and the fallback still answers for times before it.
        Thread.Sleep(20);
        var c3 = t.Put("data", "/a", "3");
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", $"master@{{{At(between)}}}").Commit);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", $"master@{{{At(c2.Finished!.Value)}}}").Commit);
        Assert.Equal(c3.Commit, t.Pfs.GetCommit("data", "master@{2999-01-01}").Commit);
        Assert.Equal(["baseline", "commit"], t.Store.Meta.Read(db => db.HeadMoves().FindAll().OrderBy(m => m.Id).Select(m => m.Cause).ToList()));
    }

    [Theory]
    [InlineData("master@{yesterday}")]
    [InlineData("master@{2026-13-45}")]
    [InlineData("master@{}")]
    [InlineData("master@{2026-01-01")]
    [InlineData("master@{2026-01-01}@{2026-01-02}")]
    [InlineData("@{2026-01-01}")]
    public void ATimeThatDoesNotParseIsAnInvalidReference(string reference)
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        t.Put("data", "/a", "1");
        Assert.Equal("InvalidCommitReference", ErrorId(() => t.Pfs.GetCommit("data", reference)));
    }

    [Fact]
    public void OnlyABranchHasATime()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a", "1");
        t.Pfs.CreateTag("data", "v1", "master");
        var tag = Assert.Throws<PachException>(() => t.Pfs.GetCommit("data", "v1@{2999-01-01}"));
        Assert.Equal("InvalidCommitReference", tag.ErrorId);
        Assert.Contains("is a tag", tag.Message);
        Assert.Equal("InvalidCommitReference", ErrorId(() => t.Pfs.GetCommit("data", c1.Commit[..8] + "@{2999-01-01}")));
        Assert.Equal("BranchNotFound", ErrorId(() => t.Pfs.GetCommit("data", "nope@{2999-01-01}")));
    }

    [Fact]
    public void ANameThatIsABranchOrTagAndACommitPrefixIsAmbiguous()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a", "1");
        var prefix = c1.Commit[..6];
        // A branch and a tag named like a commit's id prefix (ids are random, so a name may come to match one).
        t.Pfs.CreateBranch("data", prefix, "master");
        var branch = t.Put("data", "/b", "2", branch: prefix);
        var ambiguous = Assert.Throws<PachException>(() => t.Pfs.GetCommit("data", prefix));
        Assert.Equal("AmbiguousReference", ambiguous.ErrorId);
        Assert.Contains($"branch '{prefix}'", ambiguous.Message);
        Assert.Contains($"commit {c1.Commit}", ambiguous.Message);
        Assert.Equal("AmbiguousReference", ErrorId(() => t.Pfs.ListFiles("data", prefix + "^")));
        // More of the id names the commit; the branch can still be written to (a finished commit cannot be, so it is no rival there).
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", c1.Commit[..10]).Commit);
        Assert.Equal(branch.Commit, t.Put("data", "/c", "3", branch: prefix).Parent);
        Assert.Equal(branch.Commit, t.Pfs.GetCommit("data", prefix + "@{2999-01-01}^").Commit); // @{time} is for branches only

        t.Pfs.CreateRepo("other");
        var o1 = t.Put("other", "/a", "1");
        var tagName = o1.Commit[..5];
        t.Pfs.CreateTag("other", tagName, "master");
        var tagged = Assert.Throws<PachException>(() => t.Pfs.GetCommit("other", tagName));
        Assert.Equal("AmbiguousReference", tagged.ErrorId);
        Assert.Contains($"tag '{tagName}'", tagged.Message);
        Assert.Equal("AmbiguousCommit", ErrorId(() => AmbiguousPrefix(t)));
    }

    /// <summary>Two commits of one repo whose ids share a 4-character prefix (written as such: ids are random).</summary>
    private static void AmbiguousPrefix(TempStore t)
    {
        t.Pfs.CreateRepo("many");
        t.Store.Meta.Write(db =>
        {
            foreach (var id in new[] { "abcd" + new string('0', 28), "abcd" + new string('1', 28) })
                db.Commits().Insert(new CommitDoc { Id = id, Repo = "many", Branch = "master", Started = DateTime.UtcNow, Finished = DateTime.UtcNow });
        });
        t.Pfs.GetCommit("many", "abcd");
    }

    // ---------------------------------------------------------------- messages and metadata

    [Fact]
    public void MessageAndMetadataGoOnTheCommitAndRoundTrip()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("training");
        t.Pfs.CreateRepo("other");
        var meta = new Dictionary<string, string> { ["ticket"] = "OPS-12", ["rows"] = "148", ["note"] = "two\nlines" };
        var put = t.Pfs.PutFiles("training", "master", [TempStore.Text("/iris.csv", "x")], note: new CommitNote("drop 2 bad rows", meta));
        Assert.Equal("drop 2 bad rows", put.Message);
        Assert.Equal(Pairs(meta), Pairs(put.Metadata));
        Assert.Equal(["note", "rows", "ticket"], put.Metadata.Keys);
        var split = t.Pfs.PutSplit("training", "master", "/lines", () => new MemoryStream("a\nb\n"u8.ToArray()), SplitMode.Line,
            note: new CommitNote("split", new Dictionary<string, string> { ["k"] = "s" }));
        var removed = t.Pfs.DeleteFiles("training", "master", ["/lines"], new CommitNote(null, new Dictionary<string, string> { ["k"] = "d" }));
        var copied = t.Pfs.CopyFile("training", "master", "/iris.csv", "other", "master", "/iris.csv", new CommitNote("copy", new Dictionary<string, string> { ["from"] = "training" }));
        var plain = t.Put("training", "/plain", "p");
        Assert.Empty(plain.Metadata);
        Assert.Equal("", plain.Message);

        t.Reopen();
        var got = t.Pfs.GetCommit("training", put.Commit);
        Assert.Equal("drop 2 bad rows", got.Message);
        Assert.Equal(Pairs(meta), Pairs(got.Metadata));
        Assert.Equal("s", t.Pfs.GetCommit("training", split.Commit).Metadata["k"]);
        Assert.Equal("split", t.Pfs.GetCommit("training", split.Commit).Message);
        Assert.Equal("d", t.Pfs.GetCommit("training", removed.Commit).Metadata["k"]);
        Assert.Equal("", t.Pfs.GetCommit("training", removed.Commit).Message);
        Assert.Equal("training", t.Pfs.GetCommit("other", "master").Metadata["from"]);
        Assert.Equal(copied.Commit, t.Pfs.GetCommit("other", "master").Commit);
        Assert.Equal([plain.Commit, removed.Commit, split.Commit, put.Commit], t.Pfs.ListCommits("training", "master").Select(c => c.Commit));
        Assert.Equal("OPS-12", t.Pfs.ListCommits("training", "master")[3].Metadata["ticket"]);
        // Read-only to whoever gets it.
        Assert.Throws<NotSupportedException>(() => ((IDictionary<string, string>)got.Metadata).Add("x", "y"));
        // Undoing later commits leaves it as it was.
        t.Pfs.RemoveCommit("training", "master");
        Assert.Equal("OPS-12", t.Pfs.GetCommit("training", put.Commit).Metadata["ticket"]);
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void AnOpenCommitGathersMetadataAndTakesTheLastMessage()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var open = t.Pfs.StartCommit("data", "master", "batch", new Dictionary<string, string> { ["a"] = "1", ["b"] = "1" });
        Assert.Equal("batch", open.Message);
        Assert.Equal("1", open.Metadata["a"]);
        t.Pfs.PutFiles("data", "master", [TempStore.Text("/x", "x")], note: new CommitNote(null, new Dictionary<string, string> { ["b"] = "2", ["c"] = "3" }));
        Assert.Equal("batch", t.Pfs.ListCommits("data")[0].Message);
        t.Pfs.PutFiles("data", open.Commit, [TempStore.Text("/y", "y")], note: new CommitNote("batch of two"));
        var done = t.Pfs.FinishCommit("data", "master");
        Assert.Equal("batch of two", done.Message);
        Assert.Equal(["a=1", "b=2", "c=3"], Pairs(done.Metadata));
    }

    public static TheoryData<string, string> BadMetadata => new()
    {
        { "", "empty key" },
        { new string('k', CommitNotes.MaxKeyLength + 1), "long key" },
        { "tab\tkey", "control character in a key" },
        { "value", new string('v', CommitNotes.MaxValueLength + 1) },
        { "bell", "ding\a" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void BadMetadataIsRefusedAndChangesNothing(string key, string value)
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        t.Put("data", "/a", "1");
        var bad = new CommitNote("m", new Dictionary<string, string> { [key] = value });
        var objects = t.Store.Info().ObjectCount;
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.PutFiles("data", "master", [TempStore.Text("/b", "new content here")], note: bad)));
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.DeleteFiles("data", "master", ["/a"], bad)));
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.CopyFile("data", "master", "/a", "data", "master", "/c", bad)));
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.StartCommit("data", "master", "m", bad.Metadata)));
        Assert.Single(t.Pfs.ListCommits("data"));
        Assert.Null(t.Pfs.GetBranch("data", "master").OpenCommit);
        Assert.Equal(objects, t.Store.Info().ObjectCount);
    }

    [Fact]
    public void MetadataHasLimitsOnItsSizeAndSoDoMessages()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        var many = Enumerable.Range(0, CommitNotes.MaxPairs + 1).ToDictionary(i => $"k{i}", i => "v");
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.StartCommit("data", "master", null, many)));
        var big = Enumerable.Range(0, 8).ToDictionary(i => $"k{i}", i => new string('v', CommitNotes.MaxValueLength));
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.StartCommit("data", "master", null, big)));
        Assert.Equal("MessageTooLong", ErrorId(() => t.Pfs.StartCommit("data", "master", new string('m', CommitNotes.MaxMessageLength + 1))));
        Assert.Equal("MessageTooLong", ErrorId(() => t.Pfs.PutFiles("data", "master", [TempStore.Text("/a", "1")], note: new CommitNote(new string('m', CommitNotes.MaxMessageLength + 1)))));
        // Pairs added to an open commit count with those it has.
        var half = Enumerable.Range(0, CommitNotes.MaxPairs / 2 + 1).ToDictionary(i => $"a{i}", i => "v");
        t.Pfs.StartCommit("data", "master", null, half);
        var otherHalf = Enumerable.Range(0, CommitNotes.MaxPairs / 2).ToDictionary(i => $"b{i}", i => "v");
        Assert.Equal("InvalidMetadata", ErrorId(() => t.Pfs.PutFiles("data", "master", [TempStore.Text("/a", "1")], note: new CommitNote(null, otherHalf))));
        Assert.Equal(half.Count, t.Pfs.FinishCommit("data", "master").Metadata.Count);
        Assert.Empty(t.Pfs.ListFiles("data", "master"));
    }

    [Fact]
    public void AStoreWrittenBy010HasNoTagsOrMetadataAndGainsThem()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-fixture-" + Guid.NewGuid().ToString("N")[..12]);
        Fixtures.Copy("store-0.1.0", folder);
        try
        {
            using var store = PachStore.Open(folder);
            var head = store.Pfs.GetCommit("in", "master");
            Assert.Empty(head.Tags);
            Assert.Empty(head.Metadata);
            Assert.Empty(store.Pfs.ListTags());
            // No head history: the fallback along the ancestry answers.
            var history = store.Pfs.ListCommits("in", "master");
            Assert.Equal(head.Commit, store.Pfs.GetCommit("in", "master@{2999-01-01}").Commit);
            var oldest = history[^1];
            Assert.Equal(oldest.Commit, store.Pfs.GetCommit("in", $"master@{{{At(oldest.Finished!.Value)}}}").Commit);
            Assert.Equal("CommitNotFound", Assert.Throws<PachException>(() => store.Pfs.GetCommit("in", "master@{2000-01-01}")).ErrorId);

            store.Pfs.CreateTag("in", "v1", "master", "before the upgrade");
            var next = store.Pfs.PutFiles("in", "master", [TempStore.Text("/d.txt", "delta\n")], note: new CommitNote("after", new Dictionary<string, string> { ["k"] = "v" }));
            Assert.Equal(head.Commit, store.Pfs.GetCommit("in", "v1").Commit);
            Assert.Equal("v", store.Pfs.GetCommit("in", "master").Metadata["k"]);
            Assert.Equal(oldest.Commit, store.Pfs.GetCommit("in", $"master@{{{At(oldest.Finished!.Value)}}}").Commit);
            Assert.Equal(next.Commit, store.Pfs.GetCommit("in", "master@{2999-01-01}").Commit);
            Assert.Empty(store.Check());
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
