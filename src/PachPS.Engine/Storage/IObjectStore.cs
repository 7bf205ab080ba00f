namespace PachPS.Engine.Storage;

/// <summary>Immutable blobs by key. Put is atomic and durable when it returns; a key is never rewritten with other bytes.</summary>
public interface IObjectStore
{
    void Put(string key, ReadOnlySpan<byte> data);
    byte[] Get(string key);
    byte[] GetRange(string key, long offset, int length);
    bool Exists(string key);
    IEnumerable<string> List(string prefix);
    void Delete(string key);
    /// <summary>Physical bytes and object count.</summary>
    (long Bytes, long Count) Usage();
}
