namespace PachPS.Engine.Storage;

/// <summary>
/// What a <see cref="ContentWriter"/> asks of the store's metadata, which every process shares: where small chunks are
/// already packed (deduplication), and, before a failed write removes the objects it created, which of them a commit
/// (of any process) has named since.
/// </summary>
public interface IChunkCatalog
{
    /// <summary>Which of the given chunk hashes are already packed, and where.</summary>
    IReadOnlyDictionary<string, ChunkRef> FindPacked(IReadOnlyCollection<string> hashes);

    /// <summary>
    /// Calls <paramref name="remove"/> with those of <paramref name="keys"/> that no commit names, under the store's
    /// lock (no process commits meanwhile), and remembers that they were removed: a commit of another process that
    /// found one of them before it went checks it is still there.
    /// </summary>
    void RemoveUnnamed(IReadOnlyCollection<string> keys, Action<IReadOnlyCollection<string>> remove);
}
