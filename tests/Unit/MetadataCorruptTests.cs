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
