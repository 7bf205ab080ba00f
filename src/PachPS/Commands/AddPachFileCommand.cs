using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Text;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Adds local files, folders or a value to a repo. Everything one call receives, piped files included, lands in
/// one commit (or in the branch's open commit).
/// </summary>
[Cmdlet(VerbsCommon.Add, "PachFile", SupportsShouldProcess = true, DefaultParameterSetName = SourceSet)]
[OutputType(typeof(CommitInfo))]
public sealed class AddPachFileCommand : CommitMakingCmdlet
{
    private const string SourceSet = "Source";
    private const string ValueSet = "Value";
    private const string UriSet = "Uri";
    private readonly List<FileSource> _sources = [];
    private readonly List<(string Local, bool IsFolder)> _locals = [];
    private readonly List<string> _uris = [];
    private UriImport? _import;

    [Parameter(Mandatory = true, Position = 0)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>A branch (a commit is made and finished by this call unless the branch has an open commit) or an open commit id.</summary>
    [Parameter(Position = 1)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string Branch { get; set; } = PfsParameters.Default;

    /// <summary>Where the file goes in the repo; for one folder, where its contents go; for several sources, the folder they go under by name.</summary>
    [Parameter(Position = 2)]
    [PathParameter]
    public string? Path { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = SourceSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "LiteralPath")]
    [SupportsWildcards]
    public string[] Source { get; set; } = [];

    /// <summary>Add the files of source folders, recursively.</summary>
    [Parameter(ParameterSetName = SourceSet)]
    public SwitchParameter Recurse { get; set; }

    /// <summary>
    /// URLs to download into the repo (resumed where a transfer breaks off): http:// and https:// files, s3:// objects,
    /// prefixes (ending in '/') and globs. One URL naming one file goes to -Path; otherwise files go under -Path, a file
    /// by its name, the objects of a prefix or glob by their keys below it.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Url")]
    public string[] Uri { get; set; } = [];

    /// <summary>An access key (user name) and secret (password) for s3:// URLs; else the store's own, the URL's profile or the AWS default chain.</summary>
    [Parameter(ParameterSetName = UriSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The content itself: a string (written as UTF-8) or bytes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ValueSet)]
    public object? Value { get; set; }

    /// <summary>Append to the file instead of overwriting it.</summary>
    [Parameter]
    public SwitchParameter Append { get; set; }

    /// <summary>Store the file as a folder of pieces of whole records (lines or JSON values) named by a 16-hex-digit index.</summary>
    [Parameter]
    public SplitMode? Split { get; set; }

    /// <summary>With -Split: records per piece (1 when neither this nor -TargetFileBytes is given).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TargetFileDatums { get; set; }

    /// <summary>With -Split: about this many bytes per piece (a record is never cut).</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long TargetFileBytes { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == UriSet)
        {
            foreach (var uri in Uri) _uris.Add(uri);
            return;
        }
        if (ParameterSetName == ValueSet)
        {
            var bytes = Value is PSObject ps ? ToBytes(ps.BaseObject) : ToBytes(Value);
            var path = Path ?? throw new PSArgumentException("-Path is required with -Value.", nameof(Path));
            _sources.Add(new FileSource(path, () => new MemoryStream(bytes, writable: false), "-Value"));
            return;
        }
        foreach (var source in Source)
        {
            Collection<string> resolved;
            ProviderInfo provider;
            try { resolved = GetResolvedProviderPathFromPSPath(source, out provider); }
            catch (ItemNotFoundException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "SourceNotFound", ErrorCategory.ObjectNotFound, source));
                return;
            }
            if (provider.Name != "FileSystem")
                ThrowTerminatingError(Error("SourceNotFileSystem", ErrorCategory.InvalidArgument,
                    $"'{source}' is on the {provider.Name} provider; sources are files and folders of the file system (to copy inside a store, use Copy-PachFile).", source));
            foreach (var local in resolved)
            {
                var isFolder = Directory.Exists(local);
                if (isFolder && !Recurse)
                    ThrowTerminatingError(Error("SourceIsDirectory", ErrorCategory.InvalidArgument, $"'{local}' is a folder: add -Recurse to add its files.", local));
                _locals.Add((local, isFolder));
            }
        }
    }

    protected override void EndProcessing()
    {
        // The S3 clients an import lists and reads through live until the files are in.
        try { AddAll(); }
        finally { _import?.Dispose(); }
    }

    private void AddAll()
    {
        var single = _locals.Count == 1 && !_locals[0].IsFolder && Path is not null && !Path.EndsWith('/');
        var folder = (Path ?? "/").TrimEnd('/');
        if (_uris.Count > 0)
        {
            // Every URL is checked, and every s3:// prefix and glob listed, before anything is downloaded.
            var credentials = S3CredentialArgument.From(Credential);
            Invoke(() => _import = new UriImport(_uris, Path, LocalObjects, credentials));
            if (_import is null) return;
            _sources.AddRange(_import.Sources());
        }
        foreach (var (local, isFolder) in _locals)
        {
            if (single) { _sources.Add(FromFile(local, Path!)); continue; }
            if (!isFolder) { _sources.Add(FromFile(local, folder + "/" + System.IO.Path.GetFileName(local))); continue; }
            var root = local.TrimEnd(System.IO.Path.DirectorySeparatorChar);
            // As pachctl put file: one folder puts its contents at -Path; otherwise each folder goes under it by name.
            var under = Path is not null && _locals.Count == 1 ? folder : folder + "/" + System.IO.Path.GetFileName(root);
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                var relative = System.IO.Path.GetRelativePath(root, file).Replace(System.IO.Path.DirectorySeparatorChar, '/');
                _sources.Add(FromFile(file, under.TrimEnd('/') + "/" + relative));
            }
        }
        if (_sources.Count == 0) return;
        if (Split is not null)
        {
            AddSplit();
            return;
        }
        if (!ShouldProcess($"{Repo}@{Branch}", $"Add {_sources.Count} file(s)")) return;
        var progress = new ProgressRecord(1, $"Adding files to {Repo}@{Branch}", "Starting");
        Invoke(() =>
        {
            var note = Note;
            var reporter = new FileProgress(this, progress);
            var commit = Files.PutFiles(Repo, Branch, _sources, Append, reporter, CancelToken, note);
            reporter.Complete();
            WriteObject(commit);
        });
    }

    private void AddSplit()
    {
        if (_sources.Count != 1 || Append)
            ThrowTerminatingError(Error("SplitNeedsOneFile", ErrorCategory.InvalidArgument, "-Split takes exactly one file (or -Value) and no -Append.", Repo));
        var source = _sources[0];
        if (!ShouldProcess($"{Repo}@{Branch}:{source.Path}", $"Split into {Split} pieces")) return;
        Invoke(() => WriteObject(Files.PutSplit(Repo, Branch, source.Path, source.Open, Split!.Value, TargetFileDatums, TargetFileBytes, CancelToken,
            Note)));
    }

    private static FileSource FromFile(string local, string path) =>
        new(path, () => new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan), local);

    private static byte[] ToBytes(object? value) => value switch
    {
        byte[] b => b,
        string s => Encoding.UTF8.GetBytes(s),
        null => [],
        object[] items when items.All(i => i is PSObject { BaseObject: byte } or byte) => items.Select(i => (byte)(i is PSObject p ? p.BaseObject : i)).ToArray(),
        _ => Encoding.UTF8.GetBytes(value.ToString() ?? ""),
    };
}
