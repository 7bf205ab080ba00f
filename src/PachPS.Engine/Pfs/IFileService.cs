using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Repos, branches, commits and files: what a client of a store (the cmdlets, the pfs: drive) may ask of it. The
/// in-process engine implements it (<see cref="PfsService"/>); a client of an always-on service implements it too.
/// </summary>
public interface IFileService
{
    RepoInfo CreateRepo(string name, string? description = null);
    IReadOnlyList<RepoInfo> ListRepos();
    RepoInfo GetRepo(string name);
    /// <summary>Removes a repo and its commits; refused while a pipeline reads or writes it.</summary>
    void RemoveRepo(string name);

    /// <summary>Creates a branch, at <paramref name="head"/> or empty, optionally with a trigger (<see cref="SetBranchTrigger"/>).</summary>
    BranchInfo CreateBranch(string repo, string branch, string? head = null, BranchTrigger? trigger = null);
    IReadOnlyList<BranchInfo> ListBranches(string repo);
    BranchInfo GetBranch(string repo, string branch);
    void DeleteBranch(string repo, string branch);
    /// <summary>Moves a branch head to a finished commit of the repo; pipelines reading the branch react as to a new commit.</summary>
    BranchInfo SetBranchHead(string repo, string branch, string reference);
    /// <summary>
    /// Sets (null: removes) what moves a branch to another branch's head; a trigger on itself, from an unknown branch,
    /// closing a cycle or with a bad size or schedule is refused (BranchTriggerInvalid, BranchNotFound, BranchTriggerCycle).
    /// </summary>
    BranchInfo SetBranchTrigger(string repo, string branch, BranchTrigger? trigger);

    /// <summary>Opens a commit on a branch, with a message and metadata (<see cref="CommitNotes"/> says what is valid).</summary>
    CommitInfo StartCommit(string repo, string branch, string? message = null, IReadOnlyDictionary<string, string>? metadata = null);
    CommitInfo FinishCommit(string repo, string reference);
    /// <summary>
    /// The commit a reference names: a branch (its head), a tag, a commit id or unique prefix, <c>branch@{time}</c> (the
    /// head as it was then), with ^, ~N or .N; a name that is more than one of these is AmbiguousReference.
    /// </summary>
    CommitInfo GetCommit(string repo, string reference);
    /// <summary>
    /// Commits from <paramref name="reference"/> back through their (first) parents, or, without one, every commit of
    /// the repo newest first (by start time; commits of the same millisecond by id, descending). Whole;
    /// <see cref="ListCommitsPage"/> and <see cref="CommitListing.StreamCommits"/> read it a page at a time.
    /// </summary>
    IReadOnlyList<CommitInfo> ListCommits(string repo, string? reference = null, int max = int.MaxValue);
    /// <summary>Up to <paramref name="max"/> commits of <see cref="ListCommits"/> after the cursor <paramref name="after"/> (null: the first page); the page's Next resumes it.</summary>
    Page<CommitInfo> ListCommitsPage(string repo, string? reference = null, string? after = null, int max = Listing.LargestPage);
    /// <summary>Removes a commit and every commit derived from it (undo); <paramref name="dryRun"/> only lists them.</summary>
    IReadOnlyList<CommitInfo> RemoveCommit(string repo, string reference, bool dryRun = false);

    /// <summary>
    /// Folds one finished mid-history commit into its only child (the child's content is unchanged; the commit leaves
    /// the history); refused for heads, forks, open or tagged commits, and, unless <paramref name="force"/>, for a
    /// commit output commits' provenance names (CommitNeededByProvenance). <paramref name="dryRun"/> writes nothing.
    /// </summary>
    SquashResult SquashCommit(string repo, string reference, bool force = false, bool dryRun = false);

    /// <summary>Stores a branch's retention policy (replacing any); a collection and the server apply it.</summary>
    RetentionPolicy SetRetention(string repo, string branch, int? keepCommits = null, double? keepDays = null);
    /// <summary>The retention policies of a branch, a repo, or (both null) every repo.</summary>
    IReadOnlyList<RetentionPolicy> GetRetention(string? repo = null, string? branch = null);
    /// <summary>Removes a branch's retention policy (RetentionNotFound when there is none).</summary>
    void RemoveRetention(string repo, string branch);

    /// <summary>
    /// Three-way merge of a branch or commit into a branch (a fast-forward when possible); conflicts fail it
    /// (MergeConflict) unless <paramref name="strategy"/> takes a side. <paramref name="dryRun"/> writes nothing.
    /// </summary>
    MergeResult Merge(string repo, string source, string destination, MergeStrategy strategy = MergeStrategy.Fail, CommitNote? note = null, bool dryRun = false);
    /// <summary>A new commit on a commit's branch that undoes that commit; RevertConflict when later commits changed the same paths.</summary>
    CommitInfo RevertCommit(string repo, string reference, CommitNote? note = null);

    /// <summary>Names a finished commit; a tag never moves, and a tag and a branch of a repo never share a name.</summary>
    TagInfo CreateTag(string repo, string name, string reference, string? message = null);
    /// <summary>The tags of a repo, or of every repo when <paramref name="repo"/> is null.</summary>
    IReadOnlyList<TagInfo> ListTags(string? repo = null);
    TagInfo GetTag(string repo, string name);
    void RemoveTag(string repo, string name);

    // Each write goes to a branch (its open commit, or a new commit it finishes) or an open commit; a note's message
    // replaces the commit's and its metadata is added to the commit's.
    /// <summary>Where a write to <paramref name="target"/> (a branch, or an open commit's id) would land; writes nothing.</summary>
    WriteLanding ResolveWrite(string repo, string target);

    CommitInfo PutFiles(string repo, string target, IReadOnlyList<FileSource> sources, bool append = false,
        IProgress<(int Done, int Total, string Path)>? progress = null, CancellationToken cancel = default, CommitNote? note = null);
    CommitInfo PutSplit(string repo, string target, string path, Func<Stream> open, SplitMode mode, int targetDatums = 0, long targetBytes = 0,
        CancellationToken cancel = default, CommitNote? note = null);
    CommitInfo DeleteFiles(string repo, string target, IReadOnlyList<string> paths, CommitNote? note = null);
    CommitInfo CopyFile(string sourceRepo, string sourceRef, string sourcePath, string repo, string target, string path, CommitNote? note = null);
    /// <summary>Records objects of S3 buckets (s3:// objects, prefixes, globs) as files without copying them; reads check the version imported.</summary>
    CommitInfo ImportReferences(string repo, string target, IReadOnlyList<string> uris, string? path = null, CommitNote? note = null);
    /// <summary>Copies the bytes of files imported by reference at or under a path into the store; none there: the target's commit, unchanged.</summary>
    CommitInfo MaterializeReferences(string repo, string target, string path = "/", IProgress<(int Done, int Total, string Path)>? progress = null,
        CancellationToken cancel = default, CommitNote? note = null);

    /// <summary>
    /// A folder's children, one file, every file under a folder (<paramref name="recurse"/>) or every node a glob
    /// matches, in listing order: paths in ordinal order, a directory as its path with '/' after it (just before what
    /// is under it). Whole; <see cref="ListFilesPage"/> and <see cref="FileListing.StreamFiles"/> read it a page at a time.
    /// </summary>
    IReadOnlyList<PachFileInfo> ListFiles(string repo, string reference, string? pathOrGlob = null, bool recurse = false);
    /// <summary>
    /// Up to <paramref name="max"/> nodes of <see cref="ListFiles"/> after the cursor <paramref name="after"/> (null: the
    /// first page); the page's Next resumes it. Pass the listed commit's id, not a branch, for the pages after the first.
    /// </summary>
    Page<PachFileInfo> ListFilesPage(string repo, string reference, string? pathOrGlob = null, bool recurse = false, string? after = null, int max = Listing.LargestPage);
    IReadOnlyList<PachFileInfo> FileHistory(string repo, string reference, string path);
    (PachFileInfo File, Stream Content) OpenFile(string repo, string reference, string path);
    IReadOnlyList<TreeEntry> Entries(string repo, string reference, string path = "/");
    Stream OpenContent(FileContent content);
    IReadOnlyList<DiffEntry> Diff(string repo, string reference, string? olderRef = null, string? otherRepo = null);
}

/// <summary>File listings read a page at a time (<see cref="Listing"/>), embedded or through a server alike.</summary>
public static class FileListing
{
    /// <summary>
    /// <see cref="IFileService.ListFiles"/> as a stream: the first page names the commit the reference resolves to, and
    /// the later pages read that commit, so a branch that moves meanwhile does not mix two commits in one listing.
    /// </summary>
    public static IEnumerable<PachFileInfo> StreamFiles(this IFileService files, string repo, string reference, string? pathOrGlob = null,
        bool recurse = false, CancellationToken cancel = default)
    {
        string? commit = null;
        return Listing.Stream<PachFileInfo>((after, max) =>
        {
            var page = files.ListFilesPage(repo, commit ?? reference, pathOrGlob, recurse, after, max);
            if (page.Items.Count > 0) commit ??= page.Items[0].Commit;
            return page;
        }, cancel);
    }

    /// <summary>
    /// A folder's children from <paramref name="from"/> on (those whose paths start with it, then those after it), in
    /// listing order: the folder is read from that point, not from its start, so a folder of a million files costs a
    /// page, not a million nodes. Nothing when the folder does not exist.
    /// </summary>
    public static IEnumerable<PachFileInfo> StreamChildren(this IFileService files, string repo, string reference, string folder, string from,
        CancellationToken cancel = default)
    {
        string? commit = null;
        // A cursor just before every path starting with `from`: its last character one less, then the largest one.
        var start = from.Length == 0 ? null : from[..^1] + (char)(from[^1] - 1) + '\uffff';
        return Listing.Stream<PachFileInfo>((after, max) =>
        {
            var page = files.ListFilesPage(repo, commit ?? reference, folder, recurse: false, after ?? start, max);
            if (page.Items.Count > 0) commit ??= page.Items[0].Commit;
            return page;
        }, cancel);
    }

    /// <summary>
    /// The file or directory at <paramref name="path"/> as its folder lists it (a directory with its size), or null
    /// when there is none; read from just before it in its folder, not the whole folder.
    /// </summary>
    public static PachFileInfo? FindNode(this IFileService files, string repo, string reference, string path)
    {
        var file = Names.NormalizePath(path);
        var directory = file + "/";
        foreach (var node in files.StreamChildren(repo, reference, Names.Parent(file), file))
        {
            var key = node.Type == PachFileType.Directory ? node.Path + "/" : node.Path;
            if (key == file || key == directory) return node;
            if (string.CompareOrdinal(key, directory) > 0) break;
        }
        return null;
    }
}

/// <summary>Commit listings read a page at a time (<see cref="Listing"/>), embedded or through a server alike.</summary>
public static class CommitListing
{
    /// <summary>
    /// <see cref="IFileService.ListCommits"/> as a stream, up to <paramref name="max"/> commits: a history's later pages
    /// go on from the parent of the last commit given (ids never change), so a branch that moves meanwhile does not
    /// change the history being read.
    /// </summary>
    public static IEnumerable<CommitInfo> StreamCommits(this IFileService files, string repo, string? reference = null, int max = int.MaxValue,
        CancellationToken cancel = default) =>
        Listing.Stream<CommitInfo>((after, size) => files.ListCommitsPage(repo, reference, after, size), cancel, max);
}
