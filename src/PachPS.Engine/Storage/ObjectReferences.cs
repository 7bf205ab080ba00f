using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PachPS.Engine.Storage;

/// <summary>
/// Files whose bytes stay in a bucket of someone else's (Import-PachObject -Reference): a tree names such a file's
/// content as pieces of the object, each a <see cref="ChunkRef"/> whose object key starts with <see cref="Prefix"/>
/// and records where the object is and the version imported (ETag, and VersionId where the bucket keeps versions).
/// The object is never copied: a read asks S3 for that range of that version only, so a source that moved fails with
/// ReferencedObjectChanged instead of giving other bytes. Hashes of such content are derived from the location and
/// version, not the bytes (which were never read): the same version imported twice is the same content, a new one is
/// new content, and datums over it rerun. A collection never deletes these (they are not the store's objects).
/// </summary>
public sealed class ObjectReferences(IObjectStore storeObjects) : IDisposable
{
    /// <summary>What every referenced piece's object key starts with; no object of a store's own does.</summary>
    public const string Prefix = "ref:";
    /// <summary>Bytes per piece: what one read fetches (and what read-ahead holds) at a time.</summary>
    public const int PieceSize = 8 * 1024 * 1024;

    private readonly Dictionary<(string? Endpoint, string? Region, string? Profile, string Bucket), S3ObjectStore> _buckets = [];

    public static bool Is(ChunkRef chunk) => Is(chunk.Object);

    public static bool Is(string objectKey) => objectKey.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The content of a file that refers to one version of an object: its pieces, in order.</summary>
    public static FileContent Content(S3Location location, S3Entry entry)
    {
        if (entry.Size == 0) return new FileContent(0, ContentHash.Of([]), []);
        var key = Prefix + JsonSerializer.Serialize(new[] { location.Endpoint, location.Region, location.Profile, location.Bucket, entry.Key, entry.ETag, entry.VersionId });
        var pieces = new List<ChunkRef>((int)((entry.Size + PieceSize - 1) / PieceSize));
        for (var offset = 0L; offset < entry.Size; offset += PieceSize)
            pieces.Add(new ChunkRef(Derived($"{key}\0{offset}"), key, offset, (int)Math.Min(PieceSize, entry.Size - offset)));
        return new FileContent(entry.Size, Derived($"{key}\0{entry.Size}"), pieces);
    }

    /// <summary>Where a referenced piece's object is and which version it must be.</summary>
    public static (S3Location Location, string ETag, string? VersionId) Parse(string objectKey)
    {
        string?[]? parts = null;
        try { parts = JsonSerializer.Deserialize<string?[]>(objectKey.AsSpan(Prefix.Length)); }
        catch (JsonException) { }
        if (parts is not { Length: 7 } || parts[3] is null || parts[4] is null || parts[5] is null)
            throw new PachException("ObjectCorrupt", PachErrorKind.InvalidData, $"The reference '{objectKey}' cannot be read: the store's metadata is damaged.", objectKey);
        return (new S3Location(parts[3]!, parts[4]!, parts[0], parts[1], parts[2]), parts[5]!, parts[6]);
    }

    /// <summary>The referenced URL of a piece, for people.</summary>
    public static string Describe(string objectKey) => Parse(objectKey).Location.ToString();

    /// <summary>Reads one piece into <paramref name="destination"/> (exactly its length), from the version it names.</summary>
    public void Read(ChunkRef piece, Span<byte> destination)
    {
        var (location, etag, version) = Parse(piece.Object);
        try
        {
            using var body = BucketOf(location).OpenRead(location.Key, piece.Offset, piece.Length, etag, version);
            var read = 0;
            while (read < destination.Length && body.Read(destination[read..]) is var n and > 0) read += n;
            if (read != piece.Length) throw Changed(location, etag, $"it holds fewer bytes than the {piece.Offset + piece.Length} recorded");
        }
        catch (PachException ex) when (ex.ErrorId is "ObjectChanged" or "ObjectMissing")
        {
            throw Changed(location, etag, ex.ErrorId == "ObjectMissing" ? "it is gone" : "it was overwritten", ex);
        }
        catch (IOException ex)
        {
            throw new PachException("ObjectStoreUnavailable", PachErrorKind.ResourceUnavailable, $"Reading '{location}' broke off: {ex.Message}", location.ToString(), ex);
        }
    }

    /// <summary>Whether the object a reference names is still the version recorded; the reason when it is not.</summary>
    public string? Check(string objectKey)
    {
        var (location, etag, version) = Parse(objectKey);
        try
        {
            var now = BucketOf(location).Head(location.Key);
            if (version is not null ? now.VersionId == version || VersionStillThere(location, etag, version) : now.ETag == etag) return null;
            return Changed(location, etag, "it was overwritten").Message;
        }
        catch (PachException ex) when (ex.ErrorId == "ObjectMissing")
        {
            return Changed(location, etag, "it is gone", ex).Message;
        }
    }

    // A versioned bucket keeps the imported version when a newer one is written: reads name the version, so they still work.
    private bool VersionStillThere(S3Location location, string etag, string version)
    {
        try
        {
            using var body = BucketOf(location).OpenRead(location.Key, 0, 1, etag, version);
            return true;
        }
        catch (PachException ex) when (ex.ErrorId is "ObjectChanged" or "ObjectMissing") { return false; }
    }

    /// <summary>A URL that reads the referenced object without credentials (a Kubernetes datum fetches its pieces by range).</summary>
    public Uri Presign(string objectKey, TimeSpan lifetime)
    {
        var (location, _, _) = Parse(objectKey);
        return BucketOf(location).Presign(location.Key, put: false, lifetime);
    }

    private S3ObjectStore BucketOf(S3Location location)
    {
        lock (_buckets)
        {
            var id = (location.Endpoint, location.Region, location.Profile, location.Bucket);
            if (!_buckets.TryGetValue(id, out var bucket)) _buckets[id] = bucket = S3ObjectStore.Open(location with { Key = "" }, storeObjects);
            return bucket;
        }
    }

    private static PachException Changed(S3Location location, string etag, string how, Exception? inner = null) => new("ReferencedObjectChanged",
        PachErrorKind.InvalidData, $"'{location}' was imported by reference at ETag {etag}, and {how} since: the file cannot be read. Import it again " +
        "(Import-PachObject -Reference) to record the version there now, or put the old version back.", location.ToString(), inner);

    private static string Derived(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("pachps-reference\0" + text)));

    public void Dispose()
    {
        lock (_buckets)
        {
            // The store's own client is shared by At(); the others are this instance's.
            foreach (var bucket in _buckets.Values) bucket.Dispose();
            _buckets.Clear();
        }
    }
}
