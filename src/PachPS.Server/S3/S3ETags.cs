using System.Collections.Concurrent;

namespace PachPS.Server.S3;

/// <summary>
/// The ETags objects had when they were uploaded through the gateway, by content hash: S3 clients compare a PUT's ETag
/// with the MD5 of what they sent, and PachPS addresses content by another hash. The same content always has the same
/// MD5, so one line per content hash in server/s3-etags.txt serves every repo and commit that holds it. Content written
/// otherwise (cmdlets, pipelines) has its PachPS hash and "-1" as ETag: clients take an ETag with a dash for a
/// multipart upload's, not an MD5, and do not compare it with the content (AWS's .NET SDK does for any other ETag).
/// </summary>
internal sealed class S3ETags
{
    private readonly string _file;
    private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public S3ETags(string storeFolder)
    {
        _file = Path.Combine(storeFolder, "server", "s3-etags.txt");
        if (!File.Exists(_file)) return;
        foreach (var line in File.ReadLines(_file))
            if (line.Split(' ') is [var hash, var etag]) _known[hash] = etag;
    }

    /// <summary>The ETag of content, quoted as S3 sends it.</summary>
    public string For(string? contentHash) =>
        contentHash is null ? "\"\"" : '"' + (_known.TryGetValue(contentHash, out var etag) ? etag : contentHash + "-1") + '"';

    /// <summary>Remembers the ETag (unquoted: an MD5, or a multipart upload's md5-of-md5s-n) of content just stored.</summary>
    public void Remember(string contentHash, string etag)
    {
        if (_known.TryGetValue(contentHash, out var known) && known == etag) return;
        lock (_gate)
        {
            File.AppendAllText(_file, $"{contentHash} {etag}\n");
            _known[contentHash] = etag;
        }
    }
}
