using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    /// <summary>Length of the first chunk of <paramref name="data"/> (all of it when no cut comes before its end).</summary>
    /// <remarks>
    /// The cut test runs at every byte, so this loop is a fifth of an ingest's CPU: it reads without bounds checks (every
    /// index is under <c>n</c>, at most the span's length) and takes two bytes a step, which the JIT would not do itself
    /// (1 GiB: 0.5 against 0.9 s). The cuts are exactly those of one byte a step (ChunkerTests pins them): stored
    /// chunks must keep deduplicating against new ones.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int NextBoundary(ReadOnlySpan<byte> data)
    {
        var n = Math.Min(data.Length, Max);
        if (n <= Min) return n;
        ref var gear = ref Gear[0];
        ref var bytes = ref MemoryMarshal.GetReference(data);
        ulong h = 0;
        nint i = Min;
        // Normalized chunking: the stricter mask up to the average size, the looser one after it.
        nint end = Math.Min(Average, n);
        var mask = _maskSmall;
        while (true)
        {
            for (; i + 1 < end; i += 2)
            {
                h = (h << 1) + Unsafe.Add(ref gear, (nint)Unsafe.Add(ref bytes, i));
                if ((h & mask) == 0) return (int)i + 1;
                h = (h << 1) + Unsafe.Add(ref gear, (nint)Unsafe.Add(ref bytes, i + 1));
                if ((h & mask) == 0) return (int)i + 2;
            }
            if (i < end)
            {
                h = (h << 1) + Unsafe.Add(ref gear, (nint)Unsafe.Add(ref bytes, i));
                if ((h & mask) == 0) return (int)i + 1;
                i++;
            }
            if (end == n) return n;
            end = n;
            mask = _maskLarge;
        }
    }

    /// <summary>The Gear table's entry for a byte (the reference chunking in the tests uses it).</summary>
    internal static ulong GearOf(byte value) => Gear[value];

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
