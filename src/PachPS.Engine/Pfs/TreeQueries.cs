using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Reading a commit's tree: listings (a folder's children, a glob's matches, everything under a path), a file's
/// versions, single files and differences between two commits. Runs inside the caller's unit of work.
/// </summary>
internal static class TreeQueries
{
    /// <summary>Files and directories at a commit: a folder's children, one file, or every node a glob matches.</summary>
    public static IReadOnlyList<PachFileInfo> ListFiles(LiteDatabase db, string repo, string reference, string? pathOrGlob = null, bool recurse = false) =>
        ListFiles(db, repo, reference, pathOrGlob, recurse, after: null, max: int.MaxValue).Items;

    /// <summary>
    /// Up to <paramref name="max"/> nodes of a listing after the cursor <paramref name="after"/> (null: from the start), in
    /// listing order: paths in ordinal order, a directory placed as its path with a '/' after it, so that it comes
    /// just before what is under it (the order of the tree itself, so nothing is sorted). A directory's size is summed
    /// over the files under it. A path that names nothing (other than the root) is FileNotFound; a glob may match nothing.
    /// </summary>
    public static Page<PachFileInfo> ListFiles(LiteDatabase db, string repo, string reference, string? pathOrGlob, bool recurse, string? after, int max)
    {
        var commit = CommitResolver.Resolve(db, repo, reference);
        var pattern = string.IsNullOrEmpty(pathOrGlob) ? "/" : pathOrGlob;
        // A folder's or a subtree's listing reads each leaf once: it keeps none in the cache. A glob's reads a matched
        // directory's subtree again for its size, from the cache.
        var tree = Glob.HasWildcards(pattern) ? PathTree.In(db) : PathTree.Passing(db);
        var writers = new Writers(db, repo);
        IEnumerable<Node> nodes;
        string? path = null;
        if (Glob.HasWildcards(pattern)) nodes = Matches(tree, commit.Root, new Glob(pattern), after);
        else
        {
            path = Names.NormalizePath(pattern, allowRoot: true);
            if (path != "/" && tree.Get(commit.Root, path) is { } file) nodes = after is null ? [FileNode(file, path)] : [];
            else if (recurse) nodes = tree.Under(commit.Root, path, after).Where(e => After(e.Path, after)).Select(e => FileNode(e));
            // A directory of the children holds its whole subtree: resume after it, not inside it.
            else nodes = Children(tree, commit.Root, path, after is not null && after.EndsWith('/') ? after[..^1] + "0" : after)
                .Where(n => After(Key(n), after));
        }
        var page = Listing.Take(nodes, max, Key);
        if (after is null && page.Items.Count == 0 && path is not null && path != "/") throw FileNotFound(repo, reference, path);
        return new Page<PachFileInfo>(page.Items.Select(n => ToFile(commit, n, writers)).ToList(), page.Next);
    }

    /// <summary>Where a node stands in a listing: its path, a directory's with '/' after it.</summary>
    private static string Key(Node n) => n.Type == PachFileType.Directory ? n.Path + "/" : n.Path;

    private static bool After(string key, string? cursor) => cursor is null || string.CompareOrdinal(key, cursor) > 0;

    /// <summary>
    /// The file and directory nodes a glob matches, in listing order, read as the tree is walked: each directory when
    /// its first file is reached (its size summed by a walk of its own subtree, only when the glob matches it).
    /// The walk starts at the glob's literal folder (/logs for /logs/*.txt) or, resuming, at the cursor.
    /// </summary>
    private static IEnumerable<Node> Matches(PathTree tree, string? root, Glob glob, string? after)
    {
        var wildcard = Glob.FirstWildcard(glob.Pattern);
        var slash = glob.Pattern.LastIndexOf('/', wildcard);
        var folder = slash <= 0 ? "/" : glob.Pattern[..slash];
        var previous = "";
        foreach (var e in tree.Under(root, folder, after))
        {
            // The directories this file is the first of: its ancestors that are not the previous file's.
            for (var end = e.Path.IndexOf('/', 1); end > 0; end = e.Path.IndexOf('/', end + 1))
            {
                if (previous.Length > end && previous[end] == '/' && string.CompareOrdinal(previous, 0, e.Path, 0, end) == 0) continue;
                var dir = e.Path[..end];
                if (After(dir + "/", after) && glob.IsMatch(dir))
                    yield return new Node(dir, PachFileType.Directory, tree.Under(root, dir).Sum(f => f.Content.Size), null, null);
            }
            previous = e.Path;
            if (After(e.Path, after) && glob.IsMatch(e.Path)) yield return FileNode(e);
        }
    }

    /// <summary>The versions of a file, newest first: each commit that wrote it.</summary>
    public static IReadOnlyList<PachFileInfo> FileHistory(LiteDatabase db, string repo, string reference, string path)
    {
        var normalized = Names.NormalizePath(path);
        var tree = PathTree.In(db);
        var commit = CommitResolver.Resolve(db, repo, reference);
        var result = new List<PachFileInfo>();
        while (commit is not null && tree.Get(commit.Root, normalized) is { } entry)
        {
            // A writer squashed away lives on in the commit it was squashed into (a descendant, so the walk still ends).
            var writtenIn = entry.Commit == commit.Id ? commit.Id : new Writers(db, repo).Of(entry.Commit);
            var writer = writtenIn == commit.Id ? commit : db.Commits().Get(writtenIn);
            if (writer is null) break;
            result.Add(ToFile(writer, FileNode(entry, normalized, writer.Id)));
            commit = writer.Parent is null ? null : db.Commits().Get(writer.Parent);
        }
        if (result.Count == 0) throw FileNotFound(repo, reference, normalized);
        return result;
    }

    /// <summary>The files at or under a path; a path that names nothing (other than the root) is FileNotFound.</summary>
    public static IReadOnlyList<TreeEntry> Entries(LiteDatabase db, string repo, string reference, string path = "/")
    {
        var commit = CommitResolver.Resolve(db, repo, reference);
        var normalized = Names.NormalizePath(path, allowRoot: true);
        var entries = PathTree.In(db).Under(commit.Root, normalized).ToList();
        if (entries.Count == 0 && normalized != "/") throw FileNotFound(repo, reference, normalized);
        return entries;
    }

    /// <summary>Differences from <paramref name="olderRef"/> (default: the parent) to <paramref name="reference"/>.</summary>
    public static IReadOnlyList<DiffEntry> Diff(LiteDatabase db, string repo, string reference, string? olderRef = null, string? otherRepo = null)
    {
        var newer = CommitResolver.Resolve(db, repo, reference);
        var older = olderRef is not null ? CommitResolver.Resolve(db, otherRepo ?? repo, olderRef) : newer.Parent is null ? null : db.Commits().Get(newer.Parent);
        return TreeDiff.Compare(PathTree.In(db), older?.Root, newer.Root).Select(d => d with { Repo = repo }).ToList();
    }

    /// <summary>A file or a directory (its size summed over what is under it) in a listing.</summary>
    internal sealed record Node(string Path, PachFileType Type, long Size, string? Hash, string? Commit, string? Reference = null);

    /// <summary>A file's node; a file imported by reference says where its bytes are.</summary>
    private static Node FileNode(TreeEntry e, string? path = null, string? commit = null) =>
        new(path ?? e.Path, PachFileType.File, e.Content.Size, e.Content.Hash, commit ?? e.Commit,
            e.Content.Chunks.Count > 0 && ObjectReferences.Is(e.Content.Chunks[0]) ? ObjectReferences.Describe(e.Content.Chunks[0].Object) : null);

    /// <summary>The direct children of a directory, with folders summed up.</summary>
    private static IEnumerable<Node> Children(PathTree tree, string? root, string dir, string? from = null)
    {
        var prefixLength = dir == "/" ? 1 : dir.Length + 1;
        Node? current = null;
        foreach (var e in tree.Under(root, dir, from))
        {
            if (e.Path == dir) continue;
            var slash = e.Path.IndexOf('/', prefixLength);
            var node = slash < 0
                ? FileNode(e)
                : new Node(e.Path[..slash], PachFileType.Directory, e.Content.Size, null, null);
            if (current is not null && current.Type == PachFileType.Directory && node.Type == PachFileType.Directory && current.Path == node.Path)
            {
                current = current with { Size = current.Size + node.Size };
                continue;
            }
            if (current is not null) yield return current;
            current = node;
        }
        if (current is not null) yield return current;
    }

    internal static PachException FileNotFound(string repo, string reference, string path) =>
        PachException.NotFound("FileNotFound", $"There is no file or directory '{path}' in {repo}@{reference}.", $"{repo}@{reference}:{path}");

    private static PachFileInfo ToFile(CommitDoc commit, Node n, Writers? writers = null) =>
        new(commit.Repo, commit.Branch, commit.Id, n.Path, n.Type, n.Size, n.Hash, writers is null ? n.Commit : writers.Of(n.Commit)) { Reference = n.Reference };

    /// <summary>
    /// The commit a tree entry says wrote it, or, for a writer squashed away since, the commit its changes live on in.
    /// Looks only when the repo has had a squash, each id once.
    /// </summary>
    internal sealed class Writers(LiteDatabase db, string repo)
    {
        private readonly bool _any = db.SquashedCommits().Exists(s => s.Repo == repo);
        private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);

        public string? Of(string? id)
        {
            if (!_any || id is null) return id;
            if (!_seen.TryGetValue(id, out var into)) _seen[id] = into = db.SquashedCommits().Get(id)?.Into ?? id;
            return into;
        }
    }

    /// <summary>The file at a path, or PathIsDirectory / FileNotFound.</summary>
    public static (CommitDoc Commit, TreeEntry Entry) FindFile(LiteDatabase db, string repo, string reference, string path)
    {
        var commit = CommitResolver.Resolve(db, repo, reference);
        var tree = PathTree.In(db);
        if (tree.Get(commit.Root, path) is { } entry) return (commit, entry);
        throw tree.Under(commit.Root, path).Any()
            ? PachException.Invalid("PathIsDirectory", $"'{path}' in {repo}@{reference} is a directory, not a file.", path)
            : FileNotFound(repo, reference, path);
    }

    public static PachFileInfo ToFile(CommitDoc commit, TreeEntry entry, Writers? writers = null) =>
        ToFile(commit, FileNode(entry), writers);

}
