using System.Collections.Concurrent;
using System.Management.Automation;
using PachPS.Engine;
using PachPS.Engine.Backup;
using PachPS.Engine.Storage;

namespace PachPS.Infrastructure;

/// <summary>
/// Base of the backup cmdlets: the S3 parameters of an s3:// destination (as Connect-PachStore takes them for a
/// store's content), and the engine's progress written on the pipeline thread.
/// </summary>
public abstract class BackupCmdlet : PachCmdlet
{
    /// <summary>For an s3:// location: an S3-compatible endpoint such as http://127.0.0.1:7480; AWS when omitted.</summary>
    [Parameter]
    public Uri? S3Endpoint { get; set; }

    [Parameter]
    public string? S3Region { get; set; }

    /// <summary>For an s3:// location: access key as user name, secret key as password. Kept in memory only.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    public string? ProfileName { get; set; }

    protected S3Credentials? S3Credentials => S3CredentialArgument.From(Credential);

    /// <summary>
    /// A backup location as the engine takes it: s3:// as written, a folder resolved against the current location, or
    /// for a store on a server as written (a folder on the server's machine, where the store is).
    /// </summary>
    protected BackupLocation Location(string path, bool local = false)
    {
        if (Credential is not null && ProfileName is not null)
            ThrowTerminatingError(Error("CredentialConflict", ErrorCategory.InvalidArgument, "Use -Credential or -ProfileName, not both.", ProfileName));
        var s3 = path.StartsWith(BackupLocation.S3Scheme, StringComparison.OrdinalIgnoreCase);
        var resolved = s3 || (!local && Admin is not PachStore) ? path : GetUnresolvedProviderPathFromPSPath(path);
        return new BackupLocation(resolved, S3Endpoint?.ToString().TrimEnd('/'), S3Region, ProfileName, S3Credentials);
    }

    /// <summary>Runs engine work on a worker thread, writing the progress it reports here (copies report from several threads).</summary>
    protected T WithProgress<T>(string activity, Func<IProgress<BackupProgress>, CancellationToken, T> work) =>
        WithProgress(this, activity, CancelToken, work);

    /// <summary>The same for a cmdlet that is no backup cmdlet (Connect-PachStore -Restore).</summary>
    internal static T WithProgress<T>(Cmdlet cmdlet, string activity, CancellationToken cancel, Func<IProgress<BackupProgress>, CancellationToken, T> work)
    {
        var reports = new ConcurrentQueue<BackupProgress>();
        var task = Task.Run(() => work(new Queue(reports), cancel));
        // WaitAny, unlike Wait, does not throw when the task fails: GetResult below rethrows the engine's own exception.
        while (Task.WaitAny([task], TimeSpan.FromMilliseconds(200)) < 0)
            Write(cmdlet, activity, reports);
        Write(cmdlet, activity, reports);
        cmdlet.WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
        return task.GetAwaiter().GetResult();
    }

    private static void Write(Cmdlet cmdlet, string activity, ConcurrentQueue<BackupProgress> reports)
    {
        BackupProgress? last = null;
        while (reports.TryDequeue(out var report)) last = report;
        if (last is null) return;
        var status = last.Stage switch
        {
            BackupStage.Snapshot => "Taking a snapshot of the metadata",
            BackupStage.Marking => "Finding the content objects the snapshot references",
            BackupStage.Pinning => $"Pinning {last.Total:N0} objects",
            BackupStage.CopyingObjects => $"Copying content objects: {last.Done:N0} of {last.Total:N0}",
            BackupStage.WritingMetadata => $"Writing the backup's files: {last.Done:N0} of {last.Total:N0}",
            BackupStage.Reading => "Reading the manifest",
            BackupStage.Verifying => $"Verifying the backup's files: {last.Done:N0} of {last.Total:N0}",
            _ => "Removing",
        };
        cmdlet.WriteProgress(new ProgressRecord(1, activity, status) { PercentComplete = last.Total > 0 ? (int)Math.Min(100, 100 * last.Done / last.Total) : -1 });
    }

    private sealed class Queue(ConcurrentQueue<BackupProgress> reports) : IProgress<BackupProgress>
    {
        public void Report(BackupProgress value) => reports.Enqueue(value);
    }
}
