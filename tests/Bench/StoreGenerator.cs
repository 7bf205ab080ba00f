using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Bench;

/// <summary>What a generated store holds, and exactly what a garbage collection of it must free.</summary>
internal sealed record GeneratedStore
{
    public long Repos { get; init; }
    public long Commits { get; init; }
    /// <summary>Chunks written (distinct content), packed and large.</summary>
    public long Chunks { get; init; }
    public long PackedChunks { get; init; }
    /// <summary>Content objects: packs and large chunks.</summary>
    public long Objects { get; init; }
    public long Packs { get; init; }
    public long Nodes { get; init; }
    public long ObjectBytes { get; init; }
    public long NodeBytes { get; init; }
    public long DeadChunks { get; init; }
    public long DeadChunkBytes { get; init; }
    public long DeadPacks { get; init; }
    public long DeadPackBytes { get; init; }
    public long Repacks { get; init; }
    public long DeadNodes { get; init; }
    public long DeadNodeBytes { get; init; }
}

/// <summary>
/// Writes a store of many repos, branches and commits straight through the engine's documents, trees and object store
/// (no cmdlets, no per-commit transaction): <c>1,000,000 × scale</c> chunks in <c>200,000 × scale</c> commits. Each
/// repo starts with a bulk ingest (small files in full packs), then commits of a few files each: small files packed
/// into one pack per commit (as a <see cref="ContentWriter"/> session does), large files as chunk objects of their own,
/// new files appended to time-ordered folders, now and then an old file rewritten or one copied from another repo
/// (deduplicated: it names that repo's pack). Commits of feature branches share their fork's tree.
/// </summary>
/// <remarks>
/// The garbage is what a store gathers: removed repos (their commits and branches gone, their tree nodes, packs, chunks,
/// chunk index entries and named-object records left), a removed branch per repo with its commits, and objects of
/// failed writes that nothing names. Copies from removed repos leave packs mostly garbage, which a collection rewrites.
/// What must be freed is counted as the store is written, from which commits survive, not by walking it afterwards.
/// Large chunks are stored at 2 to 8 KiB instead of 64 KiB and more: a collection's cost per chunk object does not
/// depend on its size, and the store stays a few GB.
/// </remarks>
internal static class StoreGenerator
{
    public const int ChunksAtScale1 = 1_000_000;
    public const int CommitsAtScale1 = 200_000;
    /// <summary>Share of the chunks written by the repos' first (bulk) commits.</summary>
    private const double BulkShare = 0.3;
    /// <summary>Share of repos removed (all of their content garbage).</summary>
    private const double RemovedRepoShare = 0.1;
    /// <summary>Shares of a repo's commits on its two kept feature branches (each) and its removed branch.</summary>
    private const double FeatureShare = 0.075, RemovedBranchShare = 0.05;
    /// <summary>Chance a commit copies a file of a removed repo, a failed write leaves objects, a file is rewritten.</summary>
    private const double CopyChance = 0.02, FailedWriteChance = 0.005, RewriteChance = 0.3;
    private const int FilesPerFolder = 200;

    /// <summary>Fills <paramref name="store"/> (new and empty) at <paramref name="scale"/> (1: the sizes issue 15 names).</summary>
    public static GeneratedStore Generate(PachStore store, double scale, int seed = 1, Action<string>? log = null)
    {
        var totalCommits = Math.Max(20, (long)(CommitsAtScale1 * scale));
        var totalChunks = Math.Max(100, (long)(ChunksAtScale1 * scale));
        var repos = (int)Math.Clamp(totalCommits / 1000, 4, 200);
        var removed = Math.Max(1, (int)(repos * RemovedRepoShare));
        var state = new State(store, new Random(seed));
        // Chunks per incremental commit: small files (0 to 4, 2 on average) plus a rewrite now and then, and a large
        // file of 1 to 3 chunks with the chance that makes up the rest.
        var perCommit = totalChunks * (1 - BulkShare) / totalCommits;
        var largeChance = Math.Clamp((perCommit - 2 - RewriteChance - CopyChance) / 2, 0, 1);
        for (var r = 0; r < repos; r++)
        {
            var name = $"repo{r:D3}";
            var commits = (int)(totalCommits / repos + (r < totalCommits % repos ? 1 : 0));
            var bulk = (int)(totalChunks * BulkShare / repos);
            new RepoWriter(state, name, live: r >= removed, largeChance).Write(commits, bulk);
            if ((r + 1) % Math.Max(1, repos / 10) == 0) log?.Invoke($"{r + 1}/{repos} repos, {state.Commits} commits, {state.Chunks} chunks, {state.Nodes.Count} nodes");
        }
        return state.Result(repos);
    }

    /// <summary>Everything written so far, and which of it survives.</summary>
    private sealed class State(PachStore store, Random rng)
    {
        public PachStore Store { get; } = store;
        public Random Rng { get; } = rng;
        public IObjectStore Objects => Store.Objects;
        public readonly Dictionary<string, StoredObject> Stored = new(StringComparer.Ordinal);
        /// <summary>Every tree node's size, and the nodes some surviving commit's tree holds.</summary>
        public readonly Dictionary<string, int> Nodes = new(StringComparer.Ordinal);
        public readonly HashSet<string> LiveNodes = new(StringComparer.Ordinal);
        /// <summary>Packed chunks of removed repos, for copies that name them.</summary>
        public readonly List<ChunkRef> RemovedPacked = [];
        /// <summary>Packed chunks in the chunk index (a copy finds its chunk there and adds none).</summary>
        public readonly HashSet<string> Indexed = new(StringComparer.Ordinal);
        public long Commits;
        public long Chunks;
        public long PackedChunks;

        public ChunkRef PutLarge(int length)
        {
            var data = new byte[length];
            Rng.NextBytes(data);
            var hash = ContentHash.Of(data);
            var key = ContentStore.ChunkPrefix + hash;
            Objects.Put(key, data);
            Stored[key] = new StoredObject(length, null);
            Chunks++;
            return new ChunkRef(hash, key, 0, length);
        }

        /// <summary>One pack of small chunks of these lengths, as one writer session stores them.</summary>
        public List<ChunkRef> PutPack(IReadOnlyList<int> lengths)
        {
            var data = new byte[lengths.Sum()];
            Rng.NextBytes(data);
            var key = ContentStore.PackPrefix + ContentHash.Of(data);
            var chunks = new List<ChunkRef>(lengths.Count);
            var offset = 0;
            foreach (var length in lengths)
            {
                chunks.Add(new ChunkRef(ContentHash.Of(data.AsSpan(offset, length)), key, offset, length));
                offset += length;
            }
            Objects.Put(key, data);
            Stored[key] = new StoredObject(data.Length, []);
            Chunks += lengths.Count;
            PackedChunks += lengths.Count;
            return chunks;
        }

        /// <summary>A surviving commit names these chunks.</summary>
        public void Keep(IEnumerable<ChunkRef> chunks)
        {
            foreach (var c in chunks)
            {
                var o = Stored[c.Object];
                if (o.LiveRanges is { } ranges) ranges[c.Offset] = c.Length;
                else o.Live = true;
            }
        }

        public GeneratedStore Result(int repos)
        {
            var packs = Stored.Values.Where(o => o.LiveRanges is not null).ToList();
            var chunks = Stored.Values.Where(o => o.LiveRanges is null).ToList();
            var deadNodes = Nodes.Where(n => !LiveNodes.Contains(n.Key)).ToList();
            return new GeneratedStore
            {
                Repos = repos, Commits = Commits, Chunks = Chunks, PackedChunks = PackedChunks,
                Objects = Stored.Count, Packs = packs.Count, Nodes = Nodes.Count,
                ObjectBytes = Stored.Values.Sum(o => o.Size), NodeBytes = Nodes.Values.Sum(n => (long)n),
                DeadChunks = chunks.Count(c => !c.Live), DeadChunkBytes = chunks.Where(c => !c.Live).Sum(c => c.Size),
                DeadPacks = packs.Count(p => p.LiveRanges!.Count == 0), DeadPackBytes = packs.Where(p => p.LiveRanges!.Count == 0).Sum(p => p.Size),
                Repacks = packs.Count(p => p.LiveRanges!.Count > 0 && p.LiveRanges.Values.Sum(l => (long)l) < p.Size * Engine.Collection.GarbageCollector.RepackBelow),
                DeadNodes = deadNodes.Count, DeadNodeBytes = deadNodes.Sum(n => (long)n.Value),
            };
        }
    }

    /// <summary>A content object as written: its size and, for a survivor's reference, what of it is live (packs: by offset).</summary>
    private sealed class StoredObject(long size, Dictionary<long, int>? liveRanges)
    {
        public long Size { get; } = size;
        public Dictionary<long, int>? LiveRanges { get; } = liveRanges;
        public bool Live { get; set; }
    }

    /// <summary>Tree nodes of one repo: kept in memory for the trees being built, saved to the metadata in bulk.</summary>
    private sealed class RepoNodes(State state) : INodeSource
    {
        private readonly Dictionary<string, byte[]> _nodes = new(StringComparer.Ordinal);
        public readonly List<NodeDoc> Pending = [];
        /// <summary>Whether the commit being built survives (its new nodes are live).</summary>
        public bool Live;

        public byte[]? Load(string id) => _nodes.GetValueOrDefault(id);

        public void Save(string id, byte[] data)
        {
            if (Live) state.LiveNodes.Add(id);
            if (!_nodes.TryAdd(id, data)) return;
            if (state.Nodes.TryAdd(id, data.Length)) Pending.Add(new NodeDoc { Id = id, Data = data });
        }
    }

    /// <summary>One repo: master, two feature branches and a removed branch, written in one metadata transaction.</summary>
    private sealed class RepoWriter(State state, string repo, bool live, double largeChance)
    {
        private readonly Random _rng = state.Rng;
        private readonly RepoNodes _nodes = new(state);
        private readonly List<CommitDoc> _commits = [];
        private readonly List<BranchDoc> _branches = [];
        private readonly List<ChunkDoc> _index = [];
        private readonly HashSet<string> _named = new(StringComparer.Ordinal);
        private readonly DateTime _start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(state.Rng.Next(300));
        private PathTree Tree => new(_nodes);

        /// <summary>A branch being written: its files in order (new ones go to its own folder) and its head.</summary>
        private sealed class Branch(string name, string folder, List<string> paths, CommitDoc? head)
        {
            public string Name { get; } = name;
            public string Folder { get; } = folder;
            public List<string> Paths { get; } = paths;
            public CommitDoc? Head { get; set; } = head;
            public int Added;
        }

        public void Write(int commits, int bulkFiles)
        {
            var feature = Math.Max(1, (int)(commits * FeatureShare));
            var removedBranch = Math.Max(1, (int)(commits * RemovedBranchShare));
            var masterCommits = Math.Max(1, commits - 2 * feature - removedBranch);
            _nodes.Live = live;
            var master = new Branch("master", "/data", [], null);
            var history = new List<(CommitDoc Commit, int Files)>();
            for (var i = 0; i < masterCommits; i++)
            {
                Commit(master, i == 0 ? bulkFiles : 0);
                history.Add((master.Head!, master.Paths.Count));
            }
            AddBranch(master);
            foreach (var (name, count, kept) in new[] { ("feature-a", feature, true), ("feature-b", feature, true), ("scratch", removedBranch, false) })
            {
                var (fork, files) = history[_rng.Next(history.Count)];
                var branch = new Branch(name, "/" + name, master.Paths.GetRange(0, files), fork);
                _nodes.Live = live && kept;
                for (var i = 0; i < count; i++) Commit(branch, 0);
                if (kept) AddBranch(branch);
            }
            state.Store.Meta.Write(db =>
            {
                if (live)
                {
                    db.Repos().Insert(new RepoDoc { Name = repo, Created = _start });
                    db.Branches().InsertBulk(_branches);
                    db.Commits().InsertBulk(_commits);
                }
                db.Nodes().InsertBulk(_nodes.Pending);
                db.Chunks().InsertBulk(_index);
                db.NamedObjects().Upsert(_named.Select(k => new NamedObjectDoc { Id = k }));
            });
        }

        private void AddBranch(Branch branch) => _branches.Add(new BranchDoc
        {
            Id = BranchDoc.Key(repo, branch.Name), Repo = repo, Name = branch.Name, Head = branch.Head?.Id, Created = _start,
        });

        private void Commit(Branch branch, int bulkFiles)
        {
            var id = NewId();
            var files = new List<(string Path, List<ChunkRef> Chunks)>();
            var smallPaths = new List<string>();
            var smallLengths = new List<int>();
            string NewPath()
            {
                var path = $"{branch.Folder}/{branch.Added / FilesPerFolder:D4}/f{branch.Added:D6}.dat";
                branch.Added++;
                branch.Paths.Add(path);
                return path;
            }
            void AddSmall(string path, int length)
            {
                smallPaths.Add(path);
                smallLengths.Add(length);
            }
            if (bulkFiles > 0)
            {
                // A bulk ingest: small files filling packs of the writer's target size.
                for (var i = 0; i < bulkFiles; i++) AddSmall(NewPath(), 500 + _rng.Next(3000));
                var at = 0;
                while (at < smallLengths.Count)
                {
                    var end = at;
                    for (long bytes = 0; end < smallLengths.Count && bytes < ContentStore.PackTarget; end++) bytes += smallLengths[end];
                    var packed = state.PutPack(smallLengths.GetRange(at, end - at));
                    for (var i = at; i < end; i++) files.Add((smallPaths[i], [packed[i - at]]));
                    at = end;
                }
            }
            else
            {
                var existing = branch.Paths.Count;
                for (var n = _rng.Next(5); n > 0; n--) AddSmall(NewPath(), 100 + _rng.Next(1400));
                if (existing > 0 && _rng.NextDouble() < RewriteChance) AddSmall(branch.Paths[_rng.Next(existing)], 100 + _rng.Next(1400));
                if (_rng.NextDouble() < largeChance)
                    files.Add((NewPath(), Enumerable.Range(0, 1 + _rng.Next(3)).Select(_ => state.PutLarge(2048 + _rng.Next(6144))).ToList()));
                if (live && state.RemovedPacked.Count > 0 && _rng.NextDouble() < CopyChance)
                    // A file copied from a removed repo's data before it was removed: found in the chunk index, not stored again.
                    files.Add((NewPath(), [state.RemovedPacked[_rng.Next(state.RemovedPacked.Count)]]));
                if (smallLengths.Count > 0)
                {
                    var packed = state.PutPack(smallLengths);
                    for (var i = 0; i < packed.Count; i++) files.Add((smallPaths[i], [packed[i]]));
                }
                if (_rng.NextDouble() < FailedWriteChance)
                {
                    // A session that failed after storing: nothing names its objects.
                    state.PutPack([200 + _rng.Next(800), 200 + _rng.Next(800)]);
                    state.PutLarge(4096);
                }
            }
            foreach (var (_, chunks) in files)
                foreach (var c in chunks)
                {
                    _named.Add(c.Object);
                    if (ContentStore.IsPacked(c) && state.Indexed.Add(c.Hash))
                        _index.Add(new ChunkDoc { Id = c.Hash, Object = c.Object, Offset = c.Offset, Length = c.Length });
                }
            if (!live) state.RemovedPacked.AddRange(files.SelectMany(f => f.Chunks).Where(ContentStore.IsPacked));
            if (_nodes.Live) state.Keep(files.SelectMany(f => f.Chunks));
            var parent = branch.Head;
            var commit = new CommitDoc
            {
                Id = id, Repo = repo, Branch = branch.Name, Parent = parent?.Id, Origin = "User",
                Started = _start.AddMinutes(state.Commits), Finished = _start.AddMinutes(state.Commits).AddSeconds(1),
                Size = parent?.Size ?? 0, FileCount = parent?.FileCount ?? 0, Message = "",
            };
            var edits = new Dictionary<string, TreeEntry?>(StringComparer.Ordinal);
            foreach (var (path, chunks) in files)
            {
                var content = new FileContent(chunks.Sum(c => (long)c.Length), ContentHash.OfChunks(chunks), chunks);
                var old = parent?.Root is { } root ? Tree.Get(root, path) : null;
                commit.Size += content.Size - (old?.Content.Size ?? 0);
                commit.FileCount += old is null ? 1 : 0;
                edits[path] = new TreeEntry(path, content, id);
            }
            commit.Root = Tree.Apply(parent?.Root, edits);
            if (_nodes.Live) _commits.Add(commit);
            state.Commits++;
            branch.Head = commit;
        }

        private string NewId()
        {
            Span<byte> bytes = stackalloc byte[16];
            _rng.NextBytes(bytes);
            return new Guid(bytes).ToString("N");
        }
    }
}
