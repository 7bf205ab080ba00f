using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>The binary form of tree nodes; its bytes are hashed into the node's id, so it must stay deterministic.</summary>
internal static class TreeCodec
{
    private const byte LeafTag = 1;
    private const byte InternalTag = 2;

    /// <summary>A list of files (what one datum wrote) in the same form as a leaf node.</summary>
    public static byte[] EncodeFiles(IReadOnlyList<TreeEntry> files) => Encode(new PathTree.Leaf([.. files]));

    public static IReadOnlyList<TreeEntry> DecodeFiles(byte[] bytes) => ((PathTree.Leaf)Decode(bytes)).Entries;

    public static byte[] Encode(PathTree.Node node)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        switch (node)
        {
            case PathTree.Leaf leaf:
                w.Write(LeafTag);
                w.Write7BitEncodedInt(leaf.Entries.Length);
                foreach (var e in leaf.Entries)
                {
                    w.Write(e.Path);
                    w.Write(e.Commit);
                    w.Write7BitEncodedInt64(e.Content.Size);
                    w.Write(Convert.FromHexString(e.Content.Hash));
                    w.Write7BitEncodedInt(e.Content.Chunks.Count);
                    foreach (var c in e.Content.Chunks)
                    {
                        w.Write(Convert.FromHexString(c.Hash));
                        w.Write(c.Object);
                        w.Write7BitEncodedInt64(c.Offset);
                        w.Write7BitEncodedInt(c.Length);
                    }
                }
                break;
            case PathTree.Internal inner:
                w.Write(InternalTag);
                w.Write7BitEncodedInt(inner.Keys.Length);
                for (var i = 0; i < inner.Keys.Length; i++)
                {
                    w.Write(inner.Keys[i]);
                    w.Write(Convert.FromHexString(inner.Children[i]));
                }
                break;
        }
        w.Flush();
        return ms.ToArray();
    }

    /// <summary>Reads a node back; bytes that are not one (cut short, overwritten) throw TreeNodeCorrupt.</summary>
    public static PathTree.Node Decode(byte[] data)
    {
        try { return Read(data); }
        catch (Exception ex) when (ex is IOException or FormatException or OverflowException)
        {
            throw Corrupt(ex.Message, ex);
        }
    }

    private static PathTree.Node Read(byte[] data)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        var tag = r.ReadByte();
        if (tag is not (LeafTag or InternalTag)) throw Corrupt($"it starts with {tag}, which is no kind of node", null);
        var count = Count(r);
        if (tag == LeafTag)
        {
            var entries = new TreeEntry[count];
            // A leaf's files mostly share their commit and their pack, and a file of one chunk has that chunk's hash:
            // each is kept once per leaf, not once per file (a cached leaf of small files held each three times).
            string? commit = null, objectKey = null;
            Span<byte> fileHash = stackalloc byte[32], chunkHash = stackalloc byte[32];
            for (var i = 0; i < count; i++)
            {
                var path = r.ReadString();
                commit = Same(r.ReadString(), commit);
                var size = NotNegative(r.Read7BitEncodedInt64(), "size");
                ReadHash(r, fileHash);
                var hash = Convert.ToHexStringLower(fileHash);
                var chunkCount = Count(r);
                var chunks = new ChunkRef[chunkCount];
                for (var c = 0; c < chunkCount; c++)
                {
                    ReadHash(r, chunkHash);
                    var chunk = chunkHash.SequenceEqual(fileHash) ? hash : Convert.ToHexStringLower(chunkHash);
                    objectKey = Same(r.ReadString(), objectKey);
                    chunks[c] = new ChunkRef(chunk, objectKey, NotNegative(r.Read7BitEncodedInt64(), "offset"), (int)NotNegative(r.Read7BitEncodedInt(), "length"));
                }
                entries[i] = new TreeEntry(path, new FileContent(size, hash, chunks), commit);
            }
            return new PathTree.Leaf(entries);
        }
        var keys = new string[count];
        var children = new string[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = r.ReadString();
            children[i] = Hash(r);
        }
        return new PathTree.Internal(keys, children);
    }

    /// <summary>What <see cref="Walk"/> reports of a node without building it.</summary>
    internal interface IVisitor
    {
        /// <summary>A child of an internal node: its id as 32 bytes.</summary>
        void Child(ReadOnlySpan<byte> id);
        /// <summary>A chunk a leaf's file names: its hash as 32 bytes and its object key as UTF-8.</summary>
        void Chunk(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> objectKey, long offset, int length);
    }

    /// <summary>
    /// Reports a node's children, or the chunks its files name, straight from its bytes: what a collection's mark needs
    /// of millions of nodes, without the strings <see cref="Decode"/> makes. Damage throws TreeNodeCorrupt as there.
    /// </summary>
    public static void Walk(ReadOnlySpan<byte> data, IVisitor visitor)
    {
        var r = new SpanReader(data);
        var tag = r.Byte();
        if (tag is not (LeafTag or InternalTag)) throw Corrupt($"it starts with {tag}, which is no kind of node", null);
        var count = r.Count();
        for (var i = 0; i < count; i++)
        {
            if (tag == InternalTag)
            {
                r.Bytes(r.Length());
                visitor.Child(r.Bytes(32));
                continue;
            }
            r.Bytes(r.Length()); // path
            r.Bytes(r.Length()); // commit
            NotNegative(r.Long(), "size");
            r.Bytes(32);
            var chunks = r.Count();
            for (var c = 0; c < chunks; c++)
            {
                var hash = r.Bytes(32);
                var key = r.Bytes(r.Length());
                var offset = NotNegative(r.Long(), "offset");
                var length = NotNegative(r.Long(), "length");
                if (length > int.MaxValue) throw Corrupt($"a chunk length is {length}", null);
                visitor.Chunk(hash, key, offset, (int)length);
            }
        }
    }

    /// <summary>BinaryReader's encodings (7-bit lengths and numbers) over a span; running out is damage.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public byte Byte() => _at < _data.Length ? _data[_at++] : throw Corrupt("it is cut short", null);

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || count > _data.Length - _at) throw Corrupt("it is cut short", null);
            var bytes = _data.Slice(_at, count);
            _at += count;
            return bytes;
        }

        public long Long()
        {
            ulong value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return (long)value;
            }
            throw Corrupt("a number runs on too long", null);
        }

        /// <summary>A string's byte length.</summary>
        public int Length() => Long() is >= 0 and <= int.MaxValue and var n ? (int)n : throw Corrupt("a length is out of range", null);

        /// <summary>A count of items that each take at least a byte.</summary>
        public int Count()
        {
            var count = Long();
            return count >= 0 && count <= _data.Length - _at ? (int)count : throw Corrupt($"it counts {count} items in {_data.Length - _at} bytes", null);
        }
    }

    // A count of items that each take at least a byte: more than the bytes left is damage, not a huge allocation.
    private static int Count(BinaryReader r)
    {
        var count = r.Read7BitEncodedInt();
        if (count < 0 || count > r.BaseStream.Length - r.BaseStream.Position)
            throw Corrupt($"it counts {count} items in {r.BaseStream.Length - r.BaseStream.Position} bytes", null);
        return count;
    }

    /// <summary><paramref name="read"/>, or <paramref name="previous"/> when it is the same text (one string kept, not two).</summary>
    private static string Same(string read, string? previous) => previous is not null && read == previous ? previous : read;

    private static void ReadHash(BinaryReader r, Span<byte> into)
    {
        if (r.Read(into) != 32) throw new EndOfStreamException("a hash is cut short");
    }

    private static string Hash(BinaryReader r) =>
        Convert.ToHexStringLower(r.ReadBytes(32) is { Length: 32 } hash ? hash : throw new EndOfStreamException("a hash is cut short"));

    private static long NotNegative(long value, string what) => value >= 0 ? value : throw Corrupt($"a chunk or file {what} is {value}", null);

    private static PachException Corrupt(string damage, Exception? inner) => new("TreeNodeCorrupt", PachErrorKind.InvalidData,
        $"A tree node cannot be read ({damage.TrimEnd('.')}): the store's metadata is damaged; run Test-PachStore.", null, inner);
}
