namespace PachPS.Engine.Pps;

/// <summary>
/// What a datum left in its /pfs/out, by the rules every executor keeps: regular files and folders are its output; a
/// symbolic link that leads (through any number of links, at most <see cref="MaxLinkHops"/>) to a file or folder inside
/// the datum's /pfs is stored as what it leads to (a cheap copy: the content is deduplicated, as in Pachyderm); a link
/// that leads outside it, nowhere, or round in a loop, and a FIFO, socket or device, fail the datum with a reason
/// naming it. A link's target is read as the command saw it: "/pfs/..." is inside the datum's folder whether the
/// command ran with its folder mounted at /pfs or with /pfs/ rewritten to it.
/// </summary>
internal static class DatumOutputs
{
    /// <summary>Links followed from one output before it counts as a loop (the kernel's own limit).</summary>
    public const int MaxLinkHops = 40;

    /// <summary>
    /// The output files under <paramref name="outFolder"/> whose datum's /pfs is <paramref name="pfsRoot"/>: each one's
    /// path in the output ("/a/b.txt") and the file to read, in path order. Throws DatumOutputInvalid.
    /// </summary>
    public static List<(string Path, string File)> List(string outFolder, string pfsRoot)
    {
        var files = new List<(string, string)>();
        Walk(new DirectoryInfo(outFolder), "", Path.GetFullPath(pfsRoot), files, [Path.GetFullPath(outFolder)]);
        files.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return files;
    }

    private static void Walk(DirectoryInfo folder, string prefix, string pfsRoot, List<(string, string)> files, HashSet<string> folders)
    {
        foreach (var entry in folder.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var path = prefix + "/" + entry.Name;
            var real = entry.LinkTarget is null ? entry : Follow(entry, path, pfsRoot);
            switch (real)
            {
                case FileInfo file when IsRegular(file):
                    files.Add((path, file.FullName));
                    break;
                case DirectoryInfo directory:
                    // A link back to a folder being walked would repeat for ever.
                    if (!folders.Add(directory.FullName)) throw Invalid(path, $"is a link to {Shown(directory.FullName, pfsRoot)}, which holds it: a loop");
                    Walk(directory, path, pfsRoot, files, folders);
                    folders.Remove(directory.FullName);
                    break;
                default:
                    throw Invalid(path, $"is a {Kind(real)}; only files, folders and links to them inside the datum's /pfs are kept");
            }
        }
    }

    /// <summary>Where a link leads, through every link on the way; refused unless it ends at an existing entry inside the datum's /pfs.</summary>
    private static FileSystemInfo Follow(FileSystemInfo link, string path, string pfsRoot)
    {
        var current = link;
        for (var hops = 0; current.LinkTarget is { } target; hops++)
        {
            if (hops == MaxLinkHops) throw Invalid(path, $"is a link that goes through more than {MaxLinkHops} links (a loop?)");
            var resolved = Path.GetFullPath(InDatum(target, pfsRoot), Path.GetDirectoryName(current.FullName)!);
            if (!Inside(resolved, pfsRoot)) throw Invalid(path, $"is a link to {target}, outside the datum's /pfs; only links inside it are stored (as what they point to)");
            current = Directory.Exists(resolved) ? new DirectoryInfo(resolved) : new FileInfo(resolved);
            if (!current.Exists && current.LinkTarget is null) throw Invalid(path, $"is a link to {target}, which does not exist");
        }
        return current;
    }

    /// <summary>A link target as the command wrote it, "/pfs/..." meaning the datum's folder.</summary>
    private static string InDatum(string target, string pfsRoot) =>
        target == "/pfs" ? pfsRoot : target.StartsWith("/pfs/", StringComparison.Ordinal) ? pfsRoot + target[4..] : target;

    private static bool Inside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string Shown(string path, string pfsRoot) => Inside(path, pfsRoot) ? "/pfs" + path[pfsRoot.Length..].Replace(Path.DirectorySeparatorChar, '/') : path;

    /// <summary>Not a FIFO, socket or device (.NET shows those as files; their type is in the mode statx gives).</summary>
    private static bool IsRegular(FileInfo file) => Interop.LibC.FileType(file.FullName) is Interop.LibC.FileKind.Regular or Interop.LibC.FileKind.Unknown;

    private static string Kind(FileSystemInfo entry) => Interop.LibC.FileType(entry.FullName) switch
    {
        Interop.LibC.FileKind.Fifo => "FIFO",
        Interop.LibC.FileKind.Socket => "socket",
        Interop.LibC.FileKind.Device => "device",
        _ => "special file",
    };

    private static PachException Invalid(string path, string what) =>
        new("DatumOutputInvalid", PachErrorKind.InvalidArgument, $"/pfs/out{path} {what}.", path);
}
