using System.Buffers.Binary;

namespace PachPS.Engine.Remote;

/// <summary>
/// The body of an upload: a 4-byte big-endian length and the call's arguments as JSON, then each file's bytes in
/// order as frames (4-byte length, then that many bytes), each file ended by an empty frame. Content streams through
/// in frames of at most <see cref="MaxFrame"/> bytes, so neither side ever holds a whole file, and a body cut short
/// (a client killed mid-upload) is told apart from a finished one.
/// </summary>
public static class UploadFraming
{
    public const int MaxFrame = 1 << 20;
    /// <summary>The arguments of one call (20,000 paths fit with room to spare).</summary>
    public const int MaxHeader = 64 << 20;

    public static void WriteHeader(Stream body, ReadOnlySpan<byte> json)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, json.Length);
        body.Write(length);
        body.Write(json);
    }

    /// <summary>Copies one file as frames and the empty frame that ends it.</summary>
    public static void WriteFile(Stream body, Stream source, byte[] buffer)
    {
        while (true)
        {
            var n = source.ReadAtLeast(buffer.AsSpan(4, Math.Min(buffer.Length - 4, MaxFrame)), Math.Min(buffer.Length - 4, MaxFrame), throwOnEndOfStream: false);
            BinaryPrimitives.WriteInt32BigEndian(buffer, n);
            body.Write(buffer, 0, n + 4);
            if (n == 0) return;
        }
    }

    public static byte[] ReadHeader(Stream body)
    {
        var length = ReadLength(body, MaxHeader, "arguments");
        var json = new byte[length];
        body.ReadExactly(json);
        return json;
    }

    internal static int ReadLength(Stream body, int max, string what)
    {
        Span<byte> bytes = stackalloc byte[4];
        try { body.ReadExactly(bytes); }
        catch (IOException ex) { throw Truncated(ex); }
        var length = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (length < 0 || length > max)
            throw new PachException("UploadInvalid", PachErrorKind.InvalidData, $"An upload's {what} frame claims {length} bytes (at most {max}).", null);
        return length;
    }

    internal static PachException Truncated(Exception? inner = null) => new("UploadIncomplete", PachErrorKind.InvalidData,
        "The upload ended before its last file did (the client stopped or the connection broke); nothing was committed.", null, inner);
}

/// <summary>
/// The server's side of an upload's files: each source's opener returns a stream over that file's frames. The engine
/// reads sources one after another; opening a later one skips what was left of the earlier ones.
/// </summary>
public sealed class UploadReader(Stream body)
{
    private int _next;
    private FrameStream? _current;

    public Stream Open(int index)
    {
        if (index < _next) throw new InvalidOperationException($"Upload file {index} was already read; files are read in order.");
        while (_next <= index)
        {
            _current?.Drain();
            _current = new FrameStream(body);
            if (_next++ < index) _current.Drain();
        }
        return _current!;
    }

    private sealed class FrameStream(Stream body) : Stream
    {
        private int _left;
        private bool _ended;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.Length == 0) return 0;
            while (_left == 0)
            {
                if (_ended) return 0;
                _left = UploadFraming.ReadLength(body, UploadFraming.MaxFrame, "content");
                if (_left == 0) _ended = true;
            }
            int n;
            try { n = body.Read(buffer[..Math.Min(buffer.Length, _left)]); }
            catch (IOException ex) { throw UploadFraming.Truncated(ex); }
            if (n == 0) throw UploadFraming.Truncated();
            _left -= n;
            return n;
        }

        public void Drain() => CopyTo(Stream.Null);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
