using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Records objects of an S3 bucket as files without copying them (-Reference), or copies the bytes of files imported
/// that way into the store (-Materialize). Each call makes one commit.
/// </summary>
[Cmdlet(VerbsData.Import, "PachObject", SupportsShouldProcess = true, DefaultParameterSetName = ReferenceSet)]
[OutputType(typeof(CommitInfo))]
public sealed class ImportPachObjectCommand : CommitMakingCmdlet
{
    private const string ReferenceSet = "Reference";
    private const string MaterializeSet = "Materialize";
    private readonly List<string> _uris = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    /// <summary>A branch (a commit is made and finished by this call unless the branch has an open commit) or an open commit id.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string Branch { get; set; } = PfsParameters.Default;

    /// <summary>
    /// With -Reference, where the files go (as Add-PachFile -Uri places them); with -Materialize, the file or folder
    /// whose referenced files are copied in (the whole commit when omitted).
    /// </summary>
    [Parameter(Position = 2)]
    [PathParameter]
    public string? Path { get; set; }

    /// <summary>s3:// objects, prefixes (ending in '/') and globs to record.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ReferenceSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Url")]
    public string[] Uri { get; set; } = [];

    /// <summary>Record the objects where they are (key, size, ETag, VersionId): nothing is copied; reads check the version.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ReferenceSet)]
    public SwitchParameter Reference { get; set; }

    /// <summary>Copy the bytes of files imported by reference into the store, while their sources are the versions imported.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MaterializeSet)]
    public SwitchParameter Materialize { get; set; }

    protected override void ProcessRecord() => _uris.AddRange(Uri);

    protected override void EndProcessing()
    {
        if (Materialize)
        {
            var under = Path ?? "/";
            if (!ShouldProcess($"{Repo}@{Branch}:{under}", "Copy in the files imported by reference")) return;
            var progress = new ProgressRecord(1, $"Copying referenced files into {Repo}@{Branch}", "Starting");
            Invoke(() =>
            {
                var reporter = new FileProgress(this, progress);
                WriteObject(Files.MaterializeReferences(Repo, Branch, under, reporter, CancelToken, Note));
                reporter.Complete();
            });
            return;
        }
        if (_uris.Count == 0 || !ShouldProcess($"{Repo}@{Branch}", $"Record {string.Join(", ", _uris)} by reference")) return;
        Invoke(() => WriteObject(Files.ImportReferences(Repo, Branch, _uris, Path, Note)));
    }
}
