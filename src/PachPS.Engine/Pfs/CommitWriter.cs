using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// The one way files enter or leave a commit, a user's or a job's: the whole change is validated against the
/// commit's tree (a path under a file, a file over a directory, a path written twice, a path both written and
/// removed, a path no file system can hold) before anything is touched, then applied with the commit's size and file count kept up to date.
/// </summary>
internal static class CommitWriter
{
    /// <summary>Validates <paramref name="changes"/> against <paramref name="commit"/>'s tree and applies them to it.</summary>
    public static void Apply(LiteDatabase db, CommitDoc commit, IReadOnlyList<FileChange> changes)
    {
        var nodes = new LiteNodeSource(db);
        var tree = new PathTree(nodes);
        Validate(tree, commit.Root, changes);
        var edits = new Dictionary<string, TreeEntry?>(changes.Count, StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (edits.ContainsKey(change.Path)) continue; // a path removed twice (Validate refuses any other repeat)
            var old = commit.Root is null ? null : tree.Get(commit.Root, change.Path);
            commit.Size += (change.Content?.Size ?? 0) - (old?.Content.Size ?? 0);
            commit.FileCount += (change.IsRemoval ? 0 : 1) - (old is null ? 0 : 1);
            edits[change.Path] = change.Content is null ? null : new TreeEntry(change.Path, change.Content, commit.Id);
        }
        commit.Root = tree.Apply(commit.Root, edits);
        commit.MetadataBytes += nodes.BytesWritten;
    }

    /// <summary>Refuses a path given twice for writing (before any content is stored for it).</summary>
    public static void CheckDistinct(IReadOnlyList<string> paths)
    {
        var seen = new HashSet<string>(paths.Count, StringComparer.Ordinal);
        foreach (var path in paths)
            if (!seen.Add(path)) throw WrittenTwice(new FileChange(path, null), new FileChange(path, null));
    }

    /// <summary>Throws when a set of files (a whole tree) holds one path as a file and as a folder, or a path twice.</summary>
    public static void Validate(IReadOnlyList<FileChange> files) => Validate(null, null, files);

    /// <summary>
    /// Throws when applying <paramref name="changes"/> to the tree at <paramref name="root"/> would leave a path that
    /// is both a file and a directory, or when the changes name one path more than once (other than two removals).
    /// </summary>
    public static void Validate(PathTree? tree, string? root, IReadOnlyList<FileChange> changes)
    {
        var writes = new Dictionary<string, FileChange>(changes.Count, StringComparer.Ordinal);
        var removals = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (change.IsRemoval)
            {
                if (writes.ContainsKey(change.Path)) throw AddedAndRemoved(change.Path);
                removals.Add(change.Path);
            }
            else if (removals.Contains(change.Path)) throw AddedAndRemoved(change.Path);
            else if (writes.TryGetValue(change.Path, out var first)) throw WrittenTwice(first, change);
            else
            {
                // Every file written goes through here (a user's, a job's, a spout's, a copy's, a merge's): the one check
                // that a path can be written out on any supported file system.
                Names.RequireStorable(change.Path);
                writes.Add(change.Path, change);
            }
        }
        // Folders already known to be no file, with all of their ancestors: most writes share their parents.
        var clear = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, change) in writes)
        {
            for (var parent = Names.Parent(path); parent != "/" && !clear.Contains(parent); parent = Names.Parent(parent))
            {
                if (writes.TryGetValue(parent, out var file))
                    throw PathConflict($"Cannot add {Describe(change)}: {Describe(file)} is a file.", path);
                if (root is not null && !removals.Contains(parent) && tree!.Get(root, parent) is not null)
                    throw PathConflict($"Cannot add {Describe(change)}: '{parent}' is a file.", path);
                clear.Add(parent);
            }
            if (root is not null && tree!.Range(root, path + "/", path + "0").FirstOrDefault(e => !removals.Contains(e.Path)) is { } below)
                throw PathConflict($"Cannot add file {Describe(change)}: it is a directory (it holds '{below.Path}').", path);
        }
    }

    private static string Describe(FileChange change) =>
        change.Writer is null ? $"'{change.Path}'" : $"'{change.Path}' (written by datum {Ids.Short(change.Writer)})";

    private static PachException PathConflict(string message, string path) => PachException.Invalid("PathConflict", message, path);

    private static PachException WrittenTwice(FileChange first, FileChange second) =>
        first.Writer is not null && second.Writer is not null
            ? PachException.Invalid("DuplicatePath", $"datums {Ids.Short(first.Writer)} and {Ids.Short(second.Writer)} both write '{first.Path}'.", first.Path)
            : PachException.Invalid("DuplicatePath", $"'{first.Path}' is given more than once in one call.", first.Path);

    private static PachException AddedAndRemoved(string path) =>
        PachException.Invalid("PathAddedAndRemoved", $"'{path}' is both written and removed in one change.", path);
}
