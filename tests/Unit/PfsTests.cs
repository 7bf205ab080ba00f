using PachPS.Engine.Pps;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

public class PfsTests
{
    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void CommitsChainAndAncestryResolves(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        var c1 = t.Put("data", "/a.txt", "one");
        var c2 = t.Put("data", "/a.txt", "two");
        var c3 = t.Put("data", "/b.txt", "three");
        Assert.Equal(c2.Commit, c3.Parent);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", "master^").Commit);
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", "master^^").Commit);
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", "master~2").Commit);
        Assert.Equal(c1.Commit, t.Pfs.GetCommit("data", "master.1").Commit);
        Assert.Equal(c2.Commit, t.Pfs.GetCommit("data", c2.Commit[..8]).Commit);
        Assert.Equal("one", t.Read("data", "master^^", "/a.txt"));
        Assert.Equal("two", t.Read("data", "master", "/a.txt"));
        Assert.Equal(2, t.Pfs.GetRepo("data").Branches.Count + 1);
        Assert.Equal(8, t.Pfs.GetRepo("data").Size);
        Assert.Equal("CommitNotFound", Assert.Throws<PachException>(() => t.Pfs.GetCommit("data", "master~3")).ErrorId);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void OpenCommitGathersManyCallsAtomically(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        var open = t.Pfs.StartCommit("data", "master");
        t.Put("data", "/1", "x");
        t.Pfs.PutFiles("data", open.Commit, [TempStore.Text("/2", "y")]);
        Assert.Throws<PachException>(() => t.Pfs.GetCommit("data", "master")); // nothing finished yet
        var done = t.Pfs.FinishCommit("data", open.Commit);
        Assert.Equal(open.Commit, done.Commit);
        Assert.Equal(2, done.FileCount);
        Assert.Equal("CommitFinished", Assert.Throws<PachException>(() => t.Pfs.PutFiles("data", open.Commit, [TempStore.Text("/3", "z")])).ErrorId);
        Assert.Single(t.Pfs.ListCommits("data", "master"));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void AppendAndOverwrite(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        t.Put("data", "/log", "a\n");
        t.Pfs.PutFiles("data", "master", [TempStore.Text("/log", "b\n")], append: true);
        Assert.Equal("a\nb\n", t.Read("data", "master", "/log"));
        t.Put("data", "/log", "c\n");
        Assert.Equal("c\n", t.Read("data", "master", "/log"));
        Assert.Equal(3, t.Pfs.FileHistory("data", "master", "/log").Count);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void ListingGlobsDirectoriesAndDiff(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        t.Pfs.PutFiles("data", "master", [TempStore.Text("/dir/a.csv", "12"), TempStore.Text("/dir/b.txt", "345"), TempStore.Text("/top.csv", "6")]);
        var top = t.Pfs.ListFiles("data", "master");
        Assert.Equal(["/dir", "/top.csv"], top.Select(f => f.Path));
        Assert.Equal(5, top[0].Size);
        Assert.Equal(PachFileType.Directory, top[0].Type);
        Assert.Equal(["/dir/a.csv", "/top.csv"], t.Pfs.ListFiles("data", "master", "/**.csv").Select(f => f.Path));
        Assert.Equal(3, t.Pfs.ListFiles("data", "master", "/", recurse: true).Count);
        t.Pfs.DeleteFiles("data", "master", ["/dir"]);
        var diff = t.Pfs.Diff("data", "master");
        Assert.Equal(["/dir/a.csv", "/dir/b.txt"], diff.Select(d => d.Path));
        Assert.All(diff, d => Assert.Equal(DiffChange.Removed, d.Change));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void CopyShares(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("a");
        t.Pfs.CreateRepo("b");
        t.Put("a", "/x/1", "one");
        var before = t.Store.Info().StoredBytes;
        t.Pfs.CopyFile("a", "master", "/x", "b", "master", "/y");
        Assert.Equal("one", t.Read("b", "master", "/y/1"));
        Assert.Equal(before, t.Store.Info().StoredBytes);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void IdenticalContentIsStoredOnce(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        var big = new byte[3_000_000];
        new Random(5).NextBytes(big);
        t.Pfs.PutFiles("data", "master", [new FileSource("/big", () => new MemoryStream(big), "big")]);
        var after1 = t.Store.Info().StoredBytes;
        t.Pfs.PutFiles("data", "master", [new FileSource("/copy", () => new MemoryStream(big), "big")]);
        Assert.Equal(after1, t.Store.Info().StoredBytes);
        for (var i = 0; i < 50; i++) t.Put("data", $"/small{i}", "same small content");
        var packs = t.Store.Objects.List("pack/").Count();
        Assert.Equal(1, packs);
        var requests = t.Store.Objects.Requests;
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => "same small content"), Enumerable.Range(0, 50).Select(i => t.Read("data", "master", $"/small{i}")));
        if (backend == TempStore.S3) Assert.True(t.Store.Objects.Requests - requests <= 2, "50 small reads from one pack cost at most two requests");
    }

    [SkippableTheory]
    [InlineData("bad name", TempStore.Local)]
    [InlineData("../x", TempStore.Local)]
    [InlineData("bad name", TempStore.S3)]
    [InlineData("../x", TempStore.S3)]
    public void InvalidInputChangesNothing(string bad, string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        t.Put("data", "/a", "1");
        var commits = t.Pfs.ListCommits("data").Count;
        Assert.ThrowsAny<PachException>(() => t.Pfs.CreateRepo(bad));
        Assert.ThrowsAny<PachException>(() => t.Pfs.PutFiles("data", "master", [TempStore.Text("/ok", "1"), TempStore.Text(bad.Replace(" ", "/../"), "2")]));
        Assert.Equal(commits, t.Pfs.ListCommits("data").Count);
        Assert.Single(t.Pfs.ListRepos());
    }

    [Fact]
    public void EntriesOfAMissingPathIsFileNotFound()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        t.Put("data", "/dir/a", "1");
        Assert.Equal(["/dir/a"], t.Pfs.Entries("data", "master", "/dir").Select(e => e.Path));
        var ex = Assert.Throws<PachException>(() => t.Pfs.Entries("data", "master", "/nope"));
        Assert.Equal("FileNotFound", ex.ErrorId);
    }

    [Fact]
    public void ContentIsDurableBeforeMetadata()
    {
        // The crash-ordering rule: if writing content fails part way, no commit (and no file) appears.
        var folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        var faulty = new FaultyObjectStore(new LocalObjectStore(Path.Combine(folder, "objects")), failAfter: 1);
        using (var store = PachStore.Open(folder, faulty))
        {
            store.Pfs.CreateRepo("data");
            var big = new byte[3_000_000];
            new Random(7).NextBytes(big);
            Assert.Throws<IOException>(() => store.Pfs.PutFiles("data", "master", [new FileSource("/big", () => new MemoryStream(big), "big")]));
            Assert.Empty(store.Pfs.ListCommits("data"));
            Assert.Empty(store.Check());
        }
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void ObjectsAreSyncedAfterTheLastWriteAndBeforeTheCommitNamesThem()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        var recorder = new RecordingObjectStore(new LocalObjectStore(Path.Combine(folder, "objects")));
        using (var store = PachStore.Open(folder, recorder))
        {
            store.Pfs.CreateRepo("data");
            recorder.OnSync = () => recorder.Events.Add($"sync with {store.Pfs.ListCommits("data").Count} commit(s)");
            var big = new byte[3_000_000];
            new Random(7).NextBytes(big);
            store.Pfs.PutFiles("data", "master", [new FileSource("/big", () => new MemoryStream(big), "big"), TempStore.Text("/small", "s")]);
            Assert.Single(store.Pfs.ListCommits("data"));
            var puts = recorder.Events.Where(e => e.StartsWith("put ", StringComparison.Ordinal)).Select(e => e[4..]).ToList();
            Assert.True(puts.Count >= 2, string.Join(", ", recorder.Events)); // large chunks and a pack
            foreach (var key in puts) Assert.Contains("synced " + key, recorder.Events.Skip(recorder.Events.IndexOf("put " + key)));
            var lastPut = recorder.Events.FindLastIndex(e => e.StartsWith("put ", StringComparison.Ordinal));
            Assert.Contains("sync with 0 commit(s)", recorder.Events.Skip(lastPut));

            // The same content again writes nothing, but what it now names (perhaps written by another writer, not yet
            // flushed) is flushed again before the commit.
            recorder.Events.Clear();
            store.Pfs.PutFiles("data", "master", [new FileSource("/again", () => new MemoryStream(big), "big")]);
            Assert.DoesNotContain(recorder.Events, e => e.StartsWith("put ", StringComparison.Ordinal));
            Assert.Equal(puts.Where(k => k.StartsWith("chunk/", StringComparison.Ordinal)).Order(),
                recorder.Events.Where(e => e.StartsWith("synced chunk/", StringComparison.Ordinal)).Select(e => e[7..]).Order());
            Assert.Empty(store.Check());
        }
        Directory.Delete(folder, recursive: true);
    }

    private sealed class RecordingObjectStore(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        public List<string> Events { get; } = [];
        public Action? OnSync { get; set; }
        public override void Put(string key, ReadOnlySpan<byte> data)
        {
            base.Put(key, data);
            lock (Events) Events.Add("put " + key);
        }
        public override void Sync(IReadOnlyCollection<(string Key, int Length)> objects)
        {
            base.Sync(objects);
            lock (Events)
            {
                foreach (var (key, _) in objects) Events.Add("synced " + key);
                OnSync?.Invoke();
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void IntegrityCheckFindsCorruptAndMissingObjects(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        var big = new byte[600_000];
        new Random(9).NextBytes(big);
        t.Pfs.PutFiles("data", "master", [new FileSource("/big", () => new MemoryStream(big), "big"), TempStore.Text("/small", "s")]);
        Assert.Empty(t.Store.Check());
        t.Corrupt(t.Store.Objects.List("chunk/").First());
        t.Store.Objects.Delete(t.Store.Objects.List("pack/").First());
        if (backend == TempStore.S3) t.Reopen(); // drop the pack cache: the next reads go to the server
        var findings = t.Store.Check();
        Assert.Contains(findings, f => f.Kind == "ObjectCorrupt");
        Assert.Contains(findings, f => f.Kind == "ObjectMissing");
        Assert.Equal("ObjectCorrupt", Assert.Throws<PachException>(() => t.Read("data", "master", "/big")).ErrorId);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task TwoStoresOnOneFolderWriteConcurrently(string backend)
    {
        using var t = new TempStore(backend);
        using var other = PachStore.Open(t.Folder, false, t.S3Settings, t.S3Settings is null ? null : S3Server.Credentials);
        t.Pfs.CreateRepo("a");
        other.Pfs.CreateRepo("b");
        var tasks = new[]
        {
            Task.Run(() => { for (var i = 0; i < 40; i++) t.Put("a", $"/f{i}", i.ToString()); }),
            Task.Run(() => { for (var i = 0; i < 40; i++) other.Pfs.PutFiles("b", "master", [TempStore.Text($"/g{i}", i.ToString())]); }),
            Task.Run(() => { for (var i = 0; i < 40; i++) t.Pfs.ListRepos(); }),
        };
        await Task.WhenAll(tasks);
        Assert.Equal(40, t.Pfs.GetCommit("a", "master").FileCount);
        Assert.Equal(40, t.Pfs.GetCommit("b", "master").FileCount);
        Assert.Empty(t.Store.Check());
    }

    private sealed class FaultyObjectStore(IObjectStore inner, int failAfter) : ForwardingObjectStore(inner)
    {
        private int _puts;
        public override void Put(string key, ReadOnlySpan<byte> data)
        {
            if (++_puts > failAfter) throw new IOException("simulated crash while writing content");
            base.Put(key, data);
        }
    }
}

public class TreeSharingTests
{
    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void AOneFileCommitOnALargeRepoAddsLittleMetadata(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("data");
        t.Pfs.PutFiles("data", "master", Enumerable.Range(0, 5000).Select(i => TempStore.Text($"/d{i % 7}/f{i}", i.ToString())).ToList());
        var big = t.Pfs.GetCommit("data", "master");
        var one = t.Put("data", "/d3/new", "x");
        Assert.Equal(5001, one.FileCount);
        Assert.True(one.MetadataBytes < big.MetadataBytes / 20, $"{one.MetadataBytes} vs {big.MetadataBytes}");
    }
}

public class UndoTests
{
    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task RemovingTheNewestInputCommitRemovesItsCascadeAndOnlyIt(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("raw");
        t.Put("raw", "/a", "1");
        t.Store.Pps.CreatePipeline(PachPS.Engine.Pps.PipelineSpec.Parse("""
            { "pipeline": { "name": "copy" }, "transform": { "cmd": [ "sh" ], "stdin": [ "cp $raw /pfs/out/" ] }, "input": { "pfs": { "repo": "raw", "glob": "/*" } } }
            """));
        await t.Store.Pps.WaitCommitAsync("raw", "master", TimeSpan.FromSeconds(60), CancellationToken.None);
        var raw1 = t.Pfs.GetCommit("raw", "master").Commit;
        var copy1 = t.Pfs.GetCommit("copy", "master").Commit;
        t.Put("raw", "/b", "2");
        await t.Store.Pps.WaitCommitAsync("raw", "master", TimeSpan.FromSeconds(60), CancellationToken.None);

        var planned = t.Store.Pfs.RemoveCommit("raw", "master", dryRun: true);
        Assert.Equal(["raw", "copy"], planned.Select(c => c.Repo));
        Assert.Equal(2, t.Pfs.ListCommits("raw").Count); // a dry run changes nothing

        Assert.Equal("CommitHasDescendants", Assert.Throws<PachException>(() => t.Store.Pfs.RemoveCommit("raw", raw1)).ErrorId);
        t.Store.Pfs.RemoveCommit("raw", "master");
        Assert.Equal(raw1, t.Pfs.GetCommit("raw", "master").Commit);
        Assert.Equal(copy1, t.Pfs.GetCommit("copy", "master").Commit);
        Assert.Empty(t.Store.Check());

        // The next job reuses only what still exists: /a is skipped, /c is new.
        t.Put("raw", "/c", "3");
        await t.Store.Pps.WaitCommitAsync("raw", "master", TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal("1 + 1 / 2", t.Store.Pps.ListJobs("copy")[0].Progress);
        Assert.Equal(["/a", "/c"], t.Pfs.ListFiles("copy", "master").Select(f => f.Path));
    }
}

public class SplitTests
{
    [Fact]
    public void LinesAndJsonSplitIntoWholeRecords()
    {
        static List<string> Pieces(string text, SplitMode mode, int datums = 0, long bytes = 0) =>
            FileSplitter.Split(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), mode, datums, bytes).Select(p => System.Text.Encoding.UTF8.GetString(p)).ToList();
        Assert.Equal(["a\n", "b\n", "c"], Pieces("a\nb\nc", SplitMode.Line));
        Assert.Equal(["a\nb\n", "c\n"], Pieces("a\nb\nc\n", SplitMode.Line, datums: 2));
        Assert.Equal(["aaaa\n", "bb\ncc\n"], Pieces("aaaa\nbb\ncc\n", SplitMode.Line, bytes: 6));
        Assert.Equal(["{\"a\":\"}\"}\n", "[1,{\"b\":2}]\n"], Pieces("{\"a\":\"}\"} \n [1,{\"b\":2}]", SplitMode.Json));
        Assert.Equal("SplitInvalidJson", Assert.Throws<PachException>(() => Pieces("{\"a\":1} 42", SplitMode.Json)).ErrorId);
    }

    [Fact]
    public void ASplitFileBecomesAFolderOfIndexedPiecesAndOneDatumEach()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("logs");
        var text = string.Join("", Enumerable.Range(1, 10).Select(i => $"line {i}\n"));
        t.Pfs.PutSplit("logs", "master", "/access", () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), SplitMode.Line, targetDatums: 4);
        Assert.Equal(["/access/0000000000000000", "/access/0000000000000001", "/access/0000000000000002"], t.Pfs.ListFiles("logs", "master", "/access").Select(f => f.Path));
        Assert.Equal("line 9\nline 10\n", t.Read("logs", "master", "/access/0000000000000002"));
        var spec = PipelineSpec.Parse("""{ "pipeline": { "name": "dry" }, "transform": { "cmd": [ "true" ] }, "input": { "pfs": { "repo": "logs", "glob": "/access/*" } } }""");
        Assert.Equal(3, t.Store.Pps.PlanDatums(spec).Count);
        // Splitting again replaces the pieces.
        t.Pfs.PutSplit("logs", "master", "/access", () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), SplitMode.Line, targetDatums: 10);
        Assert.Single(t.Pfs.ListFiles("logs", "master", "/access"));
    }
}
