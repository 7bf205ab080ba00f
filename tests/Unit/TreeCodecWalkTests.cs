using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>TreeCodec.Walk (a collection's mark reads nodes with it) reports what Decode reads and refuses what it refuses.</summary>
public class TreeCodecWalkTests
{
    private sealed class Recorder : TreeCodec.IVisitor
    {
        public readonly List<string> Seen = [];
        public void Child(ReadOnlySpan<byte> id) => Seen.Add(Convert.ToHexStringLower(id));
        public void Chunk(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> objectKey, long offset, int length) =>
            Seen.Add($"{Convert.ToHexStringLower(hash)} {System.Text.Encoding.UTF8.GetString(objectKey)} {offset} {length}");
    }

    private static List<string> Decoded(byte[] data) => TreeCodec.Decode(data) switch
    {
        PathTree.Internal inner => [.. inner.Children],
        PathTree.Leaf leaf => [.. leaf.Entries.SelectMany(e => e.Content.Chunks).Select(c => $"{c.Hash} {c.Object} {c.Offset} {c.Length}")],
        _ => throw new InvalidOperationException(),
    };

    private static List<string> Walked(byte[] data)
    {
        var recorder = new Recorder();
        TreeCodec.Walk(data, recorder);
        return recorder.Seen;
    }

    private static IEnumerable<byte[]> Nodes()
    {
        var rng = new Random(5);
        string Hash() => ContentHash.Of(BitConverter.GetBytes(rng.NextInt64()));
        ChunkRef Chunk() => rng.Next(2) == 0
            ? new ChunkRef(Hash(), ContentStore.PackPrefix + Hash(), rng.NextInt64(1L << 40), rng.Next(1 << 20))
            : new ChunkRef(Hash(), ContentStore.ChunkPrefix + Hash(), 0, rng.Next(int.MaxValue));
        yield return TreeCodec.Encode(new PathTree.Leaf([.. Enumerable.Range(0, 40).Select(i =>
        {
            var chunks = Enumerable.Range(0, rng.Next(4)).Select(_ => Chunk()).ToList();
            return new TreeEntry($"/d/é{i:D3}", new FileContent(rng.NextInt64(1L << 50), Hash(), chunks), Guid.NewGuid().ToString("N"));
        })]));
        yield return TreeCodec.Encode(new PathTree.Internal([.. Enumerable.Range(0, 30).Select(i => $"/k{i:D4}")], [.. Enumerable.Range(0, 30).Select(_ => Hash())]));
        yield return TreeCodec.Encode(new PathTree.Leaf([]));
    }

    [Fact]
    public void WalkReportsEveryChildAndChunkDecodeReads()
    {
        foreach (var node in Nodes()) Assert.Equal(Decoded(node), Walked(node));
    }

    [Fact]
    public void WalkRefusesCutOrDamagedNodesAsDecodeDoes()
    {
        var rng = new Random(9);
        foreach (var node in Nodes())
        {
            var damaged = Enumerable.Range(0, node.Length).Select(n => node[..n]).ToList();
            for (var i = 0; i < 300; i++)
            {
                var copy = (byte[])node.Clone();
                copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
                damaged.Add(copy);
            }
            foreach (var bytes in damaged)
            {
                List<string>? decoded = null;
                try { decoded = Decoded(bytes); }
                catch (PachException ex) { Assert.Equal("TreeNodeCorrupt", ex.ErrorId); }
                if (decoded is null) Assert.Equal("TreeNodeCorrupt", Assert.Throws<PachException>(() => Walked(bytes)).ErrorId);
                else Assert.Equal(decoded, Walked(bytes));
            }
        }
    }
}
