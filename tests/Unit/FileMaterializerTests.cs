using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>Stored files written to local paths several at a time: every byte right, reported in order, none after a stop.</summary>
public class FileMaterializerTests
{
    [Fact]
    public void WritesEveryFileAndReportsThemInTheOrderGiven()
    {
        using var store = new TempStore();
        store.Pfs.CreateRepo("many");
        var contents = Enumerable.Range(0, 300).Select(i => i % 7 == 0 ? new string('x', 300_000 + i) : $"file {i}").ToList();
        store.Pfs.PutFiles("many", "master", contents.Select((c, i) => new FileSource($"/d{i % 10}/f{i}.txt", () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(c)), "test")).ToList());
        var entries = store.Pfs.Entries("many", "master").OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        var target = Path.Combine(store.Folder, "out");
        var files = entries.Select(e => (e.Content, Path.Combine(target, e.Path.TrimStart('/')))).ToList();

        var written = FileMaterializer.Write(store.Pfs.OpenContent, files, parallelism: 4).ToList();

        Assert.Equal(files.Select(f => f.Item2), written);
        foreach (var entry in entries)
        {
            var i = int.Parse(Path.GetFileNameWithoutExtension(entry.Path)[1..]);
            Assert.Equal(contents[i], File.ReadAllText(Path.Combine(target, entry.Path.TrimStart('/'))));
        }
    }

    [Fact]
    public void AFailedWriteIsThrownInItsTurnAndNothingIsWrittenAfterTheEnumerationStops()
    {
        using var store = new TempStore();
        store.Pfs.CreateRepo("few");
        store.Pfs.PutFiles("few", "master", Enumerable.Range(0, 20).Select(i => new FileSource($"/f{i:D2}.txt", () => new MemoryStream([(byte)i]), "test")).ToList());
        var entries = store.Pfs.Entries("few", "master").OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        var target = Path.Combine(store.Folder, "out");
        Directory.CreateDirectory(target);
        // The fifth file's target is a folder: that write fails, the four before it are reported first.
        Directory.CreateDirectory(Path.Combine(target, "f04.txt"));
        var files = entries.Select(e => (e.Content, Path.Combine(target, e.Path.TrimStart('/')))).ToList();

        var reported = new List<string>();
        var ex = Assert.ThrowsAny<Exception>(() => { foreach (var f in FileMaterializer.Write(store.Pfs.OpenContent, files, parallelism: 3)) reported.Add(f); });
        Assert.True(ex is IOException or UnauthorizedAccessException, ex.GetType().Name);
        Assert.Equal(files.Take(4).Select(f => f.Item2), reported);

        // Stopping after two: what was started finishes before the enumeration returns, and nothing after the window starts.
        var stopped = Path.Combine(store.Folder, "stopped");
        var again = entries.Select(e => (e.Content, Path.Combine(stopped, e.Path.TrimStart('/')))).ToList();
        var first = FileMaterializer.Write(store.Pfs.OpenContent, again, parallelism: 3).Take(2).ToList();
        var present = Directory.GetFiles(stopped).Length;
        Assert.Equal(2, first.Count);
        Assert.InRange(present, 2, 4);
        Thread.Sleep(200);
        Assert.Equal(present, Directory.GetFiles(stopped).Length);
    }
}
