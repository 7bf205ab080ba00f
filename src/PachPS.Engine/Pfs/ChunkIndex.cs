using PachPS.Engine.Metadata;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Where each small chunk packed into a shared object lives (its hash to object, offset, length): what lets small
/// content written again be found and not stored twice. Large chunks are objects of their own and need no entry.
/// It also knows which objects commits name, so that a failed write of one process never removes an object a commit of
/// another names, and a commit never names one a failed write removed (<see cref="IChunkCatalog"/>).
/// </summary>
internal sealed class ChunkIndex(MetadataStore meta) : IChunkCatalog
{
    /// <summary>Adds newly packed chunks, in the caller's transaction if there is one.</summary>
    public void Record(IReadOnlyList<ChunkRef> chunks)
    {
        if (chunks.Count == 0) return;
        meta.Write(db =>
        {
            // Almost all are new: a writer packs only chunks the index lacked when it looked. Another session may have
            // packed the same bytes since; as with an upsert, the newest place wins. Looking up and inserting costs half
            // of LiteDB's Upsert, which tries an update (and parses its query) for every document first.
            var index = db.Chunks();
            var docs = new Dictionary<string, ChunkDoc>(StringComparer.Ordinal);
            foreach (var c in chunks) docs[c.Hash] = new ChunkDoc { Id = c.Hash, Object = c.Object, Offset = c.Offset, Length = c.Length };
            var fresh = new List<ChunkDoc>(docs.Count);
            foreach (var doc in docs.Values)
            {
                if (index.Get(doc.Id) is null) fresh.Add(doc);
                else index.Update(doc);
            }
            index.InsertBulk(fresh);
        });
    }

    /// <summary>
    /// Records, in the caller's transaction, what a writer stored: its newly packed chunks in the index and, while a
    /// garbage collection is marking, every object its content names, so that collection keeps them (see
    /// <see cref="CollectionRunDoc"/>). Every write that names content a <see cref="ContentWriter"/> produced calls this.
    /// </summary>
    public void RecordWrites(ContentWriter writer) => meta.Write(db =>
    {
        Record(writer.NewPackedChunks);
        if (db.CollectionRuns().Get(CollectionRunDoc.Current) is null) return;
        db.LiveObjects().Upsert(writer.ReferencedObjects.Select(key => new LiveObjectDoc { Id = key }));
    });

    /// <summary>Where the index says a packed chunk lives (after a repack, not where older trees say).</summary>
    public ChunkRef? Find(string hash) => meta.Read<ChunkRef?>(db =>
        db.Chunks().Get(hash) is { } doc ? new ChunkRef(hash, doc.Object, doc.Offset, doc.Length) : null);

    /// <summary>Which of the given hashes are already packed, and where.</summary>
    public IReadOnlyDictionary<string, ChunkRef> FindPacked(IReadOnlyCollection<string> hashes) => meta.Read(db =>
    {
        var chunks = db.Chunks();
        var found = new Dictionary<string, ChunkRef>(StringComparer.Ordinal);
        foreach (var hash in hashes)
            if (chunks.Get(hash) is { } doc) found[hash] = new ChunkRef(hash, doc.Object, doc.Offset, doc.Length);
        return found;
    });

    /// <summary>
    /// Records, in the caller's (committing) transaction, that it names <paramref name="keys"/>; throws ContentRemoved,
    /// writing nothing, when a failed write of another process removed one of them since this one found or wrote it.
    /// </summary>
    public void Name(IReadOnlyCollection<string> keys, Func<string, bool> exists)
    {
        if (keys.Count == 0) return;
        meta.Write(db =>
        {
            var removed = db.RemovedObjects();
            foreach (var key in keys)
            {
                if (removed.Get(key) is null) continue;
                if (!exists(key))
                    throw new PachException("ContentRemoved", PachErrorKind.ResourceUnavailable,
                        $"Content object '{key}' that this write found already stored was removed by a failed write in another session before this one was committed; nothing was written: run it again.", key);
                removed.Delete(key); // stored again since: the record has served
            }
            db.NamedObjects().Upsert(keys.Select(k => new NamedObjectDoc { Id = k }));
        });
    }

    public void RemoveUnnamed(IReadOnlyCollection<string> keys, Action<IReadOnlyCollection<string>> remove) => meta.Write(db =>
    {
        var named = db.NamedObjects();
        var unnamed = keys.Where(k => named.Get(k) is null).ToList();
        remove(unnamed);
        var now = DateTime.UtcNow;
        db.RemovedObjects().Upsert(unnamed.Select(k => new RemovedObjectDoc { Id = k, Removed = now }));
    });
}
