using LiteDB;
using System.Collections.Concurrent;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>One file in a tree: its content and the commit that last wrote it.</summary>
public sealed record TreeEntry(string Path, FileContent Content, string Commit);

/// <summary>A tree node that cannot be read, and the paths below it: from <see cref="From"/> up to, not including, <see cref="To"/> (null: the end).</summary>
internal sealed record DamagedRange(string Node, string From, string? To, PachException Error)
{
    public DamageDoc ToDamage() => new() { From = From, To = To, Range = true, Object = Node };

    /// <summary>The paths it hides, for people: "/a/x.csv … /b".</summary>
    public string Paths => ToDamage().ToString();
}

/// <summary>Loads and saves tree nodes by hash (LiteDB in the store, a dictionary in tests).</summary>
public interface INodeSource
{
    byte[]? Load(string id);
    void Save(string id, byte[] data);
}

/// <summary>
/// A persistent, content-addressed B+tree of files keyed by full path in ordinal order. A change rewrites only the
/// nodes on its path, so commits share structure and a one-file commit costs a few small nodes whatever the repo size.
/// Directories are implicit: they are the prefixes of file paths.
/// </summary>
public sealed class PathTree
{
    /// <summary>The trees stored in a store's metadata, read in the caller's unit of work.</summary>
    internal static PathTree In(LiteDatabase db) => new(new LiteNodeSource(db));

    /// <summary>
    /// The trees of a store's metadata for one pass over many files (a listing): the leaves it reads are not kept in the
    /// cache (internal nodes are), since a pass reads each once. Kept, a listing of a million files filled the cache
    /// again and again, and the process peaked at 590 MiB, against 252 MiB for 100,000.
    /// </summary>
    internal static PathTree Passing(LiteDatabase db) => new(new LiteNodeSource(db)) { _keepLeaves = false };

    internal const int MaxLeaf = 64;
    internal const int MaxFanout = 64;
    private static readonly ConcurrentDictionary<string, Node> Cache = new(StringComparer.Ordinal);

    /// <summary>
    /// What the cache may hold, in entries (a leaf's files, an internal node's children: what a node's memory grows
    /// with); it is emptied when it holds more. Counted in nodes (200,000 of them), a walk over a million files kept
    /// every leaf it passed, and a commit of a million files every node it wrote: about 1 GB each.
    /// </summary>
    private const long MaxCachedEntries = 250_000;
    private static long _cachedEntries;

    private readonly INodeSource _source;
    private bool _keepLeaves = true;

    public PathTree(INodeSource source) => _source = source;

    internal abstract record Node;
    internal sealed record Leaf(TreeEntry[] Entries) : Node;
    internal sealed record Internal(string[] Keys, string[] Children) : Node;

    public TreeEntry? Get(string? root, string path)
    {
        if (root is null) return null;
        var node = Load(root);
        while (node is Internal inner) node = Load(inner.Children[ChildFor(inner.Keys, path)]);
        var entries = ((Leaf)node).Entries;
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            var cmp = string.CompareOrdinal(entries[mid].Path, path);
            if (cmp == 0) return entries[mid];
            if (cmp < 0) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <summary>Every entry with <paramref name="from"/> &lt;= path &lt; <paramref name="to"/> (null: unbounded), in order.</summary>
    public IEnumerable<TreeEntry> Range(string? root, string from = "", string? to = null)
    {
        if (root is null) yield break;
        foreach (var e in RangeOf(Load(root), from, to)) yield return e;
    }

    /// <summary>
    /// Every file under directory <paramref name="dir"/> ("/" for all), or the file itself, in order; with
    /// <paramref name="from"/>, only those from that path on (where a listing resumes).
    /// </summary>
    public IEnumerable<TreeEntry> Under(string? root, string dir, string? from = null)
    {
        var start = from is not null && string.CompareOrdinal(from, dir) > 0 ? from : dir;
        if (dir == "/") return Range(root, from ?? "");
        var prefix = dir.TrimEnd('/') + "/";
        // '0' is the character after '/', so [prefix, dir + "0") is exactly the subtree.
        return Range(root, start, dir.TrimEnd('/') + "0").Where(e => e.Path == dir || e.Path.StartsWith(prefix, StringComparison.Ordinal));
    }

    public IEnumerable<TreeEntry> All(string? root) => Range(root);

    private IEnumerable<TreeEntry> RangeOf(Node node, string from, string? to)
    {
        if (node is Leaf leaf)
        {
            foreach (var e in leaf.Entries)
            {
                if (string.CompareOrdinal(e.Path, from) < 0) continue;
                if (to is not null && string.CompareOrdinal(e.Path, to) >= 0) yield break;
                yield return e;
            }
            yield break;
        }
        var inner = (Internal)node;
        for (var i = ChildFor(inner.Keys, from); i < inner.Children.Length; i++)
        {
            if (to is not null && i > 0 && string.CompareOrdinal(inner.Keys[i], to) >= 0) yield break;
            foreach (var e in RangeOf(Load(inner.Children[i]), from, to)) yield return e;
        }
    }

    /// <summary>
    /// Every entry that can still be read, in order, for checks and repairs of a damaged store: a node that is missing
    /// or corrupt is reported with the range of paths below it ([from, to), to null: unbounded) and skipped. Nodes are
    /// read as stored now, not from this process's cache; <paramref name="read"/> keeps those one check has read.
    /// </summary>
    internal IEnumerable<TreeEntry> Salvage(string? root, Action<DamagedRange> damaged, Dictionary<string, Node>? read = null)
    {
        if (root is null) return [];
        return SalvageOf(root, "", null, damaged, read ?? new(StringComparer.Ordinal));
    }

    private IEnumerable<TreeEntry> SalvageOf(string id, string from, string? to, Action<DamagedRange> damaged, Dictionary<string, Node> read)
    {
        if (!read.TryGetValue(id, out var node))
        {
            try { node = Read(id); }
            catch (PachException ex) when (ex.ErrorId is "TreeNodeMissing" or "TreeNodeCorrupt")
            {
                damaged(new DamagedRange(id, from, to, ex));
                yield break;
            }
            if (read.Count > 200_000) read.Clear();
            read[id] = node;
        }
        if (node is Leaf leaf)
        {
            foreach (var e in leaf.Entries) yield return e;
            yield break;
        }
        var inner = (Internal)node;
        for (var i = 0; i < inner.Children.Length; i++)
        {
            var lower = i == 0 ? from : inner.Keys[i];
            var upper = i + 1 < inner.Children.Length ? inner.Keys[i + 1] : to;
            foreach (var e in SalvageOf(inner.Children[i], lower, upper, damaged, read)) yield return e;
        }
    }

    /// <summary>
    /// Applies changes (a null content removes the path) and returns the new root (null for an empty tree).
    /// Nodes are saved through the source; the old root stays valid.
    /// </summary>
    public string? Apply(string? root, IEnumerable<KeyValuePair<string, TreeEntry?>> changes)
    {
        var sorted = changes.OrderBy(c => c.Key, StringComparer.Ordinal).ToArray();
        if (sorted.Length == 0) return root;
        List<(string Key, string Id)> level;
        if (root is null)
        {
            var entries = sorted.Where(c => c.Value is not null).Select(c => c.Value!).ToList();
            level = SaveLeaves(entries);
        }
        else
        {
            level = ApplyTo(Load(root), sorted);
        }
        while (level.Count > 1) level = SaveInternals(level);
        return level.Count == 0 ? null : level[0].Id;
    }

    private List<(string Key, string Id)> ApplyTo(Node node, ReadOnlySpan<KeyValuePair<string, TreeEntry?>> changes)
    {
        if (node is Leaf leaf)
        {
            var merged = new List<TreeEntry>(leaf.Entries.Length + changes.Length);
            int i = 0, j = 0;
            while (i < leaf.Entries.Length || j < changes.Length)
            {
                var cmp = i >= leaf.Entries.Length ? 1 : j >= changes.Length ? -1 : string.CompareOrdinal(leaf.Entries[i].Path, changes[j].Key);
                if (cmp < 0) merged.Add(leaf.Entries[i++]);
                else
                {
                    if (changes[j].Value is { } v) merged.Add(v);
                    if (cmp == 0) i++;
                    j++;
                }
            }
            return SaveLeaves(merged);
        }
        var inner = (Internal)node;
        var result = new List<(string, string)>();
        var start = 0;
        for (var c = 0; c < inner.Children.Length; c++)
        {
            var end = start;
            var last = c == inner.Children.Length - 1;
            while (end < changes.Length && (last || string.CompareOrdinal(changes[end].Key, inner.Keys[c + 1]) < 0)) end++;
            if (end == start) result.Add((inner.Keys[c], inner.Children[c]));
            else result.AddRange(ApplyTo(Load(inner.Children[c]), changes[start..end]));
            start = end;
        }
        // An internal node's first key must stay the smallest key below it; keep the old one as a lower bound.
        if (result.Count > 0 && string.CompareOrdinal(inner.Keys[0], result[0].Item1) < 0) result[0] = (inner.Keys[0], result[0].Item2);
        if (result.Count <= MaxFanout)
        {
            return result.Count == 0 ? result : [(result[0].Item1, Save(new Internal(result.Select(r => r.Item1).ToArray(), result.Select(r => r.Item2).ToArray())))];
        }
        return SaveInternals(result);
    }

    private List<(string Key, string Id)> SaveLeaves(List<TreeEntry> entries)
    {
        var result = new List<(string, string)>();
        foreach (var part in Split(entries, MaxLeaf))
            result.Add((part[0].Path, Save(new Leaf(part))));
        return result;
    }

    private List<(string Key, string Id)> SaveInternals(List<(string Key, string Id)> refs)
    {
        var result = new List<(string, string)>();
        foreach (var part in Split(refs, MaxFanout))
            result.Add((part[0].Key, Save(new Internal(part.Select(p => p.Key).ToArray(), part.Select(p => p.Id).ToArray()))));
        return result;
    }

    private static IEnumerable<T[]> Split<T>(List<T> items, int max)
    {
        if (items.Count == 0) yield break;
        var parts = (items.Count + max - 1) / max;
        var size = (items.Count + parts - 1) / parts;
        for (var i = 0; i < items.Count; i += size) yield return items.GetRange(i, Math.Min(size, items.Count - i)).ToArray();
    }

    private static int ChildFor(string[] keys, string key)
    {
        // The last child whose first key is <= key (child 0 takes everything smaller).
        int lo = 1, hi = keys.Length - 1, found = 0;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (string.CompareOrdinal(keys[mid], key) <= 0) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }

    /// <summary>A node by id, for walks that compare trees node by node (<see cref="TreeDiff"/>).</summary>
    internal Node NodeById(string id) => Load(id);

    private Node Load(string id)
    {
        if (Cache.TryGetValue(id, out var cached)) return cached;
        var node = Read(id);
        if (_keepLeaves || node is Internal) Remember(id, node);
        return node;
    }

    private static void Remember(string id, Node node)
    {
        var weight = node is Leaf leaf ? leaf.Entries.Length : ((Internal)node).Children.Length;
        // Approximate under concurrency, which only moves the moment it is emptied.
        if (Interlocked.Add(ref _cachedEntries, weight) > MaxCachedEntries)
        {
            Cache.Clear();
            Interlocked.Exchange(ref _cachedEntries, weight);
        }
        Cache[id] = node;
    }

    /// <summary>A node as stored now, not as this process remembers it (what checks and repairs must look at).</summary>
    private Node Read(string id)
    {
        var data = _source.Load(id) ?? throw new PachException("TreeNodeMissing", PachErrorKind.InvalidData,
            $"Tree node {Ids.Short(id)} is missing from the metadata: the store is damaged.", id);
        if (ContentHash.Of(data) != id)
            throw new PachException("TreeNodeCorrupt", PachErrorKind.InvalidData, $"Tree node {Ids.Short(id)} does not match its hash.", id);
        return TreeCodec.Decode(data);
    }

    private string Save(Node node)
    {
        var data = TreeCodec.Encode(node);
        var id = ContentHash.Of(data);
        // Always hand the node to the source: a cached node may come from a transaction that was rolled back.
        _source.Save(id, data);
        Remember(id, node);
        return id;
    }

    /// <summary>Ids of every node reachable from <paramref name="root"/> (for integrity checks).</summary>
    public IEnumerable<string> NodeIds(string? root)
    {
        if (root is null) yield break;
        var stack = new Stack<string>([root]);
        while (stack.Count > 0)
        {
            var id = stack.Pop();
            yield return id;
            if (Load(id) is Internal inner) foreach (var child in inner.Children) stack.Push(child);
        }
    }
}
