using System.Security.Cryptography;

namespace PachPS.Engine.Storage;

/// <summary>SHA-256 hashes as lower-case hex, the address of every chunk, pack and tree node.</summary>
public static class ContentHash
{
    public static string Of(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>A file's hash: its single chunk's hash, else the hash of its chunk hashes in order.</summary>
    public static string OfChunks(IReadOnlyList<ChunkRef> chunks)
    {
        if (chunks.Count == 1) return chunks[0].Hash;
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData("pachps-multi:"u8);
        foreach (var c in chunks) hasher.AppendData(Convert.FromHexString(c.Hash));
        return Convert.ToHexStringLower(hasher.GetHashAndReset());
    }
}
