namespace PachPS.Engine.Storage;

/// <summary>
/// Reads a file chunk by chunk, verifying each. The next few chunks are read and verified ahead on other threads
/// (bounded by <c>prefetch</c>, so memory stays at a few chunks): on a remote store that hides round trips, on a local
/// one it takes hashing off the thread that writes the bytes out. <see cref="CopyTo(Stream, int)"/> hands whole chunks
/// to the destination, with no copy through a buffer of its own.
/// </summary>
internal sealed class ChunkedReadStream(ContentStore store, FileContent content, int prefetch) : Stream
{
    private readonly Queue<Task<byte[]>> _ahead = new();
    private int _next;
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
            if (!NextChunk()) return 0;
        }
        var n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override void CopyTo(Stream destination, int bufferSize)
    {
        do
        {
            destination.Write(_current, _offset, _current.Length - _offset);
            _position += _current.Length - _offset;
            _offset = _current.Length;
        }
        while (NextChunk());
    }

    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        do
        {
            await destination.WriteAsync(_current.AsMemory(_offset), cancellationToken).ConfigureAwait(false);
            _position += _current.Length - _offset;
            _offset = _current.Length;
        }
        while (await NextChunkAsync().ConfigureAwait(false));
    }

    private bool NextChunk()
    {
        if (!Fetch()) return false;
        _current = _ahead.Dequeue().GetAwaiter().GetResult();
        _offset = 0;
        return true;
    }

    private async Task<bool> NextChunkAsync()
    {
        if (!Fetch()) return false;
        _current = await _ahead.Dequeue().ConfigureAwait(false);
        _offset = 0;
        return true;
    }

    /// <summary>Starts reading the next chunks, up to <c>prefetch</c> ahead (only the next one, here, without); false at the end.</summary>
    private bool Fetch()
    {
        // A chunk of one file needs no thread of its own: most small files are one chunk.
        var ahead = content.Chunks.Count > 1 ? Math.Max(1, prefetch) : 1;
        while (_ahead.Count < ahead && _next < content.Chunks.Count)
        {
            var chunk = content.Chunks[_next++];
            _ahead.Enqueue(ahead > 1 ? Task.Run(() => store.ReadChunk(chunk)) : Task.FromResult(store.ReadChunk(chunk)));
        }
        return _ahead.Count > 0;
    }

    protected override void Dispose(bool disposing)
    {
        // Reads still running ahead finish on their own; their results (or failures) are not wanted.
        foreach (var pending in _ahead) _ = pending.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        _ahead.Clear();
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
