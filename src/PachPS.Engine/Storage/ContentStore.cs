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
        References = new ObjectReferences(objects);
    }

    /// <summary>Reads of files imported by reference: their bytes are in someone else's bucket.</summary>
    public ObjectReferences References { get; }

    public IObjectStore Objects { get; }
    public Chunker Chunker { get; }
    /// <summary>What writers hold while their content is not yet named by metadata (none: no collection can run).</summary>
    public CollectionLock? Lock { get; }

    /// <summary>
    /// Where a packed chunk lives now when the pack a tree names is gone because a collection rewrote it (repacked):
    /// the chunk index's entry for the hash. Wired by the owner of the index; null when nothing was ever repacked.
    /// </summary>
    public Func<string, ChunkRef?>? Relocate { get; set; }

    // Objects that open writers of this store use (wrote, or found already there), with how many writers use each.
    // A writer that fails removes the objects it created only while no other writer uses them: content is
    // deduplicated, so another ingest of the same bytes may be about to commit a reference to one of them.
    private readonly Dictionary<string, int> _inUse = new(StringComparer.Ordinal);
    // Objects a writer committed a reference to while another writer (perhaps their creator) still used them: the
    // creator must not remove them when it fails.
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    // Objects whose creator failed while another writer used them: the last user removes them unless it commits.
    private readonly HashSet<string> _abandoned = new(StringComparer.Ordinal);

    /// <summary>Records that a writer uses <paramref name="key"/>; call before checking whether it exists.</summary>
    internal void Claim(string key)
    {
        lock (_inUse) _inUse[key] = _inUse.GetValueOrDefault(key) + 1;
    }

    /// <summary>
    /// Ends a writer's use of <paramref name="claimed"/>. A writer that committed (<paramref name="committed"/>) pins
    /// what others still use; one that failed deletes <paramref name="created"/> (objects it wrote) unless a commit of
    /// any process names them (<paramref name="catalog"/>) or another writer here pinned them, and, while another
    /// writer here still uses one, leaves its deletion to the last of them to let go without committing. Returns the
    /// keys deleted.
    /// </summary>
    internal List<string> Release(IReadOnlyCollection<string> claimed, IReadOnlySet<string> created, bool committed, IChunkCatalog catalog)
    {
        var deleted = new List<string>();
        List<string> candidates;
        lock (_inUse) candidates = committed ? [] : claimed.Where(k => created.Contains(k) || _abandoned.Contains(k)).ToList();
        if (candidates.Count == 0)
        {
            Release(claimed, created, committed, new HashSet<string>(StringComparer.Ordinal), deleted);
            return deleted;
        }
        // Under the store's lock no process commits; under _inUse no writer of this one claims meanwhile (one that
        // wants a removed key waits, then finds it gone and writes it again). The store's lock is always taken first.
        catalog.RemoveUnnamed(candidates, unnamed => Release(claimed, created, committed: false, unnamed.ToHashSet(StringComparer.Ordinal), deleted));
        return deleted;
    }

    private void Release(IReadOnlyCollection<string> claimed, IReadOnlySet<string> created, bool committed, HashSet<string> removable, List<string> deleted)
    {
        lock (_inUse)
        {
            foreach (var key in claimed)
            {
                var users = _inUse.GetValueOrDefault(key) - 1;
                if (users > 0)
                {
                    _inUse[key] = users;
                    if (committed)
                    {
                        _pinned.Add(key);
                        _abandoned.Remove(key);
                    }
                    else if (created.Contains(key) && !_pinned.Contains(key)) _abandoned.Add(key);
                    continue;
                }
                _inUse.Remove(key);
                var pinned = _pinned.Remove(key);
                var abandoned = _abandoned.Remove(key);
                if (committed || pinned || !(created.Contains(key) || abandoned) || !removable.Contains(key)) continue;
                try
                {
                    Objects.Delete(key);
                    deleted.Add(key);
                }
                // Left behind, the object is garbage (nothing names it), not damage.
                catch (Exception ex) when (ex is PachException or IOException or UnauthorizedAccessException) { }
            }
        }
    }

    /// <summary>Starts a write session; <paramref name="catalog"/> finds small chunks already packed and what commits name.</summary>
    public ContentWriter BeginWrite(IChunkCatalog catalog) => new(this, catalog);

    // On a remote store a pack is fetched whole once and kept for the small files next to it: reading 10,000 small
    // files then costs a few requests, not 10,000. Packs are at most PackTarget (+ one chunk) bytes.
    private const int CachedPacks = 8;
    private readonly LinkedList<(string Key, Lazy<byte[]> Data)> _packs = new();

    /// <summary>Reads one chunk and checks its hash.</summary>
    public byte[] ReadChunk(ChunkRef chunk) => ReadChunk(chunk, pooled: false);

    /// <summary>
    /// Reads one chunk and checks its hash, into an array from <see cref="ArrayPool{T}.Shared"/> (the caller returns it;
    /// the chunk is its first <see cref="ChunkRef.Length"/> bytes). Reading 1 GiB otherwise allocates a thousand 1 MiB
    /// arrays, and collecting them took longer than the read itself. On a remote store a chunk of its own is a ranged GET
    /// read straight into that array, and a packed one is copied out of its cached pack.
    /// </summary>
    internal byte[] ReadChunkPooled(ChunkRef chunk) => ReadChunk(chunk, pooled: true);

    private byte[] ReadChunk(ChunkRef chunk, bool pooled)
    {
        try { return ReadAt(chunk, pooled); }
        catch (PachException ex) when (ex.ErrorId == "ObjectMissing" && IsPacked(chunk) && Relocate?.Invoke(chunk.Hash) is { } moved && moved.Object != chunk.Object)
        {
            return ReadAt(chunk with { Object = moved.Object, Offset = moved.Offset }, pooled);
        }
    }

    /// <summary>Whether a chunk lives in a pack (shared with other small chunks) rather than in an object of its own.</summary>
    public static bool IsPacked(ChunkRef chunk) => chunk.Object.StartsWith(PackPrefix, StringComparison.Ordinal);

    /// <summary>Key prefixes of the two kinds of content object: large chunks, and packs of small ones.</summary>
    public const string ChunkPrefix = "chunk/";
    public const string PackPrefix = "pack/";

    private byte[] ReadAt(ChunkRef chunk, bool pooled)
    {
        byte[] data;
        if (ObjectReferences.Is(chunk)) return ReadReferenced(chunk, pooled);
        // Offsets and lengths come from trees and the chunk index; damaged ones must not reach a read or an allocation.
        if (IsPacked(chunk) && (chunk.Offset < 0 || chunk.Length < 0 || chunk.Length > PackTarget))
            throw new PachException("ObjectCorrupt", PachErrorKind.InvalidData,
                $"Chunk {Ids.Short(chunk.Hash)} is recorded at offset {chunk.Offset}, length {chunk.Length} of pack '{chunk.Object}', which no packed chunk can be: the store's metadata is damaged.", chunk.Object);
        if (pooled)
        {
            if (chunk.Length < 0) throw Damaged(chunk);
            var buffer = ArrayPool<byte>.Shared.Rent(chunk.Length);
            try
            {
                // Exactly the chunk's bytes (a store's GetRange pads a range past the end): the hash proves them.
                var read = IsPacked(chunk) && Objects.IsRemote
                    ? CopyFromPack(chunk, buffer)
                    : Objects.ReadInto(chunk.Object, IsPacked(chunk) ? chunk.Offset : 0, buffer.AsSpan(0, chunk.Length));
                if (read != chunk.Length || ContentHash.Of(buffer.AsSpan(0, chunk.Length)) != chunk.Hash) throw Damaged(chunk);
                return buffer;
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
        if (!IsPacked(chunk)) data = Objects.Get(chunk.Object);
        else if (!Objects.IsRemote) data = Objects.GetRange(chunk.Object, chunk.Offset, chunk.Length);
        else
        {
            data = new byte[chunk.Length];
            if (CopyFromPack(chunk, data) != chunk.Length) data = [];
        }
        if (data.Length != chunk.Length || ContentHash.Of(data) != chunk.Hash) throw Damaged(chunk);
        return data;
    }

    // A referenced piece is checked by its version (the read asks for that one), not a hash of bytes never read before.
    private byte[] ReadReferenced(ChunkRef piece, bool pooled)
    {
        if (piece.Length is < 0 or > ObjectReferences.PieceSize) throw Damaged(piece);
        var buffer = pooled ? ArrayPool<byte>.Shared.Rent(piece.Length) : new byte[piece.Length];
        try
        {
            References.Read(piece, buffer.AsSpan(0, piece.Length));
            return buffer;
        }
        catch
        {
            if (pooled) ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static PachException Damaged(ChunkRef chunk) => new("ObjectCorrupt", PachErrorKind.InvalidData,
        $"Chunk {Ids.Short(chunk.Hash)} in object '{chunk.Object}' does not match its hash: the store is damaged.", chunk.Object);

    // A packed chunk on a remote store, out of its pack (fetched whole once): the bytes copied, 0 when the pack is shorter.
    private int CopyFromPack(ChunkRef chunk, byte[] destination)
    {
        var pack = CachedPack(chunk.Object);
        if (chunk.Offset + chunk.Length > pack.Length) return 0;
        pack.AsSpan((int)chunk.Offset, chunk.Length).CopyTo(destination);
        return chunk.Length;
    }

    private byte[] CachedPack(string key)
    {
        // Readers of files in the same pack (Save-PachFile writes several at once) wait for one GET of it, not one each.
        Lazy<byte[]>? entry = null;
        lock (_packs)
        {
            for (var node = _packs.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                _packs.Remove(node);
                _packs.AddFirst(node);
                entry = node.Value.Data;
                break;
            }
            if (entry is null)
            {
                entry = new Lazy<byte[]>(() => Objects.Get(key), LazyThreadSafetyMode.ExecutionAndPublication);
                _packs.AddFirst((key, entry));
                while (_packs.Count > CachedPacks) _packs.RemoveLast();
            }
        }
        try { return entry.Value; }
        catch
        {
            // A failed fetch is not kept: the next reader tries again.
            lock (_packs)
                for (var node = _packs.First; node is not null; node = node.Next)
                    if (ReferenceEquals(node.Value.Data, entry))
                    {
                        _packs.Remove(node);
                        break;
                    }
            throw;
        }
    }

    /// <summary>
    /// The file's bytes, each chunk verified. Chunks are read ahead: 16 on a remote store (a GET each, in parallel: at
    /// most 16 chunks of up to 4 MiB held per file being read, 16 MiB at the 1 MiB average), 2 on a local one (one being
    /// written out while the next is read and hashed on the other core).
    /// </summary>
    public Stream OpenRead(FileContent content) => new ChunkedReadStream(this, content, prefetch: Objects.IsRemote ? RemotePrefetch : 2);

    /// <summary>Chunks of one file read ahead on a remote store.</summary>
    internal const int RemotePrefetch = 16;

    Stream IContentReader.Open(FileContent content) => OpenRead(content);
}
