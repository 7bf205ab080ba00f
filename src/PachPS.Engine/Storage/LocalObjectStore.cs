namespace PachPS.Engine.Storage;

/// <summary>
/// Objects as files under a folder: written to a temporary name, then renamed into place. On Linux they are flushed to
/// disk together by one syncfs in <see cref="Sync"/> (one fsync per chunk took a fifth of a 1 GiB ingest); elsewhere
/// each is flushed as it is written.
/// </summary>
public sealed partial class LocalObjectStore : IObjectStore
{
    private readonly string _root;
    private int _unsynced;

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int syncfs(int fd);
    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int close(int fd);

    public LocalObjectStore(string root)
    {
        _root = root;
        Directory.CreateDirectory(root);
    }

    private string PathOf(string key)
    {
        // keys look like "chunk/ab12..." : fan out on the first two hex digits to keep folders small.
        var slash = key.IndexOf('/');
        var name = key[(slash + 1)..];
        var fan = name.Length >= 2 ? name[..2] : "__";
        return Path.Combine(_root, key[..slash], fan, name);
    }

    public void Put(string key, ReadOnlySpan<byte> data)
    {
        var path = PathOf(key);
        if (File.Exists(path)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + "." + Environment.ProcessId + "." + Environment.CurrentManagedThreadId + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            fs.Write(data);
            if (!OperatingSystem.IsLinux()) fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        // Set after the data is written: a Sync that clears it flushes this object too.
        Volatile.Write(ref _unsynced, 1);
    }

    public void Sync()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _unsynced, 0) == 0) return;
        const int readOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY
        var fd = open(_root, readOnlyDirectory);
        if (fd < 0 || syncfs(fd) != 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (fd >= 0) close(fd);
            Volatile.Write(ref _unsynced, 1);
            throw new IOException($"Cannot flush the objects under '{_root}' to disk (errno {errno}).");
        }
        close(fd);
    }

    public byte[] Get(string key)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) throw MissingObject(key);
        return File.ReadAllBytes(path);
    }

    public byte[] GetRange(string key, long offset, int length)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) throw MissingObject(key);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        var buffer = new byte[length];
        fs.Position = offset;
        fs.ReadAtLeast(buffer, length, throwOnEndOfStream: false);
        return buffer;
    }

    public bool Exists(string key) => File.Exists(PathOf(key));

    public bool IsRemote => false;
    public long Requests => 0;
    public string Description => _root;

    public IEnumerable<string> List(string prefix)
    {
        var slash = prefix.IndexOf('/');
        var kind = slash < 0 ? prefix : prefix[..slash];
        var dir = Path.Combine(_root, kind);
        if (!Directory.Exists(dir)) yield break;
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            var key = kind + "/" + Path.GetFileName(file);
            if (key.StartsWith(prefix, StringComparison.Ordinal)) yield return key;
        }
    }

    public void Delete(string key)
    {
        var path = PathOf(key);
        if (File.Exists(path)) File.Delete(path);
    }

    public (long Bytes, long Count) Usage()
    {
        long bytes = 0, count = 0;
        if (!Directory.Exists(_root)) return (0, 0);
        foreach (var file in new DirectoryInfo(_root).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (file.Name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            bytes += file.Length;
            count++;
        }
        return (bytes, count);
    }

    private static PachException MissingObject(string key) =>
        new("ObjectMissing", PachErrorKind.InvalidData, $"Content object '{key}' is missing from the store.", key);
}
