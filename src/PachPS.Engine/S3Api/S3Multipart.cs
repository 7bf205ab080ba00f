using PachPS.Engine.Storage;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace PachPS.Engine.S3Api;

/// <summary>A multipart upload in progress: where it goes and where its parts are staged.</summary>
public sealed record S3Upload(string Id, string Bucket, string Key, DateTimeOffset Created)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string Folder { get; init; } = "";
}

/// <summary>
/// Multipart uploads staged on disk, under &lt;root&gt;/&lt;upload id&gt;/ (one file per part and its MD5), never in memory; completing one reads the parts in order as one stream into one commit. A part's file is
/// named by its number and MD5 (00001.&lt;md5&gt;.part) and appears by one rename, so a part and its ETag never disagree.
/// </summary>
public sealed class S3Multipart(string root)
{
    private readonly string _root = root;

    public S3Upload Create(string bucket, string key)
    {
        var upload = new S3Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), bucket, key, DateTimeOffset.UtcNow);
        var folder = Directory.CreateDirectory(Path.Combine(_root, upload.Id)).FullName;
        File.WriteAllText(Path.Combine(folder, "upload.json"), JsonSerializer.Serialize(upload));
        return upload with { Folder = folder };
    }

    /// <summary>The upload with this id, for this bucket and key; else NoSuchUpload.</summary>
    public S3Upload Find(string id, string bucket, string key)
    {
        var folder = Path.Combine(_root, id);
        var file = Path.Combine(folder, "upload.json");
        S3Upload? upload = id.Length == 32 && id.All(char.IsAsciiHexDigitLower) && File.Exists(file) ? JsonSerializer.Deserialize<S3Upload>(File.ReadAllText(file)) : null;
        if (upload is null || upload.Bucket != bucket || upload.Key != key)
            throw new S3Exception("NoSuchUpload", 404, "The specified upload does not exist: it was completed or aborted, or is of another key.");
        return upload with { Folder = folder };
    }

    /// <summary>Stages a part (replacing one of the same number) and returns its MD5, the part's ETag.</summary>
    public string PutPart(S3Upload upload, int number, CheckedStream body)
    {
        if (number is < 1 or > 10000) throw new S3Exception("InvalidArgument", 400, "Part numbers are 1 to 10000.");
        var tmp = Path.Combine(upload.Folder, Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var file = File.Create(tmp)) body.CopyTo(file);
            foreach (var old in Directory.EnumerateFiles(upload.Folder, Number(number) + ".*.part")) File.Delete(old);
            File.Move(tmp, PartFile(upload, number, body.Md5!), overwrite: true);
            return body.Md5!;
        }
        finally { File.Delete(tmp); }
    }

    /// <summary>
    /// The parts a completion names, checked (ascending numbers, each staged with that ETag), as one stream, and the
    /// ETag S3 gives the result: the MD5 of the parts' MD5s, a dash and the number of parts.
    /// </summary>
    public (Stream Content, string ETag) Assemble(S3Upload upload, List<(int Number, string ETag)> parts)
    {
        if (parts.Count == 0) throw new S3Exception("MalformedXML", 400, "The completion names no part.");
        var digests = new List<byte[]>();
        for (var i = 0; i < parts.Count; i++)
        {
            if (i > 0 && parts[i].Number <= parts[i - 1].Number)
                throw new S3Exception("InvalidPartOrder", 400, "The list of parts was not in ascending order.");
            var md5 = parts[i].ETag.Trim('"');
            if (md5.Length != 32 || !md5.All(char.IsAsciiHexDigitLower) || !File.Exists(PartFile(upload, parts[i].Number, md5)))
                throw new S3Exception("InvalidPart", 400, $"Part {parts[i].Number} was not uploaded, or its ETag is not {parts[i].ETag}.");
            digests.Add(Convert.FromHexString(md5));
        }
        var etag = Convert.ToHexStringLower(MD5.HashData(digests.SelectMany(d => d).ToArray())) + "-" + parts.Count.ToString(CultureInfo.InvariantCulture);
        return (new PartsStream(parts.Select(p => PartFile(upload, p.Number, p.ETag.Trim('"'))).ToList()), etag);
    }

    public void Remove(S3Upload upload)
    {
        try { Directory.Delete(upload.Folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    private static string PartFile(S3Upload upload, int number, string md5) => Path.Combine(upload.Folder, $"{Number(number)}.{md5}.part");

    private static string Number(int number) => number.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>Part files read one after another.</summary>
    private sealed class PartsStream(List<string> files) : ReadOnlyStream
    {
        private int _next;
        private FileStream? _current;

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (_current is null)
                {
                    if (_next == files.Count) return 0;
                    _current = File.OpenRead(files[_next++]);
                }
                var n = _current.Read(buffer);
                if (n > 0) return n;
                _current.Dispose();
                _current = null;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _current?.Dispose();
            base.Dispose(disposing);
        }
    }
}
