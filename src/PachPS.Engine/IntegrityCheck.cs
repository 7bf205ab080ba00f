using PachPS.Engine.Pfs;

namespace PachPS.Engine;

/// <summary>
/// Walks every commit's tree and verifies each node and chunk once. Commits, branches, tags and parents are read in one
/// unit of work, so a check run while jobs and users write judges one consistent state: a commit finished after that
/// moment is simply not looked at, and never makes a branch head or parent look missing. Tree nodes and chunks are
/// immutable, so reading them afterwards cannot disagree with that snapshot. Besides damage it reports derived records
/// that disagree with what they derive from (a commit's size and file count, chunk index entries naming a gone pack),
/// which <see cref="StoreRepair"/> re-derives.
/// </summary>
internal sealed class IntegrityCheck(Metadata.MetadataStore meta, Storage.ContentStore content)
{
    public IReadOnlyList<IntegrityFinding> Run(IProgress<(int Done, int Total)>? progress, CancellationToken cancel)
    {
        var findings = new List<IntegrityFinding>();
        var (commits, branches, tags) = meta.Read(db => (db.Commits().FindAll().ToList(), db.Branches().FindAll().ToList(), db.Tags().FindAll().ToList()));
        var ids = commits.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var checkedChunks = new HashSet<string>(StringComparer.Ordinal);
        var nodesRead = new Dictionary<string, PathTree.Node>(StringComparer.Ordinal);
        for (var i = 0; i < commits.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var c = commits[i];
            progress?.Report((i, commits.Count));
            if (c.Parent is not null && !ids.Contains(c.Parent))
                findings.Add(new("ParentMissing", c.Repo, c.Id, null, c.Parent, $"Parent commit {c.Parent} does not exist."));
            // A damaged node hides the paths below it, not the rest of the tree: those are still checked.
            var damaged = new List<DamagedRange>();
            var entries = meta.Read(db => PathTree.In(db).Salvage(c.Root, damaged.Add, nodesRead).ToList());
            foreach (var d in damaged)
                findings.Add(new(d.Error.ErrorId, c.Repo, c.Id, d.Paths, d.Node, $"{d.Error.Message} It holds the paths {d.Paths}."));
            if (damaged.Count == 0 && c.Finished is not null && (c.Size != entries.Sum(e => e.Content.Size) || c.FileCount != entries.Count))
                findings.Add(new("SizeMismatch", c.Repo, c.Id, null, "", $"Commit {c.Id} records {c.FileCount} file(s) of {c.Size} bytes; its tree holds " +
                    $"{entries.Count} of {entries.Sum(e => e.Content.Size)} bytes."));
            // Stores written before every commit went through CommitWriter may hold a path as a file and a folder, or
            // (before paths had length limits) one that no file system can hold.
            try { CommitWriter.Validate(entries.Select(e => FileChange.Write(e.Path, e.Content)).ToList()); }
            catch (PachException ex) when (ex.ErrorId is "PathConflict" or "InvalidPath")
            {
                findings.Add(new(ex.ErrorId, c.Repo, c.Id, ex.Target?.ToString(), "", ex.Message));
            }
            foreach (var e in entries)
            {
                foreach (var chunk in e.Content.Chunks)
                {
                    if (Storage.ObjectReferences.Is(chunk))
                    {
                        // Someone else's object: whether it is still the version imported, asked once per object.
                        if (checkedChunks.Add(chunk.Object)) CheckReference(findings, c, e.Path, chunk.Object);
                        continue;
                    }
                    if (!checkedChunks.Add(chunk.Hash + chunk.Object)) continue;
                    try { content.ReadChunk(chunk); }
                    catch (PachException ex)
                    {
                        // The object that failed: the tree's, or the pack a collection moved the chunk to.
                        findings.Add(new(ex.ErrorId, c.Repo, c.Id, e.Path, ex.Target as string ?? chunk.Object, ex.Message));
                    }
                }
            }
        }
        foreach (var b in branches.Where(b => b.Head is not null && !ids.Contains(b.Head)))
            findings.Add(new("HeadMissing", b.Repo, b.Head!, null, b.Id, $"Branch '{b.Name}' points at missing commit {b.Head}."));
        foreach (var t in tags.Where(t => !ids.Contains(t.Commit)))
            findings.Add(new("TagTargetMissing", t.Repo, t.Commit, null, t.Id, $"Tag '{t.Name}' points at missing commit {t.Commit}."));
        findings.AddRange(StaleIndexEntries());
        progress?.Report((commits.Count, commits.Count));
        return findings;
    }

    private void CheckReference(List<IntegrityFinding> findings, CommitDoc commit, string path, string objectKey)
    {
        var url = Storage.ObjectReferences.Describe(objectKey);
        try
        {
            if (content.References.Check(objectKey) is { } changed) findings.Add(new("ReferencedObjectChanged", commit.Repo, commit.Id, path, url, changed));
        }
        catch (PachException ex) { findings.Add(new(ex.ErrorId, commit.Repo, commit.Id, path, url, ex.Message)); }
    }

    /// <summary>Packs the chunk index sends reads to that are gone: a read relocated there fails though the trees' pack may be whole.</summary>
    private IEnumerable<IntegrityFinding> StaleIndexEntries()
    {
        var packs = meta.Read(db => db.Chunks().Query().Select(c => c.Object).ToEnumerable().ToHashSet(StringComparer.Ordinal));
        // A collection drops a freed pack's entries before deleting it: an entry still there once the pack is gone is stale.
        foreach (var pack in packs.Where(p => !content.Objects.Exists(p) && meta.Read(db => db.Chunks().Exists(c => c.Object == p))))
            yield return new("ChunkIndexStale", "", "", null, pack, $"The chunk index sends reads of some chunks to pack '{pack}', which is missing.");
    }
}
