using System.Globalization;

namespace PachPS.Engine.S3Api;

/// <summary>
/// What the S3 protocol reads of an HTTP request, whichever web server received it (the service's, or a job's
/// loopback listener): SigV4 signs these parts, and a body is read from <see cref="Body"/>.
/// </summary>
public interface IS3Request
{
    string Method { get; }

    /// <summary>The path and query as the client sent them, still percent-encoded.</summary>
    string RawTarget { get; }

    /// <summary>The Host header (with its port, as sent).</summary>
    string Host { get; }

    /// <summary>The values of a header; none when it is absent.</summary>
    IReadOnlyList<string> Header(string name);

    /// <summary>A query parameter's first value, decoded; null when it is absent (empty when given without a value).</summary>
    string? Query(string name);

    Stream Body { get; }

    long? ContentLength { get; }
}

/// <summary>Reading an <see cref="IS3Request"/> the way S3 requests are read.</summary>
public static class S3Requests
{
    public static string? FirstHeader(this IS3Request request, string name) => request.Header(name) is [var first, ..] ? first : null;

    public static bool Has(this IS3Request request, string query) => request.Query(query) is not null;

    /// <summary>The bucket and key a path-style request names below <paramref name="prefix"/> (an encoded '/' in a key stays part of the key).</summary>
    public static (string Bucket, string Key) Target(this IS3Request request, string prefix = "")
    {
        var path = request.RawTarget.Split('?', 2)[0][prefix.Length..].TrimStart('/');
        var slash = path.IndexOf('/');
        return slash < 0 ? (Uri.UnescapeDataString(path), "") : (Uri.UnescapeDataString(path[..slash]), Uri.UnescapeDataString(path[(slash + 1)..]));
    }

    /// <summary>One range of S3's forms: bytes=a-b, bytes=a- or bytes=-n (the last n bytes), as a start and a length.</summary>
    public static (long Start, long Length) Range(string header, long size)
    {
        var spec = header.StartsWith("bytes=", StringComparison.Ordinal) ? header["bytes=".Length..] : null;
        var dash = spec?.IndexOf('-') ?? -1;
        if (spec is null || dash < 0 || spec.Contains(','))
            throw new S3Exception("InvalidArgument", 400, $"The range '{header}' is not bytes=a-b, bytes=a- or bytes=-n (one range).");
        long.TryParse(spec[..dash], CultureInfo.InvariantCulture, out var first);
        var hasFirst = dash > 0;
        var hasLast = long.TryParse(spec[(dash + 1)..], CultureInfo.InvariantCulture, out var last);
        var (start, end) = hasFirst ? (first, hasLast ? Math.Min(last, size - 1) : size - 1) : (Math.Max(0, size - last), size - 1);
        if (!hasFirst && !hasLast || start >= size || end < start)
            throw new S3Exception("InvalidRange", 416, $"The requested range is not satisfiable: the object has {size} bytes.");
        return (start, end - start + 1);
    }

    /// <summary>
    /// Writes <paramref name="length"/> bytes of <paramref name="content"/> from <paramref name="start"/> (a GetObject's
    /// range) to <paramref name="to"/>; a content stream that cannot seek is read up to the range first.
    /// </summary>
    public static async Task CopyRangeAsync(Stream content, long start, long length, Stream to, string key, CancellationToken cancel)
    {
        var buffer = new byte[81920];
        if (content.CanSeek) content.Seek(start, SeekOrigin.Begin);
        else
        {
            for (var skip = start; skip > 0;)
            {
                var n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, skip)), cancel);
                if (n == 0) break;
                skip -= n;
            }
        }
        for (var left = length; left > 0;)
        {
            var n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancel);
            if (n == 0) throw new IOException($"'{key}' ended before its size.");
            await to.WriteAsync(buffer.AsMemory(0, n), cancel);
            left -= n;
        }
    }

    /// <summary>ListObjects(V2)'s paging arguments: prefix, delimiter, max-keys (at most <paramref name="maxKeys"/>) and where to start.</summary>
    public static S3ListRequest ListArguments(this IS3Request request, int maxKeys)
    {
        var v2 = request.Query("list-type") == "2";
        var prefix = request.Query("prefix") ?? "";
        var delimiter = request.Query("delimiter") is { Length: > 0 } d ? d : null;
        var max = request.Query("max-keys") is { } text
            ? int.TryParse(text, CultureInfo.InvariantCulture, out var n) && n >= 0 ? Math.Min(n, maxKeys) : throw new S3Exception("InvalidArgument", 400, "max-keys must be a number from 0.")
            : maxKeys;
        var token = request.Query("continuation-token");
        var startAfter = request.Query("start-after");
        var marker = request.Query("marker");
        string? after;
        if (!v2) after = marker;
        else if (token is null) after = startAfter;
        else
        {
            try { after = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token)); }
            catch (FormatException) { throw new S3Exception("InvalidArgument", 400, "The continuation token is not one this server gave."); }
        }
        return new S3ListRequest(v2, prefix, delimiter, max, token, startAfter, marker, after, request.Query("encoding-type") == "url");
    }

    /// <summary>One page of a listing answered as ListBucketResult XML.</summary>
    public static string ListXml(this S3ListRequest list, string bucket, IReadOnlyList<S3Object> sorted) =>
        S3Xml.ListObjects(bucket, S3Paging.Page(sorted, list.Prefix, list.Delimiter, list.After, list.MaxKeys), list.V2, list.Prefix,
            list.Delimiter, list.MaxKeys, list.ContinuationToken, list.StartAfter, list.Marker, list.EncodeUrl);
}

/// <summary>What a ListObjects or ListObjectsV2 request asks for; <see cref="After"/> is the key (or prefix) the page starts after.</summary>
public sealed record S3ListRequest(bool V2, string Prefix, string? Delimiter, int MaxKeys, string? ContinuationToken, string? StartAfter,
    string? Marker, string? After, bool EncodeUrl);
