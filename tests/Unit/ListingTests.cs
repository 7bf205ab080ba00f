using System.Reflection;
using PachPS.Engine;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// Listings read a page at a time (issue 19, item 7): pages join up to the whole listing, in its documented order,
/// each node once, whatever the page size, embedded and through a server; a stream asks for no more than it hands on.
/// </summary>
public class ListingTests
{
    /// <summary>
    /// 5 folders of 50 files, a file beside a folder whose name sorts before the folder's '/' (/d1.txt, /d1-x/a), a
    /// deeper folder, and a file at the top.
    /// </summary>
    private static readonly string[] Paths =
    [
        .. Enumerable.Range(0, 5).SelectMany(d => Enumerable.Range(0, 50).Select(i => $"/d{d}/f{i:D2}.txt")),
        "/d1.txt", "/d1-x/a", "/d2/deep/er/z.txt", "/top.txt",
    ];

    private static void Fill(IFileService files)
    {
        files.CreateRepo("many");
        files.PutFiles("many", "master", Paths.Select((p, i) => TempStore.Text(p, new string('x', i % 7 + 1))).ToList());
    }

    /// <summary>The documented order, by brute force: every file and (for a glob) directory, sorted by path, a directory's with '/' after it.</summary>
    private static List<(string Path, PachFileType Type, long Size)> Expected(IReadOnlyList<PachFileInfo> files, Func<string, bool> match, bool directories)
    {
        var nodes = files.Select(f => (f.Path, Type: PachFileType.File, f.Size)).ToList();
        if (directories)
            nodes.AddRange(files.SelectMany(f => Ancestors(f.Path)).Distinct()
                .Select(d => (d, PachFileType.Directory, files.Where(f => f.Path.StartsWith(d + "/", StringComparison.Ordinal)).Sum(f => f.Size))));
        return nodes.Where(n => match(n.Path))
            .OrderBy(n => n.Type == PachFileType.Directory ? n.Path + "/" : n.Path, StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<string> Ancestors(string path)
    {
        for (var end = path.IndexOf('/', 1); end > 0; end = path.IndexOf('/', end + 1)) yield return path[..end];
    }

    /// <summary>Every page of a listing of <paramref name="max"/> nodes, joined.</summary>
    private static List<PachFileInfo> Paged(IFileService files, string reference, string? path, bool recurse, int max)
    {
        var all = new List<PachFileInfo>();
        string? after = null;
        do
        {
            var page = files.ListFilesPage("many", reference, path, recurse, after, max);
            Assert.True(page.Items.Count <= max);
            Assert.True(page.Next is null || page.Items.Count == max, "only the last page is short");
            all.AddRange(page.Items);
            after = page.Next;
        }
        while (after is not null);
        return all;
    }

    private static void AssertListings(IFileService files)
    {
        var everything = files.ListFiles("many", "master", "/", recurse: true);
        Assert.Equal(Paths.Order(StringComparer.Ordinal), everything.Select(f => f.Path));
        var cases = new (string Path, bool Recurse, List<(string, PachFileType, long)> Want)[]
        {
            ("/", true, Expected(everything, _ => true, directories: false)),
            ("/d2", true, Expected(everything, p => p.StartsWith("/d2/", StringComparison.Ordinal), directories: false)),
            ("/**", false, Expected(everything, _ => true, directories: true)),
            ("/*", false, Expected(everything, p => p.Count(c => c == '/') == 1, directories: true)),
            ("/d2/*", false, Expected(everything, p => p.StartsWith("/d2/", StringComparison.Ordinal) && p.Count(c => c == '/') == 2, directories: true)),
            ("/**.txt", false, Expected(everything, p => p.EndsWith(".txt", StringComparison.Ordinal), directories: true)),
            ("/", false, Expected(everything, p => p.Count(c => c == '/') == 1, directories: true)),
        };
        foreach (var (path, recurse, want) in cases)
        {
            var whole = files.ListFiles("many", "master", path, recurse);
            Assert.Equal(want, whole.Select(f => (f.Path, f.Type, f.Size)).ToList());
            foreach (var max in new[] { 1, 7, 50, 1000 })
                Assert.Equal(whole, Paged(files, "master", path, recurse, max));
            Assert.Equal(whole, files.StreamFiles("many", "master", path, recurse).ToList());
        }
        // A folder comes just before what is under it: after a name beside it that sorts before its '/'.
        Assert.Equal(["/d1-x", "/d1.txt", "/d1"], files.ListFiles("many", "master", "/d1*").Select(f => f.Path));
    }

    [Fact]
    public void FileListingsJoinUpPageAfterPageInListingOrder()
    {
        using var t = new TempStore();
        Fill(t.Pfs);
        AssertListings(t.Pfs);
        Assert.Equal("FileNotFound", Assert.Throws<PachException>(() => t.Pfs.ListFilesPage("many", "master", "/nothing", max: 5)).ErrorId);
        Assert.Equal("PageSizeInvalid", Assert.Throws<PachException>(() => t.Pfs.ListFilesPage("many", "master", "/", max: 0)).ErrorId);
    }

    [Fact]
    public void FileListingsPageThroughAServer()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        Fill(client.Files);
        AssertListings(client.Files);
    }

    [Fact]
    public void AStreamReadsNoPageBeyondWhatIsTaken()
    {
        using var t = new TempStore();
        Fill(t.Pfs);
        var counting = Counting<IFileService>.Over(t.Pfs, out var calls);
        var first = counting.StreamFiles("many", "master", "/", recurse: true).First();
        Assert.Equal("/d0/f00.txt", first.Path);
        Assert.Equal([("ListFilesPage", Listing.FirstPage)], calls);
        calls.Clear();
        Assert.Equal(Paths.Length, counting.StreamFiles("many", "master", "/", recurse: true).Count());
        // 100, then 400: the second page is the last.
        Assert.Equal([("ListFilesPage", Listing.FirstPage), ("ListFilesPage", Listing.FirstPage * 4)], calls);
    }

    [Fact]
    public void LaterPagesReadTheCommitTheFirstPageListed()
    {
        using var t = new TempStore();
        Fill(t.Pfs);
        var before = t.Pfs.ListFiles("many", "master", "/", recurse: true);
        var seen = new List<PachFileInfo>();
        foreach (var file in t.Pfs.StreamFiles("many", "master", "/", recurse: true))
        {
            // The branch moves on while the first page is handed on: the rest still comes from the commit first listed.
            if (seen.Count == 0) t.Put("many", "/zz.txt", "late");
            seen.Add(file);
        }
        Assert.Equal(before, seen);
    }

    /// <summary>Jobs written straight into the metadata: <paramref name="count"/> of them, three to a millisecond, in two pipelines.</summary>
    private static List<string> AddJobs(PachStore store, int count)
    {
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var ids = new List<string>();
        store.Meta.Write(db =>
        {
            for (var i = 0; i < count; i++)
            {
                var id = Ids.New();
                ids.Add(id);
                db.Jobs().Insert(new JobDoc
                {
                    Id = id, Pipeline = i % 2 == 0 ? "even" : "odd", State = i % 3 == 0 ? JobState.Failure : JobState.Success,
                    Created = start.AddMilliseconds(i / 3), Reason = $"job {i}",
                });
            }
        });
        return ids;
    }

    private static void AssertJobListings(IPipelineService pipelines, int count)
    {
        var all = pipelines.ListJobs();
        Assert.Equal(count, all.Count);
        // Newest first, then by id (ascending, as the whole listing always had them) among jobs of the same millisecond.
        Assert.Equal(all.OrderByDescending(j => j.Created).ThenBy(j => j.JobId, StringComparer.Ordinal).Select(j => j.JobId), all.Select(j => j.JobId));
        foreach (var (pipeline, state) in new (string?, JobState?)[] { (null, null), ("even", null), (null, JobState.Failure), ("odd", JobState.Success) })
        {
            var whole = pipelines.ListJobs(pipeline, state).Select(j => j.JobId).ToList();
            Assert.Equal(all.Where(j => (pipeline is null || j.Pipeline == pipeline) && (state is null || j.State == state)).Select(j => j.JobId), whole);
            foreach (var max in new[] { 1, 2, 3, 4, 10 })
            {
                var paged = new List<string>();
                string? after = null;
                do
                {
                    var page = pipelines.ListJobsPage(pipeline, state, after, max);
                    paged.AddRange(page.Items.Select(j => j.JobId));
                    after = page.Next;
                }
                while (after is not null);
                Assert.Equal(whole, paged);
            }
            Assert.Equal(whole, pipelines.StreamJobs(pipeline, state).Select(j => j.JobId));
        }
        Assert.Equal("PageCursorInvalid", Assert.Throws<PachException>(() => pipelines.ListJobsPage(after: "nonsense")).ErrorId);
    }

    [Fact]
    public void JobListingsJoinUpPageAfterPageNewestFirstAcrossJobsOfTheSameMillisecond()
    {
        using var t = new TempStore();
        var ids = AddJobs(t.Store, 31);
        AssertJobListings(t.Store.Pps, 31);
        Assert.Equal(ids[30], t.Store.Pps.ListJobsPage(max: 1).Items.Single().JobId); // 30 is alone in its millisecond
    }

    [Fact]
    public void JobListingsPageThroughAServer()
    {
        using var server = new TestServer();
        AddJobs(server.Store, 31);
        using var client = server.Connect();
        AssertJobListings(client.Pipelines, 31);
        var counting = Counting<IPipelineService>.Over(client.Pipelines, out var calls);
        Assert.Equal(3, counting.StreamJobs().Take(3).Count());
        Assert.Equal([("ListJobsPage", Listing.FirstPage)], calls);
    }

    /// <summary>A service that records which methods were called, with a page's size, and passes every call on.</summary>
    public class Counting<T> : DispatchProxy where T : class
    {
        private T _inner = null!;
        private List<(string, int)> _calls = null!;

        public static T Over(T inner, out List<(string Method, int Max)> calls)
        {
            var proxy = Create<T, Counting<T>>();
            var self = (Counting<T>)(object)proxy;
            self._inner = inner;
            self._calls = calls = [];
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            var max = method!.GetParameters().ToList().FindIndex(p => p.Name == "max");
            _calls.Add((method.Name, max >= 0 ? (int)args![max]! : 0));
            try { return method.Invoke(_inner, args); }
            catch (TargetInvocationException ex) when (ex.InnerException is not null) { throw ex.InnerException; }
        }
    }
}
