namespace PachPS.Engine.S3Api;

/// <summary>Pages through keys in S3's order (ordinal, UTF-8), folding keys under a delimiter into common prefixes.</summary>
public static class S3Paging
{
    /// <summary>
    /// One page after <paramref name="after"/> (a key or a common prefix, exclusive): at most <paramref name="max"/>
    /// objects and prefixes together. A prefix counts once, and a page that ends on a prefix resumes after every key under it.
    /// </summary>
    public static S3Listing Page(IReadOnlyList<S3Object> sorted, string prefix, string? delimiter, string? after, int max)
    {
        var objects = new List<S3Object>();
        var prefixes = new List<string>();
        string? last = null;
        foreach (var o in sorted)
        {
            if (!o.Key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (after is not null && (string.CompareOrdinal(o.Key, after) <= 0 || (delimiter is not null && after.EndsWith(delimiter, StringComparison.Ordinal) && o.Key.StartsWith(after, StringComparison.Ordinal)))) continue;
            var cut = string.IsNullOrEmpty(delimiter) ? -1 : o.Key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            var item = cut < 0 ? o.Key : o.Key[..(cut + delimiter!.Length)];
            if (item == last) continue;
            if (objects.Count + prefixes.Count == max) return new S3Listing(objects, prefixes, true, last);
            if (cut < 0) objects.Add(o);
            else prefixes.Add(item);
            last = item;
        }
        return new S3Listing(objects, prefixes, false, last);
    }
}

/// <summary>One page of a listing: objects and common prefixes, and the last key or prefix when more follow.</summary>
public sealed record S3Listing(List<S3Object> Objects, List<string> Prefixes, bool Truncated, string? Last);
