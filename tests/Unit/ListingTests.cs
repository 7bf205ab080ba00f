using System.Reflection;
using PachPS.Engine;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

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
        => Joined((after, size) => files.ListFilesPage("many", reference, path, recurse, after, size), max);

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

    /// <summary>Every page of a listing of <paramref name="max"/> items, joined; only the last page is short.</summary>
    private static List<T> Joined<T>(Func<string?, int, Page<T>> page, int max)
    {
        var all = new List<T>();
        string? after = null;
        do
        {
            var next = page(after, max);
            Assert.True(next.Items.Count <= max);
            Assert.True(next.Next is null || next.Items.Count == max, "only the last page is short");
            all.AddRange(next.Items);
            after = next.Next;
        }
        while (after is not null);
        return all;
    }

    private static readonly int[] PageSizes = [1, 2, 3, 7, 50];

    /// <summary>
    /// A repo "hist" whose master has one real commit, then <paramref name="count"/> more written straight into the
    /// metadata, three to a millisecond, each a child of the one before, on two branches by turns (and, to be skipped, a
    /// repo "histx" whose name begins with the same letters, with commits newer than all of them).
    /// </summary>
    private static void AddCommits(PachStore store, int count)
    {
        store.Pfs.CreateRepo("hist");
        store.Pfs.CreateRepo("histx");
        store.Pfs.PutFiles("hist", "master", [TempStore.Text("/a", "a")]);
        store.Pfs.PutFiles("histx", "master", [TempStore.Text("/a", "a")]);
        var start = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        store.Meta.Write(db =>
        {
            var branch = db.Branches().FindById(BranchDoc.Key("hist", "master"));
            var template = db.Commits().FindById(branch.Head);
            var parent = template.Id;
            for (var i = 0; i < count; i++)
            {
                var id = Ids.New();
                db.Commits().Insert(new CommitDoc
                {
                    Id = id, Repo = "hist", Branch = i % 2 == 0 ? "master" : "dev", Parent = parent, Started = start.AddMilliseconds(i / 3),
                    Finished = start.AddMilliseconds(i / 3), Root = template.Root, Message = $"commit {i}", Origin = template.Origin,
                });
                parent = id;
            }
            branch.Head = parent;
            db.Branches().Update(branch);
        });
    }

    private static void AssertCommitListings(IFileService files, int count)
    {
        var all = files.ListCommits("hist");
        Assert.Equal(count + 1, all.Count);
        Assert.All(all, c => Assert.Equal("hist", c.Repo));
        // Newest first, then by id (descending) among commits of the same millisecond.
        Assert.Equal(all.OrderByDescending(c => c.Started).ThenByDescending(c => c.Commit, StringComparer.Ordinal).Select(c => c.Commit), all.Select(c => c.Commit));
        // A history by brute force: from the head back through the parents.
        var byId = all.ToDictionary(c => c.Commit);
        var history = new List<string>();
        for (var c = files.GetCommit("hist", "master~1"); ; c = byId[c.Parent!])
        {
            history.Add(c.Commit);
            if (c.Parent is null) break;
        }
        foreach (var reference in new string?[] { null, "master~1" })
        {
            var whole = files.ListCommits("hist", reference).Select(c => c.Commit).ToList();
            Assert.Equal(reference is null ? all.Select(c => c.Commit).ToList() : history, whole);
            foreach (var max in PageSizes)
                Assert.Equal(whole, Joined((after, size) => files.ListCommitsPage("hist", reference, after, size), max).Select(c => c.Commit));
            Assert.Equal(whole, files.StreamCommits("hist", reference).Select(c => c.Commit));
            Assert.Equal(whole.Take(5), files.StreamCommits("hist", reference, max: 5).Select(c => c.Commit));
        }
        Assert.Equal("PageCursorInvalid", Assert.Throws<PachException>(() => files.ListCommitsPage("hist", after: "histx|20200101000000000|x")).ErrorId);
        Assert.Equal("PageCursorInvalid", Assert.Throws<PachException>(() => files.ListCommitsPage("hist", "master", after: "nonsense")).ErrorId);
        Assert.Equal("RepoNotFound", Assert.Throws<PachException>(() => files.ListCommitsPage("nothing")).ErrorId);
    }

    [Fact]
    public void CommitListingsJoinUpPageAfterPageNewestFirst()
    {
        using var t = new TempStore();
        AddCommits(t.Store, 31);
        AssertCommitListings(t.Pfs, 31);
        var counting = Counting<IFileService>.Over(t.Pfs, out var calls);
        Assert.Equal(3, counting.StreamCommits("hist").Take(3).Count());
        Assert.Equal([("ListCommitsPage", Listing.FirstPage)], calls);
        calls.Clear();
        // A limit asks for no more than it takes.
        Assert.Equal(5, counting.StreamCommits("hist", "master", max: 5).Count());
        Assert.Equal([("ListCommitsPage", 5)], calls);
    }

    [Fact]
    public void CommitListingsPageThroughAServer()
    {
        using var server = new TestServer();
        AddCommits(server.Store, 31);
        using var client = server.Connect();
        AssertCommitListings(client.Files, 31);
    }

    /// <summary>
    /// Two jobs of a pipeline, straight into the metadata: the first with <paramref name="count"/> datums, the second with
    /// a few (whose keys sort among the first's if a range is wrong), and log lines of both, of three datums and of a
    /// pipeline's spout (no job). Returns the first job's id.
    /// </summary>
    private static string AddDatumsAndLogs(PachStore store, int count)
    {
        var job = Ids.New();
        var other = Ids.New();
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        // A pipeline to list lines by (its input stays empty: it runs no job of its own).
        store.Pfs.CreateRepo("in");
        store.Pps.CreatePipeline(PipelineSpec.Parse("""{ "pipeline": { "name": "even" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "in", "glob": "/*" } } }"""));
        store.Meta.Write(db =>
        {
            foreach (var (id, pipeline) in new[] { (job, "even"), (other, "odd") })
                db.Jobs().Insert(new JobDoc { Id = id, Pipeline = pipeline, State = JobState.Success, Created = start });
            var hashes = Enumerable.Range(0, count).Select(i => ContentHash.Of(System.Text.Encoding.UTF8.GetBytes($"d{i}"))).ToList();
            foreach (var h in hashes)
                db.Datums().Insert(new DatumDoc { Id = DatumDoc.Key(job, h), Job = job, Pipeline = "even", Hash = h, State = DatumState.Success });
            foreach (var h in hashes.Take(5))
                db.Datums().Insert(new DatumDoc { Id = DatumDoc.Key(other, h), Job = other, Pipeline = "odd", Hash = h, State = DatumState.Failed });
            for (var i = 0; i < count * 2; i++)
            {
                var (lineJob, pipeline) = i % 5 == 4 ? (other, "odd") : i % 7 == 6 ? ("", "even") : (job, "even");
                db.Logs().Insert(new LogDoc
                {
                    Job = lineJob, Pipeline = pipeline, Datum = lineJob == "" ? "" : hashes[i % 3], Time = start.AddSeconds(i), Stream = "stdout", Message = $"line {i}",
                });
            }
        });
        return job;
    }

    private static void AssertDatumAndLogListings(PachStore store, IPipelineService pipelines, string job, int count)
    {
        var datums = pipelines.ListDatums(job);
        Assert.Equal(count, datums.Count);
        Assert.All(datums, d => Assert.Equal(job, d.JobId));
        Assert.Equal(datums.Select(d => d.DatumId).Order(StringComparer.Ordinal), datums.Select(d => d.DatumId));
        var ids = datums.Select(d => d.DatumId).ToList();
        foreach (var max in PageSizes)
            Assert.Equal(ids, Joined((after, size) => pipelines.ListDatumsPage(job[..12], after, size), max).Select(d => d.DatumId));
        Assert.Equal(ids, pipelines.StreamDatums(job).Select(d => d.DatumId));

        // The lines by brute force: every line, oldest first, filtered.
        var lines = store.Meta.Read(db => db.Logs().FindAll().OrderBy(l => l.Id).ToList());
        var datum = lines.First(l => l.Job == job).Datum;
        var since = new DateTimeOffset(2026, 1, 1, 0, 0, 10, TimeSpan.Zero);
        var cases = new (string? Pipeline, string? Job, string? Datum, DateTimeOffset? Since, Func<LogDoc, bool> Match)[]
        {
            (null, job, null, null, l => l.Job == job),
            (null, job, datum[..10], null, l => l.Job == job && l.Datum == datum),
            (null, job, null, since, l => l.Job == job && l.Time.ToUniversalTime() >= since.UtcDateTime),
            ("even", null, null, null, l => l.Pipeline == "even"),
            (null, null, null, null, _ => true),
        };
        foreach (var (pipeline, jobId, datumId, from, match) in cases)
        {
            var want = lines.Where(match).Select(l => l.Id!.ToString()).ToList();
            Assert.NotEmpty(want);
            var whole = pipelines.GetLogs(pipeline, jobId, datumId, from).Select(l => l.LineId).ToList();
            Assert.Equal(want, whole);
            foreach (var max in PageSizes)
                Assert.Equal(whole, Joined((after, size) => pipelines.GetLogsPage(pipeline, jobId, datumId, from, after, size), max).Select(l => l.LineId));
            Assert.Equal(whole, pipelines.StreamLogs(pipeline, jobId, datumId, from).Select(l => l.LineId));
            // A line id is the cursor a follow passes: the lines after it are the rest of the listing.
            Assert.Equal(whole.Skip(3), pipelines.GetLogs(pipeline, jobId, datumId, from, afterId: whole[2]).Select(l => l.LineId));
        }
        Assert.Equal("PageCursorInvalid", Assert.Throws<PachException>(() => pipelines.GetLogsPage(null, job, null, after: "nonsense")).ErrorId);
        Assert.Equal("JobNotFound", Assert.Throws<PachException>(() => pipelines.ListDatumsPage("nothing")).ErrorId);
    }

    [Fact]
    public void DatumAndLogListingsJoinUpPageAfterPage()
    {
        using var t = new TempStore();
        var job = AddDatumsAndLogs(t.Store, 40);
        AssertDatumAndLogListings(t.Store, t.Store.Pps, job, 40);
        var counting = Counting<IPipelineService>.Over(t.Store.Pps, out var calls);
        Assert.Equal(3, counting.StreamDatums(job).Take(3).Count());
        Assert.Equal(3, counting.StreamLogs(null, job, null).Take(3).Count());
        Assert.Equal([("ListDatumsPage", Listing.FirstPage), ("GetLogsPage", Listing.FirstPage)], calls);
    }

    [Fact]
    public void DatumAndLogListingsPageThroughAServer()
    {
        using var server = new TestServer();
        var job = AddDatumsAndLogs(server.Store, 40);
        using var client = server.Connect();
        AssertDatumAndLogListings(server.Store, client.Pipelines, job, 40);
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
