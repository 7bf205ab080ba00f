using PachPS.Engine;
using PachPS.Engine.Collection;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

using static PachPS.Tests.Unit.TempStore;

namespace PachPS.Tests.Unit;

/// <summary>Garbage collection (issue 15, item 1): exact, safe beside writers, interruptible.</summary>
public class CollectionTests
{
    /// <summary>More than a chunk's worth: stored as large chunks (objects of their own).</summary>
    private const int LargeFileBytes = 3 << 20;

    private static long StoredBytes(TempStore t) => t.Store.Objects.Usage().Bytes;

    private static int NodeCount(TempStore t) => t.Store.Meta.Read(db => db.Nodes().Count());

    private static byte[] ReadAll(TempStore t, string repo, string reference, string path)
    {
        var (_, stream) = t.Pfs.OpenFile(repo, reference, path);
        using (stream)
        using (var ms = new MemoryStream())
        {
            stream.CopyTo(ms);
            return ms.ToArray();
        }
    }

    /// <summary>A kept repo and a scratch repo, each with a large file and small files; returns the scratch large file.</summary>
    private static byte[] TwoRepos(TempStore t)
    {
        t.Pfs.CreateRepo("keep");
        t.Pfs.PutFiles("keep", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 1)), TempStore.Text("/small.txt", "kept")]);
        t.Pfs.CreateRepo("scratch");
        var scratch = RandomBytes(LargeFileBytes, 2);
        t.Pfs.PutFiles("scratch", "master", [Bytes("/big.bin", scratch), .. Enumerable.Range(0, 20).Select(i => TempStore.Text($"/s{i}.txt", $"scratch {i}"))]);
        t.Put("scratch", "/later.txt", "second commit");
        return scratch;
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void ACollectionFreesWhatARemovedRepoHeldAndKeepsEverythingElse(string backend)
    {
        using var t = new TempStore(backend);
        TwoRepos(t);
        var before = StoredBytes(t);
        var nodesBefore = NodeCount(t);
        t.Pfs.RemoveRepo("scratch");

        var report = t.Store.Collect(whatIf: false);

        var after = StoredBytes(t);
        Assert.True(before - after >= LargeFileBytes, $"freed {before - after} bytes of {before}");
        Assert.Equal(before - after, report.Reasons.Where(r => r.Reason != CollectionReasons.UnreferencedTreeNode).Sum(r => r.Bytes));
        Assert.True(report.TreeNodesRemoved > 0);
        Assert.Equal(nodesBefore - report.TreeNodesRemoved, NodeCount(t));
        Assert.Equal(RandomBytes(LargeFileBytes, 1), ReadAll(t, "keep", "master", "/big.bin"));
        Assert.Equal("kept", t.Read("keep", "master", "/small.txt"));
        Assert.Empty(t.Store.Check());
        var again = t.Store.Collect(whatIf: false);
        Assert.Equal(0, again.ObjectsRemoved + again.TreeNodesRemoved);
    }

    [Fact]
    public void WhatIfReportsWhatACollectionWouldFreeAndChangesNothing()
    {
        using var t = new TempStore();
        TwoRepos(t);
        t.Pfs.RemoveRepo("scratch");
        var (bytes, count) = t.Store.Objects.Usage();
        var nodes = NodeCount(t);

        var plan = t.Store.Collect(whatIf: true);

        Assert.True(plan.WhatIf);
        Assert.Equal((bytes, count), t.Store.Objects.Usage());
        Assert.Equal(nodes, NodeCount(t));
        Assert.True(plan.Reasons.Single(r => r.Reason == CollectionReasons.UnreferencedChunk).Bytes >= LargeFileBytes);
        var done = t.Store.Collect(whatIf: false);
        Assert.Equal(plan.Reasons, done.Reasons);
        Assert.Equal(plan.BytesFreed, done.BytesFreed);
    }

    [Fact]
    public void ACollectionOfAGeneratedStoreFreesExactlyItsGarbage()
    {
        // The bench's generator at 400 commits and 2,000 chunks: removed repos and branches, failed writes, copies that
        // leave packs mostly garbage; it counts what must go from which commits it kept, not by walking the store.
        using var t = new TempStore();
        var expected = PachPS.Bench.StoreGenerator.Generate(t.Store, scale: 0.002, seed: 7);
        Assert.True(expected.DeadChunks > 0 && expected.DeadPacks > 0 && expected.Repacks > 0 && expected.DeadNodes > 0, $"{expected}");
        Assert.Empty(t.Store.Check());

        var report = t.Store.Collect(whatIf: false);

        var reasons = report.Reasons.ToDictionary(r => r.Reason);
        Assert.Equal((expected.DeadChunks, expected.DeadChunkBytes), (reasons[CollectionReasons.UnreferencedChunk].Objects, reasons[CollectionReasons.UnreferencedChunk].Bytes));
        Assert.Equal((expected.DeadPacks, expected.DeadPackBytes), (reasons[CollectionReasons.UnreferencedPack].Objects, reasons[CollectionReasons.UnreferencedPack].Bytes));
        Assert.Equal(expected.Repacks, reasons[CollectionReasons.MostlyGarbagePack].Objects);
        Assert.Equal((expected.DeadNodes, expected.DeadNodeBytes), (reasons[CollectionReasons.UnreferencedTreeNode].Objects, reasons[CollectionReasons.UnreferencedTreeNode].Bytes));
        Assert.Equal(expected.Repacks, report.PacksWritten);
        Assert.Equal(expected.Objects - report.ObjectsRemoved + report.PacksWritten, t.Store.Objects.Usage().Count);
        Assert.Equal(expected.Nodes - expected.DeadNodes, NodeCount(t));
        Assert.Empty(t.Store.Check());
        var again = t.Store.Collect(whatIf: false);
        Assert.Equal(0, again.ObjectsRemoved + again.TreeNodesRemoved);
    }

    [Fact]
    public void ACollectionClearsTheRecordsOfObjectsFailedWritesRemovedOnceNoWriterCanStillNeedThem()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        using (var failed = t.Pfs.BeginWrite())
        {
            failed.Write(RandomBytes(LargeFileBytes, 4));
            failed.Flush();
            Assert.NotEmpty(failed.Abandon());
        }
        Assert.NotEqual(0, t.Store.Meta.Read(db => db.RemovedObjects().Count()));

        t.Store.Collect(whatIf: true);
        Assert.NotEqual(0, t.Store.Meta.Read(db => db.RemovedObjects().Count())); // a dry run changes nothing
        t.Store.Collect(whatIf: false);

        Assert.Equal(0, t.Store.Meta.Read(db => db.RemovedObjects().Count()));
        t.Pfs.PutFiles("r", "master", [Bytes("/again.bin", RandomBytes(LargeFileBytes, 4))]);
        Assert.Equal(RandomBytes(LargeFileBytes, 4), ReadAll(t, "r", "master", "/again.bin"));
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void ContentOnlyAnOpenCommitNamesSurvives()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        var open = t.Pfs.StartCommit("r", "master");
        var data = RandomBytes(LargeFileBytes, 3);
        t.Pfs.PutFiles("r", open.Commit, [Bytes("/open.bin", data), TempStore.Text("/open.txt", "small, open")]);

        var report = t.Store.Collect(whatIf: false);

        Assert.Equal(0, report.ObjectsRemoved + report.TreeNodesRemoved);
        t.Pfs.FinishCommit("r", open.Commit);
        Assert.Equal(data, ReadAll(t, "r", "master", "/open.bin"));
        Assert.Equal("small, open", t.Read("r", "master", "/open.txt"));
    }

    [Fact]
    public async Task DatumResultsKeptForSkippingKeepTheirContentWhenNoCommitNamesIt()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "alpha"), TempStore.Text("/b", "beta")]);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "copy" }, "input": { "pfs": { "repo": "in", "glob": "/*" } },
              "transform": { "cmd": [ "sh", "-c", "cp /pfs/in/* /pfs/out/; echo from-datum >> /pfs/out/$(ls /pfs/in)" ] } }
            """));
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("copy")[0].JobId, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal("success", job.State.ToString().ToLowerInvariant());
        // The output commits go (as a squash would take them); the datum records, which a later job copies, stay.
        t.Store.Meta.Write(db =>
        {
            db.Commits().DeleteMany(c => c.Repo == "copy");
            foreach (var b in db.Branches().Find(b => b.Repo == "copy").ToList()) { b.Head = null; db.Branches().Update(b); }
        });
        var outputs = t.Store.Meta.Read(db => db.Datums().Find(d => d.Job == job.JobId).ToList())
            .SelectMany(d => TreeCodec.DecodeFiles(d.Outputs!)).ToList();
        Assert.Equal(2, outputs.Count);

        t.Store.Collect(whatIf: false);

        foreach (var chunk in outputs.SelectMany(o => o.Content.Chunks)) t.Store.Content.ReadChunk(chunk);
    }

    [Fact]
    public void WritesThatFindGarbageWhileTheCollectionMarksKeepIt()
    {
        using var t = new TempStore();
        var scratch = TwoRepos(t);
        t.Pfs.RemoveRepo("scratch");
        var folder = Path.Combine(t.Folder, "datum-out");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "result.bin"), scratch);
        t.Store.Meta.Write(db => db.Jobs().Insert(new JobDoc { Id = "job", Pipeline = "p", State = JobState.Running }));
        IReadOnlyList<TreeEntry>? outputs = null;
        // Between the mark and the sweep, a user stores one of the removed repo's small files again and a job's datum
        // writes its large file as its result: deduplicated, they name objects the mark found unnamed.
        var progress = new Callback(p =>
        {
            if (p.Stage != CollectionStage.Listing || outputs is not null) return;
            t.Pfs.PutFiles("keep", "master", [TempStore.Text("/s3.txt", "scratch 3")]);
            using var results = new ResultFlusher(t.Store.Meta, t.Pfs, "job");
            outputs = results.Ingest(folder);
            var doc = new DatumDoc { Id = DatumDoc.Key("job", "d"), Job = "job", Pipeline = "p", Hash = "d", SourceJob = "job" };
            StateMachines.MoveTo(doc, DatumState.Success);
            results.Record([new DatumOutcome(doc, outputs, 0, 0)]);
            results.Flush();
        });

        t.Store.Collect(whatIf: false, progress);

        Assert.Equal("scratch 3", t.Read("keep", "master", "/s3.txt"));
        var stored = t.Store.Meta.Read(db => db.Datums().FindById(DatumDoc.Key("job", "d")).Outputs!);
        using var result = t.Store.Content.OpenRead(TreeCodec.DecodeFiles(stored).Single().Content);
        using var copy = new MemoryStream();
        result.CopyTo(copy);
        Assert.Equal(scratch, copy.ToArray());
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void AJobsWriterFindsNothingACollectionFreedBetweenItsFlushes()
    {
        using var t = new TempStore();
        t.Store.Meta.Write(db => db.Jobs().Insert(new JobDoc { Id = "job", Pipeline = "p", State = JobState.Running }));
        using var results = new ResultFlusher(t.Store.Meta, t.Pfs, "job");
        void Run(string text)
        {
            var folder = Path.Combine(t.Folder, "out-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "o.txt"), text);
            var doc = new DatumDoc { Id = DatumDoc.Key("job", "d"), Job = "job", Pipeline = "p", Hash = "d", SourceJob = "job" };
            StateMachines.MoveTo(doc, DatumState.Success);
            results.Record([new DatumOutcome(doc, results.Ingest(folder), 0, 0)]);
            results.Flush();
        }
        // The datum runs, is restarted with another result (its first is replaced, so garbage), and a collection frees it.
        Run("first result");
        Run("second result");
        t.Store.Collect(whatIf: false);
        // It runs once more and writes its first result again: the writer must not reuse the pack the collection freed.
        Run("first result");

        var stored = t.Store.Meta.Read(db => db.Datums().FindById(DatumDoc.Key("job", "d")).Outputs!);
        using var reader = new StreamReader(t.Store.Content.OpenRead(TreeCodec.DecodeFiles(stored).Single().Content));
        Assert.Equal("first result", reader.ReadToEnd());
        var packs = t.Store.Objects.List(ContentStore.PackPrefix).ToHashSet();
        Assert.All(t.Store.Meta.Read(db => db.Chunks().FindAll().ToList()), c => Assert.Contains(c.Object, packs));
    }

    [Fact]
    public void ACommitMadeWhileTheCollectionMarksKeepsTheTreeNodesItReuses()
    {
        using var t = new TempStore();
        TwoRepos(t);
        var removed = t.Pfs.GetCommit("scratch", "master");
        var root = t.Store.Meta.Read(db => db.Commits().FindById(removed.Commit).Root);
        t.Pfs.RemoveRepo("scratch");
        // During the mark a commit appears whose tree is one the mark found unreachable (nodes are shared by hash).
        var progress = new Callback(p =>
        {
            if (p.Stage != CollectionStage.Listing) return;
            t.Store.Meta.Write(db =>
            {
                if (db.Commits().FindById("revived") is not null) return;
                db.Commits().Insert(new CommitDoc
                {
                    Id = "revived", Repo = "keep", Branch = "revived", Started = DateTime.UtcNow, Finished = DateTime.UtcNow, Root = root,
                    Size = removed.Size, FileCount = removed.FileCount,
                });
            });
        });

        t.Store.Collect(whatIf: false, progress);

        Assert.Empty(t.Store.Check());
        var entries = t.Store.Pfs.ReadTree(tree => tree.All(root).ToList());
        Assert.Equal(22, entries.Count);
        foreach (var e in entries) using (t.Store.Content.OpenRead(e.Content)) { }
        Assert.Equal("second commit", new StreamReader(t.Store.Content.OpenRead(entries.Single(e => e.Path == "/later.txt").Content)).ReadToEnd());
    }

    [Fact]
    public async Task ASweepWaitsForAWriterWhoseContentNoMetadataNamesYet()
    {
        using var t = new TempStore();
        var scratch = TwoRepos(t);
        t.Pfs.RemoveRepo("scratch");
        var writer = t.Pfs.BeginWrite();
        var content = writer.Write(scratch); // deduplicated against the removed repo's chunks: nothing names them yet
        writer.Flush();

        var collection = Task.Run(() => t.Store.Collect(whatIf: false));
        Assert.NotSame(collection, await Task.WhenAny(collection, Task.Delay(TimeSpan.FromSeconds(2))));
        t.Pfs.Commit("keep", "master", writer, (_, _, _) => [FileChange.Write("/late.bin", writer.Resolve(content))]);
        writer.Dispose();
        await collection.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(scratch, ReadAll(t, "keep", "master", "/late.bin"));
        Assert.Empty(t.Store.Check());
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void APackMostlyGarbageIsRewrittenAndItsLiveChunksStillRead(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("many");
        var texts = Enumerable.Range(0, 200).Select(i => $"small file {i} " + new string((char)('a' + i % 26), 2000)).ToList();
        t.Pfs.PutFiles("many", "master", texts.Select((s, i) => TempStore.Text($"/f{i:000}", s)).ToList());
        t.Pfs.CreateRepo("keep");
        for (var i = 0; i < 10; i++) t.Pfs.CopyFile("many", "master", $"/f{i:000}", "keep", "master", $"/f{i:000}");
        t.Pfs.RemoveRepo("many");
        var before = StoredBytes(t);

        var report = t.Store.Collect(whatIf: false);

        Assert.Equal(1, report.PacksWritten);
        Assert.Equal(1, report.Reasons.Single(r => r.Reason == CollectionReasons.MostlyGarbagePack).Objects);
        Assert.True(StoredBytes(t) < before / 10, $"{StoredBytes(t)} of {before} bytes left");
        t.Reopen();
        for (var i = 0; i < 10; i++) Assert.Equal(texts[i], t.Read("keep", "master", $"/f{i:000}"));
        Assert.Empty(t.Store.Check());
        // Stored again, the chunks are found in the new pack; a second collection has nothing to do.
        t.Pfs.PutFiles("keep", "master", [TempStore.Text("/again", texts[3])]);
        var again = t.Store.Collect(whatIf: false);
        Assert.Equal(0, again.ObjectsRemoved);
        Assert.Equal(texts[3], t.Read("keep", "master", "/again"));
    }

    [Theory]
    [InlineData(CollectionStage.Deciding)]
    [InlineData(CollectionStage.Deleting)]
    public void AnInterruptedCollectionLeavesAConsistentStoreAndTheNextOneFinishes(CollectionStage stoppedAt)
    {
        using var t = new TempStore();
        TwoRepos(t);
        t.Pfs.RemoveRepo("scratch");
        var before = StoredBytes(t);
        using var stop = new CancellationTokenSource();
        // Stopped after it decided (trees no longer name what it frees) and before it dropped the index entries of the
        // packs it frees, or before it deleted anything.
        var progress = new Callback(p => { if (p.Stage == stoppedAt) stop.Cancel(); });

        Assert.ThrowsAny<OperationCanceledException>(() => t.Store.Collect(whatIf: false, progress, stop.Token));

        Assert.Equal(before, StoredBytes(t));
        Assert.Empty(t.Store.Check());
        Assert.Equal(RandomBytes(LargeFileBytes, 1), ReadAll(t, "keep", "master", "/big.bin"));
        var next = t.Store.Collect(whatIf: false);
        Assert.True(before - StoredBytes(t) >= LargeFileBytes);
        Assert.True(next.ObjectsRemoved > 0);
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void TwoCollectionsDoNotRunAtOnce()
    {
        using var t = new TempStore();
        TwoRepos(t);
        var inner = new Callback(p =>
        {
            if (p.Stage != CollectionStage.Listing) return;
            Assert.Equal("CollectionRunning", Assert.Throws<PachException>(() => t.Store.Collect(whatIf: true)).ErrorId);
        });
        t.Store.Collect(whatIf: false, inner);
    }

    [Fact]
    public void ACollectionMeasuresWhatEachRepoAloneHoldsAndTheStoreCountsWhatRemovingOneMadeReclaimable()
    {
        using var t = new TempStore();
        TwoRepos(t);
        t.Pfs.CreateRepo("shares");
        t.Pfs.CopyFile("keep", "master", "/big.bin", "shares", "master", "/big.bin");
        Assert.Null(t.Store.Info().ReclaimableBytes);
        Assert.Null(t.Pfs.GetRepo("scratch").ExclusiveBytes);

        t.Store.Collect(whatIf: false);

        // scratch alone holds its large file, its packs and its tree nodes; keep shares its large file with "shares".
        // Logical bytes count what each branch head shows: the shared large file twice.
        var scratch = t.Pfs.GetRepo("scratch").ExclusiveBytes!.Value;
        var keep = t.Pfs.GetRepo("keep").ExclusiveBytes!.Value;
        Assert.InRange(scratch, LargeFileBytes, LargeFileBytes + (1 << 20));
        Assert.InRange(keep, 1, 1 << 20);
        var info = t.Store.Info();
        Assert.Equal(0, info.ReclaimableBytes);
        Assert.NotNull(info.LastCollection);
        Assert.Equal(3L * LargeFileBytes + 4 + 20 * "scratch 0".Length + 10 + "second commit".Length, info.LogicalBytes);
        var stored = info.StoredBytes;

        t.Pfs.RemoveRepo("scratch");
        Assert.Equal(scratch, t.Store.Info().ReclaimableBytes);
        var report = t.Store.Collect(whatIf: false);

        Assert.Equal(scratch, report.BytesFreed);
        Assert.Equal(stored - t.Store.Info().StoredBytes + report.Reasons.Single(r => r.Reason == CollectionReasons.UnreferencedTreeNode).Bytes, scratch);
        Assert.Equal(0, t.Store.Info().ReclaimableBytes);
    }

    /// <summary>Runs an action on each report, synchronously on the collector's thread (System.Progress would post).</summary>
    private sealed class Callback(Action<CollectionProgress> action) : IProgress<CollectionProgress>
    {
        public void Report(CollectionProgress value) => action(value);
    }
}
