using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>An object store passing everything to another; tests override what they watch or break.</summary>
internal class ForwardingObjectStore(IObjectStore inner) : IObjectStore
{
    /// <summary>The store everything is passed to.</summary>
    protected IObjectStore Inner => inner;

    public virtual void Put(string key, ReadOnlySpan<byte> data) => inner.Put(key, data);
    public virtual void Sync(IReadOnlyCollection<(string Key, int Length)> objects) => inner.Sync(objects);
    public virtual byte[] Get(string key) => inner.Get(key);
    public byte[] GetRange(string key, long offset, int length) => inner.GetRange(key, offset, length);
    public virtual bool Exists(string key) => inner.Exists(key);
    public IEnumerable<string> List(string prefix) => inner.List(prefix);
    public IEnumerable<StoredObject> ListDetailed(string prefix) => inner.ListDetailed(prefix);
    public void Delete(string key) => inner.Delete(key);
    public void DeleteMany(IReadOnlyCollection<string> keys) => inner.DeleteMany(keys);
    public (long Bytes, long Count) Usage() => inner.Usage();
    public virtual bool IsRemote => inner.IsRemote;
    public long Requests => inner.Requests;
    public virtual string Description => inner.Description;
}
