using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine;

/// <summary>
/// Test-PachStore -Repair: runs the integrity check and fixes what can be fixed, each finding saying what was done.
/// </summary>
/// <remarks>
/// <para>What it can do, in order:</para>
/// <list type="number">
/// <item>With a source (another store's folder, such as a backup or a replica), fetch each missing or damaged
/// content object and tree node again by its key, keeping it only if its bytes match the hash its name carries; then
/// check again, since a fetched node can reveal nodes and chunks below it that are missing too.</item>
/// <item>Re-derive records derived from others: a commit's size and file count from its tree, and the chunk index
/// (entries naming a pack that is gone are dropped, so reads go to the trees' own packs and new writes store the
/// chunks again instead of naming a missing pack). PachPS keeps no reference counts (a collection marks exactly), so
/// there are none to re-derive; LiteDB's own indexes are inside metadata.db, whose damage is MetadataCorrupt.</item>
/// <item>Move a branch whose head is gone back to its newest earlier head that exists (head history).</item>
/// <item>Mark each commit whose content is still gone Corrupt, listing the paths (a file, or the range of paths
/// below a lost tree node): Get-PachCommit shows it, reading such a file says so with FileContentMissing, and every
/// other path reads as before. A commit whose content is whole again has its mark cleared.</item>
/// </list>
/// <para>What is left (a tag or parent naming a missing commit) is reported with no repair. It holds the collection
/// lock as a collection does, so no collection frees an object while the repair puts it back or relies on it, and it
/// changes each commit and branch in a transaction of its own that re-reads the document first.</para>
/// </remarks>
internal sealed class StoreRepair(MetadataStore meta, ContentStore content, string storePath)
{
    /// <summary>Checks after fetching, at most this many times: each round reaches one level deeper into lost trees.</summary>
    private const int FetchRounds = 16;

    public IReadOnlyList<IntegrityFinding> Run(RepairSource? source, IProgress<(int Done, int Total)>? progress, CancellationToken cancel)
    {
        var lockFile = content.Lock ?? throw new InvalidOperationException("A repair needs the store's collection lock.");
        using var only = lockFile.TryStartCollection() ?? throw new PachException("CollectionRunning", PachErrorKind.ResourceUnavailable,
            $"A garbage collection of the store '{storePath}' is running; repair it when the collection has finished.", storePath);
        var done = new List<IntegrityFinding>();
        var findings = Check(progress, cancel);
        for (var round = 0; source is not null && round < FetchRounds; round++)
        {
            var fetched = Fetch(source, findings, cancel);
            if (fetched.Count == 0) break;
            done.AddRange(fetched);
            findings = Check(progress, cancel);
        }
        var remaining = new List<IntegrityFinding>();
        foreach (var finding in findings)
        {
            cancel.ThrowIfCancellationRequested();
            remaining.Add(finding.Kind switch
            {
                "HeadMissing" => MoveHeadBack(finding),
                "SizeMismatch" => Rederive(finding),
                "ChunkIndexStale" => DropIndexEntries(finding),
                _ => finding,
            });
        }
        remaining = MarkDamage(remaining);
        return [.. done, .. remaining, .. ClearMarks(findings)];
    }

    private IReadOnlyList<IntegrityFinding> Check(IProgress<(int Done, int Total)>? progress, CancellationToken cancel) =>
        new IntegrityCheck(meta, content).Run(progress, cancel);

    // ---------------------------------------------------------------- fetch

    private static bool IsObjectDamage(IntegrityFinding f) => f.Kind is "ObjectMissing" or "ObjectCorrupt" or "ChunkIndexStale";
    private static bool IsNodeDamage(IntegrityFinding f) => f.Kind is "TreeNodeMissing" or "TreeNodeCorrupt";

    /// <summary>Fetches what the findings name from the source; returns the findings it settled, saying so.</summary>
    private List<IntegrityFinding> Fetch(RepairSource source, IReadOnlyList<IntegrityFinding> findings, CancellationToken cancel)
    {
        var settled = new List<IntegrityFinding>();
        foreach (var group in findings.Where(f => IsObjectDamage(f) || IsNodeDamage(f)).GroupBy(f => f.Object, StringComparer.Ordinal))
        {
            cancel.ThrowIfCancellationRequested();
            var node = IsNodeDamage(group.First());
            if (!(node ? FetchNode(source, group.Key) : FetchObject(source, group.Key))) continue;
            var what = node ? $"Tree node {Ids.Short(group.Key)}" : $"Object '{group.Key}'";
            settled.AddRange(group.Select(f => f with { Repair = $"{what} fetched again from {source.Path} (its hash checked)." }));
        }
        return settled;
    }

    private bool FetchObject(RepairSource source, string key)
    {
        if (!key.StartsWith(ContentStore.ChunkPrefix, StringComparison.Ordinal) && !key.StartsWith(ContentStore.PackPrefix, StringComparison.Ordinal)) return false;
        byte[] data;
        try { data = source.Objects.Get(key); }
        catch (PachException ex) when (ex.ErrorId == "ObjectMissing") { return false; }
        // Both kinds are named by the hash of their bytes: anything else the source holds under the name is no help.
        if (ContentHash.Of(data) != key[(key.IndexOf('/') + 1)..]) return false;
        if (content.Objects.Exists(key)) content.Objects.Delete(key); // damaged bytes: a key is only ever written whole
        content.Objects.Put(key, data);
        content.Objects.Sync([(key, data.Length)]);
        return true;
    }

    private bool FetchNode(RepairSource source, string id)
    {
        var data = source.Meta.Read(db => db.Nodes().Get(id)?.Data);
        if (data is null || ContentHash.Of(data) != id) return false;
        meta.Write(db => db.Nodes().Upsert(new NodeDoc { Id = id, Data = data }));
        return true;
    }

    // ---------------------------------------------------------------- re-derive

    private IntegrityFinding MoveHeadBack(IntegrityFinding finding) => meta.Write(db =>
    {
        var branch = db.Branches().Get(finding.Object);
        if (branch is null || branch.Head != finding.Commit) return finding with { Repair = "Already moved by someone else." };
        var back = HeadHistory.Moves(db, branch).Select(m => m.Commit).Reverse()
            .FirstOrDefault(c => c is not null && c != branch.Head && db.Commits().Get(c) is { Finished: not null });
        HeadHistory.Move(db, branch, back, HeadHistory.Repair, DateTime.UtcNow);
        db.Branches().Update(branch);
        return finding with
        {
            Repair = back is null
                ? $"Branch '{branch.Name}' has no earlier head that exists: it now has no head."
                : $"Branch '{branch.Name}' moved back to {back}, its newest earlier head that exists.",
        };
    });

    private IntegrityFinding Rederive(IntegrityFinding finding) => meta.Write(db =>
    {
        var commit = db.Commits().Get(finding.Commit);
        if (commit is null) return finding;
        var entries = PathTree.In(db).All(commit.Root).ToList();
        commit.Size = entries.Sum(e => e.Content.Size);
        commit.FileCount = entries.Count;
        db.Commits().Update(commit);
        return finding with { Repair = $"Size and file count re-derived from the tree: {commit.FileCount} file(s), {commit.Size} bytes." };
    });

    private IntegrityFinding DropIndexEntries(IntegrityFinding finding)
    {
        var dropped = meta.Write(db => db.Chunks().DeleteMany(c => c.Object == finding.Object));
        return finding with { Repair = $"Dropped the {dropped} chunk index entr{(dropped == 1 ? "y" : "ies")} naming it: reads use the trees' own packs, and new writes store those chunks again." };
    }

    // ---------------------------------------------------------------- marks

    /// <summary>Marks each commit whose content is still gone Corrupt, listing what is gone.</summary>
    private List<IntegrityFinding> MarkDamage(List<IntegrityFinding> findings)
    {
        var damagedCommits = findings.Where(IsCommitDamage).GroupBy(f => f.Commit, StringComparer.Ordinal);
        foreach (var commit in damagedCommits)
            meta.Write(db =>
            {
                if (db.Commits().Get(commit.Key) is not { } doc) return;
                // Lost nodes: the ranges below them, walked again now; lost content: the files the check named.
                var damage = new List<DamageDoc>();
                foreach (var _ in PathTree.In(db).Salvage(doc.Root, range => damage.Add(range.ToDamage()))) { }
                damage.AddRange(commit.Where(f => !IsNodeDamage(f) && f.Path is not null).Select(f => new DamageDoc { From = f.Path!, Object = f.Object }));
                doc.Damage = damage;
                db.Commits().Update(doc);
            });
        return findings.Select(f => IsCommitDamage(f) && f.Repair is null
            ? f with { Repair = $"Commit marked Corrupt, {(IsNodeDamage(f) ? $"the paths {f.Path}" : $"'{f.Path}'")} listed as missing; its other paths read as before." }
            : f).ToList();
    }

    private static bool IsCommitDamage(IntegrityFinding f) => f.Commit.Length > 0 && (IsNodeDamage(f) || IsObjectDamage(f) && f.Path is not null);

    /// <summary>Clears the mark of commits whose content is whole again (fetched, or put back by hand).</summary>
    private List<IntegrityFinding> ClearMarks(IReadOnlyList<IntegrityFinding> findings)
    {
        var stillDamaged = findings.Where(IsCommitDamage).Select(f => f.Commit).ToHashSet(StringComparer.Ordinal);
        return meta.Write(db =>
        {
            var cleared = new List<IntegrityFinding>();
            foreach (var doc in db.Commits().Find(c => c.Damage != null).ToList())
            {
                if (doc.Damage is not { Count: > 0 } || stillDamaged.Contains(doc.Id)) continue;
                var was = string.Join(", ", doc.Damage.Select(d => d.ToString()));
                doc.Damage = null;
                db.Commits().Update(doc);
                cleared.Add(new IntegrityFinding("CommitCorrupt", doc.Repo, doc.Id, null, "", $"Commit {doc.Id} was marked Corrupt ({was}).")
                {
                    Repair = "Its content is whole again: the Corrupt mark is cleared.",
                });
            }
            return cleared;
        });
    }
}

/// <summary>
/// Where a repair fetches lost objects and tree nodes from: another store's folder (a replica, a copy) or a backup
/// (<see cref="Backup.StoreBackups.OpenRepairSource"/>), its metadata and objects read, never written.
/// </summary>
internal sealed class RepairSource(string path, MetadataStore meta, IObjectStore objects, Action? release = null) : IDisposable
{
    public string Path { get; } = path;
    public MetadataStore Meta { get; } = meta;
    public IObjectStore Objects { get; } = objects;

    public void Dispose()
    {
        Meta.Dispose();
        if (release is not null) release();
        else (Objects as IDisposable)?.Dispose();
    }
}
