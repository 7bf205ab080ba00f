using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>Issue 17 item 5: the three-way tree merge, hand-worked case by case, and the structural diff under it.</summary>
public class TreeMergeTests
{
    private sealed class Nodes : INodeSource
    {
        private readonly Dictionary<string, byte[]> _nodes = new();
        public byte[]? Load(string id) => _nodes.GetValueOrDefault(id);
        public void Save(string id, byte[] data) => _nodes.TryAdd(id, data);
    }

    private readonly PathTree _tree = new(new Nodes());

    private static FileContent Content(string text) => new(text.Length, ContentHash.Of(System.Text.Encoding.UTF8.GetBytes(text)), []);

    /// <summary>A tree from <paramref name="root"/> with paths written ("path=text") or removed ("-path").</summary>
    private string? Edit(string? root, params string[] edits) => _tree.Apply(root, edits.Select(e => e.StartsWith('-')
        ? new KeyValuePair<string, TreeEntry?>(e[1..], null)
        : new KeyValuePair<string, TreeEntry?>(e[..e.IndexOf('=')], new TreeEntry(e[..e.IndexOf('=')], Content(e[(e.IndexOf('=') + 1)..]), "c"))));

    private TreeMerge.Plan Merge(string? b, string? source, string? dest, MergeStrategy strategy = MergeStrategy.Fail) =>
        TreeMerge.Merge(_tree, "r", b, source, dest, strategy);

    private static string Show(TreeMerge.Plan plan) => string.Join(" ", plan.Changes.Select(c => c.IsRemoval ? "-" + c.Path : $"{c.Path}={c.Content!.Hash[..4]}"));

    private static string Hash(string text) => Content(text).Hash[..4];

    [Fact]
    public void ChangesOnDifferentPathsAllApply()
    {
        var b = Edit(null, "/a=1", "/b=2", "/c=3");
        var source = Edit(b, "/a=1s", "-/c", "/d=4");
        var dest = Edit(b, "/b=2d");
        var plan = Merge(b, source, dest);
        Assert.Empty(plan.Conflicts);
        Assert.Equal($"-/c /a={Hash("1s")} /d={Hash("4")}", Show(plan));
    }

    [Fact]
    public void AddAddSameContentIsNoConflictAndNoChange()
    {
        var b = Edit(null, "/a=1");
        var plan = Merge(b, Edit(b, "/n=same"), Edit(b, "/n=same"));
        Assert.Empty(plan.Conflicts);
        Assert.Empty(plan.Changes);
    }

    [Fact]
    public void AddAddDifferentContentConflictsAndEachStrategyTakesItsSide()
    {
        var b = Edit(null, "/a=1");
        var source = Edit(b, "/n=src");
        var dest = Edit(b, "/n=dest!");
        var conflict = Assert.Single(Merge(b, source, dest).Conflicts);
        Assert.Equal(("/n", MergeConflictKind.BothChanged, null), (conflict.Path, conflict.Kind, conflict.Resolution));
        Assert.Null(conflict.Base);
        Assert.Equal((PachFileType.File, Content("src").Hash, 3L), (conflict.Source!.Type, conflict.Source.Hash, conflict.Source.Size));
        Assert.Equal(5, conflict.Destination!.Size);
        Assert.Empty(Merge(b, source, dest).Changes);
        var taken = Merge(b, source, dest, MergeStrategy.Source);
        Assert.Equal($"/n={Hash("src")}", Show(taken));
        Assert.Equal(MergeStrategy.Source, taken.Conflicts[0].Resolution);
        Assert.Empty(Merge(b, source, dest, MergeStrategy.Destination).Changes);
    }

    [Fact]
    public void DeleteOnOneSideModifyOnTheOtherConflictsBothWays()
    {
        var b = Edit(null, "/a=1", "/b=2");
        // The source deletes what the destination modified.
        var c1 = Assert.Single(Merge(b, Edit(b, "-/a"), Edit(b, "/a=1d")).Conflicts);
        Assert.Equal((MergeConflictKind.ChangedAndRemoved, Content("1").Hash, null, Content("1d").Hash), (c1.Kind, c1.Base!.Hash, c1.Source, c1.Destination!.Hash));
        // The source modifies what the destination deleted; -Strategy Source brings the file back with the new content.
        var c2 = Assert.Single(Merge(b, Edit(b, "/a=1s"), Edit(b, "-/a")).Conflicts);
        Assert.Equal((MergeConflictKind.ChangedAndRemoved, Content("1s").Hash), (c2.Kind, c2.Source!.Hash));
        Assert.Null(c2.Destination);
        Assert.Equal($"/a={Hash("1s")}", Show(Merge(b, Edit(b, "/a=1s"), Edit(b, "-/a"), MergeStrategy.Source)));
        Assert.Equal("-/a", Show(Merge(b, Edit(b, "-/a"), Edit(b, "/a=1d"), MergeStrategy.Source)));
        // Both deleting is the same change.
        Assert.Empty(Merge(b, Edit(b, "-/a"), Edit(b, "-/a")).Conflicts);
    }

    [Fact]
    public void AFileOnOneSideWhereTheOtherHasADirectoryConflicts()
    {
        var b = Edit(null, "/keep=1");
        // The source adds /x/y under what the destination made a file.
        var under = Merge(b, Edit(b, "/x/y=1"), Edit(b, "/x=file"));
        var c1 = Assert.Single(under.Conflicts);
        Assert.Equal(("/x", MergeConflictKind.FileAndDirectory, PachFileType.Directory, PachFileType.File), (c1.Path, c1.Kind, c1.Source!.Type, c1.Destination!.Type));
        Assert.Empty(under.Changes);
        Assert.Equal($"-/x /x/y={Hash("1")}", Show(Merge(b, Edit(b, "/x/y=1"), Edit(b, "/x=file"), MergeStrategy.Source)));
        // The source adds a file /d where the destination made a directory.
        var over = Merge(b, Edit(b, "/d=file"), Edit(b, "/d/e=1", "/d/f=22"));
        var c2 = Assert.Single(over.Conflicts);
        Assert.Equal(("/d", PachFileType.File, PachFileType.Directory, 3L), (c2.Path, c2.Source!.Type, c2.Destination!.Type, c2.Destination.Size));
        Assert.Equal($"-/d/e -/d/f /d={Hash("file")}", Show(Merge(b, Edit(b, "/d=file"), Edit(b, "/d/e=1", "/d/f=22"), MergeStrategy.Source)));
        Assert.Empty(Merge(b, Edit(b, "/d=file"), Edit(b, "/d/e=1"), MergeStrategy.Destination).Changes);
        // A directory the source emptied and turned into a file is no conflict when the destination left it alone.
        var dir = Edit(null, "/d/e=1");
        Assert.Equal($"-/d/e /d={Hash("f")}", Show(Merge(dir, Edit(dir, "-/d/e", "/d=f"), Edit(dir, "/z=1"))));
    }

    [Fact]
    public void ARenameIsADeleteAndAnAdd()
    {
        var b = Edit(null, "/old=text", "/other=1");
        var renamed = Edit(b, "-/old", "/new=text");
        Assert.Equal($"-/old /new={Hash("text")}", Show(Merge(b, renamed, Edit(b, "/other=2"))));
        // A destination that changed the old name meanwhile: the delete half conflicts, the add half applies with -Strategy.
        var conflict = Assert.Single(Merge(b, renamed, Edit(b, "/old=edited")).Conflicts);
        Assert.Equal(("/old", MergeConflictKind.ChangedAndRemoved), (conflict.Path, conflict.Kind));
        Assert.Equal($"/new={Hash("text")}", Show(Merge(b, renamed, Edit(b, "/old=edited"), MergeStrategy.Destination)));
    }

    [Fact]
    public void NoCommonAncestorMergesAgainstAnEmptyBase()
    {
        var source = Edit(null, "/same=1", "/s=2", "/both=src");
        var dest = Edit(null, "/same=1", "/d=3", "/both=dst");
        var plan = Merge(null, source, dest);
        Assert.Equal(["/both"], plan.Conflicts.Select(c => c.Path));
        Assert.Equal($"/s={Hash("2")}", Show(plan));
    }

    [Fact]
    public void StructuralDiffMatchesAFullWalkAfterManySplitsAndSkipsWhatIsShared()
    {
        var rng = new Random(17);
        var b = _tree.Apply(null, Enumerable.Range(0, 20_000).Select(i => new KeyValuePair<string, TreeEntry?>($"/g{i % 37}/f{i:D6}", new TreeEntry($"/g{i % 37}/f{i:D6}", Content(i.ToString()), "c"))));
        var current = b;
        for (var round = 0; round < 5; round++)
        {
            // Inserts that split leaves and internal nodes, removals and modifications, on both sides of many nodes.
            var edits = Enumerable.Range(0, 700).Select(_ => rng.Next(30_000)).Distinct().Select(i => rng.Next(3) switch
            {
                0 => new KeyValuePair<string, TreeEntry?>($"/g{i % 37}/f{i:D6}", null),
                _ => new KeyValuePair<string, TreeEntry?>($"/g{i % 37}/f{i:D6}", new TreeEntry($"/g{i % 37}/f{i:D6}", Content($"{i}-{round}"), "c")),
            }).ToList();
            current = _tree.Apply(current, edits);
            var fast = TreeDiff.Changes(_tree, b, current).Select(c => (c.Path, c.Old?.Content.Hash, c.New?.Content.Hash)).ToList();
            Assert.Equal(FullWalk(b, current), fast);
            Assert.Equal(FullWalk(current, b), TreeDiff.Changes(_tree, current, b).Select(c => (c.Path, c.Old?.Content.Hash, c.New?.Content.Hash)).ToList());
        }
        Assert.Empty(TreeDiff.Changes(_tree, current, current));
    }

    private List<(string, string?, string?)> FullWalk(string? older, string? newer)
    {
        var a = _tree.All(older).ToDictionary(e => e.Path, e => e.Content.Hash);
        var b = _tree.All(newer).ToDictionary(e => e.Path, e => e.Content.Hash);
        return a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Select(p => (p, a.GetValueOrDefault(p), b.GetValueOrDefault(p)))
            .Where(x => x.Item2 != x.Item3).ToList();
    }
}

/// <summary>Issue 17 items 4 and 5 through Pfs: merges, reverts and moved heads, each refused cleanly when it must be.</summary>
public class MergeRevertTests
{
    private static CommitNote Note(string message) => new(message);

    private static string Files(TempStore t, string reference, string repo = "r") =>
        string.Join(" ", t.Pfs.ListFiles(repo, reference, recurse: true).Select(f => $"{f.Path}={t.Read(repo, reference, f.Path)}"));

    /// <summary>Everything a refused call must leave as it was.</summary>
    private static string Snapshot(TempStore t) => string.Join("|", t.Pfs.ListRepos().SelectMany(r => t.Pfs.ListBranches(r.Name))
        .Select(b => $"{b.Repo}@{b.Branch}={b.Head}/{b.OpenCommit}")) + $"|{t.Pfs.ListRepos().Sum(r => t.Pfs.ListCommits(r.Name).Count)}";

    private static TempStore TwoBranches()
    {
        var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Pfs.PutFiles("r", "master", [TempStore.Text("/a", "1"), TempStore.Text("/b", "2")]);
        t.Pfs.CreateBranch("r", "dev", "master");
        return t;
    }

    [Fact]
    public void AThreeWayMergeMakesOneCommitWithBothParents()
    {
        using var t = TwoBranches();
        var baseCommit = t.Pfs.GetCommit("r", "master");
        t.Put("r", "/c", "3", "dev");
        var devHead = t.Put("r", "/a", "1-dev", "dev");
        var masterHead = t.Put("r", "/d", "4");
        var result = t.Pfs.Merge("r", "dev", "master", note: new CommitNote(null, new Dictionary<string, string> { ["ticket"] = "OPS-1" }));
        Assert.Equal((MergeKind.Merge, baseCommit.Commit, devHead.Commit, 2), (result.Kind, result.Base, result.Source, result.Changes));
        var merged = t.Pfs.GetCommit("r", "master");
        Assert.Equal((result.Commit, masterHead.Commit, devHead.Commit), (merged.Commit, merged.Parent, merged.MergedFrom));
        Assert.Equal("OPS-1", merged.Metadata["ticket"]);
        Assert.StartsWith("merge dev", merged.Message);
        Assert.Equal("/a=1-dev /b=2 /c=3 /d=4", Files(t, "master"));
        // Merging again finds the source in the destination's history.
        Assert.Equal(MergeKind.UpToDate, t.Pfs.Merge("r", "dev", "master").Kind);
        // The next merge from dev uses the merge commit's MergedFrom: only the newer change comes over, no conflict on /a.
        t.Put("r", "/e", "5", "dev");
        var next = t.Pfs.Merge("r", "dev", "master");
        Assert.Equal((devHead.Commit, 1), (next.Base, next.Changes));
        Assert.Equal("/a=1-dev /b=2 /c=3 /d=4 /e=5", Files(t, "master"));
    }

    [Fact]
    public void AFastForwardMovesTheHeadWithoutACommitAndIsRecordedInTheHeadHistory()
    {
        using var t = TwoBranches();
        var before = t.Pfs.GetCommit("r", "master");
        var dev = t.Put("r", "/c", "3", "dev");
        var commits = t.Pfs.ListCommits("r").Count;
        var preview = t.Pfs.Merge("r", "dev", "master", dryRun: true);
        Assert.Equal((MergeKind.FastForward, true, before.Commit), (preview.Kind, preview.DryRun, t.Pfs.GetBranch("r", "master").Head));
        Thread.Sleep(20);
        var between = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        var result = t.Pfs.Merge("r", "dev", "master");
        Assert.Equal((MergeKind.FastForward, dev.Commit, 1), (result.Kind, result.Commit, result.Changes));
        Assert.Equal(dev.Commit, t.Pfs.GetBranch("r", "master").Head);
        Assert.Equal(commits, t.Pfs.ListCommits("r").Count);
        Assert.Equal(before.Commit, t.Pfs.GetCommit("r", $"master@{{{between:o}}}").Commit);
        // A branch with no commit yet takes the source as it is.
        t.Pfs.CreateBranch("r", "empty");
        Assert.Equal(MergeKind.FastForward, t.Pfs.Merge("r", "dev", "empty").Kind);
    }

    [Fact]
    public void AMergeOfHistoriesThatNeverMetUsesAnEmptyBase()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Put("r", "/a", "1");
        t.Put("r", "/same", "s", "other");
        t.Put("r", "/b", "2", "other");
        var result = t.Pfs.Merge("r", "other", "master");
        Assert.Equal((MergeKind.Merge, (string?)null), (result.Kind, result.Base));
        Assert.Equal("/a=1 /b=2 /same=s", Files(t, "master"));
        t.Put("r", "/x", "one", "third");
        t.Put("r", "/x", "two");
        Assert.Equal("MergeConflict", Assert.Throws<PachException>(() => t.Pfs.Merge("r", "third", "master")).ErrorId);
    }

    [Fact]
    public void AConflictFailsTheMergeWithTheConflictsAndWritesNothing()
    {
        using var t = TwoBranches();
        t.Put("r", "/a", "dev", "dev");
        t.Put("r", "/a", "master");
        var before = Snapshot(t);
        var ex = Assert.Throws<PachException>(() => t.Pfs.Merge("r", "dev", "master"));
        Assert.Equal("MergeConflict", ex.ErrorId);
        Assert.Contains("/a", ex.Message);
        var conflict = Assert.Single((IReadOnlyList<MergeConflict>)ex.Target!);
        Assert.Equal(("/a", MergeConflictKind.BothChanged, 1L, 3L, 6L), (conflict.Path, conflict.Kind, conflict.Base!.Size, conflict.Source!.Size, conflict.Destination!.Size));
        Assert.Equal(before, Snapshot(t));
        var dry = t.Pfs.Merge("r", "dev", "master", dryRun: true);
        Assert.Equal((true, (string?)null, 1), (dry.DryRun, dry.Commit, dry.Conflicts.Count));
        Assert.Equal(before, Snapshot(t));
        var taken = t.Pfs.Merge("r", "dev", "master", MergeStrategy.Destination);
        Assert.Equal(MergeStrategy.Destination, Assert.Single(taken.Conflicts).Resolution);
        Assert.Equal("/a=master /b=2", Files(t, "master"));
    }

    [Fact]
    public void MergeRefusesAnOpenDestinationAnOpenSourceAndAnotherReposCommit()
    {
        using var t = TwoBranches();
        t.Pfs.CreateRepo("other");
        var elsewhere = t.Put("other", "/x", "1");
        t.Put("r", "/c", "3", "dev");
        t.Pfs.StartCommit("r", "master");
        var open = t.Pfs.StartCommit("r", "dev");
        var before = Snapshot(t);
        Assert.Equal("CommitOpen", Assert.Throws<PachException>(() => t.Pfs.Merge("r", "dev", "master")).ErrorId);
        Assert.Equal("CommitNotInRepo", Assert.Throws<PachException>(() => t.Pfs.Merge("r", elsewhere.Commit, "master")).ErrorId);
        Assert.Equal("CommitNotFinished", Assert.Throws<PachException>(() => t.Pfs.Merge("r", open.Commit, "master")).ErrorId);
        Assert.Equal("BranchNotFound", Assert.Throws<PachException>(() => t.Pfs.Merge("r", "dev", "nope")).ErrorId);
        Assert.Equal(before, Snapshot(t));
    }

    [Fact]
    public void RevertUndoesOneEarlierCommitAndKeepsLaterOnes()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Pfs.PutFiles("r", "master", [TempStore.Text("/keep", "k"), TempStore.Text("/changed", "old"), TempStore.Text("/gone", "g")]);
        var bad = t.Pfs.PutFiles("r", "master", [TempStore.Text("/added", "a"), TempStore.Text("/changed", "new")], note: Note("bad load"));
        var removal = t.Pfs.DeleteFiles("r", "master", ["/gone"]);
        t.Put("r", "/later", "l");
        Assert.Equal("/added=a /changed=new /keep=k /later=l", Files(t, "master"));
        // The commit that removed /gone, then the one that added /added and changed /changed.
        var first = t.Pfs.RevertCommit("r", removal.Commit);
        Assert.StartsWith($"revert {Ids.Short(removal.Commit)}", first.Message);
        Assert.Equal("/added=a /changed=new /gone=g /keep=k /later=l", Files(t, "master"));
        var reverted = t.Pfs.RevertCommit("r", bad.Commit, Note("undo the bad load"));
        Assert.Equal("/changed=old /gone=g /keep=k /later=l", Files(t, "master"));
        Assert.Equal(("undo the bad load", "master", first.Commit), (reverted.Message, reverted.Branch, reverted.Parent));
        Assert.Equal(6, t.Pfs.ListCommits("r", "master").Count); // nothing removed: the history grows
    }

    [Fact]
    public void ARevertThatLaterCommitsContradictFailsAndWritesNothing()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Put("r", "/a", "1");
        var changed = t.Put("r", "/a", "2");
        t.Put("r", "/a", "3");
        var before = Snapshot(t);
        var ex = Assert.Throws<PachException>(() => t.Pfs.RevertCommit("r", changed.Commit));
        Assert.Equal("RevertConflict", ex.ErrorId);
        var conflict = Assert.Single((IReadOnlyList<MergeConflict>)ex.Target!);
        Assert.Equal(("/a", 1L), (conflict.Path, conflict.Destination!.Size));
        Assert.Equal(before, Snapshot(t));
        // A file a revert would bring back where a later commit made a directory.
        var removed = t.Pfs.DeleteFiles("r", "master", ["/a"]);
        t.Put("r", "/a/b", "x");
        Assert.Equal("RevertConflict", Assert.Throws<PachException>(() => t.Pfs.RevertCommit("r", removed.Commit)).ErrorId);
        // Reverting the newest commit always works.
        t.Pfs.RevertCommit("r", "master");
        Assert.Equal("", Files(t, "master"));
    }

    [Fact]
    public void SetBranchHeadMovesAndRecordsAndRefusesCleanly()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Pfs.CreateRepo("other");
        var first = t.Put("r", "/a", "1");
        t.Pfs.CreateTag("r", "v1", "master");
        var second = t.Put("r", "/a", "2");
        var elsewhere = t.Put("other", "/x", "1");
        Thread.Sleep(20);
        var between = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        Assert.Equal(first.Commit, t.Pfs.SetBranchHead("r", "master", "v1").Head);
        Assert.Equal("/a=1", Files(t, "master"));
        Assert.Equal(second.Commit, t.Pfs.GetCommit("r", $"master@{{{between:o}}}").Commit);
        Assert.Equal(second.Commit, t.Pfs.SetBranchHead("r", "master", second.Commit[..8]).Head);
        Assert.Equal(first.Commit, t.Pfs.SetBranchHead("r", "master", "master~1").Head);
        // A new commit after a move builds on the new head.
        Assert.Equal(first.Commit, t.Put("r", "/b", "b").Parent);

        var before = Snapshot(t);
        Assert.Equal("CommitNotInRepo", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "master", elsewhere.Commit)).ErrorId);
        Assert.Equal("CommitNotInRepo", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "master", elsewhere.Commit[..10])).ErrorId);
        Assert.Equal("BranchNotFound", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "master", "nope")).ErrorId);
        Assert.Equal("CommitNotFound", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "master", "master~9")).ErrorId);
        Assert.Equal("BranchNotFound", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "nope", "master")).ErrorId);
        Assert.Equal(before, Snapshot(t));
        t.Pfs.StartCommit("r", "master");
        before = Snapshot(t);
        Assert.Equal("CommitOpen", Assert.Throws<PachException>(() => t.Pfs.SetBranchHead("r", "master", "v1")).ErrorId);
        Assert.Equal(before, Snapshot(t));
    }

    [Fact]
    public void UndoingACommitThatAnotherBranchOrAMergeNamesKeepsEveryBranchSound()
    {
        using var t = TwoBranches();
        var dev = t.Put("r", "/c", "3", "dev");
        t.Put("r", "/d", "4");
        t.Pfs.Merge("r", "dev", "master");
        // dev's head is the merge commit's MergedFrom: it cannot go while the merge commit stays.
        Assert.Equal("CommitHasDescendants", Assert.Throws<PachException>(() => t.Pfs.RemoveCommit("r", dev.Commit)).ErrorId);
        // A branch moved onto a commit steps back with it when that commit is undone.
        t.Pfs.CreateBranch("r", "moved");
        t.Pfs.SetBranchHead("r", "moved", "master");
        var merge = t.Pfs.GetCommit("r", "master");
        t.Pfs.RemoveCommit("r", "master");
        Assert.Equal(merge.Parent, t.Pfs.GetBranch("r", "moved").Head);
        Assert.Equal(merge.Parent, t.Pfs.GetBranch("r", "master").Head);
    }
}
