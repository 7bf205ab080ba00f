using System.Buffers.Binary;
using System.Text.Json;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Remote;

/// <summary>
/// File content on the wire, both ways, as frames: a 4-byte big-endian length, then that many bytes; an empty frame
/// ends a file. Content streams through in frames of at most <see cref="MaxFrame"/> bytes, so neither side ever holds a
/// whole file, and a body cut short (a client killed mid-upload, a server stopped mid-download) is told apart from a
/// finished one. An upload starts with the call's arguments (length, then JSON) and holds each file in order. A
/// download may end with an error frame instead (a negative length: that many bytes of <see cref="ApiError"/> JSON),
/// so a failure found while reading (a corrupt chunk) reaches the client with its ErrorId.
/// </summary>
public static class ContentFraming
{
    public const int MaxFrame = 1 << 20;
    /// <summary>The arguments of one call (20,000 paths fit with room to spare).</summary>
    public const int MaxHeader = 64 << 20;
    private const int MaxError = 1 << 20;

    public static void WriteHeader(Stream body, ReadOnlySpan<byte> json)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, json.Length);
        body.Write(length);
        body.Write(json);
    }

    /// <summary>A buffer for <see cref="WriteFile"/>: room for a frame's length and its bytes.</summary>
    public static byte[] NewBuffer() => new byte[MaxFrame + 4];

    /// <summary>Copies one file as frames and the empty frame that ends it.</summary>
    public static void WriteFile(Stream body, Stream source, byte[] buffer)
    {
        while (true)
        {
            var n = source.ReadAtLeast(buffer.AsSpan(4, MaxFrame), MaxFrame, throwOnEndOfStream: false);
            BinaryPrimitives.WriteInt32BigEndian(buffer, n);
            body.Write(buffer, 0, n + 4);
            if (n == 0) return;
        }
    }

    /// <summary>Copies one file as frames; a failure while reading it ends the body with an error frame instead.</summary>
    public static async Task WriteFileAsync(Stream body, Stream source, byte[] buffer, Func<Exception, ApiError?> error, CancellationToken cancel)
    {
        while (true)
        {
            int n;
            try { n = await source.ReadAtLeastAsync(buffer.AsMemory(4, MaxFrame), MaxFrame, throwOnEndOfStream: false, cancel); }
            catch (Exception ex) when (error(ex) is { } failure)
            {
                var json = JsonSerializer.SerializeToUtf8Bytes(failure, Wire.Options);
                BinaryPrimitives.WriteInt32BigEndian(buffer, -json.Length);
                await body.WriteAsync(buffer.AsMemory(0, 4), cancel);
                await body.WriteAsync(json, cancel);
                return;
            }
            BinaryPrimitives.WriteInt32BigEndian(buffer, n);
            await body.WriteAsync(buffer.AsMemory(0, n + 4), cancel);
            if (n == 0) return;
        }
    }

    public static byte[] ReadHeader(Stream body)
    {
        var length = ReadLength(body);
        if (length < 0 || length > MaxHeader) throw Invalid(length, MaxHeader, "arguments");
        var json = new byte[length];
        try { body.ReadExactly(json); }
        catch (IOException ex) { throw Truncated(ex); }
        return json;
    }

    private static int ReadLength(Stream body)
    {
        Span<byte> bytes = stackalloc byte[4];
        try { body.ReadExactly(bytes); }
        catch (IOException ex) { throw Truncated(ex); }
        return BinaryPrimitives.ReadInt32BigEndian(bytes);
    }

    private static PachException Invalid(long length, int max, string what) => new("ContentFramesInvalid", PachErrorKind.InvalidData,
        $"A {what} frame claims {length} bytes (at most {max}).", null);

    internal static PachException Truncated(Exception? inner = null) => new("UploadIncomplete", PachErrorKind.InvalidData,
        "The content ended before its last file did (the other side stopped or the connection broke); nothing was committed.", null, inner);

    /// <summary>One file's content read back from its frames; an error frame throws the failure it carries.</summary>
    public sealed class FileStream(Stream body, long? length = null, IDisposable? owner = null) : ReadOnlyStream
    {
        private int _left;
        private bool _ended;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.Length == 0) return 0;
            while (_left == 0)
            {
                if (_ended) return 0;
                var length = ReadLength(body);
                // An error frame, or a frame no writer makes, ends the file: nothing after it can be read as content.
                if (length <= 0 || length > MaxFrame) _ended = true;
                if (length < 0) throw Failure(-(long)length);
                if (length > MaxFrame) throw Invalid(length, MaxFrame, "content");
                _left = length;
            }
            int n;
            try { n = body.Read(buffer[..Math.Min(buffer.Length, _left)]); }
            catch (IOException ex) { throw Truncated(ex); }
            if (n == 0) throw Truncated();
            _left -= n;
            return n;
        }

        private PachException Failure(long size)
        {
            if (size > MaxError) return Invalid(size, MaxError, "error");
            var json = new byte[size];
            try { body.ReadExactly(json); }
            catch (IOException ex) { return Truncated(ex); }
            ApiError? error;
            try { error = JsonSerializer.Deserialize<ApiError>(json, Wire.Options); }
            catch (JsonException ex) { return Unreadable(ex); }
            return error is { ErrorId.Length: > 0, Message: not null } ? error.ToException() : Unreadable(null);
        }

        private static PachException Unreadable(JsonException? ex) => new("ContentFramesInvalid", PachErrorKind.InvalidData,
            $"An error frame holds no error that can be read{(ex is null ? " (no errorId or message)" : ": " + ex.Message)}.", null, ex);

        /// <summary>Reads the rest of the file, so the next one can be read.</summary>
        public void Drain() => CopyTo(Null);

        public override long Length => length ?? throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) owner?.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// The server's side of an upload's files: each source's opener returns a stream over that file's frames. The engine
/// reads sources one after another; opening a later one skips what was left of the earlier ones.
/// </summary>
public sealed class UploadReader(Stream body)
{
    private int _next;
    private ContentFraming.FileStream? _current;

    public Stream Open(int index)
    {
        if (index < _next) throw new InvalidOperationException($"Upload file {index} was already read; files are read in order.");
        while (_next <= index)
        {
            _current?.Drain();
            _current = new ContentFraming.FileStream(body);
            if (_next++ < index) _current.Drain();
        }
        return _current!;
    }
}
