namespace PachPS.Engine;

/// <summary>
/// One page of a listing: its items in the listing's order and, when more follow, the cursor that asks for the rest
/// (null on the last page). A cursor is opaque to callers; it names the last item given, so pages join up exactly.
/// </summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// Listings read a page at a time: the first objects are handed on before later ones are read, the store (or, through
/// a server, one request) is held for one page, and what is in memory is bounded by the largest page.
/// </summary>
public static class Listing
{
    /// <summary>Items in the first page, and the most in a later one (each page is four times the one before).</summary>
    public const int FirstPage = 100, LargestPage = 10_000;

    /// <summary>
    /// Every item of a paged listing, page after page, or its first <paramref name="limit"/>: <paramref name="page"/> is
    /// asked for up to the given number of items after a cursor (null: from the start), never more than are still wanted.
    /// </summary>
    public static IEnumerable<T> Stream<T>(Func<string?, int, Page<T>> page, CancellationToken cancel = default, int limit = int.MaxValue)
    {
        string? cursor = null;
        var size = FirstPage;
        var left = limit;
        while (left > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var next = page(cursor, Math.Min(size, left));
            foreach (var item in next.Items)
            {
                if (left-- == 0) yield break;
                yield return item;
            }
            cursor = next.Next;
            if (cursor is null) yield break;
            size = Math.Min(size * 4, LargestPage);
        }
    }

    /// <summary>The first <paramref name="max"/> items of a sequence and a cursor from <paramref name="key"/> of the last when more follow.</summary>
    internal static Page<T> Take<T>(IEnumerable<T> items, int max, Func<T, string> key)
    {
        if (max < 1) throw PachException.Invalid("PageSizeInvalid", $"A page holds at least one item, not {max}.", max);
        var taken = new List<T>(Math.Min(max, LargestPage));
        using var e = items.GetEnumerator();
        while (e.MoveNext())
        {
            if (taken.Count == max) return new Page<T>(taken, key(taken[^1]));
            taken.Add(e.Current);
        }
        return new Page<T>(taken, null);
    }
}
