using System.Buffers.Binary;
using System.Diagnostics;
using LiteDB;
using PachPS.Engine.Backup;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Collection;

/// <summary>
/// Exact mark-and-sweep garbage collection of a store: deletes every chunk, pack and tree node that nothing names, and
/// rewrites packs that are mostly garbage, beside writers in other processes.
/// </summary>
/// <remarks>
/// <para><b>What names what.</b> Content objects live in the object store: large chunks (<c>chunk/&lt;hash&gt;</c>) and
/// packs of small chunks (<c>pack/&lt;hash&gt;</c>). Tree nodes live in the metadata ("nodes"), named only by commit
/// roots (every commit: finished, open, or a job's output in progress) and by each other. Chunks are named by tree
/// leaves, by datum results (the encoded outputs a later job copies when it skips a datum; every datum record is
/// kept, so every one is a root), by writes in progress (a <see cref="ContentWriter"/> not yet recorded), and, for a
/// pack a collection rewrote, through the chunk index ("chunks", which <see cref="ContentStore.Relocate"/> follows).
/// Backups pin what their metadata snapshot names (<see cref="Backup.StoreBackups"/>): a pinned object is live and
/// never rewritten, since the backup's own chunk index names it where it is. Pipeline spec versions, jobs and logs
/// name no content. The chunk index itself names nothing: it only finds
/// chunks again, and its entries for freed packs are removed under the same hold of the metadata lock that decides to free them.</para>
/// <para><b>DESIGN: why a concurrent writer never loses an object.</b> A write that names content goes: write or
/// find objects (holding <see cref="CollectionLock"/> shared), record them in metadata (one transaction, which also
/// copies what the writer named into "collection_live" if a collection is marking: <see cref="ChunkIndex.RecordWrites"/>),
/// then release the lock. The collection goes: (1) transaction A creates the run document (writers from now on
/// record what they name); (2) mark from metadata read after A and, on another thread meanwhile, (3) list objects
/// (whenever it is listed, an object written after A is spared by the argument below, and one not listed is never
/// deleted); (4) take the lock exclusively,
/// so no writer holds unrecorded content; (5) in D, one hold of the metadata lock (no other process reads or writes
/// metadata until it ends, so it is one atomic step to them), subtract everything in "collection_live", re-walk every
/// commit root not marked, decide, then in transactions under that hold drop the tree nodes to be freed (a batch at
/// a time: each transaction keeps the pages it changes in memory) and point the chunk index at rewritten packs, then
/// drop the index entries of packs to be freed (a batch of packs per transaction, still under that hold); (6) delete the objects,
/// still holding the lock; (7) end the run. Take an object X deleted in (6) and a write W
/// that names X. If W recorded X before A, the mark (2) saw the reference, unless it was removed before (2) read it,
/// and then W's commit is gone too. If W recorded X after A, X is in "collection_live" by D (W released the lock
/// only after recording, and (4) waited for that). W cannot have found or written X without recording it before (4)
/// ends: it held the lock from then until its record. A write after (6) finds X gone (Exists is false, the index
/// entry was removed before (6)) and writes it again. A reference made without a writer (a copied file, a skipped datum's
/// results, a merge) copies one from a commit or datum record that still exists when it is copied, so it existed at
/// (2) and was marked, or was itself made after A and is covered by the same argument. Tree nodes are reused by
/// hash without a writer, so D re-walks roots instead. Hence objects written after the collection started are never
/// deleted. As a second guard an object whose stored time is at or after A is spared too (only a guard: S3 keeps whole
/// seconds and another clock; the argument above does not rely on it).</para>
/// <para><b>Interrupted.</b> Metadata stops naming what is freed in D (the chunk index entries of freed packs go in
/// the transactions right after it, still under the lock), before any object is deleted; tree nodes D drops are
/// unreachable when decided and nothing can reach them while D holds the lock, so D stopped between its transactions
/// leaves metadata that names only what exists. A repacked
/// pack is deleted only after D points the chunk index at its new pack (written and flushed before D). A Ctrl+C or
/// kill -9 at any point leaves metadata naming only objects that exist; the objects left over are unnamed and the
/// next collection, which marks again from scratch, frees them. The kernel drops a dead collector's locks.</para>
/// </remarks>
internal sealed class GarbageCollector(MetadataStore meta, ContentStore content, string storePath)
{
    /// <summary>A pack whose live chunks fill less than this share of it is rewritten with only them.</summary>
    public const double RepackBelow = 0.5;
    /// <summary>Tree nodes looked up per metadata read after the mark (each read holds the metadata lock briefly).</summary>
    private const int NodeBatch = 2000;
    /// <summary>How long one metadata read or write of many small steps goes on (it holds the metadata lock).</summary>
    private static readonly TimeSpan ReadBudget = TimeSpan.FromMilliseconds(200);
    /// <summary>Datum records read per metadata read while marking.</summary>
    private const int DatumBatch = 1000;
    /// <summary>Tree node ids read per metadata read when looking for those the mark did not reach.</summary>
    private const int IdPage = 20_000;
    /// <summary>Tree nodes dropped per transaction of D (a transaction holds the pages it changes in memory).</summary>
    private const int NodeDeleteBatch = 5000;
    /// <summary>Freed packs whose chunk index entries D drops per transaction.</summary>
    private const int PackForgetBatch = 1000;
    /// <summary>Objects deleted between progress reports and cancellation checks.</summary>
    private const int DeleteBatch = 1000;
    private const string CommitsName = "commits";
    private const string Marking = "Marking";
    private const string Sweeping = "Sweeping";

    private readonly CollectionLock _lock = content.Lock ?? throw new InvalidOperationException("A collection needs the store's collection lock.");

    /// <summary>
    /// Runs before the mark (given whether this is a dry run) and returns how many commits it squashed: the store
    /// applies retention policies here, so the content of the commits they squash away is freed by this same run.
    /// </summary>
    public Func<bool, int>? BeforeMark { get; init; }

    public CollectionReport Run(bool whatIf, IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        using var only = _lock.TryStartCollection() ?? throw new PachException("CollectionRunning", PachErrorKind.ResourceUnavailable,
            $"Another garbage collection of the store '{storePath}' is running; try again when it has finished.", storePath);
        RefuseSharedContent();
        var squashed = BeforeMark?.Invoke(whatIf) ?? 0;
        var started = DateTime.UtcNow;
        if (!whatIf)
            meta.Write(db =>
            {
                db.CollectionRuns().Upsert(new CollectionRunDoc { Started = started, Phase = Marking });
                db.LiveObjects().DeleteAll();
            });
        try
        {
            // The object store is listed on another thread while this one marks: the mark waits on the metadata and
            // the listing on the object store (a folder or S3), so the two overlap instead of adding up.
            using var stopListing = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var listing = Task.Run(() => ListObjects(stopListing.Token), stopListing.Token);
            Marks marks;
            try { marks = Mark(progress, cancel); }
            catch
            {
                stopListing.Cancel();
                try { listing.Wait(CancellationToken.None); }
                catch (AggregateException) { }
                throw;
            }
            var plan = MakePlan(marks, listing.GetAwaiter().GetResult(), meta.Read(db => db.PinnedObjects()), started, whatIf, progress, cancel);
            if (whatIf) return plan.Report(storePath, whatIf: true, clock.Elapsed) with { CommitsSquashed = squashed };
            progress?.Report(new(CollectionStage.WaitingForWriters, 0, 0));
            using (_lock.EnterCollector(cancel))
            {
                RewritePacks(plan, progress, cancel);
                progress?.Report(new(CollectionStage.Deciding, 0, plan.DeadPacks.Count));
                Decide(plan, marks, progress, cancel);
                Delete(plan, progress, cancel);
            }
            var report = plan.Report(storePath, whatIf: false, clock.Elapsed) with { CommitsSquashed = squashed };
            meta.Write(db => db.CollectionSummaries().Upsert(new CollectionSummaryDoc
            {
                Finished = DateTime.UtcNow, LiveBytes = report.LiveBytes, FreedBytes = report.BytesFreed,
                ReclaimableBytes = plan.RecentBytes, RepoExclusiveBytes = plan.ExclusiveByRepo(),
            }));
            return report;
        }
        finally
        {
            if (!whatIf)
                meta.Write(db =>
                {
                    db.CollectionRuns().Delete(CollectionRunDoc.Current);
                    db.LiveObjects().DeleteAll();
                });
        }
    }

    // ---------------------------------------------------------------- mark

    private Marks Mark(IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        var marks = new Marks(meta.Read(db => db.RepackedPacks().FindAll().Select(p => p.Id).ToList()));
        MarkTrees(marks, progress, cancel);
        MarkDatums(marks, progress, cancel);
        ResolveRepacked(marks);
        return marks;
    }

    /// <summary>
    /// Every content object <paramref name="metadata"/> names, by the same mark a collection makes (chunks, and packs
    /// where the chunk index says their chunks are): what a backup of that metadata pins or copies.
    /// </summary>
    internal static List<string> NamedObjects(MetadataStore metadata, ContentStore content, string storePath, CancellationToken cancel)
    {
        // One unit of work around the whole mark: the metadata is a private copy nobody else opens, so it stays open
        // instead of being opened (its log read again) for every batch.
        var marks = metadata.Read(_ => new GarbageCollector(metadata, content, storePath).Mark(null, cancel));
        return marks.Chunks.Keys.Select(k => ContentStore.ChunkPrefix + k.Hex())
            .Concat(marks.Packs.Keys.Select(k => ContentStore.PackPrefix + k.Hex())).ToList();
    }

    /// <summary>
    /// Content in S3 that another store shares (a store restored from a backup of this one, or the store this one was
    /// restored from) is never collected: neither store's metadata names the other's new objects.
    /// </summary>
    private void RefuseSharedContent()
    {
        if (!content.Objects.IsRemote) return;
        var own = meta.Read(db => db.StoreIdentity().Get(Backup.StoreIdentityDoc.Current)?.StoreId);
        var others = content.Objects.List(Backup.StoreBackups.ClaimPrefix).Select(k => k[Backup.StoreBackups.ClaimPrefix.Length..])
            .Where(id => id != own).ToList();
        if (others.Count > 0)
            throw PachException.State("ContentShared",
                $"The content at {content.Objects.Description} is shared with another store ({string.Join(", ", others)}), restored from or " +
                $"into a backup of this one; a collection here could delete objects that store needs. When that store is gone for good, " +
                $"delete its claim ({Backup.StoreBackups.ClaimPrefix}<id> under the content prefix) to collect again.", storePath);
    }

    /// <summary>
    /// Walks every commit's tree, repo by repo and as many nodes per metadata read as <see cref="ReadBudget"/> allows,
    /// marking nodes and the chunks leaves name, and which repo alone names each (what removing that repo would free).
    /// A node first reached from a second repo is loaded once more to mark what is below it shared, so no node is
    /// loaded more than twice. The walk goes a level at a time and loads each level's nodes in id order: lookups in
    /// the order of the id index share the index pages the one before read, where a random order reads them anew.
    /// </summary>
    private void MarkTrees(Marks marks, IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        // Raw documents, not mapped ones: the mark reads every commit, and mapping them was half its time.
        var (roots, total) = meta.Read(db => (db.GetCollection(CommitsName).Query().Where("$.Root != null").Select("{ Repo: $.Repo, Root: $.Root }")
            .ToEnumerable().Select(d => new { Repo = d["Repo"].AsString, Root = (string?)d["Root"].AsString }).ToList(), db.Nodes().Count()));
        var repos = roots.GroupBy(r => r.Repo, StringComparer.Ordinal).ToList();
        var nextRepo = 0;
        // The level being loaded (in id order) and the nodes it claims for the next one.
        var level = new List<Key>();
        var at = 0;
        var below = new List<Key>();
        // The next node to load: the rest of this level, then the next level, then the next repo's roots.
        bool More()
        {
            while (at == level.Count)
            {
                if (below.Count == 0)
                {
                    if (nextRepo == repos.Count) return false;
                    var repo = repos[nextRepo++];
                    var owner = marks.Repos.Count;
                    marks.Repos.Add(repo.Key);
                    foreach (var root in repo.Select(r => Key.Parse(r.Root!)).Distinct())
                        if (marks.Claim(root, owner)) below.Add(root);
                    continue;
                }
                (level, below) = (below, level);
                below.Clear();
                level.Sort();
                at = 0;
            }
            return true;
        }
        var clock = new Stopwatch();
        while (More())
        {
            cancel.ThrowIfCancellationRequested();
            meta.Read(db =>
            {
                // Opening the database and filling its cache costs more than a few thousand nodes: each read goes on
                // for a while (other processes wait for the metadata lock that long at most) rather than a set count.
                var nodes = db.RawNodes();
                clock.Restart();
                while (clock.Elapsed < ReadBudget && More())
                {
                    var key = level[at++];
                    if (nodes.Get(key.Hex()) is { } doc) marks.Visit(key, doc["Data"].AsBinary, below);
                }
                return 0;
            });
            progress?.Report(new(CollectionStage.Marking, marks.Nodes.Count, total));
        }
    }

    /// <summary>Marks the chunks every datum result names (the results later jobs reuse when they skip a datum).</summary>
    private void MarkDatums(Marks marks, IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        var total = meta.Read(db => db.Datums().Count());
        var last = "";
        var done = 0L;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var page = meta.Read(db => db.Datums().Find(Query.GT("_id", last), 0, DatumBatch).Select(d => (d.Id, d.Outputs)).ToList());
            if (page.Count == 0) break;
            foreach (var (_, outputs) in page)
                if (outputs is not null)
                    foreach (var entry in TreeCodec.DecodeFiles(outputs))
                        foreach (var chunk in entry.Content.Chunks) marks.Name(chunk, Marks.Shared);
            last = page[^1].Id;
            done += page.Count;
            progress?.Report(new(CollectionStage.MarkingDatums, done, total));
        }
    }

    /// <summary>Chunks named in packs an earlier collection rewrote live where the chunk index says now.</summary>
    private void ResolveRepacked(Marks marks)
    {
        foreach (var batch in marks.Relocated.Chunk(NodeBatch))
        {
            var found = meta.Read(db =>
            {
                var chunks = db.Chunks();
                return batch.Select(named => (chunks.Get(named.Key), named.Value)).Where(d => d.Item1 is not null).ToList();
            });
            foreach (var (doc, owner) in found) marks.NameAt(doc!.Object, doc.Offset, doc.Length, owner);
        }
    }

    // ---------------------------------------------------------------- plan

    /// <summary>A content object as listed: its address, whether it is a pack, its size and when it was written.</summary>
    private readonly record struct Listed(Key Key, bool Packed, long Size, DateTime? Written)
    {
        public string Name => (Packed ? ContentStore.PackPrefix : ContentStore.ChunkPrefix) + Key.Hex();
    }

    /// <summary>Every chunk and pack in the object store, as addresses and sizes (its own key strings would take far more memory).</summary>
    private List<Listed> ListObjects(CancellationToken cancel)
    {
        var listed = new List<Listed>();
        foreach (var prefix in new[] { ContentStore.ChunkPrefix, ContentStore.PackPrefix })
            foreach (var o in content.Objects.ListDetailed(prefix))
            {
                if (!Key.TryParse(o.Key.AsSpan(prefix.Length), out var key)) continue; // not ours: never touched
                listed.Add(new Listed(key, prefix == ContentStore.PackPrefix, Math.Max(0, o.Size), o.Written));
                if (listed.Count % 10_000 == 0) cancel.ThrowIfCancellationRequested();
            }
        return listed;
    }

    private Plan MakePlan(Marks marks, List<Listed> listed, HashSet<string> pinned, DateTime started, bool whatIf, IProgress<CollectionProgress>? progress,
        CancellationToken cancel)
    {
        var plan = new Plan();
        progress?.Report(new(CollectionStage.Listing, 0, 0));
        foreach (var o in listed)
        {
            var key = o.Key;
            var recent = o.Written is { } written && written >= started;
            var packed = o.Packed;
            Dictionary<long, (int Length, int Owner)>? ranges = null;
            var owner = Marks.Shared;
            var named = packed ? marks.Packs.TryGetValue(key, out ranges) : marks.Chunks.TryGetValue(key, out owner);
            var size = o.Size;
            if (pinned.Count > 0 && pinned.Contains(o.Name))
            {
                // A backup names it (perhaps only the backup): live, whole, and where it is.
                plan.LiveObjects++;
                plan.LiveBytes += size;
                owner = Marks.Shared;
            }
            else if (named)
            {
                plan.LiveObjects++;
                plan.LiveBytes += size;
                if (!packed) plan.AddExclusive(owner, size);
                else
                {
                    var liveBytes = ranges!.Values.Sum(r => (long)r.Length);
                    var owners = ranges.Values.Select(r => r.Owner).Distinct().ToList();
                    // A pack only one repo names goes whole with it; a shared one gives back that repo's chunks (by a rewrite).
                    if (owners.Count == 1) plan.AddExclusive(owners[0], size);
                    else foreach (var range in ranges.Values) plan.AddExclusive(range.Owner, range.Length);
                    if (!recent && o.Size > 0 && liveBytes < o.Size * RepackBelow)
                        plan.Repacks.Add(new Repack(o.Name, o.Size, ranges.ToDictionary(r => r.Key, r => r.Value.Length)));
                }
            }
            else if (recent)
            {
                plan.RecentKept++;
                plan.RecentBytes += size;
            }
            else (packed ? plan.DeadPacks : plan.DeadChunks).Add((o.Name, size));
            if ((plan.LiveObjects + plan.RecentKept + plan.DeadChunks.Count + plan.DeadPacks.Count) % 10_000 == 0)
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Report(new(CollectionStage.Listing, plan.LiveObjects + plan.DeadChunks.Count + plan.DeadPacks.Count, 0));
            }
        }
        // Tree nodes no root reached. Their bytes count for the report; D decides again, in its transaction.
        // Only the unreached ids are kept: a store's node ids as strings would take more memory than all the marks.
        // Read in id order, a page per metadata read: one read over all of them would hold every index page it touched.
        var unreached = new List<string>();
        for (var last = ""; ;)
        {
            cancel.ThrowIfCancellationRequested();
            var page = meta.Read(db => db.RawNodes().Query().Where(Query.GT("_id", last)).Select("$._id").Limit(IdPage).ToEnumerable().Select(d => d["_id"].AsString).ToList());
            if (page.Count == 0) break;
            unreached.AddRange(page.Where(id => !marks.Nodes.ContainsKey(Key.Parse(id))));
            last = page[^1];
        }
        for (var repo = 0; repo < marks.Repos.Count; repo++) plan.AddExclusive(repo, marks.NodeBytes.GetValueOrDefault(repo));
        plan.Repos = marks.Repos;
        if (!whatIf)
        {
            // Their sizes are read by the transactions that drop them (in D), which read the same pages anyway.
            plan.DeadNodes.AddRange(unreached.Select(id => (id, 0L)));
            return plan;
        }
        var clock = new Stopwatch();
        while (plan.DeadNodes.Count < unreached.Count)
        {
            cancel.ThrowIfCancellationRequested();
            meta.Read(db =>
            {
                var nodes = db.RawNodes();
                clock.Restart();
                for (var i = plan.DeadNodes.Count; i < unreached.Count && clock.Elapsed < ReadBudget; i++)
                    plan.DeadNodes.Add((unreached[i], nodes.Get(unreached[i])?["Data"].AsBinary.Length ?? 0));
                return 0;
            });
        }
        return plan;
    }

    // ---------------------------------------------------------------- sweep (holding the collection lock exclusively)

    /// <summary>Writes each mostly-garbage pack's live chunks into a new pack, flushed; nothing names it until D.</summary>
    private void RewritePacks(Plan plan, IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        for (var i = 0; i < plan.Repacks.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            progress?.Report(new(CollectionStage.Repacking, i, plan.Repacks.Count));
            var repack = plan.Repacks[i];
            byte[] old;
            try { old = content.Objects.Get(repack.Pack); }
            catch (PachException ex) when (ex.ErrorId == "ObjectMissing") { continue; }
            using var fresh = new MemoryStream();
            var moves = new List<(string Hash, long Offset, int Length)>();
            var fits = true;
            foreach (var (offset, length) in repack.Live.OrderBy(l => l.Key))
            {
                if (offset + length > old.Length) { fits = false; break; }
                var slice = old.AsSpan((int)offset, length);
                moves.Add((ContentHash.Of(slice), fresh.Length, length));
                fresh.Write(slice);
            }
            if (!fits || fresh.Length == 0) continue; // a damaged pack stays as it is, for Test-PachStore to report
            var data = fresh.GetBuffer().AsSpan(0, (int)fresh.Length);
            var key = ContentStore.PackPrefix + ContentHash.Of(data);
            content.Objects.Put(key, data);
            content.Objects.Sync([(key, data.Length)]);
            repack.NewPack = key;
            repack.NewSize = data.Length;
            repack.Moves = moves;
        }
        plan.Repacks.RemoveAll(r => r.NewPack is null);
    }

    /// <summary>
    /// D: spares what writes named since the mark began and what roots made since reach, then drops the tree nodes to be
    /// freed, points the chunk index at rewritten packs and drops the index entries of the packs to be freed.
    /// </summary>
    private void Decide(Plan plan, Marks marks, IProgress<CollectionProgress>? progress, CancellationToken cancel) => meta.Read(outer =>
    {
        // One hold of the metadata lock over the decision and several transactions: no other process reads or writes
        // until the last has committed, as if they were one, while the pages of the tree nodes dropped (hundreds of MB
        // in a large store) are written out a batch at a time instead of all held in memory. Each transaction leaves
        // metadata naming only what exists (the nodes it drops are unreachable), so an interruption between them is safe.
        var named = outer.LiveObjects().FindAll().Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        // Backups pinned since the plan was made (pinning happens outside the sweep, which waits for it).
        named.UnionWith(outer.PinnedObjects());
        // Roots made or moved since the mark: walk what is new in them (nodes can be reused by hash without any writer).
        var late = new Marks([]);
        var stack = new Stack<Key>(outer.Commits().Query().Where(c => c.Root != null).Select(c => c.Root).ToList().Select(r => Key.Parse(r!)));
        var nodes = outer.RawNodes();
        var children = new List<Key>();
        while (stack.Count > 0)
        {
            var key = stack.Pop();
            if (!marks.Nodes.TryAdd(key, (Marks.Shared, 0)) || nodes.Get(key.Hex())?["Data"].AsBinary is not { } data) continue;
            children.Clear();
            late.Claim(key, Marks.Shared);
            late.Visit(key, data, children);
            foreach (var child in children) stack.Push(child);
        }
        bool Spared(string key) => named.Contains(key) || (Key.TryParse(key.AsSpan(key.IndexOf('/') + 1), out var k) && (late.Chunks.ContainsKey(k) || late.Packs.ContainsKey(k)));
        plan.DeadChunks.RemoveAll(d => Spared(d.Key));
        plan.DeadPacks.RemoveAll(d => Spared(d.Key));
        foreach (var repack in plan.Repacks.Where(r => Spared(r.Pack)).ToList())
        {
            // Named again since the mark, perhaps for chunks the new pack lacks: keep the old one, drop the new one.
            plan.Repacks.Remove(repack);
            plan.Discarded.Add(repack.NewPack!);
        }
        plan.DeadNodes.RemoveAll(n => marks.Nodes.ContainsKey(Key.Parse(n.Id)));
        for (var i = 0; i < plan.DeadNodes.Count; i += NodeDeleteBatch)
        {
            var from = i;
            var count = Math.Min(NodeDeleteBatch, plan.DeadNodes.Count - i);
            meta.Write(db =>
            {
                // Each node's size (for the report) first: the delete reads the same pages, now in the cache.
                var nodes = db.RawNodes();
                for (var k = from; k < from + count; k++)
                    plan.DeadNodes[k] = (plan.DeadNodes[k].Id, nodes.Get(plan.DeadNodes[k].Id)?["Data"].AsBinary.Length ?? 0);
                nodes.DeleteMany(Query.In("_id", plan.DeadNodes.Skip(from).Take(count).Select(n => new BsonValue(n.Id))));
            });
        }

        meta.Write(db =>
        {
            // No commit names the objects to be deleted any more: their records of being named (which stop a failed write
            // from removing what it created) go with them, or the list would only grow.
            var namedObjects = db.NamedObjects();
            foreach (var key in plan.DeadChunks.Select(d => d.Key).Concat(plan.DeadPacks.Select(d => d.Key)).Concat(plan.Repacks.Select(r => r.Pack)))
                namedObjects.Delete(key);
            // A record that a failed write removed an object warns a writer that found the object before the removal and
            // records it after. A writer holds the collection lock from finding to recording, and this runs holding it
            // exclusively: no such writer is left, so every record has served (they were only ever removed when the
            // same object was named again, and a store with many failed writes gathered them for ever).
            db.RemovedObjects().DeleteAll();
            var chunks = db.Chunks();
            // One query for all the rewritten packs' entries: a query per pack is parsed and planned anew each time.
            foreach (var batch in plan.Repacks.Chunk(PackForgetBatch))
                chunks.DeleteMany(Query.In(nameof(ChunkDoc.Object), batch.Select(r => new BsonValue(r.Pack))));
            foreach (var repack in plan.Repacks)
            {
                chunks.Upsert(repack.Moves!.Select(m => new ChunkDoc { Id = m.Hash, Object = repack.NewPack!, Offset = m.Offset, Length = m.Length }));
                db.RepackedPacks().Upsert(new RepackedPackDoc { Id = repack.Pack, Repacked = DateTime.UtcNow });
            }
            // A rewritten pack no tree names any more needs no forwarding.
            foreach (var gone in db.RepackedPacks().FindAll().Select(p => p.Id).Where(p => Key.TryParse(p.AsSpan(ContentStore.PackPrefix.Length), out var k) && !marks.RepackedNamed.Contains(k)).ToList())
                if (plan.Repacks.All(r => r.Pack != gone)) db.RepackedPacks().Delete(gone);
            var run = db.CollectionRuns().Get(CollectionRunDoc.Current);
            if (run is not null)
            {
                run.Phase = Sweeping;
                db.CollectionRuns().Update(run);
            }
        });
        // The chunk index entries of the packs to be freed: found through its index on the pack, a batch of packs per
        // query and per transaction (one query per pack, each parsed and planned anew, was most of D's time).
        for (var i = 0; i < plan.DeadPacks.Count; i += PackForgetBatch)
        {
            cancel.ThrowIfCancellationRequested();
            progress?.Report(new(CollectionStage.Deciding, i, plan.DeadPacks.Count));
            var batch = plan.DeadPacks.GetRange(i, Math.Min(PackForgetBatch, plan.DeadPacks.Count - i));
            meta.Write(db => db.Chunks().DeleteMany(Query.In(nameof(ChunkDoc.Object), batch.Select(p => new BsonValue(p.Key)))));
        }
        progress?.Report(new(CollectionStage.Deciding, plan.DeadPacks.Count, plan.DeadPacks.Count));
        return 0;
    });

    /// <summary>Deletes the objects D decided to free, a batch at a time (Ctrl+C stops between batches).</summary>
    private void Delete(Plan plan, IProgress<CollectionProgress>? progress, CancellationToken cancel)
    {
        var keys = plan.DeadChunks.Select(d => d.Key).Concat(plan.DeadPacks.Select(d => d.Key)).Concat(plan.Repacks.Select(r => r.Pack))
            .Concat(plan.Discarded).ToList();
        for (var i = 0; i < keys.Count; i += DeleteBatch)
        {
            progress?.Report(new(CollectionStage.Deleting, i, keys.Count));
            cancel.ThrowIfCancellationRequested();
            content.Objects.DeleteMany(keys.GetRange(i, Math.Min(DeleteBatch, keys.Count - i)));
        }
        progress?.Report(new(CollectionStage.Deleting, keys.Count, keys.Count));
    }

    // ---------------------------------------------------------------- state

    /// <summary>A SHA-256 address as four numbers: a quarter of the memory of its hex string, for millions of marks.</summary>
    internal readonly record struct Key(ulong A, ulong B, ulong C, ulong D) : IComparable<Key>
    {
        /// <summary>The order of the hex ids (big-endian numbers compare as their hex does).</summary>
        public int CompareTo(Key other) =>
            A != other.A ? A.CompareTo(other.A) : B != other.B ? B.CompareTo(other.B) : C != other.C ? C.CompareTo(other.C) : D.CompareTo(other.D);

        public static bool TryParse(ReadOnlySpan<char> hex, out Key key)
        {
            Span<byte> bytes = stackalloc byte[32];
            if (hex.Length != 64 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
            {
                key = default;
                return false;
            }
            key = new Key(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
            return true;
        }

        public static Key Parse(string hex) => TryParse(hex, out var key) ? key : default;

        public string Hex()
        {
            Span<byte> bytes = stackalloc byte[32];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, A);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], B);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], C);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], D);
            return Convert.ToHexStringLower(bytes);
        }

        /// <summary>From hex in UTF-8 (an object key inside a tree node's bytes).</summary>
        public static bool TryParse(ReadOnlySpan<byte> utf8Hex, out Key key)
        {
            Span<char> hex = stackalloc char[64];
            if (utf8Hex.Length != 64 || System.Text.Encoding.ASCII.GetChars(utf8Hex, hex) != 64)
            {
                key = default;
                return false;
            }
            return TryParse(hex, out key);
        }

        /// <summary>From the 32 bytes of a SHA-256 hash.</summary>
        public static Key From(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }

    /// <summary>
    /// What the mark found named: tree nodes, large chunks, and the live byte ranges of each pack, each with the one repo
    /// that names it (an index into <see cref="Repos"/>) or <see cref="Shared"/>.
    /// </summary>
    private sealed class Marks(IEnumerable<string> repacked) : TreeCodec.IVisitor
    {
        /// <summary>Named by more than one repo, or by a datum result (which no repo removal frees).</summary>
        public const int Shared = -1;
        public readonly List<string> Repos = [];
        public readonly Dictionary<Key, (int Owner, int Bytes)> Nodes = [];
        /// <summary>Bytes of the tree nodes only one repo reaches, by repo.</summary>
        public readonly Dictionary<int, long> NodeBytes = [];
        public readonly Dictionary<Key, int> Chunks = [];
        public readonly Dictionary<Key, Dictionary<long, (int Length, int Owner)>> Packs = [];
        /// <summary>Packs rewritten by an earlier collection: their chunks are found through the chunk index.</summary>
        private readonly HashSet<Key> _repacked = repacked.Select(p => Key.TryParse(p.AsSpan(ContentStore.PackPrefix.Length), out var k) ? k : default).ToHashSet();
        public readonly HashSet<Key> RepackedNamed = [];
        /// <summary>Chunks named in rewritten packs, by hash, with who names them.</summary>
        public readonly Dictionary<string, int> Relocated = new(StringComparer.Ordinal);
        private readonly Dictionary<Key, int> _loading = [];

        private static int Merge(int a, int b) => a == b ? a : Shared;

        /// <summary>Whether node <paramref name="key"/> must be loaded for <paramref name="owner"/>: unseen, or seen by another repo only.</summary>
        public bool Claim(Key key, int owner)
        {
            if (!Nodes.TryGetValue(key, out var seen))
            {
                Nodes[key] = (owner, 0);
                _loading[key] = owner;
                return true;
            }
            if (seen.Owner == owner || seen.Owner == Shared) return false;
            // A second repo reaches it: what is below it is shared too.
            NodeBytes[seen.Owner] = NodeBytes.GetValueOrDefault(seen.Owner) - seen.Bytes;
            Nodes[key] = (Shared, seen.Bytes);
            _loading[key] = Shared;
            return true;
        }

        /// <summary>Marks what a claimed node names for whoever claimed it; children to load go to <paramref name="next"/>.</summary>
        public void Visit(Key key, byte[] data, List<Key> next)
        {
            if (!_loading.Remove(key, out var owner)) owner = Shared;
            if (owner != Shared && Nodes[key].Bytes == 0)
            {
                Nodes[key] = (owner, data.Length);
                NodeBytes[owner] = NodeBytes.GetValueOrDefault(owner) + data.Length;
            }
            _visiting = (owner, next);
            TreeCodec.Walk(data, this);
        }

        private (int Owner, List<Key> Next) _visiting;

        void TreeCodec.IVisitor.Child(ReadOnlySpan<byte> id)
        {
            if (Claim(Key.From(id), _visiting.Owner)) _visiting.Next.Add(Key.From(id));
        }

        void TreeCodec.IVisitor.Chunk(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> objectKey, long offset, int length)
        {
            var owner = _visiting.Owner;
            if (!objectKey.StartsWith("pack/"u8))
            {
                if (objectKey.Length >= ContentStore.ChunkPrefix.Length && Key.TryParse(objectKey[ContentStore.ChunkPrefix.Length..], out var key))
                    Chunks[key] = Chunks.TryGetValue(key, out var seen) ? Merge(seen, owner) : owner;
                return;
            }
            if (!Key.TryParse(objectKey[ContentStore.PackPrefix.Length..], out var pack)) return;
            if (_repacked.Contains(pack))
            {
                RepackedNamed.Add(pack);
                var name = Convert.ToHexStringLower(hash);
                Relocated[name] = Relocated.TryGetValue(name, out var seen) ? Merge(seen, owner) : owner;
                return;
            }
            NameAt(pack, offset, length, owner);
        }

        public void Name(ChunkRef chunk, int owner)
        {
            if (!ContentStore.IsPacked(chunk))
            {
                if (Key.TryParse(chunk.Object.AsSpan(ContentStore.ChunkPrefix.Length), out var key))
                    Chunks[key] = Chunks.TryGetValue(key, out var seen) ? Merge(seen, owner) : owner;
                return;
            }
            if (Key.TryParse(chunk.Object.AsSpan(ContentStore.PackPrefix.Length), out var pack) && _repacked.Contains(pack))
            {
                RepackedNamed.Add(pack);
                Relocated[chunk.Hash] = Relocated.TryGetValue(chunk.Hash, out var seen) ? Merge(seen, owner) : owner;
                return;
            }
            NameAt(chunk.Object, chunk.Offset, chunk.Length, owner);
        }

        public void NameAt(string packKey, long offset, int length, int owner)
        {
            if (Key.TryParse(packKey.AsSpan(ContentStore.PackPrefix.Length), out var pack)) NameAt(pack, offset, length, owner);
        }

        private void NameAt(Key pack, long offset, int length, int owner)
        {
            if (!Packs.TryGetValue(pack, out var live)) Packs[pack] = live = [];
            live[offset] = live.TryGetValue(offset, out var seen) ? (length, Merge(seen.Owner, owner)) : (length, owner);
        }
    }

    /// <summary>A mostly-garbage pack: its live byte ranges and, once rewritten, the new pack and where each chunk went.</summary>
    private sealed class Repack(string pack, long size, Dictionary<long, int> live)
    {
        public string Pack { get; } = pack;
        public long Size { get; } = size;
        public Dictionary<long, int> Live { get; } = live;
        public string? NewPack { get; set; }
        public long NewSize { get; set; }
        public List<(string Hash, long Offset, int Length)>? Moves { get; set; }
    }

    /// <summary>What the collection will free, decided from the mark and the listing (and revised in D).</summary>
    private sealed class Plan
    {
        public List<(string Key, long Size)> DeadChunks { get; } = [];
        public List<(string Key, long Size)> DeadPacks { get; } = [];
        public List<Repack> Repacks { get; } = [];
        public List<(string Id, long Size)> DeadNodes { get; } = [];
        public long LiveObjects;
        public long LiveBytes;
        public long RecentKept;
        public long RecentBytes;
        public IReadOnlyList<string> Repos { get; set; } = [];
        /// <summary>Stored bytes only one repo names (content and tree nodes), by index into <see cref="Repos"/>.</summary>
        public Dictionary<int, long> Exclusive { get; } = [];

        public void AddExclusive(int owner, long bytes)
        {
            if (owner != Marks.Shared) Exclusive[owner] = Exclusive.GetValueOrDefault(owner) + bytes;
        }

        public Dictionary<string, long> ExclusiveByRepo() =>
            Repos.Select((name, i) => (name, i)).ToDictionary(r => r.name, r => Exclusive.GetValueOrDefault(r.i), StringComparer.Ordinal);
        /// <summary>New packs written and then not used (their old pack was named again during the collection).</summary>
        public List<string> Discarded { get; } = [];

        public CollectionReport Report(string store, bool whatIf, TimeSpan duration)
        {
            var repacked = Repacks.Sum(r => r.Size - r.NewSize);
            var reasons = new List<CollectionItem>
            {
                new(CollectionReasons.UnreferencedChunk, DeadChunks.Count, DeadChunks.Sum(d => d.Size)),
                new(CollectionReasons.UnreferencedPack, DeadPacks.Count, DeadPacks.Sum(d => d.Size)),
                new(CollectionReasons.MostlyGarbagePack, Repacks.Count,
                    whatIf ? Repacks.Sum(r => r.Size - r.Live.Values.Sum(l => (long)l)) : repacked),
                new(CollectionReasons.UnreferencedTreeNode, DeadNodes.Count, DeadNodes.Sum(n => n.Size)),
            };
            return new CollectionReport
            {
                Store = store, WhatIf = whatIf, Reasons = reasons,
                ObjectsRemoved = DeadChunks.Count + DeadPacks.Count + Repacks.Count,
                PacksRemoved = DeadPacks.Count + Repacks.Count, PacksWritten = whatIf ? Repacks.Count : Repacks.Count(r => r.NewPack is not null),
                TreeNodesRemoved = DeadNodes.Count, BytesFreed = reasons.Sum(r => r.Bytes),
                LiveObjects = LiveObjects, LiveBytes = LiveBytes, RecentObjectsKept = RecentKept, Duration = duration,
            };
        }
    }
}
