using System.Buffers;

namespace PachPS.Engine.Storage;

/// <summary>
/// One ingest: chunk, hash and store files. Large chunks are checked against the object store; small ones are
/// looked up in the chunk index one pack at a time (<see cref="Flush"/>), so an ingest touches the metadata rarely.
/// Call <see cref="Flush"/>, then <see cref="Resolve"/> each file, before writing metadata that references them, and
/// record what it names (<see cref="ObjectsUsed"/>, <see cref="ReferencedObjects"/>) in that same transaction; then
/// <see cref="Keep"/> once that metadata is committed, or <see cref="Abandon"/> when the work failed before, which
/// removes the objects this writer created (a full disk gets its space back); and <see cref="Release"/> (or dispose)
/// when nothing it wrote is waiting to be named.
/// </summary>
/// <remarks>
/// From its first write until it is released a writer holds the store's <see cref="CollectionLock"/> shared: the
/// content it wrote or found is named by no metadata yet, so no collection may decide to delete it meanwhile.
/// </remarks>
public sealed class ContentWriter : IDisposable
{
    private const string Unplaced = ContentStore.PackPrefix + "?";
    private readonly ContentStore _store;
    private readonly IChunkCatalog _catalog;
    private readonly Dictionary<string, ChunkRef> _placed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _pending = new(StringComparer.Ordinal);
    private readonly List<ChunkRef> _newPacked = [];
    // Objects this writer wrote or found already there (perhaps written, not yet flushed, by another writer): all are
    // flushed before metadata names them.
    private readonly List<(string Key, int Length)> _toSync = [];
    // Objects this writer uses (each claimed once in the store) and those of them it created: what it removes again
    // when its ingest fails (Abandon), and lets go of once a commit names them (Keep).
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _created = new(StringComparer.Ordinal);
    // Every object a chunk this writer returned lives in (written here or found): what metadata will name.
    private readonly HashSet<string> _referenced = new(StringComparer.Ordinal);
    private IDisposable? _held;
    private readonly object _gate = new();
    // Large chunks are hashed and written by worker tasks while the next ones are being cut: a few in flight overlap
    // CPU and disk (or network round trips) without letting memory grow: at most this many chunks of up to 4 MiB.
    private readonly SemaphoreSlim _inFlight;
    private long _pendingBytes;
    private long _bytesWritten;

    internal ContentWriter(ContentStore store, IChunkCatalog catalog)
    {
        _store = store;
        _catalog = catalog;
        // A remote store's time is round trips and the server's work: 16 requests at a time keep it busy (at most 64 MiB).
        var inFlight = store.Objects.IsRemote ? 16 : Math.Max(2, Environment.ProcessorCount + 1);
        _inFlight = new SemaphoreSlim(inFlight, inFlight);
    }

    /// <summary>Packed chunks written in this session, to be added to the chunk index with the commit.</summary>
    /// <remarks>A copy: a job's writer packs chunks on other threads while its results are recorded.</remarks>
    public IReadOnlyList<ChunkRef> NewPackedChunks
    {
        get { lock (_gate) return [.. _newPacked]; }
    }

    /// <summary>
    /// Every object (chunk or pack) the content written since the last <see cref="Release"/> lives in, whether this
    /// writer wrote it or found it already stored. A collection that is marking treats these as live.
    /// </summary>
    public IReadOnlyCollection<string> ReferencedObjects
    {
        get { lock (_gate) return [.. _referenced]; }
    }

    /// <summary>
    /// Ends the writer's hold on the store's collection lock: call once metadata names (or will never name) everything
    /// written so far (what was neither kept nor abandoned is kept: a collection frees it if nothing names it). The
    /// writer can write again afterwards; it then takes the lock again, and finds nothing from before in its own
    /// memory: a collection may have freed it meanwhile, so it is looked up (or written) afresh and no chunk index entry
    /// of a pack written before is recorded again.
    /// </summary>
    public void Release()
    {
        Settle(committed: true);
        lock (_gate)
        {
            _referenced.Clear();
            _placed.Clear();
            _newPacked.Clear();
            _held?.Dispose();
            _held = null;
        }
    }

    public void Dispose() => Release();

    private void Hold()
    {
        lock (_gate)
            if (_held is null && _store.Lock is { } collectionLock) _held = collectionLock.EnterWriter();
    }

    /// <summary>New physical bytes this session wrote.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public FileContent Write(Stream source)
    {
        Hold();
        var chunks = new List<Task<ChunkRef>>();
        long size = 0;
        Exception? failed = null;
        // On a remote store each existence check is a round trip and a request for the server: once two chunks of this
        // file in a row were new, the rest are written without asking (new bytes rarely turn into stored ones midway; a
        // chunk that was there after all is written again, the same bytes under the same key). A local store always asks.
        var fresh = 0;
        try
        {
            _store.Chunker.Split(source, chunk =>
            {
                // A chunk write failed (a full disk, say): cutting and writing the rest would only fail again.
                if (Volatile.Read(ref failed) is { } first) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
                size += chunk.Length;
                if (chunk.Length < ContentStore.PackThreshold)
                {
                    chunks.Add(Task.FromResult(StoreSmall(chunk.Span)));
                    return;
                }
                _inFlight.Wait();
                var length = chunk.Length;
                var copy = ArrayPool<byte>.Shared.Rent(length);
                chunk.Span.CopyTo(copy);
                var check = !_store.Objects.IsRemote || Volatile.Read(ref fresh) < 2;
                chunks.Add(Task.Run(() =>
                {
                    try
                    {
                        var (stored, found) = StoreLarge(copy.AsSpan(0, length), check);
                        if (found) Volatile.Write(ref fresh, 0);
                        else if (check) Interlocked.Increment(ref fresh);
                        return stored;
                    }
                    catch (Exception ex)
                    {
                        Interlocked.CompareExchange(ref failed, ex, null);
                        throw;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(copy);
                        _inFlight.Release();
                    }
                }));
            });
        }
        catch
        {
            // No chunk write may still run once this throws, or Abandon could miss an object it is about to create.
            try { Task.WaitAll([.. chunks]); }
            catch (AggregateException) { }
            throw;
        }
        // WhenAll ends when every chunk write has; GetResult rethrows the first failure as it was thrown.
        var refs = Task.WhenAll(chunks).GetAwaiter().GetResult();
        return new FileContent(size, ContentHash.OfChunks(refs), refs);
    }

    public FileContent Write(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream(data.ToArray(), writable: false);
        return Write(ms);
    }

    private ChunkRef StoreSmall(ReadOnlySpan<byte> data)
    {
        var hash = ContentHash.Of(data);
        lock (_gate)
        {
            if (_placed.TryGetValue(hash, out var placed)) return Referenced(placed);
            if (!_pending.ContainsKey(hash))
            {
                _pending[hash] = data.ToArray();
                _pendingBytes += data.Length;
            }
        }
        var unplaced = new ChunkRef(hash, Unplaced, 0, data.Length);
        if (_pendingBytes >= ContentStore.PackTarget) Flush();
        return unplaced;
    }

    /// <summary>Stores a large chunk (asking first whether it is there when <paramref name="check"/>); Found: it was.</summary>
    private (ChunkRef Chunk, bool Found) StoreLarge(ReadOnlySpan<byte> data, bool check)
    {
        var hash = ContentHash.Of(data);
        var key = ContentStore.ChunkPrefix + hash;
        lock (_gate)
        {
            if (_placed.TryGetValue(hash, out var placed)) return (Referenced(placed), true);
            ClaimLocked(key);
        }
        // Two tasks may write the same new chunk at once; Put is idempotent (same key, same bytes). One written without
        // asking counts as this writer's (Abandon removes it only if no commit names it, as for that race).
        var found = check && _store.Objects.Exists(key);
        if (!found)
        {
            _store.Objects.Put(key, data);
            lock (_gate) _created.Add(key);
            Interlocked.Add(ref _bytesWritten, data.Length);
        }
        var chunk = new ChunkRef(hash, key, 0, data.Length);
        lock (_gate)
        {
            _placed[hash] = chunk;
            _toSync.Add((key, data.Length));
            _referenced.Add(key);
        }
        return (chunk, found);
    }

    /// <summary>
    /// Places pending small chunks (known ones point at their existing pack, the rest go into a new pack) and makes
    /// everything this writer stored durable.
    /// </summary>
    public void Flush()
    {
        if (_pending.Count == 0)
        {
            SyncWritten();
            return;
        }
        var known = _catalog.FindPacked(_pending.Keys);
        using var pack = new MemoryStream();
        var fresh = new List<(string Hash, long Offset, int Length)>();
        foreach (var (hash, bytes) in _pending)
        {
            if (known.TryGetValue(hash, out var existing))
            {
                lock (_gate)
                {
                    _placed[hash] = existing;
                    _referenced.Add(existing.Object);
                }
                continue;
            }
            fresh.Add((hash, pack.Length, bytes.Length));
            pack.Write(bytes);
        }
        if (pack.Length > 0)
        {
            var data = pack.GetBuffer().AsSpan(0, (int)pack.Length);
            var key = ContentStore.PackPrefix + ContentHash.Of(data);
            // A pack is named by all of its bytes and its chunks are found only through commits: one with this name
            // is this ingest's own (or another's, still uncommitted, which the claim protects).
            lock (_gate) ClaimLocked(key);
            _store.Objects.Put(key, data);
            lock (_gate) _created.Add(key);
            Interlocked.Add(ref _bytesWritten, data.Length);
            lock (_gate)
            {
                _toSync.Add((key, data.Length));
                _referenced.Add(key);
            }
            foreach (var (hash, offset, length) in fresh)
            {
                var chunk = new ChunkRef(hash, key, offset, length);
                lock (_gate)
                {
                    _placed[hash] = chunk;
                    _newPacked.Add(chunk);
                }
            }
        }
        _pending.Clear();
        _pendingBytes = 0;
        SyncWritten();
    }

    /// <summary>Everything this writer stored (packs, and large chunks as they came) is on disk before metadata names it.</summary>
    private void SyncWritten()
    {
        List<(string Key, int Length)> batch;
        lock (_gate)
        {
            if (_toSync.Count == 0) return;
            batch = [.. _toSync];
            _toSync.Clear();
        }
        try { _store.Objects.Sync(batch); }
        catch
        {
            lock (_gate) _toSync.AddRange(batch);
            throw;
        }
    }

    // A chunk placed before the last release is named again: its object joins what the next record must name.
    private ChunkRef Referenced(ChunkRef chunk)
    {
        _referenced.Add(chunk.Object);
        return chunk;
    }

    private void ClaimLocked(string key)
    {
        if (_claimed.Add(key)) _store.Claim(key);
    }

    /// <summary>
    /// A commit (or job record) now names everything this writer stored so far: none of it may be removed if a later
    /// part of the writer's work fails. The writer can go on writing.
    /// </summary>
    public void Keep() => Settle(committed: true);

    /// <summary>
    /// The ingest failed before any commit named its content: removes the objects this writer created since it
    /// started (or last kept), except those another open writer uses, so a failed write (a full disk above all) gives
    /// its space back. Returns the keys removed.
    /// </summary>
    public IReadOnlyList<string> Abandon() => Settle(committed: false);

    private List<string> Settle(bool committed)
    {
        List<string> claimed;
        HashSet<string> created;
        lock (_gate)
        {
            claimed = [.. _claimed];
            created = [.. _created];
            _claimed.Clear();
            _created.Clear();
            if (!committed)
            {
                // Forget where removed content was placed: writing it again must store it again.
                foreach (var hash in _placed.Where(p => created.Contains(p.Value.Object)).Select(p => p.Key).ToList()) _placed.Remove(hash);
                _newPacked.RemoveAll(c => created.Contains(c.Object));
                _toSync.RemoveAll(o => created.Contains(o.Key));
            }
        }
        return _store.Release(claimed, created, committed, _catalog);
    }

    /// <summary>
    /// The objects this writer stored or found since it started (or last kept): what a commit of its content names.
    /// A failed writer of another process may have removed one it found there (or wrote at the same moment) since.
    /// </summary>
    public IReadOnlyCollection<string> ObjectsUsed()
    {
        lock (_gate) return [.. _claimed];
    }

    /// <summary>The file with every chunk at its final location (after <see cref="Flush"/>).</summary>
    public FileContent Resolve(FileContent content)
    {
        if (content.Chunks.All(c => c.Object != Unplaced)) return content;
        lock (_gate) return content with { Chunks = content.Chunks.Select(c => c.Object == Unplaced ? _placed[c.Hash] : c).ToList() };
    }
}
