using System.Diagnostics;
using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>Stopping the shared S3 server must not run beside other tests: this collection runs alone, last.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class S3ServerCollection
{
    public const string Name = "S3 server faults";
}

/// <summary>The S3 server goes away in the middle of an ingest, then comes back.</summary>
[Collection(S3ServerCollection.Name)]
public class S3FaultTests
{
    [SkippableFact]
    public void AnIngestThatLosesTheServerFailsCleanlyAndSucceedsOnceItIsBack()
    {
        using var t = new TempStore(TempStore.S3);
        t.Pfs.CreateRepo("data");
        t.Put("data", "/before.txt", "kept");
        var data = new byte[24 * 1024 * 1024];
        new Random(11).NextBytes(data);
        var stopped = false;
        try
        {
            // The source stops the server once 8 MiB have been read: the ingest is then in full flight.
            var source = new FileSource("/big.bin", () => new TriggerStream(data, 8 * 1024 * 1024, () => { Run("stop-rgw.sh", "--rgw-only"); stopped = true; }), "big.bin");
            var ex = Assert.Throws<PachException>(() => t.Pfs.PutFiles("data", "master", [source]));
            Assert.True(stopped);
            Assert.Equal("ObjectStoreUnavailable", ex.ErrorId);
            Assert.Contains("127.0.0.1", ex.Message);
        }
        finally
        {
            if (stopped) Run("restart-rgw.sh");
        }
        Assert.Single(t.Pfs.ListCommits("data"));
        Assert.Empty(t.Store.Check());
        t.Pfs.PutFiles("data", "master", [new FileSource("/big.bin", () => new MemoryStream(data), "big.bin")]);
        var (_, stream) = t.Pfs.OpenFile("data", "master", "/big.bin");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        Assert.Equal(data, copy.ToArray());
        Assert.Empty(t.Store.Check());
    }

    private static void Run(string script, string args = "")
    {
        using var p = Process.Start(new ProcessStartInfo("bash", $"{Path.Combine(S3Server.Scripts, script)} {args}") { RedirectStandardOutput = true })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private sealed class TriggerStream(byte[] data, int at, Action trigger) : MemoryStream(data, writable: false)
    {
        private bool _fired;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_fired && Position >= at)
            {
                _fired = true;
                trigger();
            }
            return base.Read(buffer, offset, count);
        }
    }
}

public class S3ObjectStoreTests
{
    [SkippableFact]
    public void LargeObjectsGoUpInPartsAndRangesComeBackExactly()
    {
        using var t = new TempStore(TempStore.S3);
        var objects = t.Store.Objects;
        var data = new byte[20 * 1024 * 1024]; // above the 16 MiB multipart threshold
        new Random(3).NextBytes(data);
        var before = objects.Requests;
        objects.Put("chunk/multipart-test", data);
        Assert.True(objects.Requests - before >= 3, "a multipart upload is several requests");
        Assert.True(objects.Exists("chunk/multipart-test"));
        Assert.Equal(data, objects.Get("chunk/multipart-test"));
        Assert.Equal(data.AsSpan(12_345_678, 1000).ToArray(), objects.GetRange("chunk/multipart-test", 12_345_678, 1000));
        Assert.Contains("chunk/multipart-test", objects.List("chunk/"));
        objects.Delete("chunk/multipart-test");
        Assert.False(objects.Exists("chunk/multipart-test"));
        Assert.Equal("ObjectMissing", Assert.Throws<PachException>(() => objects.Get("chunk/multipart-test")).ErrorId);
    }

    [SkippableFact]
    public void ReadIntoFillsTheCallersBufferFromAnOffsetAndStopsAtTheObjectsEnd()
    {
        using var t = new TempStore(TempStore.S3);
        var objects = t.Store.Objects;
        var data = TempStore.RandomBytes(3000, 11);
        objects.Put("chunk/read-into-test", data);

        var buffer = new byte[5000];
        Assert.Equal(2000, objects.ReadInto("chunk/read-into-test", 1000, buffer));
        Assert.Equal(data.AsSpan(1000).ToArray(), buffer.AsSpan(0, 2000).ToArray());
        Assert.Equal(500, objects.ReadInto("chunk/read-into-test", 0, buffer.AsSpan(0, 500)));
        Assert.Equal(data.AsSpan(0, 500).ToArray(), buffer.AsSpan(0, 500).ToArray());
        Assert.Equal(0, objects.ReadInto("chunk/read-into-test", 3000, buffer));
        Assert.Equal(data, objects.Get("chunk/read-into-test"));
        Assert.Equal("ObjectMissing", Assert.Throws<PachException>(() => objects.ReadInto("chunk/read-into-missing", 0, buffer)).ErrorId);
    }
}
