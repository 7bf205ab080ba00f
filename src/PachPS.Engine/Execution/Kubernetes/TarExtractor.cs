using System.Formats.Tar;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// Unpacks what a pod uploaded: regular files and folders only, each inside the folder. A symbolic link would make the
/// ingest read a file of this machine, so symbolic links (and devices) are left out; a hard link to an earlier entry is
/// a copy of it.
/// </summary>
internal static class TarExtractor
{
    /// <summary>Unpacks the tar at <paramref name="key"/> of the content store into <paramref name="folder"/>.</summary>
    public static async Task ExtractAsync(IObjectStore objects, string key, string folder, CancellationToken cancel)
    {
        var root = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        using var stream = new MemoryStream(objects.Get(key), writable: false);
        using var reader = new TarReader(stream);
        while (await reader.GetNextEntryAsync(copyData: false, cancel) is { } entry)
        {
            var target = Path.GetFullPath(Path.Combine(root, entry.Name));
            if (!target.StartsWith(root, StringComparison.Ordinal) && target + Path.DirectorySeparatorChar != root) continue;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    await entry.ExtractToFileAsync(target, overwrite: true, cancel);
                    break;
                case TarEntryType.HardLink:
                    // tar stores a file it meets again (a link followed twice with -h) as a hard link to the first: a copy
                    // of that earlier entry, which is inside the folder.
                    var first = Path.GetFullPath(Path.Combine(root, entry.LinkName));
                    if (!first.StartsWith(root, StringComparison.Ordinal) || !File.Exists(first)) continue;
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(first, target, overwrite: true);
                    break;
            }
        }
    }
}
