using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Infrastructure;

/// <summary>
/// Where a change to a branch (or an open commit) lands, resolved before a cmdlet asks ShouldProcess, so the prompt
/// names it and an unknown repo, commit or path fails with its own ErrorId before anyone is asked.
/// </summary>
/// <param name="Landing">In words: "open commit …", "new commit on …", "first commit of the branch" or "new branch".</param>
/// <param name="Base">The commit whose files the change starts from; null when the branch has none yet.</param>
internal sealed record WriteTarget(string Landing, string? Base)
{
    /// <summary>Resolves <paramref name="target"/> as the engine's writes do (the engine says where; this puts it in words).</summary>
    public static WriteTarget Resolve(IFileService files, string repo, string target)
    {
        var landing = files.ResolveWrite(repo, target);
        return landing.Kind switch
        {
            WriteLandingKind.OpenCommit => new WriteTarget($"open commit {Display.Short(landing.Base)}", landing.Base),
            WriteLandingKind.NewCommit => new WriteTarget($"new commit on {Display.Short(landing.Base)}", landing.Base),
            WriteLandingKind.FirstCommit => new WriteTarget("first commit of the branch", null),
            _ => new WriteTarget("new branch", null),
        };
    }

    /// <summary>
    /// The files at or under <paramref name="path"/> in <paramref name="commit"/> (null: a commit with no files);
    /// none is FileNotFound, naming the place as the user gave it (<paramref name="repo"/>@<paramref name="reference"/>).
    /// </summary>
    public static IReadOnlyList<TreeEntry> Entries(IFileService files, string repo, string reference, string? commit, string path)
    {
        if (commit is not null)
        {
            try
            {
                if (files.Entries(repo, commit, path) is { Count: > 0 } entries) return entries;
            }
            catch (PachException ex) when (ex.ErrorId == "FileNotFound") { }
        }
        throw FileNotFound(repo, reference, path);
    }

    /// <summary>
    /// <see cref="Entries(IFileService, string, string, string?, string)"/> for each of <paramref name="paths"/>: one read
    /// per path for a few, one read of the whole commit for many (a piped listing), so checking first stays cheap.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<TreeEntry>> Entries(IFileService files, string repo, string reference, string? commit, IReadOnlyList<string> paths)
    {
        if (paths.Count <= 16 || commit is null) return paths.Select(p => Entries(files, repo, reference, commit, p)).ToList();
        var all = files.Entries(repo, commit, "/").OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        var keys = all.Select(e => e.Path).ToArray();
        return paths.Select(path =>
        {
            var found = new List<TreeEntry>();
            if (Array.BinarySearch(keys, path, StringComparer.Ordinal) is >= 0 and var file) found.Add(all[file]);
            // A folder's files sort together after "<folder>/" (but not right after "<folder>": "/a-b" comes between "/a" and "/a/x").
            var folder = path == "/" ? "/" : path + "/";
            var start = Array.BinarySearch(keys, folder, StringComparer.Ordinal);
            for (var i = start < 0 ? ~start : start; i < keys.Length && keys[i].StartsWith(folder, StringComparison.Ordinal); i++) found.Add(all[i]);
            return found.Count > 0 ? found : throw FileNotFound(repo, reference, path);
        }).ToList();
    }

    /// <summary>A path and, for a folder, how many files it holds: "/a.txt", "/data/ (3 files)".</summary>
    public static string Describe(string path, IReadOnlyList<TreeEntry> entries) =>
        entries is [{ } only] && only.Path == path ? path : $"{path.TrimEnd('/')}/ ({Count(entries.Count, "file")})";

    private static PachException FileNotFound(string repo, string reference, string path) =>
        new("FileNotFound", PachErrorKind.NotFound, $"There is no file or directory '{path}' in {repo}@{reference}.", $"{repo}@{reference}:{path}");

    public static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
