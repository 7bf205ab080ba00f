namespace PachPS.Engine.Storage;

/// <summary>Immutable blobs by key. Put is atomic and durable when it returns; a key is never rewritten with other bytes.</summary>
public interface IObjectStore
{
    /// <summary>Writes an object; it is durable (survives a crash of the machine) once <see cref="Sync"/> has covered it.</summary>
    void Put(string key, ReadOnlySpan<byte> data);
    /// <summary>Makes these objects (key and size) durable; called before metadata refers to them.</summary>
    void Sync(IReadOnlyCollection<(string Key, int Length)> objects) { }
    byte[] Get(string key);
    byte[] GetRange(string key, long offset, int length);
    /// <summary>
    /// Reads <paramref name="destination"/>'s length of an object from <paramref name="offset"/> into it, returning how
    /// many bytes there were (fewer at the object's end): a read into a buffer the caller reuses. By default through
    /// <see cref="GetRange"/>.
    /// </summary>
    int ReadInto(string key, long offset, Span<byte> destination)
    {
        var data = GetRange(key, offset, destination.Length);
        data.CopyTo(destination);
        return data.Length;
    }
    bool Exists(string key);
    IEnumerable<string> List(string prefix);
    /// <summary>
    /// Objects under a prefix with their size and last write time (what a collection needs to count and to spare
    /// what was written after it started). Stores that cannot tell report size -1 and no time.
    /// </summary>
    IEnumerable<StoredObject> ListDetailed(string prefix) => List(prefix).Select(key => new StoredObject(key, -1, null));
    void Delete(string key);
    /// <summary>Deletes several objects (one request per thousand on S3); a key already gone is not an error.</summary>
    void DeleteMany(IReadOnlyCollection<string> keys)
    {
        foreach (var key in keys) Delete(key);
    }
    /// <summary>Physical bytes and object count.</summary>
    (long Bytes, long Count) Usage();
    /// <summary>True when every call is a network round trip (reads are then batched and prefetched).</summary>
    bool IsRemote { get; }
    /// <summary>Requests sent to a remote store so far (0 for a local one).</summary>
    long Requests { get; }
    /// <summary>Where the objects are, for people.</summary>
    string Description { get; }
}

/// <summary>One stored object as a listing shows it: key, size in bytes, and when it was written (UTC).</summary>
public sealed record StoredObject(string Key, long Size, DateTime? Written);

/// <summary>An object store that can hand out time-limited URLs for single objects (S3 presigned URLs).</summary>
public interface IPresigningObjectStore
{
    Uri Presign(string key, bool put, TimeSpan lifetime);
}
