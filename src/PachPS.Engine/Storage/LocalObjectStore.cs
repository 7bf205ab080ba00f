using Microsoft.Win32.SafeHandles;
using PachPS.Engine.Interop;

namespace PachPS.Engine.Storage;

/// <summary>
/// Objects as files under a folder: written to a temporary name, then renamed into place, and flushed to disk by
/// <see cref="Sync"/> before metadata names them (an fsync as each chunk was written took a fifth of a 1 GiB ingest).
/// </summary>
public sealed class LocalObjectStore : IObjectStore
{
    // From this many bytes on, one syncfs (Linux) flushes a batch faster than an fsync per object (1 GiB: 1.4 against
    // 1.9 s); below it, only the batch's own files are flushed, leaving other data on the file system (a running
    // datum's output, say) to the kernel.
    private const long SyncWholeFileSystemFrom = 64L << 20;
    private readonly string _root;

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
        var tmp = path + "." + Environment.ProcessId + "." + Environment.CurrentManagedThreadId + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                fs.Write(data);
                StartWriteback(fs, data.Length);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex)
        {
            // A part-written temporary file would hold on to the very space that ran out.
            try { File.Delete(tmp); }
            catch (IOException) { }
            if (StorageFull.IsOutOfSpace(ex)) throw StorageFull.Error($"the object folder '{_root}'", $"writing {key}: {ex.Message}", ex);
            throw;
        }
    }

    /// <summary>
    /// Starts writing a new object's bytes to disk while the ingest goes on (Linux): by the time <see cref="Sync"/> runs,
    /// most of a large ingest is already there, so the flush no longer follows the work but overlaps it (1 GiB: the
    /// final flush went from 0.7 s to 0.1 s). Only a hint: durability still comes from <see cref="Sync"/>.
    /// </summary>
    private static void StartWriteback(FileStream fs, int length)
    {
        if (length < StartWritebackFrom || !OperatingSystem.IsLinux()) return;
        _ = LibC.sync_file_range((int)fs.SafeFileHandle.DangerousGetHandle(), 0, 0, LibC.SYNC_FILE_RANGE_WRITE);
    }

    /// <summary>Objects from this size on (large chunks, packs) start their writeback as they are written.</summary>
    private const int StartWritebackFrom = 256 * 1024;

    public void Sync(IReadOnlyCollection<(string Key, int Length)> objects)
    {
        if (objects.Count == 0) return;
        if (OperatingSystem.IsLinux() && LibC.O_DIRECTORY is { } directory && objects.Sum(o => (long)o.Length) >= SyncWholeFileSystemFrom)
        {
            var fd = LibC.open(_root, LibC.O_RDONLY | directory | LibC.O_CLOEXEC);
            var failed = fd < 0 || LibC.syncfs(fd) != 0;
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (fd >= 0) LibC.close(fd);
            if (!failed) return;
            var error = new IOException($"Cannot flush the objects under '{_root}' to disk (errno {errno}).", errno);
            if (StorageFull.IsOutOfSpace(error)) throw StorageFull.Error($"the object folder '{_root}'", $"flushing objects: {error.Message}", error);
            throw error;
        }
        // Flushes issued together let the file system commit its journal once for several of them.
        try
        {
            Parallel.ForEach(objects, new ParallelOptions { MaxDegreeOfParallelism = 8 }, o =>
            {
                using var fs = new FileStream(PathOf(o.Key), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
                fs.Flush(flushToDisk: true);
            });
        }
        catch (AggregateException ex) when (ex.InnerException is IOException io)
        {
            // A file system that delays allocation can report the lack of room only when the data is flushed.
            if (StorageFull.IsOutOfSpace(io)) throw StorageFull.Error($"the object folder '{_root}'", $"flushing objects: {io.Message}", io);
            throw io;
        }
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

    public int ReadInto(string key, long offset, Span<byte> destination)
    {
        SafeFileHandle handle;
        try { handle = File.OpenHandle(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { throw MissingObject(key); }
        using (handle)
        {
            var total = 0;
            while (total < destination.Length)
            {
                var n = RandomAccess.Read(handle, destination[total..], offset + total);
                if (n == 0) break;
                total += n;
            }
            return total;
        }
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

    public IEnumerable<StoredObject> ListDetailed(string prefix)
    {
        var slash = prefix.IndexOf('/');
        var kind = slash < 0 ? prefix : prefix[..slash];
        var dir = new DirectoryInfo(Path.Combine(_root, kind));
        if (!dir.Exists) yield break;
        foreach (var file in dir.EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (file.Name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            var key = kind + "/" + file.Name;
            if (key.StartsWith(prefix, StringComparison.Ordinal)) yield return new StoredObject(key, file.Length, file.LastWriteTimeUtc);
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
