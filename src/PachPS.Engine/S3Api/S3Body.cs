using PachPS.Engine.Storage;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PachPS.Engine.S3Api;

/// <summary>
/// A request's content as the engine reads it, synchronously and as a stream (never whole in memory): aws-chunked
/// bodies decoded (<see cref="AwsChunkedStream"/>), then checked at their end against what the request said of them
/// (<see cref="CheckedStream"/>), so a body that does not match fails before its commit is made.
/// </summary>
public static class S3Body
{
    public static CheckedStream Open(IS3Request request, SignedRequest signed)
    {
        var payload = signed.PayloadHash;
        Stream body = request.Body;
        long? length = request.ContentLength;
        if (payload.StartsWith("STREAMING-", StringComparison.Ordinal))
        {
            var signedChunks = payload is SigV4.StreamingPayload or SigV4.StreamingPayloadTrailer;
            if (!signedChunks && payload != SigV4.StreamingUnsignedTrailer)
                throw new S3Exception("InvalidArgument", 400, $"x-amz-content-sha256 '{payload}' is not supported.");
            body = new AwsChunkedStream(body, signedChunks ? signed : null);
            length = long.TryParse(request.FirstHeader("x-amz-decoded-content-length"), CultureInfo.InvariantCulture, out var decoded) ? decoded : null;
        }
        var sha256 = payload.Length == 64 && payload.All(char.IsAsciiHexDigit) ? payload.ToLowerInvariant() : null;
        if (sha256 is null && !payload.StartsWith("STREAMING-", StringComparison.Ordinal) && payload != SigV4.UnsignedPayload)
            throw new S3Exception("InvalidArgument", 400, $"x-amz-content-sha256 '{payload}' is neither a SHA-256, UNSIGNED-PAYLOAD nor a streaming payload.");
        string? md5 = null;
        if (request.FirstHeader("Content-MD5") is { Length: > 0 } header)
        {
            try { md5 = Convert.ToHexStringLower(Convert.FromBase64String(header)); }
            catch (FormatException) { throw new S3Exception("InvalidDigest", 400, "The Content-MD5 you specified is not valid base64."); }
        }
        return new CheckedStream(body, sha256, md5, length);
    }
}

/// <summary>
/// Decodes an aws-chunked body (<c>&lt;hex size&gt;[;chunk-signature=&lt;sig&gt;]\r\n&lt;data&gt;\r\n</c> ... a zero-size chunk,
/// then trailers) and, for a signed stream, checks each chunk's signature, chained from the request's.
/// A chunk is held in memory while it is checked: at most 16 MiB (clients send 64 KiB to 8 MiB).
/// </summary>
public sealed class AwsChunkedStream(Stream inner, SignedRequest? signed) : ReadOnlyStream
{
    private const int MaxChunk = 16 << 20;
    private readonly BufferedStream _in = new(inner, 64 << 10);
    private byte[] _chunk = [];
    private int _position, _length;
    private bool _done;
    private string _previous = signed?.Signature ?? "";

    public override int Read(Span<byte> buffer)
    {
        while (_position == _length)
        {
            if (_done) return 0;
            NextChunk();
        }
        var n = Math.Min(buffer.Length, _length - _position);
        _chunk.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    private void NextChunk()
    {
        var header = ReadLine();
        var semicolon = header.IndexOf(';');
        var sizeText = semicolon < 0 ? header : header[..semicolon];
        if (!int.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size is < 0 or > MaxChunk)
            throw new S3Exception("InvalidArgument", 400, $"The aws-chunked body has a bad chunk header '{header}'.");
        if (_chunk.Length < size) _chunk = new byte[size];
        _in.ReadExactly(_chunk, 0, size);
        (_position, _length) = (0, size);
        if (signed is not null)
        {
            const string field = "chunk-signature=";
            var at = header.IndexOf(field, StringComparison.Ordinal);
            var given = at < 0 ? "" : header[(at + field.Length)..].Trim();
            var expected = SigV4.ChunkSignature(signed, _previous, _chunk.AsSpan(0, size));
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(given)))
                throw new S3Exception("SignatureDoesNotMatch", 403, "A chunk's signature does not match its content (the body was changed, or signed with another key).");
            _previous = expected;
        }
        if (size > 0)
        {
            if (ReadLine().Length != 0) throw new S3Exception("InvalidArgument", 400, "An aws-chunked chunk is longer than its size says.");
            return;
        }
        // The last chunk: trailers (checksums, which TLS and the size checks already cover) up to an empty line or the end.
        _done = true;
        while (ReadLine(allowEnd: true) is { Length: > 0 }) { }
    }

    private string? ReadLineOrNull()
    {
        var line = new StringBuilder();
        while (true)
        {
            var b = _in.ReadByte();
            if (b < 0) return line.Length == 0 ? null : line.ToString();
            if (b == '\n') return line.ToString().TrimEnd('\r');
            if (line.Length > 4096) throw new S3Exception("InvalidArgument", 400, "An aws-chunked header line is too long.");
            line.Append((char)b);
        }
    }

    private string ReadLine(bool allowEnd = false) =>
        ReadLineOrNull() ?? (allowEnd ? "" : throw new S3Exception("IncompleteBody", 400, "The aws-chunked body ended before its last chunk."));
}

/// <summary>
/// Passes a body through and, at its end, checks its length, its SHA-256 (when x-amz-content-sha256 gave one) and its
/// Content-MD5 (when sent); it always computes the MD5, the ETag S3 clients expect of a single-part upload.
/// </summary>
public sealed class CheckedStream(Stream inner, string? sha256, string? md5, long? length) : ReadOnlyStream
{
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash? _sha256 = sha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;

    /// <summary>The body's MD5 (hex), once it was read to its end.</summary>
    public string? Md5 { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        if (Md5 is not null) return 0;
        var n = inner.Read(buffer);
        if (n == 0)
        {
            Finish();
            return 0;
        }
        _read += n;
        _md5.AppendData(buffer[..n]);
        _sha256?.AppendData(buffer[..n]);
        return n;
    }

    private void Finish()
    {
        if (length is { } expected && _read != expected)
            throw new S3Exception("IncompleteBody", 400, $"The body has {_read} bytes; the request said {expected}.");
        if (_sha256 is not null && Convert.ToHexStringLower(_sha256.GetHashAndReset()) != sha256)
            throw new S3Exception("XAmzContentSHA256Mismatch", 400, "The body's SHA-256 is not the x-amz-content-sha256 the request was signed with.");
        var digest = Convert.ToHexStringLower(_md5.GetHashAndReset());
        if (md5 is not null && digest != md5)
            throw new S3Exception("BadDigest", 400, "The Content-MD5 you specified did not match what we received.");
        Md5 = digest;
    }

    /// <summary>Reads the rest (a small XML request) as text, checked like any body.</summary>
    public string ReadText()
    {
        using var reader = new StreamReader(this, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5.Dispose();
            _sha256?.Dispose();
        }
        base.Dispose(disposing);
    }
}
