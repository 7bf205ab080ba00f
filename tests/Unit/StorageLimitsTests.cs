using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>Disk full and bucket quota: ErrorId StorageFull, what the failed operation wrote is removed, the store stays usable.</summary>
public sealed class StorageFullTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static FileSource Bytes(string path, byte[] data) => new(path, () => new MemoryStream(data), path);

    [Fact]
    public void AWriteThatDoesNotFitFailsWithStorageFullRemovesWhatItWroteAndTheNextSmallWriteSucceeds()
    {
        var objects = new CapacityObjectStore(new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var store = PachStore.Open(_folder, objects);
        store.Pfs.CreateRepo("data");
        var earlier = Random(300_000, 1);
        store.Pfs.PutFiles("data", "master", [Bytes("/earlier", earlier), TempStore.Text("/small", "s")]);
        var before = objects.Usage();
        var keysBefore = objects.List("").Order().ToList();
        var putsBefore = objects.Puts;

        // Room for a full pack of small files and some chunks of the big one, not all: the write fails part way through.
        objects.Capacity = before.Bytes + 5_500_000;
        var small = Enumerable.Range(0, 300).Select(i => TempStore.Text($"/many/{i}", $"file {i} " + new string('x', 15_000))).ToList();
        var ex = Assert.Throws<PachException>(() => store.Pfs.PutFiles("data", "master", [.. small, Bytes("/big", Random(4_000_000, 2))]));

        Assert.Equal(StorageFull.ErrorId, ex.ErrorId);
        Assert.Equal(PachErrorKind.ResourceUnavailable, ex.Kind);
        Assert.True(objects.Puts - putsBefore >= 2, "the failed write stored a pack and chunks before it ran out of room");
        Assert.Equal(keysBefore, objects.List("").Order().ToList());
        Assert.Equal(before, objects.Usage());
        Assert.Single(store.Pfs.ListCommits("data"));

        store.Pfs.PutFiles("data", "master", [TempStore.Text("/tiny", "hello")]);
        Assert.Empty(store.Check());
        var (_, content) = store.Pfs.OpenFile("data", "master", "/earlier");
        using (content)
        {
            using var copy = new MemoryStream();
            content.CopyTo(copy);
            Assert.Equal(earlier, copy.ToArray());
        }
    }

    [Fact]
    public void AFailedSplitRemovesItsPieces()
    {
        var objects = new CapacityObjectStore(new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var store = PachStore.Open(_folder, objects);
        store.Pfs.CreateRepo("data");
        store.Pfs.PutFiles("data", "master", [TempStore.Text("/a", "1")]);
        var before = objects.Usage();
        objects.Capacity = before.Bytes + 200_000;
        var lines = string.Join("\n", Enumerable.Range(0, 20_000).Select(i => $"record {i} {Guid.NewGuid()}"));
        var ex = Assert.Throws<PachException>(() => store.Pfs.PutSplit("data", "master", "/lines",
            () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(lines)), SplitMode.Line, targetBytes: 100_000));
        Assert.Equal(StorageFull.ErrorId, ex.ErrorId);
        Assert.Equal(before, objects.Usage());
        Assert.Single(store.Pfs.ListCommits("data"));
    }

    [Fact]
    public void AFailedWriterNeverRemovesAChunkAnotherWriterUsesOrCommitted()
    {
        var objects = new CapacityObjectStore(new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var store = PachStore.Open(_folder, objects);
        store.Pfs.CreateRepo("data");
        var shared = Random(500_000, 3);

        // A creates the chunks; B finds them there and commits; then A fails: B's commit must still read back.
        var a = store.Pfs.BeginWrite();
        a.Write(shared);
        a.Flush();
        var chunks = objects.List("chunk/").ToList();
        Assert.NotEmpty(chunks);
        store.Pfs.Ingest(b =>
        {
            var content = b.Write(shared);
            b.Flush();
            return store.Pfs.Commit("data", "master", b, (_, _, _) => [FileChange.Write("/shared", b.Resolve(content))]);
        });
        Assert.Empty(a.Abandon());
        Assert.Equal(chunks.Order(), objects.List("chunk/").Order());
        Assert.Empty(store.Check());

        // C creates chunks, D uses them too; C fails while D is still open: they stay; D then fails too: they go.
        var other = Random(500_000, 4);
        var all = objects.List("").Order().ToList();
        var c = store.Pfs.BeginWrite();
        c.Write(other);
        c.Flush();
        var withOther = objects.List("").Order().ToList();
        Assert.True(withOther.Count > all.Count);
        var d = store.Pfs.BeginWrite();
        d.Write(other);
        d.Flush();
        Assert.Empty(c.Abandon());
        Assert.Equal(withOther, objects.List("").Order());
        Assert.NotEmpty(d.Abandon());
        Assert.Equal(all, objects.List("").Order());
        Assert.Empty(store.Check());
    }

    [Fact]
    public void AFailedWriteInOneSessionNeverRemovesWhatAnotherSessionCommitted()
    {
        // Two stores on one folder are two sessions (as two processes are): each has its own writers and claims.
        using var first = PachStore.Open(_folder, new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var second = PachStore.Open(_folder, new LocalObjectStore(Path.Combine(_folder, "objects")));
        first.Pfs.CreateRepo("data");
        var shared = Random(500_000, 5);
        var a = first.Pfs.BeginWrite();
        a.Write(shared);
        a.Flush();
        second.Pfs.Ingest(b =>
        {
            var content = b.Write(shared);
            b.Flush();
            return second.Pfs.Commit("data", "master", b, (_, _, _) => [FileChange.Write("/shared", b.Resolve(content))]);
        });

        a.Abandon();

        Assert.Empty(first.Check());
        var (_, stream) = first.Pfs.OpenFile("data", "master", "/shared");
        using (stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            Assert.Equal(shared, copy.ToArray());
        }
    }

    [Fact]
    public void ACommitNamingContentAnotherSessionsFailedWriteRemovedIsContentRemovedAndWritesNothing()
    {
        using var first = PachStore.Open(_folder, new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var second = PachStore.Open(_folder, new LocalObjectStore(Path.Combine(_folder, "objects")));
        first.Pfs.CreateRepo("data");
        var shared = Random(500_000, 6);
        var a = first.Pfs.BeginWrite();
        a.Write(shared);
        a.Flush();
        var b = second.Pfs.BeginWrite();
        var content = b.Write(shared); // finds a's chunks there
        b.Flush();

        Assert.NotEmpty(a.Abandon()); // no commit names them yet: removed

        var ex = Assert.Throws<PachException>(() => second.Pfs.Commit("data", "master", b, (_, _, _) => [FileChange.Write("/shared", b.Resolve(content))]));
        Assert.Equal("ContentRemoved", ex.ErrorId);
        Assert.Empty(second.Pfs.ListCommits("data"));
        Assert.Empty(second.Check());
        second.Pfs.PutFiles("data", "master", [Bytes("/shared", shared)]);
        Assert.Empty(first.Check());
    }

    [Fact]
    public async Task AJobWhoseOutputDoesNotFitWaitsWithStorageFullAndLeavesNoOutputContent()
    {
        var objects = new CapacityObjectStore(new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var store = PachStore.Open(_folder, objects);
        store.Pps.RoomRetry.FirstDelay = TimeSpan.FromHours(1); // no probe resumes it while the test looks
        store.Pfs.CreateRepo("in");
        store.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1")]);
        var before = objects.Usage();
        var putsBefore = objects.Puts;
        // Room for the first chunks of the output (at most 4 MiB each), not for all of them.
        objects.Capacity = before.Bytes + 6_000_000;
        store.Pps.CreatePipeline(PipelineSpec.Parse("""
        {
          "pipeline": { "name": "grow" },
          "transform": { "cmd": [ "sh", "-c", "head -c 12000000 /dev/urandom > /pfs/out/big" ] },
          "input": { "pfs": { "repo": "in", "glob": "/" } }
        }
        """));
        var job = await WaitForStateAsync(store, store.Pps.ListJobs("grow")[0].JobId, JobState.StorageFull);

        Assert.StartsWith(StorageFull.ErrorId, job.Reason);
        Assert.False(job.IsFinished);
        Assert.Equal(0, job.Failed); // no room is not the datum's failure
        Assert.True(objects.Puts > putsBefore, "the job stored part of its output before it ran out of room");
        Assert.Equal(before, objects.Usage());
        Assert.Empty(store.Check());
        store.Pfs.PutFiles("in", "master", [TempStore.Text("/b", "2")]);
    }

    /// <summary>
    /// A pipeline over /a, /b, /c (copied) and /z (12 MB of output, once the go file exists), logging each datum it runs
    /// to a file.
    /// </summary>
    private (PachStore Store, CapacityObjectStore Objects, string Runs, string Go) OpenWithGrowingPipeline()
    {
        var objects = new CapacityObjectStore(new LocalObjectStore(Path.Combine(_folder, "objects")));
        var store = PachStore.Open(_folder, objects);
        store.Pps.RoomRetry.FirstDelay = TimeSpan.FromHours(1);
        var runs = Path.Combine(_folder, "runs.txt");
        var go = Path.Combine(_folder, "go");
        store.Pfs.CreateRepo("in");
        store.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2"), TempStore.Text("/c", "3"), TempStore.Text("/z", "4")]);
        // Room for the small outputs and the first chunks of the big one, not for all of it.
        objects.Capacity = objects.Usage().Bytes + 6_000_000;
        store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
        {
          "pipeline": { "name": "grow" },
          "transform": { "cmd": [ "sh", "-c", "for f in /pfs/in/*; do n=$(basename $f); echo $n >> '{{runs}}'; if [ $n = z ]; then while [ ! -e '{{go}}' ]; do sleep 0.1; done; head -c 12000000 /dev/urandom > /pfs/out/z; else cp $f /pfs/out/$n; fi; done" ] },
          "input": { "pfs": { "repo": "in", "glob": "/*" } }
        }
        """));
        return (store, objects, runs, go);
    }

    /// <summary>Lets /z write its output once a, b and c are durable: they finished before the job ran out of room.</summary>
    private static async Task ReleaseBigDatumAsync(PachStore store, string jobId, string go)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (store.Pps.GetJob(jobId).Processed < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "a, b and c did not finish");
            await Task.Delay(100);
        }
        File.WriteAllText(go, "");
    }

    private static async Task<JobInfo> WaitForStateAsync(PachStore store, string jobId, JobState state)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var job = store.Pps.GetJob(jobId);
            if (job.State == state) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} is {job.State} ({job.Reason}), not {state}");
            Assert.False(job.IsFinished, $"job {jobId} ended {job.State} ({job.Reason}), not {state}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task AJobOutOfRoomWaitsThenResumesByItselfWhenAProbeFindsRoomWithoutRerunningFinishedDatums()
    {
        var (store, objects, runs, go) = OpenWithGrowingPipeline();
        using var _ = store;
        var jobId = store.Pps.ListJobs("grow")[0].JobId;
        await ReleaseBigDatumAsync(store, jobId, go);
        var waiting = await WaitForStateAsync(store, jobId, JobState.StorageFull);

        Assert.StartsWith(StorageFull.ErrorId, waiting.Reason);
        Assert.Contains("Resume-PachPipeline 'grow'", waiting.Reason);
        Assert.True(objects.Usage().Bytes < objects.Capacity - 4_000_000, "the chunks /z stored before it ran out of room are removed");
        Assert.Equal((3, 0), (waiting.Processed, waiting.Failed));
        Assert.Equal(["a", "b", "c"], store.Pps.ListDatums(jobId).Where(d => d.State == DatumState.Success).Select(d => d.Inputs[0].Path.TrimStart('/')).Order());
        // Waiting for it ends with StorageFull instead of hanging until there is room.
        var wait = await Assert.ThrowsAsync<PachException>(() => store.Pps.WaitJobAsync(jobId, Timeout, CancellationToken.None));
        Assert.Equal(StorageFull.ErrorId, wait.ErrorId);
        Assert.True((await store.Pps.FollowLogsAsync(jobId, null, null, null, Timeout, CancellationToken.None)).JobFinished); // -Follow stops too

        // Still full: probes find no room, and the job waits.
        objects.Capacity = objects.Usage().Bytes;
        var refused = objects.Refused;
        store.Pps.RoomRetry.FirstDelay = TimeSpan.Zero;
        var deadline = DateTime.UtcNow + Timeout;
        while (objects.Refused == refused)
        {
            Assert.True(DateTime.UtcNow < deadline, "no probe ran");
            await Task.Delay(100);
        }
        Assert.Equal(JobState.StorageFull, store.Pps.GetJob(jobId).State);
        Assert.Equal(waiting.Restarts, store.Pps.GetJob(jobId).Restarts);

        // Room again: the next probe finds it and the job resumes by itself.
        objects.Capacity = long.MaxValue;
        var done = await WaitForStateAsync(store, jobId, JobState.Success);

        Assert.Equal((4, 0), (done.Processed, done.Failed));
        Assert.True(done.Restarts > waiting.Restarts);
        Assert.Equal(["a", "b", "c", "z", "z"], File.ReadAllLines(runs).Order());
        Assert.Equal(["/a", "/b", "/c", "/z"], store.Pfs.ListFiles("grow", "master", "/").Select(f => f.Path).Order());
        Assert.Empty(store.Check());
    }

    [Fact]
    public async Task ResumingThePipelineResumesAJobWaitingForRoomAtOnceAndANewerJobWaitsBehindIt()
    {
        var (store, objects, runs, go) = OpenWithGrowingPipeline();
        using var _ = store;
        var jobId = store.Pps.ListJobs("grow")[0].JobId;
        await ReleaseBigDatumAsync(store, jobId, go);
        await WaitForStateAsync(store, jobId, JobState.StorageFull);

        // A newer input commit: its job must not write its output commit before the older job's.
        store.Pfs.PutFiles("in", "master", [TempStore.Text("/d", "5")]);
        var newer = store.Pps.ListJobs("grow").Single(j => j.JobId != jobId).JobId;
        var behind = await WaitForStateAsync(store, newer, JobState.StorageFull);
        Assert.Contains(Ids.Short(jobId), behind.Reason);
        Assert.Equal(0, behind.Processed);

        objects.Capacity = long.MaxValue;
        var restartsBefore = store.Pps.GetJob(jobId).Restarts;
        // The older job's run is marked StorageFull a moment before it has ended here: the resume waits for that end
        // instead of passing the job by (CI once resumed it in that moment and left it waiting for the next probe).
        JobScheduler.ActiveJobs.TryAdd(jobId, 0);
        var ended = Task.Delay(300).ContinueWith(_ => JobScheduler.ActiveJobs.TryRemove(jobId, out var _));
        store.Pps.SetPaused("grow", paused: false); // Resume-PachPipeline: no probe is due for an hour
        Assert.True(ended.IsCompleted);
        // Claimed before the resume returns: a wait right after it waits for the job instead of ending on StorageFull.
        Assert.Equal(JobState.Running, store.Pps.GetJob(jobId).State);
        Assert.Equal(JobState.Running, store.Pps.GetJob(newer).State);
        var first = await WaitForStateAsync(store, jobId, JobState.Success);
        var second = await WaitForStateAsync(store, newer, JobState.Success);

        Assert.Equal(restartsBefore + 1, first.Restarts); // one resume, counted once
        Assert.True(first.Finished <= second.Finished);
        Assert.Equal(["a", "b", "c", "d", "z", "z"], File.ReadAllLines(runs).Order()); // the newer job reused a..c and z
        Assert.Equal(["/a", "/b", "/c", "/d", "/z"], store.Pfs.ListFiles("grow", "master", "/").Select(f => f.Path).Order());
        Assert.Empty(store.Check());
    }

    [Fact]
    public void TheLocalFolderBackendReportsAFullDeviceAsStorageFullAndLeavesNoTemporaryFile()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/dev/full"), "needs Linux's /dev/full, whose writes fail with ENOSPC");
        var root = Path.Combine(_folder, "objects");
        var objects = new LocalObjectStore(root);
        const string key = "chunk/abcdef";
        // The object's temporary file, made a link to /dev/full: writing it fails as a full disk does.
        var folder = Path.Combine(root, "chunk", "ab");
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $"abcdef.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        File.CreateSymbolicLink(temporary, "/dev/full");

        var ex = Assert.Throws<PachException>(() => objects.Put(key, new byte[100_000]));

        Assert.Equal(StorageFull.ErrorId, ex.ErrorId);
        Assert.False(objects.Exists(key));
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Theory]
    [InlineData(28, true)]   // ENOSPC
    [InlineData(122, true)]  // EDQUOT
    [InlineData(13, false)]  // EACCES
    public void FileSystemErrorsThatMeanNoRoom(int errno, bool full) =>
        Assert.Equal(full, StorageFull.IsOutOfSpace(new IOException("x", errno)));

    [Theory]
    [InlineData("QuotaExceeded", 403, true)]
    [InlineData("EntityTooLarge", 400, true)]
    [InlineData(null, 507, true)]
    [InlineData("AccessDenied", 403, false)]
    [InlineData("SlowDown", 503, false)]
    public void S3ErrorsThatMeanNoRoom(string? code, int status, bool full) =>
        Assert.Equal(full, StorageFull.IsOutOfSpace(code, status));

    /// <summary>
    /// A local object store with a size limit: a write past it fails as a backend reports a full disk or bucket quota
    /// (StorageFull), after storing nothing of that object.
    /// </summary>
    private sealed class CapacityObjectStore(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        public long Capacity { get; set; } = long.MaxValue;
        public int Puts { get; private set; }
        /// <summary>Writes refused for want of room.</summary>
        public int Refused { get; private set; }

        public override void Put(string key, ReadOnlySpan<byte> data)
        {
            lock (this)
            {
                if (Inner.Exists(key)) return;
                if (Inner.Usage().Bytes + data.Length > Capacity)
                {
                    Refused++;
                    throw StorageFull.Error("the test store", "capacity reached", new IOException("No space left on device", 28));
                }
                Puts++;
            }
            Inner.Put(key, data);
        }
    }
}

/// <summary>Paths every supported file system can hold: InvalidPath naming the rule, and a refusal changes nothing.</summary>
public sealed class StorablePathTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempStore _t = new();

    public void Dispose() => _t.Dispose();

    /// <summary>A path of <paramref name="components"/> names of <paramref name="length"/> characters each.</summary>
    private static string Deep(int components, int length, char c = 'd') => string.Concat(Enumerable.Range(0, components).Select(_ => "/" + new string(c, length)));

    public static TheoryData<string, string> Refused => new()
    {
        { "/" + new string('d', 256), "at most 255" },
        { "/x/" + new string('é', 128), "at most 255" }, // 128 characters, 256 bytes of UTF-8
        { Deep(17, 240), "at most 4096" },                // 4,097 bytes
        { "/a\0b", "U+0000" },
        { "/a\u0085b", "U+0085" },
        { "/a\u001Fb", "U+001F" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void AddingAPathNoFileSystemCanHoldIsInvalidPathNamingTheRuleAndChangesNothing(string path, string rule)
    {
        _t.Pfs.CreateRepo("data");
        _t.Put("data", "/a", "1");
        var commits = _t.Pfs.ListCommits("data").Count;
        var objects = _t.Store.Objects.List("").Order().ToList();

        var ex = Assert.Throws<PachException>(() => _t.Pfs.PutFiles("data", "master", [TempStore.Text("/ok", new string('x', 200_000)), TempStore.Text(path, "2")]));

        Assert.Equal("InvalidPath", ex.ErrorId);
        Assert.Contains(rule, ex.Message);
        Assert.True(ex.Message.Length < 600, ex.Message); // a 4,097-byte path is abbreviated, not repeated whole
        Assert.Equal(commits, _t.Pfs.ListCommits("data").Count);
        Assert.Equal(objects, _t.Store.Objects.List("").Order().ToList());
    }

    [Fact]
    public void TheLongestAllowedNamesAndPathsAreAccepted()
    {
        _t.Pfs.CreateRepo("data");
        var name = "/" + new string('é', 127) + "a"; // a 255-byte name
        var path = Deep(16, 255);                    // 16 names of 255 bytes: 4,096 bytes
        Assert.Equal(4096, System.Text.Encoding.UTF8.GetByteCount(path));
        _t.Pfs.PutFiles("data", "master", [TempStore.Text(name, "1"), TempStore.Text(path, "2")]);
        Assert.Equal("2", _t.Read("data", "master", path));
    }

    [Fact]
    public void EveryOtherWayOfWritingAPathIsCheckedToo()
    {
        _t.Pfs.CreateRepo("data");
        _t.Put("data", Deep(16, 250), "deep"); // 4,016 bytes
        var commits = _t.Pfs.ListCommits("data").Count;
        var objects = _t.Store.Objects.List("").Order().ToList();

        // A copy whose destination makes the path too long, a split whose pieces would be, a job's (or spout's) output
        // handed to the commit writer.
        Assert.Equal("InvalidPath", Assert.Throws<PachException>(() => _t.Pfs.CopyFile("data", "master", "/", "data", "master", "/" + new string('c', 100))).ErrorId);
        Assert.Equal("InvalidPath", Assert.Throws<PachException>(() => _t.Pfs.PutSplit("data", "master", Deep(16, 254),
            () => new MemoryStream("a\nb\n"u8.ToArray()), SplitMode.Line)).ErrorId);
        var output = FileChange.Write("/" + new string('o', 300), new FileContent(0, "", []), "datum1");
        Assert.Equal("InvalidPath", Assert.Throws<PachException>(() => CommitWriter.Validate([output])).ErrorId);

        Assert.Equal(commits, _t.Pfs.ListCommits("data").Count);
        Assert.Equal(objects, _t.Store.Objects.List("").Order().ToList());
    }

    [Fact]
    public async Task ADatumWhoseInputCannotBeWrittenOutFailsNamingThePath()
    {
        // Allowed in the store (4,085 bytes) but, below the datum's work folder, longer than Linux's PATH_MAX.
        _t.Pfs.CreateRepo("in");
        var path = Deep(16, 254) + "/last";
        _t.Put("in", path, "x");
        _t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
        {
          "pipeline": { "name": "reader" },
          "transform": { "cmd": [ "true" ] },
          "input": { "pfs": { "repo": "in", "glob": "/" } }
        }
        """));
        var job = await _t.Store.Pps.WaitJobAsync(_t.Store.Pps.ListJobs("reader")[0].JobId, Timeout, CancellationToken.None);

        Assert.Equal(JobState.Failure, job.State);
        Assert.Contains("input file '/pfs/in/" + new string('d', 40), job.Reason);
        Assert.Contains("cannot be written", job.Reason);
        Assert.Contains("/last'", job.Reason);
    }

    [Fact]
    public async Task AnUnexpectedFailureNamesItsTypeAndPhaseAndLogsTheTrace()
    {
        using var store = PachStore.Open(Path.Combine(_t.Folder, "other"), new LocalObjectStore(Path.Combine(_t.Folder, "other", "objects")),
            executor: new ThrowingExecutor());
        store.Pfs.CreateRepo("in");
        store.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "1")]);
        store.Pps.CreatePipeline(PipelineSpec.Parse("""
        { "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ] }, "input": { "pfs": { "repo": "in", "glob": "/" } } }
        """));
        var job = await store.Pps.WaitJobAsync(store.Pps.ListJobs("p")[0].JobId, Timeout, CancellationToken.None);

        Assert.Equal(JobState.Failure, job.State);
        Assert.DoesNotContain("internal error", job.Reason);
        Assert.StartsWith("unexpected System.InvalidOperationException while running its datums: executor broke", job.Reason);
        Assert.Contains("Get-PachLog -JobId " + job.JobId, job.Reason);
        var trace = store.Pps.GetLogs(null, job.JobId, null).Single(l => l.Stream == LogStreams.Engine);
        Assert.Contains(nameof(ThrowingExecutor), trace.Message);
    }

    private sealed class ThrowingExecutor : IDatumExecutor
    {
        public Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel) => throw new InvalidOperationException("executor broke");
    }
}
