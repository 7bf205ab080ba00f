using System.Buffers;
using System.Runtime.CompilerServices;

namespace PachPS.Engine.Storage;

/// <summary>
/// Content-defined chunking with a Gear rolling hash and FastCDC's normalized cut points: boundaries depend on the
/// bytes around them, so an insert changes the chunks it touches and a few after them, until a cut lands on an old
/// one again (each further chunk stays out of line with a probability of about a half, as a shifted start can move a
/// cut under the minimum or into the stricter mask's stretch: 1.1 chunks on average, measured by ChunkerPropertyTests).
/// </summary>
public sealed class Chunker
{
    public const int DefaultMin = 256 * 1024;
    public const int DefaultAverage = 1024 * 1024;
    public const int DefaultMax = 4 * 1024 * 1024;

    private static readonly ulong[] Gear = BuildGear();
    private readonly ulong _maskSmall;
    private readonly ulong _maskLarge;

    public Chunker(int min = DefaultMin, int average = DefaultAverage, int max = DefaultMax)
    {
        if (min <= 0 || average <= min || max <= average) throw new ArgumentException("Chunk sizes must satisfy 0 < min < average < max.");
        Min = min;
        Average = average;
        Max = max;
        var bits = (int)Math.Round(Math.Log2(average));
        _maskSmall = TopBits(bits + 2);
        _maskLarge = TopBits(bits - 2);
    }

    public int Min { get; }
    public int Average { get; }
    public int Max { get; }

    /// <summary>Length of the first chunk of <paramref name="data"/>; <paramref name="final"/> says no more bytes follow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int NextBoundary(ReadOnlySpan<byte> data)
    {
        var n = Math.Min(data.Length, Max);
        if (n <= Min) return n;
        var normal = Math.Min(Average, n);
        ulong h = 0;
        var i = Min;
        ref var gear = ref Gear[0];
        for (; i < normal; i++)
        {
            h = (h << 1) + Unsafe.Add(ref gear, data[i]);
            if ((h & _maskSmall) == 0) return i + 1;
        }
        for (; i < n; i++)
        {
            h = (h << 1) + Unsafe.Add(ref gear, data[i]);
            if ((h & _maskLarge) == 0) return i + 1;
        }
        return n;
    }

    /// <summary>Streams <paramref name="source"/> as chunks; each span is valid until the next one is produced.</summary>
    public void Split(Stream source, Action<ReadOnlyMemory<byte>> onChunk)
    {
        // A small file needs a buffer of its own size, not 2 x Max: most ingests are many small files.
        var size = source.CanSeek ? (int)Math.Min(Max * 2L, Math.Max(4096, source.Length - source.Position + 1)) : Max * 2;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try { Split(source, buffer, onChunk); }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private void Split(Stream source, byte[] buffer, Action<ReadOnlyMemory<byte>> onChunk)
    {
        int start = 0, end = 0;
        var eof = false;
        while (true)
        {
            if (!eof && end - start < Max)
            {
                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                while (end < buffer.Length)
                {
                    var read = source.Read(buffer, end, buffer.Length - end);
                    if (read == 0) { eof = true; break; }
                    end += read;
                }
            }
            if (start == end) return;
            var cut = NextBoundary(buffer.AsSpan(start, end - start));
            onChunk(buffer.AsMemory(start, cut));
            start += cut;
        }
    }

    private static ulong TopBits(int count) => count <= 0 ? 0 : ulong.MaxValue << (64 - count);

    private static ulong[] BuildGear()
    {
        // SplitMix64 from a fixed seed: the table (and so every boundary) is the same in every process and version.
        var table = new ulong[256];
        ulong state = 0x5041434850530001UL;
        for (var i = 0; i < table.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            table[i] = z ^ (z >> 31);
        }
        return table;
    }
}
