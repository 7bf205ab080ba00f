using CsCheck;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>Tree nodes in a dictionary: the property tests build thousands of small trees and need no store.</summary>
internal sealed class MemoryNodeSource : INodeSource
{
    private readonly Dictionary<string, byte[]> _nodes = new(StringComparer.Ordinal);
    public byte[]? Load(string id) { lock (_nodes) return _nodes.GetValueOrDefault(id); }
    public void Save(string id, byte[] data) { lock (_nodes) _nodes.TryAdd(id, data); }
}

/// <summary>
/// Generators and the reference model shared by the tree properties. A model tree is a sorted dictionary from path to
/// content text; the engine's tree must hold exactly those paths with those contents' hashes.
/// </summary>
internal static class TreeModel
{
    // Few names, so random paths collide, nest under each other and sort around '/' ('-' and '.' before it, '0' after).
    private static readonly string[] Segments = ["a", "b", "a.b", "a-", "a0"];

    /// <summary>A path one to three segments deep (5 + 25 + 125 possible paths).</summary>
    public static readonly Gen<string> Path = Gen.OneOf(Segments).Array[1, 3].Select(parts => "/" + string.Join('/', parts));

    /// <summary>A content, from a few texts so two sides often write the same one.</summary>
    public static readonly Gen<string> Text = Gen.OneOf("1", "2", "3");

    /// <summary>A write (text) or a removal (null).</summary>
    public static readonly Gen<(string Path, string? Text)> Op =
        Gen.Select(Path, Gen.Frequency((3, Text.Select(t => (string?)t)), (1, Gen.Const((string?)null))));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, FileContent> Contents = new(StringComparer.Ordinal);

    /// <summary>A text's content (remembered: the models hash the same few texts millions of times).</summary>
    public static FileContent Content(string text) =>
        Contents.GetOrAdd(text, t => new FileContent(t.Length, ContentHash.Of(System.Text.Encoding.UTF8.GetBytes(t)), []));

    public static string Hash(string text) => Content(text).Hash;

    public static KeyValuePair<string, TreeEntry?> Change(string path, string? text) =>
        new(path, text is null ? null : new TreeEntry(path, Content(text), "c"));

    /// <summary>
    /// Applies edits as a commit would: a write first removes what it collides with (a file where it needs a directory,
    /// or the files under a directory it replaces), so the tree stays one a file system can hold.
    /// </summary>
    public static SortedDictionary<string, string> Edit(IDictionary<string, string> tree, IEnumerable<(string Path, string? Text)> ops)
    {
        var result = new SortedDictionary<string, string>(tree, StringComparer.Ordinal);
        foreach (var (path, text) in ops)
        {
            if (text is null) { result.Remove(path); continue; }
            foreach (var clash in result.Keys.Where(k => k.StartsWith(path + "/", StringComparison.Ordinal) || path.StartsWith(k + "/", StringComparison.Ordinal)).ToList())
                result.Remove(clash);
            result[path] = text;
        }
        return result;
    }

    /// <summary>The engine's tree for a model, built from <paramref name="fromRoot"/> (holding <paramref name="from"/>) so the two share nodes.</summary>
    public static string? Build(PathTree tree, string? fromRoot, IDictionary<string, string> from, IDictionary<string, string> to)
    {
        var changes = from.Keys.Where(k => !to.ContainsKey(k)).Select(k => Change(k, null))
            .Concat(to.Where(e => !from.TryGetValue(e.Key, out var old) || old != e.Value).Select(e => Change(e.Key, e.Value)));
        return tree.Apply(fromRoot, changes.ToList());
    }

    /// <summary>What the engine's tree holds, as "path=hash" in its order.</summary>
    public static List<string> Show(IEnumerable<TreeEntry> entries) => entries.Select(e => e.Path + "=" + e.Content.Hash).ToList();

    /// <summary>What a model holds, as "path=hash" in ordinal path order.</summary>
    public static List<string> Show(IEnumerable<KeyValuePair<string, string>> model) =>
        model.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + "=" + Hash(e.Value)).ToList();
}

/// <summary>
/// Issue 19 item 5: PathTree (put, remove, get, range, under) and TreeDiff against a sorted dictionary; TreeMerge against
/// its documented rules worked out path by path on dictionaries.
/// </summary>
[Collection(PropertyCollection.Name)]
public class TreePropertyTests
{
    private readonly PathTree _tree = new(new MemoryNodeSource());

    /// <summary>Many files under one folder, so some trees have several leaves and internal nodes.</summary>
    private static readonly Gen<int> Bulk = Gen.Frequency((3, Gen.Const(0)), (1, Gen.Int[65, 400]), (1, Gen.Int[4_100, 4_200]));

    private static IEnumerable<(string, string?)> BulkFiles(int count) => Enumerable.Range(0, count).Select(i => ($"/a0/{i:D5}", (string?)(i % 3).ToString()));

    /// <summary>A model holding the bulk files (distinct paths, so nothing to check while adding them).</summary>
    private static SortedDictionary<string, string> BulkModel(int count) =>
        new(BulkFiles(count).ToDictionary(f => f.Item1, f => f.Item2!), StringComparer.Ordinal);

    [Fact]
    public void PathTreeAgreesWithASortedDictionaryAndOldRootsStayValid()
    {
        var batches = Gen.Select(Bulk, TreeModel.Op.List[0, 12]).Select((bulk, ops) => BulkFiles(bulk).Concat(ops).ToList()).List[1, 6];
        var probes = TreeModel.Path.Array[4];
        Gen.Select(batches, probes).Sample((steps, probe) =>
        {
            var model = new SortedDictionary<string, string>(StringComparer.Ordinal);
            string? root = null;
            var versions = new List<(string? Root, List<string> Files)>();
            foreach (var batch in steps)
            {
                // One change per path and batch (Apply's contract); the last one of a path wins, as in a commit.
                var changes = batch.GroupBy(c => c.Item1).Select(g => g.Last()).ToList();
                foreach (var (path, text) in changes)
                {
                    if (text is null) model.Remove(path); else model[path] = text;
                }
                root = _tree.Apply(root, changes.Select(c => TreeModel.Change(c.Item1, c.Item2)));
                Assert.Equal(model.Count == 0, root is null);
                Assert.Equal(TreeModel.Show(model), TreeModel.Show(_tree.All(root)));
                foreach (var path in model.Keys.Take(50).Concat(probe))
                    Assert.Equal(model.TryGetValue(path, out var text) ? TreeModel.Hash(text) : null, _tree.Get(root, path)?.Content.Hash);
                foreach (var dir in probe.Append("/"))
                {
                    var expected = model.Where(e => dir == "/" || e.Key == dir || e.Key.StartsWith(dir + "/", StringComparison.Ordinal));
                    Assert.Equal(TreeModel.Show(expected), TreeModel.Show(_tree.Under(root, dir)));
                }
                var (from, to) = string.CompareOrdinal(probe[0], probe[1]) <= 0 ? (probe[0], probe[1]) : (probe[1], probe[0]);
                Assert.Equal(TreeModel.Show(model.Where(e => string.CompareOrdinal(e.Key, from) >= 0 && string.CompareOrdinal(e.Key, to) < 0)),
                    TreeModel.Show(_tree.Range(root, from, to)));
                versions.Add((root, TreeModel.Show(model)));
            }
            // Persistence: every earlier root still reads as it did.
            foreach (var (oldRoot, files) in versions) Assert.Equal(files, TreeModel.Show(_tree.All(oldRoot)));
        }, iter: 150);
    }

    [Fact]
    public void TreeDiffIsTheDifferenceOfTwoDictionaries()
    {
        // The newer tree is an edit of the older one (nodes shared) or, sometimes, built from nothing (nothing shared).
        var gen = Gen.Select(Bulk, TreeModel.Op.List[0, 30], TreeModel.Op.List[0, 12], Gen.Int[0, 3]);
        gen.Sample((bulk, olderOps, edits, rebuild) =>
        {
            var older = TreeModel.Edit(BulkModel(bulk), olderOps);
            var newer = TreeModel.Edit(older, edits);
            var olderRoot = TreeModel.Build(_tree, null, new Dictionary<string, string>(), older);
            var newerRoot = rebuild == 0 ? TreeModel.Build(_tree, null, new Dictionary<string, string>(), newer) : TreeModel.Build(_tree, olderRoot, older, newer);

            var expected = older.Keys.Union(newer.Keys).Order(StringComparer.Ordinal).SelectMany(path =>
                !older.TryGetValue(path, out var was) ? [$"Added:{path}:{TreeModel.Hash(newer[path])}"]
                : !newer.TryGetValue(path, out var now) ? [$"Removed:{path}:{TreeModel.Hash(was)}"]
                : was != now ? new[] { $"Modified:{path}:{TreeModel.Hash(now)}" } : []).ToList();
            var actual = TreeDiff.Compare(_tree, olderRoot, newerRoot).Select(d => $"{d.Change}:{d.Path}:{d.NewHash ?? d.OldHash}").ToList();
            Assert.Equal(expected, actual);
        }, iter: 300);
    }

    /// <summary>
    /// TreeMerge's documented rules, path by path: a path only the source changed takes the source's version; one both
    /// changed the same way stays; one both changed differently is a conflict (BothChanged, or ChangedAndRemoved when one
    /// side removed it) that Source resolves to the source's version and Fail and Destination leave as the destination
    /// has it. Then a file the merge would put where the other side has a directory (or under the other side's file) is a
    /// FileAndDirectory conflict at the file's path: Source keeps the source's side, the others the destination's.
    /// </summary>
    private static (SortedDictionary<string, string> Result, Dictionary<string, MergeConflictKind> Conflicts) ModelMerge(
        IDictionary<string, string> @base, IDictionary<string, string> source, IDictionary<string, string> dest, MergeStrategy strategy)
    {
        var result = new SortedDictionary<string, string>(dest, StringComparer.Ordinal);
        var conflicts = new Dictionary<string, MergeConflictKind>(StringComparer.Ordinal);
        var fromSource = new HashSet<string>(StringComparer.Ordinal);
        void TakeSource(string path, string? text)
        {
            if (text is null) result.Remove(path);
            else { result[path] = text; fromSource.Add(path); }
        }
        foreach (var path in @base.Keys.Union(source.Keys).Union(dest.Keys))
        {
            var b = @base.TryGetValue(path, out var x) ? x : null;
            var s = source.TryGetValue(path, out var y) ? y : null;
            var d = dest.TryGetValue(path, out var z) ? z : null;
            if (s == b || s == d) continue;
            if (d == b) { TakeSource(path, s); continue; }
            conflicts[path] = s is null || d is null ? MergeConflictKind.ChangedAndRemoved : MergeConflictKind.BothChanged;
            if (strategy == MergeStrategy.Source) TakeSource(path, s);
        }
        foreach (var file in result.Keys.ToList())
        {
            if (!result.ContainsKey(file)) continue;
            var below = result.Keys.Where(k => k.StartsWith(file + "/", StringComparison.Ordinal)).ToList();
            if (below.Count == 0) continue;
            conflicts[file] = MergeConflictKind.FileAndDirectory;
            // One side of each clash came from the source (the source and the destination are each a valid tree).
            var clashing = below.Append(file);
            var keep = strategy == MergeStrategy.Source ? clashing.Where(fromSource.Contains) : clashing.Where(p => !fromSource.Contains(p));
            foreach (var path in clashing.Except(keep).ToList()) result.Remove(path);
        }
        return (result, conflicts);
    }

    [Fact]
    public void TreeMergeFollowsItsRulesPathByPath()
    {
        var gen = Gen.Select(Bulk.Select(b => Math.Min(b, 400)), TreeModel.Op.List[0, 15], TreeModel.Op.List[0, 8], TreeModel.Op.List[0, 8],
            Gen.OneOf(MergeStrategy.Fail, MergeStrategy.Source, MergeStrategy.Destination));
        gen.Sample((bulk, baseOps, sourceOps, destOps, strategy) =>
        {
            var @base = TreeModel.Edit(BulkModel(bulk), baseOps);
            var source = TreeModel.Edit(@base, sourceOps);
            var dest = TreeModel.Edit(@base, destOps);
            var baseRoot = TreeModel.Build(_tree, null, new Dictionary<string, string>(), @base);
            var sourceRoot = TreeModel.Build(_tree, baseRoot, @base, source);
            var destRoot = TreeModel.Build(_tree, baseRoot, @base, dest);

            var plan = TreeMerge.Merge(_tree, "r", baseRoot, sourceRoot, destRoot, strategy);
            var merged = _tree.Apply(destRoot, plan.Changes.Select(c => new KeyValuePair<string, TreeEntry?>(c.Path, c.Content is null ? null : new TreeEntry(c.Path, c.Content, "m"))));
            var (expected, conflicts) = ModelMerge(@base, source, dest, strategy);

            Assert.Equal(TreeModel.Show(expected), TreeModel.Show(_tree.All(merged)));
            Assert.Equal(conflicts.Keys.Order(StringComparer.Ordinal), plan.Conflicts.Select(c => c.Path));
            foreach (var c in plan.Conflicts)
            {
                Assert.Equal(strategy == MergeStrategy.Fail ? null : strategy, c.Resolution);
                // A path both sides changed that is also a file against a directory may be reported as either.
                if (conflicts[c.Path] != MergeConflictKind.FileAndDirectory) Assert.Equal(conflicts[c.Path], c.Kind);
                else if (@base.GetValueOrDefault(c.Path) == source.GetValueOrDefault(c.Path) || @base.GetValueOrDefault(c.Path) == dest.GetValueOrDefault(c.Path))
                    Assert.Equal(MergeConflictKind.FileAndDirectory, c.Kind);
            }
        }, iter: 400);
    }
}
