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
    public void CutsStayWhereEveryEarlierVersionPutThem()
    {
        // Stored chunks deduplicate against new ones only while the same bytes are cut in the same places: these offsets
        // were taken from the chunker before its loop was unrolled, and must never change.
        var data = Random(12 << 20, 19);
        Assert.Equal([0, 1052540, 3021893, 4148177, 4586594, 5664688, 6754537, 7813059, 9050341, 10293253, 11448088, 12582912], Offsets(new Chunker(), data));
        Assert.Equal([0, 1270, 2767, 3954, 4925, 5982, 7043, 7378, 8474, 9890, 11059, 13374, 14521, 16578, 17798, 19331, 20000],
            Offsets(new Chunker(min: 256, average: 1024, max: 4096), Random(20000, 5)));
    }

    [Fact]
    public void CutsAreThoseOfTheGearHashTakenOneByteAtATime()
    {
        // Every length around the loop's limits (odd and even, at min, average and max) and text-like bytes, whose
        // windows repeat, against the definition: h = 2h + Gear[byte] from min on, cut where the mask's bits are all 0.
        var chunker = new Chunker(min: 64, average: 256, max: 1024);
        var random = new Random(23);
        for (var trial = 0; trial < 3000; trial++)
        {
            var data = new byte[random.Next(0, 1400)];
            random.NextBytes(data);
            if (trial % 3 == 0) for (var i = 0; i < data.Length; i++) data[i] = (byte)"ACGT"[data[i] & 3];
            Assert.Equal(ReferenceBoundary(chunker, data), chunker.NextBoundary(data));
        }
    }

    private static int ReferenceBoundary(Chunker chunker, byte[] data)
    {
        var n = Math.Min(data.Length, chunker.Max);
        if (n <= chunker.Min) return n;
        var bits = (int)Math.Round(Math.Log2(chunker.Average));
        ulong h = 0;
        for (var i = chunker.Min; i < n; i++)
        {
            h = (h << 1) + Chunker.GearOf(data[i]);
            var maskBits = i < chunker.Average ? bits + 2 : bits - 2;
            if ((h & (ulong.MaxValue << (64 - maskBits))) == 0) return i + 1;
        }
        return n;
    }

    private static List<long> Offsets(Chunker chunker, byte[] data)
    {
        var cuts = new List<long> { 0 };
        chunker.Split(new MemoryStream(data), c => cuts.Add(cuts[^1] + c.Length));
        return cuts;
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
