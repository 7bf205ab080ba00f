using System.Text;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Remote;
using PachPS.Engine.Storage;

namespace PachPS.Fuzz;

/// <summary>
/// What each fuzzing target does with one input. The rule every target checks: on any bytes the engine either
/// succeeds or throws PachException; any other exception, a hang or a crash is a finding. The fuzzer (Program) and
/// the regression tests (tests/Unit/FuzzRegressionTests.cs) run the same code.
/// </summary>
internal static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["spec"] = Spec,
        ["glob"] = GlobMatch,
        ["path"] = PathRules,
        ["tree"] = TreeNode,
        ["pack"] = PackRead,
        ["commitref"] = CommitReference,
        ["frames"] = Frames,
    };

    /// <summary>What a target may throw: a PachPS error with an ErrorId.</summary>
    public static bool IsExpected(Exception ex) => ex is PachException { ErrorId.Length: > 0 };

    private static string Text(byte[] input) => Encoding.UTF8.GetString(input);

    /// <summary>A pipeline spec file, JSON or YAML, one spec or several.</summary>
    private static void Spec(byte[] input) => PipelineSpec.ParseAll(Text(input));

    /// <summary>A glob on the first line, matched against the path on the rest.</summary>
    private static void GlobMatch(byte[] input)
    {
        var text = Text(input);
        var newline = text.IndexOf('\n');
        var pattern = newline < 0 ? text : text[..newline];
        var path = newline < 0 ? "/" : text[(newline + 1)..];
        var glob = new Glob(pattern);
        glob.IsMatch(path);
        glob.Match(path);
        Glob.HasWildcards(pattern);
    }

    /// <summary>A path as a user gives it, normalized, then checked as a path about to be written.</summary>
    private static void PathRules(byte[] input)
    {
        var text = Text(input);
        Names.NormalizePath(text, allowRoot: true);
        Names.RequireStorable(Names.NormalizePath(text));
    }

    /// <summary>A tree node's bytes as the metadata holds them.</summary>
    private static void TreeNode(byte[] input) => TreeCodec.Decode(input);

    /// <summary>
    /// One chunk read out of a pack: a flags byte (1: the store is remote, so the pack is fetched whole and sliced;
    /// 2: the chunk's hash is that of the bytes it names, so the read can succeed), the chunk's offset and length as
    /// 7-bit encoded integers (as trees record them), then the pack's bytes.
    /// </summary>
    private static void PackRead(byte[] input)
    {
        using var reader = new BinaryReader(new MemoryStream(input));
        int flags;
        long offset;
        int length;
        try
        {
            flags = reader.ReadByte();
            offset = reader.Read7BitEncodedInt64();
            length = reader.Read7BitEncodedInt();
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException) { return; } // not an input of this target
        var pack = input[(int)reader.BaseStream.Position..];
        var hash = (flags & 2) != 0 && offset >= 0 && length >= 0 && offset + length <= pack.Length
            ? ContentHash.Of(pack.AsSpan((int)offset, length))
            : new string('0', 64);
        IObjectStore objects = (flags & 1) != 0 ? new RemoteObjectStore() : LocalObjects.Value;
        var key = ContentStore.PackPrefix + ContentHash.Of(pack);
        objects.Put(key, pack);
        try { new ContentStore(objects).ReadChunk(new ChunkRef(hash, key, offset, length)); }
        finally { objects.Delete(key); }
    }

    // One folder per fuzzing process; each input's pack is deleted after its read.
    private static readonly Lazy<LocalObjectStore> LocalObjects = new(() =>
        new LocalObjectStore(Path.Combine(Path.GetTempPath(), "pachps-fuzz-" + Environment.ProcessId)));

    /// <summary>A commit reference as a user types it (branch, tag or id, @{time}, ^, ~N, .N).</summary>
    private static void CommitReference(byte[] input) => CommitRef.Parse(Text(input));

    /// <summary>An upload's body as the server reads it: the arguments' frame, then files' frames until the body ends.</summary>
    private static void Frames(byte[] input)
    {
        using var body = new MemoryStream(input, writable: false);
        ContentFraming.ReadHeader(body);
        while (body.Position < body.Length)
        {
            using var file = new ContentFraming.FileStream(body);
            file.Drain();
        }
    }
}

/// <summary>Objects in memory, read whole as a remote store's packs are.</summary>
internal sealed class RemoteObjectStore : IObjectStore
{
    private readonly Dictionary<string, byte[]> _objects = new(StringComparer.Ordinal);

    public void Put(string key, ReadOnlySpan<byte> data) => _objects[key] = data.ToArray();
    public byte[] Get(string key) => _objects[key];
    public byte[] GetRange(string key, long offset, int length) => throw new NotSupportedException("a remote store's packs are read whole");
    public bool Exists(string key) => _objects.ContainsKey(key);
    public IEnumerable<string> List(string prefix) => _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal));
    public void Delete(string key) => _objects.Remove(key);
    public (long Bytes, long Count) Usage() => (_objects.Values.Sum(v => (long)v.Length), _objects.Count);
    public bool IsRemote => true;
    public long Requests => 0;
    public string Description => "memory";
}
