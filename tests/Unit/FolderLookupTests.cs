using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>
/// One node, or a folder from a name on, found by reading its folder from just before it (what the pfs: drive and
/// path completion ask for at every path they touch): the same node the whole folder's listing holds, for one page.
/// </summary>
public class FolderLookupTests
{
    // 3,000 files in one folder, with neighbours whose names sort around its '/': /d1.txt, /d1-x/a, /d1/deep/z.txt.
    private static readonly string[] Paths =
    [
        .. Enumerable.Range(0, 3000).Select(i => $"/d1/f{i:D4}.txt"),
        "/d1.txt", "/d1-x/a", "/d1/deep/z.txt", "/d10", "/top.txt",
    ];

    private static void Fill(IFileService files)
    {
        files.CreateRepo("many");
        files.PutFiles("many", "master", Paths.Select((p, i) => TempStore.Text(p, new string('x', i % 5 + 1))).ToList());
    }

    private static string Key(PachFileInfo node) => node.Type == PachFileType.Directory ? node.Path + "/" : node.Path;

    private static void AssertLookups(IFileService files)
    {
        var folders = new[] { "/", "/d1", "/d1/deep", "/d1-x" };
        // Every node but the big folder's files, and of those the first, the last and every 97th.
        var listed = folders.SelectMany(f => files.ListFiles("many", "master", f))
            .Where((n, i) => !n.Path.StartsWith("/d1/f", StringComparison.Ordinal) || n.Path is "/d1/f0000.txt" or "/d1/f2999.txt" || i % 97 == 0).ToList();
        Assert.True(listed.Count > 35);
        foreach (var want in listed)
        {
            var found = files.FindNode("many", "master", want.Path);
            Assert.NotNull(found);
            Assert.Equal((want.Path, want.Type, want.Size), (found.Path, found.Type, found.Size));
        }
        foreach (var missing in new[] { "/nothing", "/d1/f3000.txt", "/d1/f0", "/d1.txt/x", "/d", "/d1/deep/z", "/d1-x/b" })
            Assert.Null(files.FindNode("many", "master", missing));

        // A folder read from a name on: exactly the listing's nodes whose keys are not before that name.
        foreach (var (folder, from) in new[] { ("/", "/d1"), ("/", "/"), ("/d1", "/d1/f29"), ("/d1", "/d1/deep"), ("/d1", "/d1/zzz"), ("/nothing", "/nothing/a") })
        {
            var whole = folder == "/nothing" ? [] : files.ListFiles("many", "master", folder);
            var want = whole.Where(n => string.CompareOrdinal(Key(n), from) >= 0).Select(Key);
            Assert.Equal(want, files.StreamChildren("many", "master", folder, from).Select(Key));
        }
    }

    [Fact]
    public void ANodeOrAFolderFromANameIsWhatTheWholeFolderListsEmbedded()
    {
        using var t = new TempStore();
        Fill(t.Pfs);
        AssertLookups(t.Pfs);
    }

    [Fact]
    public void ANodeOrAFolderFromANameIsWhatTheWholeFolderListsThroughAServer()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        Fill(client.Files);
        AssertLookups(client.Files);
    }

    [Fact]
    public void FindingTheLastFileOfABigFolderReadsOnePageNotTheFolder()
    {
        using var t = new TempStore();
        Fill(t.Pfs);
        var counting = ListingTests.Counting<IFileService>.Over(t.Pfs, out var calls);
        Assert.Equal("/d1/f2999.txt", counting.FindNode("many", "master", "/d1/f2999.txt")!.Path);
        Assert.Equal([("ListFilesPage", Listing.FirstPage)], calls);
        calls.Clear();
        Assert.Equal(PachFileType.Directory, counting.FindNode("many", "master", "/d1/deep")!.Type);
        Assert.Equal([("ListFilesPage", Listing.FirstPage)], calls);
    }
}
