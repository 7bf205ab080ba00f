using System.Security.Cryptography;
using PachPS.Engine;
using PachPS.Engine.Backup;
using PachPS.Engine.Collection;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

using static PachPS.Tests.Unit.TempStore;

namespace PachPS.Tests.Unit;

/// <summary>Backup and restore (issue 15, item 3): consistent snapshots, pins that collections keep, restores that read back.</summary>
public class BackupTests
{
    /// <summary>More than a chunk's worth: stored as large chunks (objects of their own).</summary>
    private const int LargeFileBytes = 3 << 20;

    private static string TempFolder(string what) => Path.Combine(Path.GetTempPath(), $"pachps-{what}-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>
    /// Every repo, branch head, commit, and the SHA-256 of every file of every commit: what a restore must give back.
    /// Reading each file also proves that its content is there and matches its hashes.
    /// </summary>
    private static SortedDictionary<string, string> State(PachStore store)
    {
        var state = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var repo in store.Pfs.ListRepos())
        {
            foreach (var branch in store.Pfs.ListBranches(repo.Name)) state[$"{repo.Name}@{branch.Name}"] = branch.Head ?? "";
            foreach (var commit in store.Pfs.ListCommits(repo.Name).Where(c => c.IsFinished))
            {
                state[$"{repo.Name}={commit.Commit}"] = $"{commit.Parent} {commit.Size} {commit.FileCount}";
                foreach (var file in store.Pfs.ListFiles(repo.Name, commit.Commit, null, recurse: true).Where(f => f.Type == PachFileType.File))
                {
                    var (_, stream) = store.Pfs.OpenFile(repo.Name, commit.Commit, file.Path);
                    using (stream) state[$"{repo.Name}={commit.Commit}:{file.Path}"] = Convert.ToHexString(SHA256.HashData(stream));
                }
            }
        }
        return state;
    }

    /// <summary>Two repos with large and small files over a few commits, and a branch.</summary>
    private static void Fill(TempStore t)
    {
        t.Pfs.CreateRepo("keep");
        t.Pfs.PutFiles("keep", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 1)), TempStore.Text("/small.txt", "kept")]);
        t.Put("keep", "/dir/second.txt", "second commit");
        t.Pfs.CreateBranch("keep", "dev", "master");
        t.Pfs.CreateRepo("scratch");
        t.Pfs.PutFiles("scratch", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 2)),
            .. Enumerable.Range(0, 20).Select(i => TempStore.Text($"/s{i}.txt", $"scratch {i} " + new string('x', 500)))]);
    }

    /// <summary>Changes everything a backup must not see: a repo gone, files overwritten and added, garbage collected.</summary>
    private static void ChangeAndCollect(TempStore t)
    {
        t.Pfs.RemoveRepo("scratch");
        t.Pfs.PutFiles("keep", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 3)), TempStore.Text("/small.txt", "changed")]);
        t.Pfs.CreateRepo("later");
        t.Put("later", "/new.txt", "after the backup");
        t.Store.Collect(whatIf: false);
    }

    private static PachStore OpenRestored(string folder, TempStore t) =>
        PachStore.Open(folder, credentials: t.S3Settings is null ? null : S3Server.Credentials);

    private static BackupLocation Location(string path) => path.StartsWith("s3://", StringComparison.Ordinal)
        ? new BackupLocation(path, S3Server.Endpoint, null, null, S3Server.Credentials) : new BackupLocation(path);

    /// <summary>A destination of the backend's kind: a folder, or a prefix of its own in the test bucket.</summary>
    private static string Destination(string backend) => backend == TempStore.S3
        ? $"s3://{S3Server.Bucket}/backups/{Guid.NewGuid():N}" : TempFolder("backups");

    private static void DeleteFolder(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void ARestoredStoreHoldsEveryRepoAndFileAsAtTheBackupAfterTheStoreChangedAndWasCollected(string backend)
    {
        using var t = new TempStore(backend);
        Fill(t);
        var atBackup = State(t.Store);
        var destination = Destination(backend);
        var restoredFolder = TempFolder("restored");
        try
        {
            var backup = t.Store.Backup(Location(destination), "first");
            Assert.Equal(destination + "/first", backup.Backup);
            Assert.Equal(backend == TempStore.S3, backup.Pinned);
            Assert.True(backup.Objects > 0);
            Assert.Equal(backend == TempStore.Local ? backup.Objects : 0, backup.ObjectsCopied);

            ChangeAndCollect(t);
            Assert.NotEqual(atBackup, State(t.Store));

            PachStore.Restore(Location(backup.Backup), restoredFolder, t.S3Settings is null ? null : S3Server.Credentials);
            using var restored = OpenRestored(restoredFolder, t);
            Assert.Empty(restored.Check());
            Assert.Equal(atBackup, State(restored));
            Assert.Empty(restored.ListBackups()); // the original's pins stay with the original
            // The restored store works on: a new commit on top of the old history.
            restored.Pfs.PutFiles("keep", "master", [TempStore.Text("/restored.txt", "written after the restore")]);
            Assert.Empty(restored.Check());
        }
        finally
        {
            DeleteFolder(restoredFolder);
            if (backend == TempStore.Local) DeleteFolder(destination);
        }
    }

    [Fact]
    public void ABackupOfLocalContentSurvivesTheLossOfTheStoreAndTheNextOneCopiesOnlyWhatChanged()
    {
        var destination = TempFolder("backups");
        var restoredFolder = TempFolder("restored");
        SortedDictionary<string, string> atBackup;
        BackupInfo second;
        try
        {
            using (var t = new TempStore())
            {
                Fill(t);
                var first = t.Store.Backup(new BackupLocation(destination), "one");
                Assert.True(first.ObjectsCopied > 0);
                Assert.Empty(t.Store.ListBackups()); // local content: nothing stays pinned once copied
                t.Put("keep", "/third.txt", "third commit");
                atBackup = State(t.Store);
                second = t.Store.Backup(new BackupLocation(destination), "two");
                // Only the pack with the new small file is new; every other object was there already.
                Assert.Equal(1, second.ObjectsCopied);
                Assert.Equal(["one", "two"], t.Store.ListBackups(new BackupLocation(destination)).Select(b => b.Name));
            } // the store's folder, objects and all, is deleted here

            PachStore.Restore(new BackupLocation(second.Backup), restoredFolder);
            using var restored = PachStore.Open(restoredFolder);
            Assert.Empty(restored.Check());
            Assert.Equal(atBackup, State(restored));
        }
        finally
        {
            DeleteFolder(restoredFolder);
            DeleteFolder(destination);
        }
    }

    /// <summary>Content in a remote store (as S3 is) without a test S3 server: what is pinned, not copied.</summary>
    private sealed class RemoteObjects(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        public override bool IsRemote => true;
        public override string Description => "remote " + Inner.Description;
    }

    private sealed class RemoteStore : IDisposable
    {
        public RemoteStore()
        {
            Folder = TempFolder("unit");
            Store = Open();
        }

        public string Folder { get; }
        public PachStore Store { get; private set; }

        private PachStore Open() => PachStore.Open(Folder, new RemoteObjects(new LocalObjectStore(Path.Combine(Folder, "objects"))));

        public void Reopen()
        {
            Store.Dispose();
            Store = Open();
        }

        public void Dispose()
        {
            Store.Dispose();
            DeleteFolder(Folder);
        }
    }

    private static string ReadText(PachStore store, string repo, string reference, string path)
    {
        var (_, stream) = store.Pfs.OpenFile(repo, reference, path);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Fact]
    public void PinsKeepEveryObjectABackupNamesThroughACollectionThatWouldRepackAndRemovingTheBackupFreesThem()
    {
        using var r = new RemoteStore();
        var store = r.Store;
        store.Pfs.CreateRepo("many");
        var texts = Enumerable.Range(0, 200).Select(i => $"small file {i} " + new string((char)('a' + i % 26), 2000)).ToList();
        store.Pfs.PutFiles("many", "master", texts.Select((s, i) => TempStore.Text($"/f{i:000}", s)).ToList());
        store.Pfs.CreateRepo("keep");
        for (var i = 0; i < 10; i++) store.Pfs.CopyFile("many", "master", $"/f{i:000}", "keep", "master", $"/f{i:000}");
        store.Pfs.CreateRepo("big");
        store.Pfs.PutFiles("big", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 7))]);
        var destination = TempFolder("backups");
        try
        {
            var backup = store.Backup(new BackupLocation(destination), "pinned");
            Assert.True(backup.Pinned);
            Assert.Equal(0, backup.ObjectsCopied);
            var pinned = File.ReadAllLines(Path.Combine(destination, "pinned", "objects.lst"));
            Assert.Contains(pinned, k => k.StartsWith(ContentStore.PackPrefix, StringComparison.Ordinal));
            Assert.Contains(pinned, k => k.StartsWith(ContentStore.ChunkPrefix, StringComparison.Ordinal));
            Assert.Equal(["pinned"], store.ListBackups().Select(b => b.Name));

            store.Pfs.RemoveRepo("many");
            store.Pfs.RemoveRepo("big");
            var kept = store.Collect(whatIf: false);

            // Without the pin the pack would be rewritten (the collection tests show it) and the large chunk freed.
            Assert.Equal(0, kept.PacksWritten);
            Assert.Equal(0, kept.ObjectsRemoved);
            Assert.All(pinned, key => Assert.True(store.Objects.Exists(key), key));
            r.Reopen();
            store = r.Store;
            for (var i = 0; i < 10; i++) Assert.Equal(texts[i], ReadText(store, "keep", "master", $"/f{i:000}"));

            store.RemoveBackup(new BackupLocation(backup.Backup));
            Assert.Empty(store.ListBackups());
            Assert.False(Directory.Exists(Path.Combine(destination, "pinned")));
            var freed = store.Collect(whatIf: false);

            Assert.Equal(1, freed.PacksWritten);
            Assert.True(freed.BytesFreed >= LargeFileBytes, $"freed {freed.BytesFreed}");
            Assert.Contains(pinned, key => !store.Objects.Exists(key));
            for (var i = 0; i < 10; i++) Assert.Equal(texts[i], ReadText(store, "keep", "master", $"/f{i:000}"));
            Assert.Empty(store.Check());
        }
        finally { DeleteFolder(destination); }
    }

    [Fact]
    public async Task BackupsTakenWhileCollectionsAndWritersRunKeepEveryObjectTheyName()
    {
        using var r = new RemoteStore();
        var store = r.Store;
        var destination = TempFolder("backups");
        using var stop = new CancellationTokenSource();
        var repos = 0;
        // Another instance makes a repo with a large file and small ones, then removes the one before: garbage for
        // the collections that run meanwhile, in a third thread, over and over.
        var writer = Task.Run(() =>
        {
            using var other = PachStore.Open(r.Folder, new RemoteObjects(new LocalObjectStore(Path.Combine(r.Folder, "objects"))));
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                n++;
                other.Pfs.CreateRepo($"r{n}");
                other.Pfs.PutFiles($"r{n}", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, n)),
                    .. Enumerable.Range(0, 5).Select(i => TempStore.Text($"/s{i}", $"{n} {i} " + new string('y', 300)))]);
                if (n > 1) other.Pfs.RemoveRepo($"r{n - 1}");
                Volatile.Write(ref repos, n);
            }
            return n;
        });
        var collections = 0;
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    store.Collect(whatIf: false);
                    Interlocked.Increment(ref collections);
                }
                catch (PachException ex) when (ex.ErrorId == "CollectionRunning") { }
            }
        });
        try
        {
            var backups = new List<BackupInfo>();
            while (backups.Count < 4 || Volatile.Read(ref collections) < 3 || Volatile.Read(ref repos) < 4)
            {
                backups.Add(store.Backup(new BackupLocation(destination), $"b{backups.Count}"));
                Assert.False(writer.IsFaulted || collector.IsFaulted);
                if (backups.Count > 200) break;
                Thread.Sleep(50);
            }
            stop.Cancel();
            var written = await writer;
            await collector;
            Assert.True(written >= 4 && collections >= 3, $"{written} repos written, {collections} collections run");
            store.Collect(whatIf: false);
            foreach (var backup in backups)
                foreach (var key in File.ReadAllLines(Path.Combine(destination, backup.Name, "objects.lst")))
                    Assert.True(store.Objects.Exists(key), $"{backup.Name} needs {key}");
            Assert.Empty(store.Check());
        }
        finally
        {
            stop.Cancel();
            try { await Task.WhenAll(writer, collector); } catch (Exception) { }
            DeleteFolder(destination);
        }
    }

    [Fact]
    public void ContentThatAnotherStoreClaimsIsNotCollected()
    {
        using var r = new RemoteStore();
        r.Store.Pfs.CreateRepo("big");
        r.Store.Pfs.PutFiles("big", "master", [Bytes("/big.bin", RandomBytes(LargeFileBytes, 9))]);
        r.Store.Pfs.RemoveRepo("big");
        var usage = r.Store.Objects.Usage();
        r.Store.Objects.Put(StoreBackups.ClaimPrefix + "0123456789abcdef", [1]);

        var ex = Assert.Throws<PachException>(() => r.Store.Collect(whatIf: false));

        Assert.Equal("ContentShared", ex.ErrorId);
        Assert.Equal(usage.Count + 1, r.Store.Objects.Usage().Count);
        r.Store.Objects.Delete(StoreBackups.ClaimPrefix + "0123456789abcdef");
        Assert.True(r.Store.Collect(whatIf: false).BytesFreed >= LargeFileBytes);
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task ABackupTakenWhileAJobRunsAndAnotherInstanceWritesIsConsistent(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Put("in", "/counter", "0");
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "copy" }, "input": { "pfs": { "repo": "in", "glob": "/" } },
              "transform": { "cmd": [ "sh", "-c", "sleep 0.3; cp -r /pfs/in/. /pfs/out/" ] } }
            """));
        var destination = Destination(backend);
        var restoredFolder = TempFolder("restored");
        using var stop = new CancellationTokenSource();
        // Another instance of the store (as another process would open it: its own metadata and collection locks)
        // commits without pause: each commit adds /f<n> and sets /counter to n. At most MaxCommits: on a slow machine
        // the backups took long enough for thousands, and checking the commits below grows with their square.
        const int MaxCommits = 200;
        var writer = Task.Run(() =>
        {
            using var other = PachStore.Open(t.Folder, credentials: t.S3Settings is null ? null : S3Server.Credentials);
            var n = 0;
            while (!stop.IsCancellationRequested && n < MaxCommits)
            {
                n++;
                other.Pfs.PutFiles("in", "master", [TempStore.Text($"/f{n}", $"file {n}"), TempStore.Text("/counter", n.ToString())]);
            }
            return n;
        });
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (t.Store.Pps.ListJobs("copy").All(j => j.State != JobState.Running) && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Contains(t.Store.Pps.ListJobs("copy"), j => j.State == JobState.Running);
            var backups = new List<BackupInfo>();
            for (var i = 0; i < 3; i++) backups.Add(t.Store.Backup(Location(destination), $"b{i}"));
            stop.Cancel();
            var written = await writer;
            Assert.True(written > 3, $"only {written} commits were written beside the backups");

            PachStore.Restore(Location(backups[^1].Backup), restoredFolder, t.S3Settings is null ? null : S3Server.Credentials);
            using var restored = OpenRestored(restoredFolder, t);
            Assert.Empty(restored.Check());
            // Every commit in the snapshot is whole: /counter says n and /f1 .. /fn are there, the one it added reading
            // back (Check above read every tree node and chunk any commit names).
            foreach (var commit in restored.Pfs.ListCommits("in").Where(c => c.IsFinished))
            {
                var n = int.Parse(ReadText(restored, "in", commit.Commit, "/counter"));
                var files = restored.Pfs.ListFiles("in", commit.Commit).Select(f => f.Path).Where(p => p != "/counter").ToHashSet();
                Assert.Equal(Enumerable.Range(1, n).Select(i => $"/f{i}").ToHashSet(), files);
                if (n > 0) Assert.Equal($"file {n}", ReadText(restored, "in", commit.Commit, $"/f{n}"));
            }
            foreach (var repo in restored.Pfs.ListRepos()) Assert.NotNull(repo.Name);
        }
        finally
        {
            stop.Cancel();
            try { await writer; } catch (Exception) { }
            DeleteFolder(restoredFolder);
            if (backend == TempStore.Local) DeleteFolder(destination);
        }
    }

    /// <summary>What a failed call must leave as it was: the store's repos, files, pins and objects, and the destination.</summary>
    private static string Fingerprint(PachStore store, string destination) =>
        string.Join("\n", State(store).Select(kv => kv.Key + "=" + kv.Value)) + "\n" +
        string.Join("\n", store.ListBackups().Select(b => b.Backup + " " + b.State)) + "\n" + store.Objects.Usage() + "\n" +
        (Directory.Exists(destination)
            ? string.Join("\n", Directory.EnumerateFiles(destination, "*", SearchOption.AllDirectories).Order().Select(f => f + " " + new FileInfo(f).Length))
            : "");

    [Fact]
    public void BadInputFailsWithItsErrorIdAndLeavesTheStoreAndTheDestinationAsTheyWere()
    {
        using var r = new RemoteStore();
        r.Store.Pfs.CreateRepo("keep");
        r.Store.Pfs.PutFiles("keep", "master", [TempStore.Text("/a.txt", "alpha")]);
        var destination = TempFolder("backups");
        var restoredFolder = TempFolder("restored");
        try
        {
            var backup = r.Store.Backup(new BackupLocation(destination), "one");
            var before = Fingerprint(r.Store, destination);

            void Fails(string errorId, Action call)
            {
                var ex = Assert.Throws<PachException>(call);
                Assert.Equal(errorId, ex.ErrorId);
                Assert.Equal(before, Fingerprint(r.Store, destination));
            }

            Fails("BackupExists", () => r.Store.Backup(new BackupLocation(destination), "one"));
            Fails("BackupNameInvalid", () => r.Store.Backup(new BackupLocation(destination), "../up"));
            Fails("BackupNameInvalid", () => r.Store.Backup(new BackupLocation(destination), "objects"));
            Fails("BackupNotFound", () => r.Store.RemoveBackup(new BackupLocation(destination + "/none")));
            Fails("BackupLocationInvalid", () => r.Store.RemoveBackup(new BackupLocation("s3://bucket-only")));
            Fails("BackupNotFound", () => PachStore.Restore(new BackupLocation(destination + "/none"), restoredFolder));
            Assert.False(Directory.Exists(restoredFolder));

            Directory.CreateDirectory(restoredFolder);
            File.WriteAllText(Path.Combine(restoredFolder, "someone's.txt"), "not a store");
            Fails("RestoreTargetNotEmpty", () => PachStore.Restore(new BackupLocation(backup.Backup), restoredFolder));
            Assert.Equal(["someone's.txt"], Directory.EnumerateFileSystemEntries(restoredFolder).Select(Path.GetFileName));
            DeleteFolder(restoredFolder);

            // A metadata file changed after the backup: its checksum no longer matches the manifest.
            var metadata = Path.Combine(destination, "one", "metadata.db");
            var bytes = File.ReadAllBytes(metadata);
            bytes[^1] ^= 0xff;
            File.WriteAllBytes(metadata, bytes);
            before = Fingerprint(r.Store, destination);
            Fails("BackupCorrupt", () => PachStore.Restore(new BackupLocation(backup.Backup), restoredFolder));
            File.WriteAllText(Path.Combine(destination, "one", "manifest.json"), "{ not json");
            before = Fingerprint(r.Store, destination);
            Fails("BackupCorrupt", () => PachStore.Restore(new BackupLocation(backup.Backup), restoredFolder));
            Assert.False(Directory.Exists(restoredFolder));
            Assert.Empty(Directory.EnumerateDirectories(Path.GetDirectoryName(restoredFolder)!, "." + Path.GetFileName(restoredFolder) + "*"));
        }
        finally
        {
            DeleteFolder(destination);
            DeleteFolder(restoredFolder);
        }
    }

    [Fact]
    public void AFailedUploadLeavesNoPinAndNoBackup()
    {
        using var r = new RemoteStore();
        r.Store.Pfs.CreateRepo("keep");
        r.Store.Pfs.PutFiles("keep", "master", [TempStore.Text("/a.txt", "alpha")]);
        var parent = TempFolder("backups");
        Directory.CreateDirectory(parent);
        // The destination is a file: the backup gets as far as its first upload.
        var destination = Path.Combine(parent, "file");
        File.WriteAllText(destination, "in the way");
        try
        {
            Assert.ThrowsAny<IOException>(() => r.Store.Backup(new BackupLocation(destination), "one"));
            Assert.Empty(r.Store.ListBackups());
            Assert.Empty(r.Store.Meta.Read(db => db.BackupPinKeys().FindAll().ToList()));
            Assert.Equal("in the way", File.ReadAllText(destination));
            Assert.False(Directory.Exists(Path.Combine(r.Folder, "backup-staging")));
        }
        finally { DeleteFolder(parent); }
    }

    [SkippableFact]
    public void AStoreRestoredOntoSharedS3ContentAndItsOriginalBothRefuseToCollect()
    {
        using var t = new TempStore(TempStore.S3);
        Fill(t);
        var destination = Destination(TempStore.S3);
        var restoredFolder = TempFolder("restored");
        try
        {
            var backup = t.Store.Backup(Location(destination), "shared");
            Assert.Equal(["shared"], t.Store.ListBackups().Select(b => b.Name));
            Assert.Equal(["shared"], t.Store.ListBackups(Location(destination)).Select(b => b.Name));
            PachStore.Restore(Location(backup.Backup), restoredFolder, S3Server.Credentials);
            using var restored = OpenRestored(restoredFolder, t);
            Assert.Equal("ContentShared", Assert.Throws<PachException>(() => restored.Collect(whatIf: false)).ErrorId);
            Assert.Equal("ContentShared", Assert.Throws<PachException>(() => t.Store.Collect(whatIf: false)).ErrorId);
            t.Store.RemoveBackup(Location(backup.Backup));
            Assert.Empty(t.Store.ListBackups(Location(destination)));
        }
        finally { DeleteFolder(restoredFolder); }
    }
}
