using PachPS.Engine.Storage;

namespace PachPS.Engine.Execution;

/// <summary>
/// Whole input files of a job by content hash, for lazy inputs: each is read from the store once per job and then
/// hard-linked into every datum's folder that needs it, so a 1 GiB input is not rewritten per datum. The cache is the
/// folder "content-cache" beside the job's worker folders and goes with them when the job ends.
/// </summary>
/// <remarks>
/// A cached file is read-only (0444) and carries a fixed modification time. A datum's process may still write to its
/// link (root ignores the mode): it changes only this derived copy, never the store, and a cached file whose size or
/// time is no longer what was written is dropped and read again before any later datum gets it.
/// </remarks>
internal static class ContentCache
{
    private const string FolderName = "content-cache";
    /// <summary>What every cached file's modification time is set to: any write moves it.</summary>
    private static readonly DateTime Written = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The cache of the job a worker folder belongs to.</summary>
    public static string For(string workFolder) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(workFolder).TrimEnd(Path.DirectorySeparatorChar))!, FolderName);

    /// <summary>
    /// Makes <paramref name="target"/> hold <paramref name="content"/>: a hard link to the cached file where the file
    /// system allows one, else a copy. Returns the bytes read from the store (0 when the cache already had the file).
    /// </summary>
    public static long Place(string cache, FileContent content, IContentReader reader, string target)
    {
        for (var attempt = 1; ; attempt++)
        {
            // Another worker may drop the cached file between this one's check and its link: the next round reads it again.
            try { return PlaceOnce(cache, content, reader, target); }
            catch (FileNotFoundException) when (attempt < 3) { }
        }
    }

    private static long PlaceOnce(string cache, FileContent content, IContentReader reader, string target)
    {
        var cached = Path.Combine(cache, content.Hash[..2], content.Hash);
        long read = 0;
        if (!Intact(cached, content.Size))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
            // Written beside it and renamed: another worker of the job links either the whole file or none.
            var partial = cached + "." + Guid.NewGuid().ToString("N")[..8] + ".partial";
            try
            {
                using (var source = reader.Open(content))
                using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
                    source.CopyTo(file);
                File.SetLastWriteTimeUtc(partial, Written);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                File.Move(partial, cached, overwrite: true);
            }
            finally { File.Delete(partial); }
            read = content.Size;
        }
        if (!OperatingSystem.IsWindows() && Interop.LibC.link(cached, target) == 0) return read;
        // No link here (another file system, too many links, Windows): a copy, as without lazy.
        File.Copy(cached, target, overwrite: true);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return read;
    }

    /// <summary>Whether a cached file is there as it was written: its size, the time no write has moved, still read-only.</summary>
    private static bool Intact(string cached, long size)
    {
        var info = new FileInfo(cached);
        if (!info.Exists) return false;
        const UnixFileMode writable = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        if (info.Length == size && info.LastWriteTimeUtc == Written && (OperatingSystem.IsWindows() || (info.UnixFileMode & writable) == 0)) return true;
        // A datum wrote to its link: this copy is the datum's own now, and the cache reads the content again.
        File.Delete(cached);
        return false;
    }
}
