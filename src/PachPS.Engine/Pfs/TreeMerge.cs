namespace PachPS.Engine.Pfs;

/// <summary>
/// The changes a three-way merge makes to the destination: what the source changed since the base (found by
/// <see cref="TreeDiff.Changes"/>, so the cost follows what changed, not the size of the trees), unless the destination
/// changed the same path too. Where both changed a path differently, or one side has a file where the other has a
/// directory, that is a <see cref="MergeConflict"/>; the strategy decides it or the merge fails on it. A revert is the
/// same merge with the reverted commit as base and its parent as source.
/// </summary>
internal static class TreeMerge
{
    /// <summary>Changes to apply to the destination tree, and the conflicts (decided by <paramref name="strategy"/> unless Fail).</summary>
    internal sealed record Plan(IReadOnlyList<FileChange> Changes, IReadOnlyList<MergeConflict> Conflicts);

    public static Plan Merge(PathTree tree, string repo, string? baseRoot, string? sourceRoot, string? destRoot, MergeStrategy strategy)
    {
        var resolution = strategy == MergeStrategy.Fail ? (MergeStrategy?)null : strategy;
        var ours = new Dictionary<string, TreeChange>(StringComparer.Ordinal);
        foreach (var d in TreeDiff.Changes(tree, baseRoot, destRoot)) ours[d.Path] = d;

        // Path by path: the source's change applies unless the destination changed that path in another way.
        var writes = new SortedDictionary<string, TreeEntry>(StringComparer.Ordinal);
        var removals = new HashSet<string>(StringComparer.Ordinal);
        var conflicts = new SortedDictionary<string, MergeConflict>(StringComparer.Ordinal);
        foreach (var s in TreeDiff.Changes(tree, baseRoot, sourceRoot))
        {
            if (ours.TryGetValue(s.Path, out var d))
            {
                if (d.New?.Content.Hash == s.New?.Content.Hash) continue; // the same change on both sides
                var kind = s.New is null || d.New is null ? MergeConflictKind.ChangedAndRemoved : MergeConflictKind.BothChanged;
                conflicts[s.Path] = new MergeConflict(repo, s.Path, kind, File(s.Old), File(s.New), File(d.New)) { Resolution = resolution };
                if (strategy != MergeStrategy.Source) continue;
            }
            if (s.New is null) removals.Add(s.Path);
            else writes[s.Path] = s.New;
        }

        // A file the source writes where the destination has a directory, or under a file of the destination.
        var dropped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, entry) in writes)
        {
            if (destRoot is null) break;
            if (tree.Range(destRoot, path + "/", path + "0").Where(e => !removals.Contains(e.Path)).ToList() is { Count: > 0 } below)
            {
                conflicts[path] = new MergeConflict(repo, path, MergeConflictKind.FileAndDirectory, Side(tree, baseRoot, path), File(entry),
                    new MergeSide(PachFileType.Directory, null, below.Sum(e => e.Content.Size))) { Resolution = resolution };
                if (strategy == MergeStrategy.Source) removals.UnionWith(below.Select(e => e.Path));
                else dropped.Add(path);
                continue;
            }
            for (var parent = Names.Parent(path); parent != "/"; parent = Names.Parent(parent))
            {
                if (removals.Contains(parent) || tree.Get(destRoot, parent) is not { } file) continue;
                if (!conflicts.ContainsKey(parent))
                    conflicts[parent] = new MergeConflict(repo, parent, MergeConflictKind.FileAndDirectory, Side(tree, baseRoot, parent),
                        Side(tree, sourceRoot, parent), File(file)) { Resolution = resolution };
                if (strategy == MergeStrategy.Source) removals.Add(parent);
                else dropped.Add(path);
                break;
            }
        }
        var changes = new List<FileChange>(writes.Count + removals.Count);
        changes.AddRange(removals.Order(StringComparer.Ordinal).Select(FileChange.Remove));
        changes.AddRange(writes.Where(w => !dropped.Contains(w.Key)).Select(w => FileChange.Write(w.Key, w.Value.Content)));
        return new Plan(changes, conflicts.Values.ToList());
    }

    private static MergeSide? File(TreeEntry? entry) => entry is null ? null : new MergeSide(PachFileType.File, entry.Content.Hash, entry.Content.Size);

    /// <summary>A path in one tree: a file, a directory (with the size of what is under it), or absent.</summary>
    private static MergeSide? Side(PathTree tree, string? root, string path)
    {
        if (root is null) return null;
        if (tree.Get(root, path) is { } file) return File(file);
        var size = 0L;
        var any = false;
        foreach (var e in tree.Range(root, path + "/", path + "0")) { any = true; size += e.Content.Size; }
        return any ? new MergeSide(PachFileType.Directory, null, size) : null;
    }
}
