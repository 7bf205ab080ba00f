namespace PachPS.Engine.Pfs;

/// <summary>Differences between two trees, found by walking both in path order.</summary>
public static class TreeDiff
{
    public static IEnumerable<DiffEntry> Compare(PathTree tree, string? olderRoot, string? newerRoot)
    {
        if (olderRoot == newerRoot) yield break;
        using var a = tree.All(olderRoot).GetEnumerator();
        using var b = tree.All(newerRoot).GetEnumerator();
        var hasA = a.MoveNext();
        var hasB = b.MoveNext();
        while (hasA || hasB)
        {
            var cmp = !hasA ? 1 : !hasB ? -1 : string.CompareOrdinal(a.Current.Path, b.Current.Path);
            if (cmp < 0)
            {
                yield return new DiffEntry("", a.Current.Path, DiffChange.Removed, a.Current.Content.Size, 0, a.Current.Content.Hash, null);
                hasA = a.MoveNext();
            }
            else if (cmp > 0)
            {
                yield return new DiffEntry("", b.Current.Path, DiffChange.Added, 0, b.Current.Content.Size, null, b.Current.Content.Hash);
                hasB = b.MoveNext();
            }
            else
            {
                if (a.Current.Content.Hash != b.Current.Content.Hash)
                    yield return new DiffEntry("", b.Current.Path, DiffChange.Modified, a.Current.Content.Size, b.Current.Content.Size, a.Current.Content.Hash, b.Current.Content.Hash);
                hasA = a.MoveNext();
                hasB = b.MoveNext();
            }
        }
    }
}
