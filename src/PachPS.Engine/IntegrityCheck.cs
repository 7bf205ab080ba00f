using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine;

/// <summary>Walks every commit's tree and verifies each node and chunk once.</summary>
internal sealed class IntegrityCheck(PachStore store)
{
    public IReadOnlyList<IntegrityFinding> Run(IProgress<(int Done, int Total)>? progress, CancellationToken cancel)
    {
        var findings = new List<IntegrityFinding>();
        var commits = store.Meta.Read(db => db.Commits().FindAll().ToList());
        var checkedChunks = new HashSet<string>(StringComparer.Ordinal);
        var checkedNodes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < commits.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var c = commits[i];
            progress?.Report((i, commits.Count));
            if (c.Parent is not null && store.Meta.Read(db => db.Commits().FindById(c.Parent)) is null)
                findings.Add(new("ParentMissing", c.Repo, c.Id, null, c.Parent, $"Parent commit {c.Parent} does not exist."));
            List<TreeEntry> entries;
            try
            {
                entries = store.Meta.Read(db =>
                {
                    var tree = PfsService.Tree(db);
                    foreach (var id in tree.NodeIds(c.Root)) checkedNodes.Add(id);
                    return tree.All(c.Root).ToList();
                });
            }
            catch (PachException ex)
            {
                findings.Add(new(ex.ErrorId, c.Repo, c.Id, null, ex.Target?.ToString() ?? "", ex.Message));
                continue;
            }
            foreach (var e in entries)
            {
                foreach (var chunk in e.Content.Chunks)
                {
                    if (!checkedChunks.Add(chunk.Hash + chunk.Object)) continue;
                    try { store.Content.ReadChunk(chunk); }
                    catch (PachException ex)
                    {
                        findings.Add(new(ex.ErrorId, c.Repo, c.Id, e.Path, chunk.Object, ex.Message));
                    }
                }
            }
        }
        var branches = store.Meta.Read(db => db.Branches().FindAll().ToList());
        foreach (var b in branches.Where(b => b.Head is not null && commits.All(c => c.Id != b.Head)))
            findings.Add(new("HeadMissing", b.Repo, b.Head!, null, b.Id, $"Branch '{b.Name}' points at missing commit {b.Head}."));
        progress?.Report((commits.Count, commits.Count));
        return findings;
    }
}
