using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Provider;
using System.Text;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Provider;

/// <summary>
/// The pfs: drive: pfs:\&lt;repo&gt;\&lt;branch, tag, commit or ancestry&gt;\&lt;path&gt;. Read-only: Get-ChildItem, Get-Item,
/// Test-Path, Set-Location and Get-Content (with tab completion of paths) over the current store.
/// </summary>
[CmdletProvider("PachFS", ProviderCapabilities.None)]
[OutputType(typeof(RepoInfo), typeof(BranchInfo), typeof(TagInfo), typeof(PachFileInfo), ProviderCmdlet = ProviderCmdlet.GetChildItem)]
public sealed class PfsProvider : NavigationCmdletProvider, IContentCmdletProvider
{
    protected override Collection<PSDriveInfo> InitializeDefaultDrives() =>
        [new PSDriveInfo("pfs", ProviderInfo, "", "PachPS repos, branches and files (read-only)", null)];

    private static Engine.Pfs.IFileService Files => StoreSession.Client.Files;

    /// <summary>(repo, ref, path) from a provider path; missing parts are null.</summary>
    private static (string? Repo, string? Ref, string Path) Split(string path)
    {
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        return (parts.Length > 0 ? parts[0] : null, parts.Length > 1 ? parts[1] : null, "/" + string.Join('/', parts.Skip(2)));
    }

    /// <summary>Where Copy-Item puts files given a -Destination on this drive: the repo, the branch (null when the
    /// destination is not inside one) and the path (ending in '/' for a folder); null for a destination elsewhere.</summary>
    public static CopyDestination? CopyTarget(string destination, PathIntrinsics paths)
    {
        var providerPath = paths.GetUnresolvedProviderPathFromPSPath(destination, out var provider, out _);
        if (provider.ImplementingType != typeof(PfsProvider)) return null;
        var (repo, reference, file) = Split(providerPath);
        if (repo is null || reference is null) return new CopyDestination(repo ?? "", null, "/");
        var folder = file == "/" || destination.EndsWith('/') || destination.EndsWith('\\') ||
                     Resolve(providerPath) is PachFileInfo { Type: PachFileType.Directory };
        return new CopyDestination(repo, reference, folder ? file.TrimEnd('/') + "/" : file);
    }

    public sealed record CopyDestination(string Repo, string? Reference, string Path);

    protected override bool IsValidPath(string path) => true;

    protected override bool ItemExists(string path) => Resolve(path) is not null;

    protected override bool IsItemContainer(string path) => Resolve(path) is { } item && item is not PachFileInfo { Type: PachFileType.File };

    protected override bool HasChildItems(string path) => IsItemContainer(path) && Children(path).Any();

    protected override void GetItem(string path)
    {
        if (Resolve(path) is { } item) WriteItemObject(item, path, IsItemContainer(path));
    }

    protected override void GetChildItems(string path, bool recurse)
    {
        foreach (var (name, item, container) in Children(path))
        {
            var child = MakePath(path, name);
            WriteItemObject(item, child, container);
            if (recurse && container) GetChildItems(child, recurse);
        }
    }

    protected override void GetChildNames(string path, ReturnContainers returnContainers)
    {
        foreach (var (name, _, container) in Children(path)) WriteItemObject(name, MakePath(path, name), container);
    }

    /// <summary>The object at a path: a repo, a branch, a file or directory; null when there is none.</summary>
    private static object? Resolve(string path)
    {
        var (repo, reference, file) = Split(path);
        try
        {
            if (repo is null) return "pfs:";
            if (reference is null) return Files.GetRepo(repo);
            if (file == "/") return Files.GetCommit(repo, reference);
            return Files.FindNode(repo, reference, file);
        }
        catch (PachException) { return null; }
    }

    private static IEnumerable<(string Name, object Item, bool Container)> Children(string path)
    {
        var (repo, reference, file) = Split(path);
        try
        {
            if (repo is null) return Files.ListRepos().Select(r => (r.Name, (object)r, true)).ToList();
            // A repo holds its branches, then its tags: both are folders of files (a tag's never changes).
            if (reference is null)
                return Files.ListBranches(repo).Select(b => (b.Name, (object)b, true)).Concat(Files.ListTags(repo).Select(t => (t.Name, (object)t, true))).ToList();
            // Streamed: the first children are written while later pages are read. A path that names nothing lists
            // nothing, as it fails on the first page.
            return FromFirstPage(Files.StreamFiles(repo, reference, file).Select(f => (f.Name, (object)f, f.Type == PachFileType.Directory)));
        }
        catch (PachException) { return []; }
    }

    /// <summary>The items of a listing, empty when its first page fails; a later page's failure is the caller's.</summary>
    private static IEnumerable<T> FromFirstPage<T>(IEnumerable<T> items)
    {
        var e = items.GetEnumerator();
        bool any;
        try { any = e.MoveNext(); }
        catch (PachException)
        {
            e.Dispose();
            return [];
        }
        return Rest(e, any);

        static IEnumerable<T> Rest(IEnumerator<T> e, bool any)
        {
            using (e)
            {
                if (!any) yield break;
                yield return e.Current;
                while (e.MoveNext()) yield return e.Current;
            }
        }
    }

    public IContentReader GetContentReader(string path)
    {
        var (repo, reference, file) = Split(path);
        if (repo is null || reference is null || file == "/")
            throw new PSArgumentException($"'{path}' is not a file: use pfs:\\<repo>\\<branch>\\<path>.");
        try
        {
            var (_, stream) = Files.OpenFile(repo, reference, file);
            return new LineReader(new StreamReader(stream, Encoding.UTF8));
        }
        catch (PachException ex)
        {
            ThrowTerminatingError(PachCmdlet.ToErrorRecord(ex));
            throw;
        }
    }

    public object? GetContentReaderDynamicParameters(string path) => null;

    public IContentWriter GetContentWriter(string path) =>
        throw new PSNotSupportedException("The pfs: drive is read-only; use Add-PachFile to write to a branch.");

    public object? GetContentWriterDynamicParameters(string path) => null;

    public void ClearContent(string path) =>
        throw new PSNotSupportedException("The pfs: drive is read-only; use Remove-PachFile.");

    public object? ClearContentDynamicParameters(string path) => null;

    /// <summary>Get-Content reads a file line by line (ReadCount lines at a time).</summary>
    private sealed class LineReader(StreamReader reader) : IContentReader
    {
        public IList Read(long readCount)
        {
            var lines = new List<string>();
            while ((readCount <= 0 || lines.Count < readCount) && reader.ReadLine() is { } line) lines.Add(line);
            return lines;
        }

        public void Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public void Close() => reader.Dispose();
        public void Dispose() => reader.Dispose();
    }
}
