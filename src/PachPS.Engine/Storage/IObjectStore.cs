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
    bool Exists(string key);
    IEnumerable<string> List(string prefix);
    void Delete(string key);
    /// <summary>Physical bytes and object count.</summary>
    (long Bytes, long Count) Usage();
    /// <summary>True when every call is a network round trip (reads are then batched and prefetched).</summary>
    bool IsRemote { get; }
    /// <summary>Requests sent to a remote store so far (0 for a local one).</summary>
    long Requests { get; }
    /// <summary>Where the objects are, for people.</summary>
    string Description { get; }
}

/// <summary>An object store that can hand out time-limited URLs for single objects (S3 presigned URLs).</summary>
public interface IPresigningObjectStore
{
    Uri Presign(string key, bool put, TimeSpan lifetime);
}
