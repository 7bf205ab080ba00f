using System.Text;
using PachPS.Engine.Pfs;
using PachPS.Engine.Remote;
using PachPS.Engine.Storage;

namespace PachPS.Fuzz;

/// <summary>The seed inputs that only the engine's encoders can make: tree nodes, packed chunks, framed uploads.</summary>
internal static class Seeds
{
    public static void Write(string corpus)
    {
        var hash = ContentHash.Of("hello"u8);
        var content = new FileContent(5, hash, [new ChunkRef(hash, ContentStore.PackPrefix + hash, 0, 5)]);
        var leaf = new PathTree.Leaf([
            new TreeEntry("/a.txt", content, "c0ffee"),
            new TreeEntry("/dir/b.csv", new FileContent(0, ContentHash.Of([]), []), "c0ffee")]);
        var inner = new PathTree.Internal(["/a.txt", "/m"], [hash, ContentHash.Of("x"u8)]);
        Save(corpus, "tree", "leaf", TreeCodec.Encode(leaf));
        Save(corpus, "tree", "internal", TreeCodec.Encode(inner));
        Save(corpus, "tree", "empty-leaf", TreeCodec.Encode(new PathTree.Leaf([])));

        var pack = Encoding.UTF8.GetBytes("hello, world: two small chunks");
        Save(corpus, "pack", "local-first", PackInput(2, 0, 5, pack));
        Save(corpus, "pack", "remote-middle", PackInput(3, 7, 5, pack));
        Save(corpus, "pack", "local-bad-hash", PackInput(0, 0, 5, pack));

        using var upload = new MemoryStream();
        ContentFraming.WriteHeader(upload, """{"repo":"images","branch":"master","paths":["/a","/b"]}"""u8);
        var buffer = new byte[ContentFraming.MaxFrame + 4];
        ContentFraming.WriteFile(upload, new MemoryStream("first file"u8.ToArray()), buffer);
        ContentFraming.WriteFile(upload, new MemoryStream([]), buffer);
        Save(corpus, "frames", "two-files", upload.ToArray());
        using var failed = new MemoryStream();
        ContentFraming.WriteHeader(failed, "{}"u8);
        var error = """{"errorId":"ObjectCorrupt","kind":"InvalidData","message":"damaged","target":null}"""u8;
        failed.Write([0xff, 0xff, 0xff, (byte)(256 - error.Length)]);
        failed.Write(error);
        Save(corpus, "frames", "error-frame", failed.ToArray());
    }

    private static byte[] PackInput(byte flags, long offset, int length, byte[] pack)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(flags);
        w.Write7BitEncodedInt64(offset);
        w.Write7BitEncodedInt(length);
        w.Write(pack);
        w.Flush();
        return ms.ToArray();
    }

    private static void Save(string corpus, string target, string name, byte[] data)
    {
        Directory.CreateDirectory(Path.Combine(corpus, target));
        File.WriteAllBytes(Path.Combine(corpus, target, name), data);
    }
}
