using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

public class RepairTests
{
    private static readonly string Big = new('b', 200_000); // above the pack threshold: a chunk object of its own

    /// <summary>A repo with a small file (packed) and a large one (its own chunk object), in two commits.</summary>
    private static (CommitInfo First, CommitInfo Head) Seed(TempStore t)
    {
        t.Pfs.CreateRepo("data");
        var first = t.Put("data", "/small.txt", "small\n");
        var head = t.Put("data", "/big.txt", Big);
        return (first, head);
    }

    private static string ObjectOf(TempStore t, string path) => t.Pfs.Entries("data", "master", path).Single().Content.Chunks[0].Object;

    /// <summary>A copy of the store's folder as it is now, closed while copying: what a backup or replica holds.</summary>
    private static string CopyOf(TempStore t)
    {
        var copy = t.Folder + "-copy";
        t.Store.Dispose();
        foreach (var file in Directory.EnumerateFiles(t.Folder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(t.Folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        t.Reopen();
        return copy;
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public void ALostObjectMarksItsCommitCorruptAndEveryOtherPathStillReads(string backend)
    {
        using var t = new TempStore(backend);
        var (_, head) = Seed(t);
        var lost = ObjectOf(t, "/big.txt");
        t.Store.Objects.Delete(lost);

        var finding = Assert.Single(t.Store.Repair());
        Assert.Equal("ObjectMissing", finding.Kind);
        Assert.Equal(lost, finding.Object);
        Assert.Contains("marked Corrupt", finding.Repair);

        var commit = t.Pfs.GetCommit("data", "master");
        Assert.Equal("Corrupt", commit.State);
        Assert.Equal(["/big.txt"], commit.MissingPaths);
        Assert.Equal("Finished", t.Pfs.GetCommit("data", head.Parent!).State); // the first commit never had it
        var ex = Assert.Throws<PachException>(() => t.Read("data", "master", "/big.txt"));
        Assert.Equal("FileContentMissing", ex.ErrorId);
        Assert.Contains("-From", ex.Message);
        Assert.Equal("small\n", t.Read("data", "master", "/small.txt"));
        // The damage is still there: the check keeps saying so.
        Assert.Equal("ObjectMissing", Assert.Single(t.Store.Check()).Kind);
    }

    [Fact]
    public void RepairFromACopyFetchesLostObjectsAndTreeNodesAndClearsTheMark()
    {
        using var t = new TempStore();
        Seed(t);
        var copy = CopyOf(t);
        try
        {
            var lost = ObjectOf(t, "/big.txt");
            var pack = ObjectOf(t, "/small.txt");
            var root = t.Store.Meta.Read(db => db.Commits().FindById(t.Pfs.GetCommit("data", "master").Commit).Root!);
            t.Store.Objects.Delete(lost);
            t.Corrupt(pack);
            Assert.Contains(t.Store.Repair(), f => f.Repair?.Contains("marked Corrupt") == true);
            Assert.Equal("Corrupt", t.Pfs.GetCommit("data", "master").State);
            t.Store.Meta.Write(db => db.Nodes().Delete(root));
            Assert.Contains(t.Store.Check(), f => f.Kind == "TreeNodeMissing" && f.Object == root);

            var findings = t.Store.Repair(copy);

            Assert.All(findings, f => Assert.NotNull(f.Repair));
            Assert.Contains(findings, f => f.Kind == "TreeNodeMissing" && f.Repair!.Contains("fetched again"));
            Assert.Contains(findings, f => f.Kind == "ObjectMissing" && f.Object == lost && f.Repair!.Contains("fetched again"));
            Assert.Contains(findings, f => f.Kind == "ObjectCorrupt" && f.Object == pack && f.Repair!.Contains("fetched again"));
            Assert.Contains(findings, f => f.Kind == "CommitCorrupt" && f.Repair!.Contains("cleared"));
            Assert.Empty(t.Store.Check());
            Assert.Equal("Finished", t.Pfs.GetCommit("data", "master").State);
            Assert.Equal(Big, t.Read("data", "master", "/big.txt"));
            Assert.Equal("small\n", t.Read("data", "master", "/small.txt"));
        }
        finally { Directory.Delete(copy, recursive: true); }
    }

    [Fact]
    public void RepairFromABackupFetchesWhatTheStoreLostAndLeavesTheBackupAsItWas()
    {
        using var t = new TempStore();
        Seed(t);
        var destination = t.Folder + "-backups";
        try
        {
            var backup = t.Store.Backup(new PachPS.Engine.Backup.BackupLocation(destination), "nightly");
            var metadata = File.ReadAllBytes(Path.Combine(backup.Backup, "metadata.db"));
            var lost = ObjectOf(t, "/big.txt");
            var root = t.Store.Meta.Read(db => db.Commits().FindById(t.Pfs.GetCommit("data", "master").Commit).Root!);
            t.Store.Objects.Delete(lost);
            t.Store.Meta.Write(db => db.Nodes().Delete(root));

            var findings = t.Store.Repair(backup.Backup);

            Assert.Contains(findings, f => f.Object == lost && f.Repair!.Contains("fetched again"));
            Assert.Contains(findings, f => f.Object == root && f.Repair!.Contains("fetched again"));
            Assert.Empty(t.Store.Check());
            Assert.Equal(Big, t.Read("data", "master", "/big.txt"));
            Assert.Equal(metadata, File.ReadAllBytes(Path.Combine(backup.Backup, "metadata.db"))); // the backup was only read
            Assert.False(File.Exists(Path.Combine(backup.Backup, "metadata.lock")));
        }
        finally { Directory.Delete(destination, recursive: true); }
    }

    [Fact]
    public void ALostTreeNodeWithNoSourceMarksTheRangeOfPathsBelowIt()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("data");
        // Enough files for an internal root over several leaves.
        t.Pfs.PutFiles("data", "master", Enumerable.Range(0, 300).Select(i => TempStore.Text($"/f{i:000}", $"{i}")).ToList());
        var (leaf, first) = t.Store.Meta.Read(db =>
        {
            var root = db.Commits().FindById(t.Pfs.GetCommit("data", "master").Commit).Root!;
            var ids = PathTree.In(db).NodeIds(root).ToList();
            return (ids[^1], ids.Count);
        });
        Assert.True(first > 2);
        t.Store.Meta.Write(db => db.Nodes().Delete(leaf));

        var finding = Assert.Single(t.Store.Repair());

        Assert.Equal("TreeNodeMissing", finding.Kind);
        Assert.Contains(" … ", finding.Path);
        var commit = t.Pfs.GetCommit("data", "master");
        Assert.Equal("Corrupt", commit.State);
        Assert.Equal([finding.Path!], commit.MissingPaths);
        // Paths outside the lost range still read.
        var range = commit.MissingPaths[0].Split(" … ");
        var outside = Enumerable.Range(0, 300).Select(i => $"/f{i:000}")
            .First(p => string.CompareOrdinal(p, range[0]) < 0 || range[1] != "(end)" && string.CompareOrdinal(p, range[1]) >= 0);
        Assert.Equal(int.Parse(outside[2..]).ToString(), t.Read("data", "master", outside));
    }

    [Fact]
    public void AHeadOnAMissingCommitMovesBackToTheNewestEarlierHeadThatExists()
    {
        using var t = new TempStore();
        var (first, head) = Seed(t);
        t.Store.Meta.Write(db => db.Commits().Delete(head.Commit));
        Assert.Contains(t.Store.Check(), f => f.Kind == "HeadMissing");

        var finding = Assert.Single(t.Store.Repair());

        Assert.Equal("HeadMissing", finding.Kind);
        Assert.Contains(first.Commit, finding.Repair);
        Assert.Equal(first.Commit, t.Pfs.GetCommit("data", "master").Commit);
        Assert.Empty(t.Store.Check());
    }

    [Fact]
    public void SizesAndTheChunkIndexAreDerivedAgain()
    {
        using var t = new TempStore();
        var (_, head) = Seed(t);
        t.Store.Meta.Write(db =>
        {
            var doc = db.Commits().FindById(head.Commit);
            doc.Size = 999;
            doc.FileCount = 7;
            db.Commits().Update(doc);
            db.Chunks().Insert(new ChunkDoc { Id = new string('0', 64), Object = ContentStore.PackPrefix + new string('1', 64), Offset = 0, Length = 3 });
        });
        Assert.Equal(["ChunkIndexStale", "SizeMismatch"], t.Store.Check().Select(f => f.Kind).Order());

        var findings = t.Store.Repair();

        Assert.All(findings, f => Assert.NotNull(f.Repair));
        Assert.Empty(t.Store.Check());
        var commit = t.Pfs.GetCommit("data", "master");
        Assert.Equal(Big.Length + "small\n".Length, commit.Size);
        Assert.Equal(2, commit.FileCount);
        Assert.Null(t.Store.Meta.Read(db => db.Chunks().FindById(new string('0', 64))));
    }

    [Fact]
    public void ABadSourceIsRefusedAndChangesNothing()
    {
        using var t = new TempStore();
        var (_, head) = Seed(t);
        t.Store.Objects.Delete(ObjectOf(t, "/big.txt"));

        Assert.Equal("RepairSourceNotFound", Assert.Throws<PachException>(() => t.Store.Repair(t.Folder + "-nothing")).ErrorId);
        Assert.Equal("RepairSourceIsStore", Assert.Throws<PachException>(() => t.Store.Repair(t.Folder)).ErrorId);

        Assert.Equal("Finished", t.Pfs.GetCommit("data", head.Commit).State);
        Assert.False(Directory.Exists(t.Folder + "-nothing"));
    }

    [Fact]
    public void ARepairWaitsForNoCollectionAndRefusesBesideOne()
    {
        using var t = new TempStore();
        Seed(t);
        using (t.Store.Content.Lock!.TryStartCollection())
        {
            Assert.Equal("CollectionRunning", Assert.Throws<PachException>(() => t.Store.Repair()).ErrorId);
        }
        Assert.Empty(t.Store.Repair());
    }
}
