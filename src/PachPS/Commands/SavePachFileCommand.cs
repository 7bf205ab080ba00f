using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Writes a file, or every file under a folder, to the local disk.</summary>
[Cmdlet(VerbsData.Save, "PachFile", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class SavePachFileCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
    public string Path { get; set; } = "";

    /// <summary>A local file for one file; a local folder for a folder (or when it already is a folder).</summary>
    [Parameter(Mandatory = true, Position = 3)]
    public string Destination { get; set; } = "";

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var destination = GetUnresolvedProviderPathFromPSPath(Destination);
        var source = Names.NormalizePath(Path, allowRoot: true);
        var entries = Files.Entries(Repo, Commit, source);
        var total = entries.Sum(e => e.Content.Size);
        long done = 0;
        var activity = $"Saving {Repo}@{Commit}:{source}";
        var clock = new ProgressClock();
        // Checks, questions and progress happen here, on the pipeline thread; the writes overlap (small files above all).
        IEnumerable<(FileContent, string)> ToWrite()
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                if (CancelToken.IsCancellationRequested) yield break;
                if (clock.Due(last: i == entries.Count - 1))
                    WriteProgress(new ProgressRecord(2, activity, $"{entry.Path} ({Display.Size(done)} of {Display.Size(total)})")
                    {
                        PercentComplete = total == 0 ? 0 : (int)(100 * done / total),
                    });
                done += entry.Content.Size;
                var target = entry.Path == source
                    ? (Directory.Exists(destination) ? System.IO.Path.Combine(destination, System.IO.Path.GetFileName(source)) : destination)
                    : System.IO.Path.Combine(destination, entry.Path[(source == "/" ? 1 : source.Length + 1)..]);
                if (File.Exists(target) && !Force)
                {
                    WriteError(Error("DestinationExists", ErrorCategory.ResourceExists, $"'{target}' exists; use -Force to overwrite it.", target));
                    continue;
                }
                if (!ShouldProcess(target, $"Save {Repo}@{Commit}:{entry.Path}")) continue;
                yield return (entry.Content, target);
            }
        }
        foreach (var target in FileMaterializer.Write(Files.OpenContent, ToWrite(), FileMaterializer.DefaultParallelism)) WriteObject(new FileInfo(target));
        WriteProgress(new ProgressRecord(2, activity, "Done") { RecordType = ProgressRecordType.Completed });
    });
}
