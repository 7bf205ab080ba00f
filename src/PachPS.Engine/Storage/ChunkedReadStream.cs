using System.Buffers;

namespace PachPS.Engine.Storage;

/// <summary>
/// Reads a file chunk by chunk, verifying each. On a remote store the next few chunks are fetched in parallel
/// (bounded by <c>prefetch</c>), so memory stays at a few chunks.
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

    private bool NextChunk()
    {
        while (_ahead.Count < Math.Max(1, prefetch) && _next < content.Chunks.Count)
        {
            var chunk = content.Chunks[_next++];
            _ahead.Enqueue(prefetch > 0 ? Task.Run(() => store.ReadChunk(chunk)) : Task.FromResult(store.ReadChunk(chunk)));
        }
        if (_ahead.Count == 0) return false;
        _current = _ahead.Dequeue().GetAwaiter().GetResult();
        _offset = 0;
        return true;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
