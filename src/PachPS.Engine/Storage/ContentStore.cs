using System.Buffers;

namespace PachPS.Engine.Storage;

/// <summary>
/// Chunked, deduplicated, verified content on an <see cref="IObjectStore"/>. Large chunks are objects of their own;
/// small ones are packed together so many tiny files cost few objects.
/// </summary>
public sealed class ContentStore
{
    /// <summary>Chunks smaller than this go into packs.</summary>
    public const int PackThreshold = 64 * 1024;
    /// <summary>A pack is written once it holds this much.</summary>
    public const int PackTarget = 4 * 1024 * 1024;

    public ContentStore(IObjectStore objects, Chunker? chunker = null)
    {
        Objects = objects;
        Chunker = chunker ?? new Chunker();
    }

    public IObjectStore Objects { get; }
    public Chunker Chunker { get; }

    /// <summary>Starts a write session; <paramref name="findPacked"/> finds small chunks already packed (deduplication).</summary>
    public ContentWriter BeginWrite(Func<IReadOnlyCollection<string>, IReadOnlyDictionary<string, ChunkRef>> findPacked) => new(this, findPacked);

    /// <summary>Reads one chunk and checks its hash.</summary>
    public byte[] ReadChunk(ChunkRef chunk)
    {
        var data = chunk.Object.StartsWith("pack/", StringComparison.Ordinal)
            ? Objects.GetRange(chunk.Object, chunk.Offset, chunk.Length)
            : Objects.Get(chunk.Object);
        if (data.Length != chunk.Length || ContentHash.Of(data) != chunk.Hash)
            throw new PachException("ObjectCorrupt", PachErrorKind.InvalidData,
                $"Chunk {chunk.Hash[..16]} in object '{chunk.Object}' does not match its hash: the store is damaged.", chunk.Object);
        return data;
    }

    public Stream OpenRead(FileContent content) => new ChunkedReadStream(this, content);

    public void CopyTo(FileContent content, Stream destination)
    {
        foreach (var chunk in content.Chunks) destination.Write(ReadChunk(chunk));
    }
}

/// <summary>
/// One ingest: chunk, hash and store files. Large chunks are checked against the object store; small ones are
/// looked up in the chunk index one pack at a time (<see cref="Flush"/>), so an ingest touches the metadata rarely.
/// Call <see cref="Flush"/>, then <see cref="Resolve"/> each file, before writing metadata that references them.
/// </summary>
public sealed class ContentWriter
{
    private const string Unplaced = "pack/?";
    private readonly ContentStore _store;
    private readonly Func<IReadOnlyCollection<string>, IReadOnlyDictionary<string, ChunkRef>> _findPacked;
    private readonly Dictionary<string, ChunkRef> _placed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _pending = new(StringComparer.Ordinal);
    private readonly List<ChunkRef> _newPacked = [];
    private readonly HashSet<string> _writing = new(StringComparer.Ordinal);
    private readonly List<Task> _writes = [];
    // Large chunks are written by background tasks while the next ones are read and hashed; a few in flight
    // overlap disk and CPU without letting memory grow (at most MaxInFlight chunks of up to 4 MiB).
    private const int MaxInFlight = 4;
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
    private long _pendingBytes;

    internal ContentWriter(ContentStore store, Func<IReadOnlyCollection<string>, IReadOnlyDictionary<string, ChunkRef>> findPacked)
    {
        _store = store;
        _findPacked = findPacked;
    }

    /// <summary>Packed chunks written in this session, to be added to the chunk index with the commit.</summary>
    public IReadOnlyList<ChunkRef> NewPackedChunks => _newPacked;

    /// <summary>New physical bytes this session wrote.</summary>
    public long BytesWritten { get; private set; }

    public FileContent Write(Stream source)
    {
        var chunks = new List<ChunkRef>();
        long size = 0;
        _store.Chunker.Split(source, chunk =>
        {
            size += chunk.Length;
            chunks.Add(Store(chunk.Span));
        });
        return new FileContent(size, ContentHash.OfChunks(chunks), chunks);
    }

    public FileContent Write(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream(data.ToArray(), writable: false);
        return Write(ms);
    }

    private ChunkRef Store(ReadOnlySpan<byte> data)
    {
        var hash = ContentHash.Of(data);
        if (_placed.TryGetValue(hash, out var placed)) return placed;
        if (data.Length < ContentStore.PackThreshold)
        {
            if (!_pending.ContainsKey(hash))
            {
                _pending[hash] = data.ToArray();
                _pendingBytes += data.Length;
            }
            var unplaced = new ChunkRef(hash, Unplaced, 0, data.Length);
            if (_pendingBytes >= ContentStore.PackTarget) Flush();
            return unplaced;
        }
        var key = "chunk/" + hash;
        if (_writing.Add(hash) && !_store.Objects.Exists(key))
        {
            ThrowIfWriteFailed();
            if (_writes.Count > 64) _writes.RemoveAll(t => t.IsCompletedSuccessfully);
            _inFlight.Wait();
            var length = data.Length;
            var copy = ArrayPool<byte>.Shared.Rent(length);
            data.CopyTo(copy);
            _writes.Add(Task.Run(() =>
            {
                try { _store.Objects.Put(key, copy.AsSpan(0, length)); }
                finally
                {
                    ArrayPool<byte>.Shared.Return(copy);
                    _inFlight.Release();
                }
            }));
            BytesWritten += data.Length;
        }
        var chunk = new ChunkRef(hash, key, 0, data.Length);
        _placed[hash] = chunk;
        return chunk;
    }

    /// <summary>Places pending small chunks: known ones point at their existing pack, the rest go into a new pack.</summary>
    public void Flush()
    {
        WaitForWrites();
        if (_pending.Count == 0) return;
        var known = _findPacked(_pending.Keys);
        using var pack = new MemoryStream();
        var fresh = new List<(string Hash, long Offset, int Length)>();
        foreach (var (hash, bytes) in _pending)
        {
            if (known.TryGetValue(hash, out var existing)) { _placed[hash] = existing; continue; }
            fresh.Add((hash, pack.Length, bytes.Length));
            pack.Write(bytes);
        }
        if (pack.Length > 0)
        {
            var data = pack.GetBuffer().AsSpan(0, (int)pack.Length);
            var key = "pack/" + ContentHash.Of(data);
            _store.Objects.Put(key, data);
            BytesWritten += data.Length;
            foreach (var (hash, offset, length) in fresh)
            {
                var chunk = new ChunkRef(hash, key, offset, length);
                _placed[hash] = chunk;
                _newPacked.Add(chunk);
            }
        }
        _pending.Clear();
        _pendingBytes = 0;
    }

    /// <summary>Waits until every background chunk write is durable; rethrows the first failure as it was thrown.</summary>
    private void WaitForWrites()
    {
        try { Task.WaitAll([.. _writes]); }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }
        finally { _writes.RemoveAll(t => t.IsCompleted); }
    }

    private void ThrowIfWriteFailed()
    {
        if (_writes.Any(t => t.IsFaulted)) WaitForWrites();
    }

    /// <summary>The file with every chunk at its final location (after <see cref="Flush"/>).</summary>
    public FileContent Resolve(FileContent content)
    {
        if (content.Chunks.All(c => c.Object != Unplaced)) return content;
        return content with { Chunks = content.Chunks.Select(c => c.Object == Unplaced ? _placed[c.Hash] : c).ToList() };
    }
}

/// <summary>Reads a file chunk by chunk, verifying each; memory stays at one chunk.</summary>
internal sealed class ChunkedReadStream(ContentStore store, FileContent content) : Stream
{
    private int _index;
    private byte[] _current = [];
    private int _offset;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => content.Size;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_offset >= _current.Length)
        {
            if (_index >= content.Chunks.Count) return 0;
            _current = store.ReadChunk(content.Chunks[_index++]);
            _offset = 0;
        }
        var n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
