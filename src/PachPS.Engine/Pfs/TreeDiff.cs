namespace PachPS.Engine.Pfs;

/// <summary>One path that differs between two trees: its entry in the older (null: absent) and in the newer.</summary>
internal readonly record struct TreeChange(string Path, TreeEntry? Old, TreeEntry? New);

/// <summary>
/// Differences between two trees, found by walking both in path order node by node: a subtree with the same node id
/// on both sides holds the same files and is skipped unread, so two versions of a large repo that share most of their
/// nodes (any two commits of one history) are compared at the cost of what changed between them.
/// </summary>
public static class TreeDiff
{
    public static IEnumerable<DiffEntry> Compare(PathTree tree, string? olderRoot, string? newerRoot)
    {
        foreach (var c in Changes(tree, olderRoot, newerRoot))
        {
            if (c.Old is null) yield return new DiffEntry("", c.Path, DiffChange.Added, 0, c.New!.Content.Size, null, c.New.Content.Hash);
            else if (c.New is null) yield return new DiffEntry("", c.Path, DiffChange.Removed, c.Old.Content.Size, 0, c.Old.Content.Hash, null);
            else yield return new DiffEntry("", c.Path, DiffChange.Modified, c.Old.Content.Size, c.New.Content.Size, c.Old.Content.Hash, c.New.Content.Hash);
        }
    }

    /// <summary>The paths whose content differs (by hash) between two trees, in path order.</summary>
    internal static IEnumerable<TreeChange> Changes(PathTree tree, string? olderRoot, string? newerRoot)
    {
        if (olderRoot == newerRoot) yield break;
        var a = new Cursor(tree, olderRoot);
        var b = new Cursor(tree, newerRoot);
        while (true)
        {
            var hasA = a.TryPeek(out var ia);
            var hasB = b.TryPeek(out var ib);
            if (!hasA && !hasB) yield break;
            if (hasA && hasB && ia.Id is not null && ia.Id == ib.Id)
            {
                a.Pop();
                b.Pop();
                continue;
            }
            if (!hasB || !hasA)
            {
                var (side, item) = hasA ? (a, ia) : (b, ib);
                if (item.Id is not null) side.Expand();
                else
                {
                    side.Pop();
                    yield return hasA ? new TreeChange(item.Key, item.Entry, null) : new TreeChange(item.Key, null, item.Entry);
                }
                continue;
            }
            if (ia.Id is not null && ib.Id is not null)
            {
                // Different subtrees: open the taller (so both sides reach the same level, where shared nodes meet), or
                // the one that starts first, or both when they start at the same key.
                var cmp = string.CompareOrdinal(ia.Key, ib.Key);
                if (ia.Height != ib.Height) (ia.Height > ib.Height ? a : b).Expand();
                else if (cmp < 0) a.Expand();
                else if (cmp > 0) b.Expand();
                else { a.Expand(); b.Expand(); }
                continue;
            }
            if (ia.Id is not null || ib.Id is not null)
            {
                // A file against a subtree: the file comes first when it sorts before the subtree's lower bound.
                var (nodeSide, node, fileSide, file, fileIsOld) = ia.Id is not null ? (a, ia, b, ib, false) : (b, ib, a, ia, true);
                if (string.CompareOrdinal(file.Key, node.Key) < 0)
                {
                    fileSide.Pop();
                    yield return fileIsOld ? new TreeChange(file.Key, file.Entry, null) : new TreeChange(file.Key, null, file.Entry);
                }
                else nodeSide.Expand();
                continue;
            }
            var order = string.CompareOrdinal(ia.Key, ib.Key);
            if (order < 0)
            {
                a.Pop();
                yield return new TreeChange(ia.Key, ia.Entry, null);
            }
            else if (order > 0)
            {
                b.Pop();
                yield return new TreeChange(ib.Key, null, ib.Entry);
            }
            else
            {
                a.Pop();
                b.Pop();
                if (ia.Entry!.Content.Hash != ib.Entry!.Content.Hash) yield return new TreeChange(ia.Key, ia.Entry, ib.Entry);
            }
        }
    }

    /// <summary>
    /// What is next in one tree, in path order: a subtree not yet opened (its id, the lower bound of its keys and its
    /// height above the leaves) or a file.
    /// </summary>
    private readonly record struct Item(string Key, string? Id, int Height, TreeEntry? Entry);

    /// <summary>A walk through one tree that opens subtrees only when asked.</summary>
    private sealed class Cursor
    {
        private readonly PathTree _tree;
        private readonly Stack<Item> _next = new();

        public Cursor(PathTree tree, string? root)
        {
            _tree = tree;
            if (root is null) return;
            // Every leaf of a PathTree is at the same depth, so the height of a node is its depth above the leaves.
            var height = 0;
            for (var node = tree.NodeById(root); node is PathTree.Internal inner; node = tree.NodeById(inner.Children[0])) height++;
            _next.Push(new Item("", root, height, null));
        }

        public bool TryPeek(out Item item) => _next.TryPeek(out item);

        public void Pop() => _next.Pop();

        /// <summary>Replaces the subtree on top by its children (or a leaf by its files).</summary>
        public void Expand()
        {
            var item = _next.Pop();
            switch (_tree.NodeById(item.Id!))
            {
                case PathTree.Leaf leaf:
                    for (var i = leaf.Entries.Length - 1; i >= 0; i--) _next.Push(new Item(leaf.Entries[i].Path, null, 0, leaf.Entries[i]));
                    break;
                case PathTree.Internal inner:
                    for (var i = inner.Children.Length - 1; i >= 0; i--)
                        _next.Push(new Item(inner.Keys[i], inner.Children[i], item.Height - 1, null));
                    break;
            }
        }
    }
}
