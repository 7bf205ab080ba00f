namespace PachPS.Engine.Storage;

/// <summary>
/// Reads a file chunk by chunk, verifying each. The next few chunks are read and verified ahead on other threads
/// (bounded by <c>prefetch</c>, so memory stays at a few chunks): on a remote store that hides round trips, on a local
/// one it takes hashing off the thread that writes the bytes out. <see cref="CopyTo(Stream, int)"/> hands whole chunks
/// to the destination, with no copy through a buffer of its own.
/// </summary>
internal sealed class ChunkedReadStream(ContentStore store, FileContent content, int prefetch) : Stream
{
    // Chunks being read, with their lengths: buffers from the shared pool, returned once used.
    private readonly Queue<(Task<byte[]> Read, int Length)> _ahead = new();
    private int _next;
    private byte[] _current = [];
    private int _length;
    private bool _pooled;
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
        while (_offset >= _length)
        {
            if (!NextChunk()) return 0;
        }
        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override void CopyTo(Stream destination, int bufferSize)
    {
        do
        {
            destination.Write(_current, _offset, _length - _offset);
            _position += _length - _offset;
            _offset = _length;
        }
        while (NextChunk());
    }

    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        do
        {
            await destination.WriteAsync(_current.AsMemory(_offset, _length - _offset), cancellationToken).ConfigureAwait(false);
            _position += _length - _offset;
            _offset = _length;
        }
        while (await NextChunkAsync().ConfigureAwait(false));
    }

    private bool NextChunk()
    {
        ReturnCurrent();
        if (!Fetch()) return false;
        var (read, length) = _ahead.Dequeue();
        Use(read.GetAwaiter().GetResult(), length);
        return true;
    }

    private async Task<bool> NextChunkAsync()
    {
        ReturnCurrent();
        if (!Fetch()) return false;
        var (read, length) = _ahead.Dequeue();
        Use(await read.ConfigureAwait(false), length);
        return true;
    }

    private void Use(byte[] chunk, int length)
    {
        _current = chunk;
        _length = length;
        _pooled = true;
        _offset = 0;
    }

    private void ReturnCurrent()
    {
        if (_pooled) System.Buffers.ArrayPool<byte>.Shared.Return(_current);
        _current = [];
        _length = 0;
        _pooled = false;
    }

    /// <summary>Starts reading the next chunks, up to <c>prefetch</c> ahead (only the next one, here, without); false at the end.</summary>
    private bool Fetch()
    {
        // A chunk of one file needs no thread of its own: most small files are one chunk.
        var ahead = content.Chunks.Count > 1 ? Math.Max(1, prefetch) : 1;
        while (_ahead.Count < ahead && _next < content.Chunks.Count)
        {
            var chunk = content.Chunks[_next++];
            _ahead.Enqueue((ahead > 1 ? Task.Run(() => store.ReadChunkPooled(chunk)) : Task.FromResult(store.ReadChunkPooled(chunk)), chunk.Length));
        }
        return _ahead.Count > 0;
    }

    protected override void Dispose(bool disposing)
    {
        // Reads still running ahead finish on their own; their buffers go back to the pool, their failures are not wanted.
        foreach (var (pending, _) in _ahead)
            _ = pending.ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) System.Buffers.ArrayPool<byte>.Shared.Return(t.Result);
                return t.Exception;
            }, TaskScheduler.Default);
        _ahead.Clear();
        ReturnCurrent();
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
