using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>A store in a fresh temporary folder, deleted after the test.</summary>
internal sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        Store = PachStore.Open(Folder);
    }

    public string Folder { get; }
    public PachStore Store { get; private set; }
    public PfsService Pfs => Store.Pfs;

    public void Reopen()
    {
        Store.Dispose();
        Store = PachStore.Open(Folder);
    }

    public CommitInfo Put(string repo, string path, string text, string branch = "master") =>
        Pfs.PutFiles(repo, branch, [Text(path, text)]);

    public static FileSource Text(string path, string text) =>
        new(path, () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), path);

    public string Read(string repo, string reference, string path)
    {
        var (_, stream) = Pfs.OpenFile(repo, reference, path);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public void Dispose()
    {
        Store.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
