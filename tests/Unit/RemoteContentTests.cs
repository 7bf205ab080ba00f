using PachPS.Engine;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>How content moves to and from a remote store (S3): requests saved without giving up deduplication.</summary>
public sealed class RemoteContentTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ANewLargeFileIsWrittenWithoutAskingForEveryChunkAndTheSameBytesAgainAreFoundNotWritten()
    {
        var objects = new CountingRemoteObjects(new LocalObjectStore(Path.Combine(_folder, "objects")));
        using var store = PachStore.Open(_folder, objects);
        store.Pfs.CreateRepo("data");
        var big = TempStore.RandomBytes(40 * 1024 * 1024, 7);

        store.Pfs.PutFiles("data", "master", [TempStore.Bytes("/big", big)]);
        var chunks = objects.List(ContentStore.ChunkPrefix).Count();
        Assert.True(chunks > 20, $"40 MiB of random bytes is {chunks} chunks");
        Assert.Equal(chunks, objects.ChunkPuts);
        // Once two chunks in a row were new the rest are not asked about: the 18th chunk starts after two of the first
        // 16 in flight have ended.
        Assert.InRange(objects.ChunkChecks, 2, 17);

        objects.Reset();
        store.Pfs.PutFiles("data", "master", [TempStore.Bytes("/again", big)]);
        Assert.Equal(0, objects.ChunkPuts);
        Assert.Equal(chunks, objects.ChunkChecks);
        Assert.Equal(chunks, objects.List(ContentStore.ChunkPrefix).Count());

        var (_, stream) = store.Pfs.OpenFile("data", "master", "/again");
        using (stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            Assert.Equal(big, copy.ToArray());
        }
        Assert.Empty(store.Check());
    }

    [Fact]
    public void SmallFilesOfOnePackReadAtOnceFetchThePackOnce()
    {
        var objects = new CountingRemoteObjects(new LocalObjectStore(Path.Combine(_folder, "objects")));
        var files = Enumerable.Range(0, 200).Select(i => (Path: $"/f{i}", Data: TempStore.RandomBytes(1024, i))).ToList();
        using (var writing = PachStore.Open(_folder, objects))
        {
            writing.Pfs.CreateRepo("small");
            writing.Pfs.PutFiles("small", "master", files.Select(f => TempStore.Bytes(f.Path, f.Data)).ToList());
        }
        Assert.Single(objects.List(ContentStore.PackPrefix));

        // A fresh session (nothing cached); each pack GET takes a while, so readers that start together all miss.
        objects.Reset();
        objects.PackDelay = TimeSpan.FromMilliseconds(200);
        using var store = PachStore.Open(_folder, objects);
        var read = new byte[files.Count][];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var (_, stream) = store.Pfs.OpenFile("small", "master", files[i].Path);
            using (stream)
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                read[i] = copy.ToArray();
            }
        });
        Assert.Equal(files.Select(f => f.Data), read);
        Assert.Equal(1, objects.PackGets);
    }

    /// <summary>A local folder that says it is remote (as S3 is) and counts what a writer and a reader ask of it.</summary>
    private sealed class CountingRemoteObjects(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        private int _chunkPuts, _chunkChecks, _packGets;
        public int ChunkPuts => Volatile.Read(ref _chunkPuts);
        public int ChunkChecks => Volatile.Read(ref _chunkChecks);
        public int PackGets => Volatile.Read(ref _packGets);
        public TimeSpan PackDelay { get; set; }

        public void Reset()
        {
            Interlocked.Exchange(ref _chunkPuts, 0);
            Interlocked.Exchange(ref _chunkChecks, 0);
            Interlocked.Exchange(ref _packGets, 0);
        }

        public override void Put(string key, ReadOnlySpan<byte> data)
        {
            if (key.StartsWith(ContentStore.ChunkPrefix, StringComparison.Ordinal)) Interlocked.Increment(ref _chunkPuts);
            Inner.Put(key, data);
        }

        public override bool Exists(string key)
        {
            if (key.StartsWith(ContentStore.ChunkPrefix, StringComparison.Ordinal)) Interlocked.Increment(ref _chunkChecks);
            return Inner.Exists(key);
        }

        public override byte[] Get(string key)
        {
            if (key.StartsWith(ContentStore.PackPrefix, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _packGets);
                Thread.Sleep(PackDelay);
            }
            return Inner.Get(key);
        }

        public override bool IsRemote => true;
        public override string Description => "remote " + Inner.Description;
    }
}
