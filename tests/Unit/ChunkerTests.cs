using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

public class ChunkerTests
{
    private static readonly Chunker Small = new(min: 2 * 1024, average: 8 * 1024, max: 32 * 1024);

    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static List<byte[]> Chunks(Chunker chunker, byte[] data)
    {
        var result = new List<byte[]>();
        chunker.Split(new MemoryStream(data), c => result.Add(c.ToArray()));
        return result;
    }

    [Fact]
    public void ChunksReassembleToTheInputAndRespectLimits()
    {
        var data = Random(1_000_000, 1);
        var chunks = Chunks(Small, data);
        Assert.Equal(data, chunks.SelectMany(c => c).ToArray());
        Assert.All(chunks.SkipLast(1), c => Assert.InRange(c.Length, Small.Min, Small.Max));
        var average = data.Length / (double)chunks.Count;
        Assert.InRange(average, Small.Average / 2.0, Small.Average * 2.0);
    }

    [Fact]
    public void BoundariesAreStableUnderAnInsert()
    {
        var data = Random(1_000_000, 2);
        var edited = data.Take(500_000).Concat(new byte[] { 1, 2, 3, 4, 5 }).Concat(data.Skip(500_000)).ToArray();
        var before = Chunks(Small, data).Select(c => ContentHash.Of(c)).ToHashSet();
        var after = Chunks(Small, edited).Select(c => ContentHash.Of(c)).ToList();
        var changed = after.Count(h => !before.Contains(h));
        // An insert disturbs the chunk it lands in (and perhaps its neighbour), not the rest.
        Assert.InRange(changed, 1, 3);
        Assert.True(after.Count > 50);
    }

    [Fact]
    public void SplitIsDeterministicAcrossBufferSizes()
    {
        var data = Random(300_000, 3);
        var direct = Chunks(Small, data).Select(c => ContentHash.Of(c)).ToList();
        var trickled = new List<string>();
        Small.Split(new TrickleStream(data), c => trickled.Add(ContentHash.Of(c.Span)));
        Assert.Equal(direct, trickled);
    }

    [Fact]
    public void ContentHashIsSha256Hex()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ContentHash.Of("abc"u8));
    }

    /// <summary>Returns at most 1,000 bytes per read, like a slow network stream.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1000));
    }
}
