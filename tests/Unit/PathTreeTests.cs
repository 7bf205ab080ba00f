using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

public class PathTreeTests
{
    private sealed class CountingSource : INodeSource
    {
        public Dictionary<string, byte[]> Nodes { get; } = new();
        public int Saves { get; private set; }
        public byte[]? Load(string id) => Nodes.GetValueOrDefault(id);
        public void Save(string id, byte[] data)
        {
            if (Nodes.TryAdd(id, data)) Saves++;
        }
    }

    private static TreeEntry Entry(string path, string content) =>
        new(path, new FileContent(content.Length, ContentHash.Of(System.Text.Encoding.UTF8.GetBytes(content)), []), "c1");

    private static IEnumerable<KeyValuePair<string, TreeEntry?>> Files(int count) =>
        Enumerable.Range(0, count).Select(i => new KeyValuePair<string, TreeEntry?>($"/d{i % 10}/f{i:D6}", Entry($"/d{i % 10}/f{i:D6}", i.ToString())));

    [Fact]
    public void GetRangeAndUnderFindWhatWasAdded()
    {
        var tree = new PathTree(new CountingSource());
        var root = tree.Apply(null, Files(1000));
        Assert.Equal(1000, tree.All(root).Count());
        Assert.NotNull(tree.Get(root, "/d3/f000003"));
        Assert.Null(tree.Get(root, "/d3/f000004"));
        Assert.Equal(100, tree.Under(root, "/d3").Count());
        Assert.Equal(tree.All(root).Select(e => e.Path).Order(StringComparer.Ordinal), tree.All(root).Select(e => e.Path));
    }

    [Fact]
    public void AOneFileChangeWritesOnlyTheNodesOnItsPath()
    {
        var source = new CountingSource();
        var tree = new PathTree(source);
        var root = tree.Apply(null, Files(20_000));
        var before = source.Saves;
        var next = tree.Apply(root, [new("/d5/new", Entry("/d5/new", "x"))]);
        var written = source.Saves - before;
        // depth of a 20,000-file tree with fan-out 64 is 3: a change costs about one node per level.
        Assert.InRange(written, 1, 4);
        Assert.Equal(20_001, tree.All(next).Count());
        Assert.Equal(20_000, tree.All(root).Count()); // the old version is untouched
    }

    [Fact]
    public void RemovalsAndSameContentGiveTheSameRoot()
    {
        var tree = new PathTree(new CountingSource());
        var root = tree.Apply(null, Files(500));
        var added = tree.Apply(root, [new("/zz", Entry("/zz", "1"))]);
        var removed = tree.Apply(added, [new("/zz", null)]);
        Assert.Equal(500, tree.All(removed).Count());
        Assert.Null(tree.Apply(root, tree.All(root).Select(e => new KeyValuePair<string, TreeEntry?>(e.Path, null))));
    }

    [Fact]
    public void DiffReportsAddedModifiedRemoved()
    {
        var tree = new PathTree(new CountingSource());
        var a = tree.Apply(null, [new("/a", Entry("/a", "1")), new("/b", Entry("/b", "2")), new("/c", Entry("/c", "3"))]);
        var b = tree.Apply(a, [new("/a", null), new("/b", Entry("/b", "22")), new("/d", Entry("/d", "4"))]);
        var diff = TreeDiff.Compare(tree, a, b).Select(d => $"{d.Change}:{d.Path}").ToList();
        Assert.Equal(["Removed:/a", "Modified:/b", "Added:/d"], diff);
        Assert.Empty(TreeDiff.Compare(tree, b, b));
    }
}
