using PachPS.Engine.Pfs;

namespace PachPS.Engine;

/// <summary>
/// Walks every commit's tree and verifies each node and chunk once. Commits, branches, tags and parents are read in one
/// unit of work, so a check run while jobs and users write judges one consistent state: a commit finished after that
/// moment is simply not looked at, and never makes a branch head or parent look missing. Tree nodes and chunks are
/// immutable, so reading them afterwards cannot disagree with that snapshot.
/// </summary>
internal sealed class IntegrityCheck(Metadata.MetadataStore meta, Storage.ContentStore content)
{
    public IReadOnlyList<IntegrityFinding> Run(IProgress<(int Done, int Total)>? progress, CancellationToken cancel)
    {
        var findings = new List<IntegrityFinding>();
        var (commits, branches, tags) = meta.Read(db => (db.Commits().FindAll().ToList(), db.Branches().FindAll().ToList(), db.Tags().FindAll().ToList()));
        var ids = commits.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var checkedChunks = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < commits.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var c = commits[i];
            progress?.Report((i, commits.Count));
            if (c.Parent is not null && !ids.Contains(c.Parent))
                findings.Add(new("ParentMissing", c.Repo, c.Id, null, c.Parent, $"Parent commit {c.Parent} does not exist."));
            List<TreeEntry> entries;
            try { entries = meta.Read(db => PathTree.In(db).All(c.Root).ToList()); }
            catch (PachException ex)
            {
                findings.Add(new(ex.ErrorId, c.Repo, c.Id, null, ex.Target?.ToString() ?? "", ex.Message));
                continue;
            }
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
                    if (!checkedChunks.Add(chunk.Hash + chunk.Object)) continue;
                    try { content.ReadChunk(chunk); }
                    catch (PachException ex)
                    {
                        findings.Add(new(ex.ErrorId, c.Repo, c.Id, e.Path, chunk.Object, ex.Message));
                    }
                }
            }
        }
        foreach (var b in branches.Where(b => b.Head is not null && !ids.Contains(b.Head)))
            findings.Add(new("HeadMissing", b.Repo, b.Head!, null, b.Id, $"Branch '{b.Name}' points at missing commit {b.Head}."));
        foreach (var t in tags.Where(t => !ids.Contains(t.Commit)))
            findings.Add(new("TagTargetMissing", t.Repo, t.Commit, null, t.Id, $"Tag '{t.Name}' points at missing commit {t.Commit}."));
        progress?.Report((commits.Count, commits.Count));
        return findings;
    }
}
