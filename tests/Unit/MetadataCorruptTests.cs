using PachPS.Engine;

namespace PachPS.Tests.Unit;

/// <summary>A damaged metadata.db (cut short, overwritten) is refused with MetadataCorrupt, promptly, not hung on.</summary>
public class MetadataCorruptTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Damages => new() { "truncated-half", "truncated-100", "random", "scribbled-after-header", "zeroed-header" };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task DamagedMetadataIsMetadataCorrupt(string damage)
    {
        using var store = new TempStore();
        store.Pfs.CreateRepo("images");
        for (var i = 0; i < 20; i++) store.Put("images", $"/f{i}.txt", new string('x', i * 100));
        store.Store.Dispose();
        var db = Path.Combine(store.Folder, "metadata.db");
        Damage(db, damage);

        var open = Task.Run(() => PachStore.Open(store.Folder).Dispose());
        Assert.True(await Task.WhenAny(open, Task.Delay(Budget)) == open, $"Opening a store with a {damage} metadata.db took more than {Budget.TotalSeconds} s.");
        var ex = await Assert.ThrowsAsync<PachException>(() => open);
        Assert.Equal("MetadataCorrupt", ex.ErrorId);
        Assert.Contains(db, ex.Message);
        Assert.Contains("backup", ex.Message);
        Assert.Contains("Test-PachStore", ex.Message);
    }

    [Fact]
    public async Task AStoreWhoseFolderWasDeletedClosesAtOnceAndSaysSo()
    {
        // A session's folder deleted under it (a test's TestDrive, a user's rm -r) is not a lock another process
        // holds: waiting out the lock timeout would hang Disconnect-PachStore for minutes.
        var store = new TempStore();
        store.Pfs.CreateRepo("images");
        Directory.Delete(store.Folder, recursive: true);

        var write = Task.Run(() => store.Pfs.CreateRepo("more"));
        Assert.True(await Task.WhenAny(write, Task.Delay(Budget)) == write, $"Writing to a store whose folder is gone took more than {Budget.TotalSeconds} s.");
        var ex = await Assert.ThrowsAsync<PachException>(() => write);
        Assert.Equal("StoreFolderMissing", ex.ErrorId);
        Assert.Contains(store.Folder, ex.Message);

        var close = Task.Run(store.Store.Dispose);
        Assert.True(await Task.WhenAny(close, Task.Delay(Budget)) == close, $"Closing a store whose folder is gone took more than {Budget.TotalSeconds} s.");
        await close;
    }

    private static void Damage(string path, string damage)
    {
        var bytes = File.ReadAllBytes(path);
        var random = new Random(19);
        switch (damage)
        {
            case "truncated-half": bytes = bytes[..(bytes.Length / 2)]; break;
            case "truncated-100": bytes = bytes[..100]; break;
            case "random": random.NextBytes(bytes); break;
            case "scribbled-after-header": random.NextBytes(bytes.AsSpan(8192)); break;
            case "zeroed-header": bytes.AsSpan(0, 8192).Clear(); break;
        }
        File.WriteAllBytes(path, bytes);
    }
}
