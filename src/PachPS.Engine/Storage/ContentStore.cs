using System.Buffers;

namespace PachPS.Engine.Storage;

/// <summary>
/// Chunked, deduplicated, verified content on an <see cref="IObjectStore"/>. Large chunks are objects of their own;
/// small ones are packed together so many tiny files cost few objects.
/// </summary>
public sealed class ContentStore : IContentReader
{
    /// <summary>Chunks smaller than this go into packs.</summary>
    public const int PackThreshold = 64 * 1024;
    /// <summary>A pack is written once it holds this much.</summary>
    public const int PackTarget = 4 * 1024 * 1024;

    public ContentStore(IObjectStore objects, Chunker? chunker = null, CollectionLock? collectionLock = null)
    {
        Objects = objects;
        Chunker = chunker ?? new Chunker();
        Lock = collectionLock;
    }

    public IObjectStore Objects { get; }
    public Chunker Chunker { get; }
    /// <summary>What writers hold while their content is not yet named by metadata (none: no collection can run).</summary>
    public CollectionLock? Lock { get; }

    /// <summary>
    /// Where a packed chunk lives now when the pack a tree names is gone because a collection rewrote it (repacked):
    /// the chunk index's entry for the hash. Wired by the owner of the index; null when nothing was ever repacked.
    /// </summary>
    public Func<string, ChunkRef?>? Relocate { get; set; }

    /// <summary>Starts a write session; <paramref name="findPacked"/> finds small chunks already packed (deduplication).</summary>
    public ContentWriter BeginWrite(Func<IReadOnlyCollection<string>, IReadOnlyDictionary<string, ChunkRef>> findPacked) => new(this, findPacked);

    // On a remote store a pack is fetched whole once and kept for the small files next to it: reading 10,000 small
    // files then costs a few requests, not 10,000. Packs are at most PackTarget (+ one chunk) bytes.
    private const int CachedPacks = 8;
    private readonly LinkedList<(string Key, byte[] Data)> _packs = new();

    /// <summary>Reads one chunk and checks its hash.</summary>
    public byte[] ReadChunk(ChunkRef chunk)
    {
        try { return ReadAt(chunk); }
        catch (PachException ex) when (ex.ErrorId == "ObjectMissing" && IsPacked(chunk) && Relocate?.Invoke(chunk.Hash) is { } moved && moved.Object != chunk.Object)
        {
            return ReadAt(chunk with { Object = moved.Object, Offset = moved.Offset });
        }
    }

    /// <summary>Whether a chunk lives in a pack (shared with other small chunks) rather than in an object of its own.</summary>
    public static bool IsPacked(ChunkRef chunk) => chunk.Object.StartsWith(PackPrefix, StringComparison.Ordinal);

    /// <summary>Key prefixes of the two kinds of content object: large chunks, and packs of small ones.</summary>
    public const string ChunkPrefix = "chunk/";
    public const string PackPrefix = "pack/";

    private byte[] ReadAt(ChunkRef chunk)
    {
        byte[] data;
        if (!IsPacked(chunk)) data = Objects.Get(chunk.Object);
        else if (!Objects.IsRemote) data = Objects.GetRange(chunk.Object, chunk.Offset, chunk.Length);
        else
        {
            var pack = CachedPack(chunk.Object);
            data = chunk.Offset + chunk.Length <= pack.Length ? pack.AsSpan((int)chunk.Offset, chunk.Length).ToArray() : [];
        }
        if (data.Length != chunk.Length || ContentHash.Of(data) != chunk.Hash)
            throw new PachException("ObjectCorrupt", PachErrorKind.InvalidData,
                $"Chunk {Ids.Short(chunk.Hash)} in object '{chunk.Object}' does not match its hash: the store is damaged.", chunk.Object);
        return data;
    }

    private byte[] CachedPack(string key)
    {
        lock (_packs)
        {
            for (var node = _packs.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                _packs.Remove(node);
                _packs.AddFirst(node);
                return node.Value.Data;
            }
        }
        var data = Objects.Get(key);
        lock (_packs)
        {
            _packs.AddFirst((key, data));
            while (_packs.Count > CachedPacks) _packs.RemoveLast();
        }
        return data;
    }

    public Stream OpenRead(FileContent content) => new ChunkedReadStream(this, content, prefetch: Objects.IsRemote ? 4 : 0);

    Stream IContentReader.Open(FileContent content) => OpenRead(content);
}
