using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>The local object store's flush to disk.</summary>
public class LocalObjectStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pachps-objects-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(64 << 20)] // from 64 MiB on, Linux flushes the whole file system with one syncfs on the store's folder
    public void ABatchIsFlushedWhateverItsSize(int length)
    {
        var store = new LocalObjectStore(_folder);
        store.Put("chunk/ab12", "data"u8);
        store.Sync([("chunk/ab12", length)]);
        Assert.Equal("data"u8.ToArray(), store.Get("chunk/ab12"));
    }
}
