namespace PachPS.Engine.Storage;

/// <summary>Where one chunk's bytes live: a standalone chunk object, or a range inside a pack object.</summary>
public readonly record struct ChunkRef(string Hash, string Object, long Offset, int Length);

/// <summary>A file's bytes as an ordered list of chunks, with its size and content hash.</summary>
public sealed record FileContent(long Size, string Hash, IReadOnlyList<ChunkRef> Chunks);
