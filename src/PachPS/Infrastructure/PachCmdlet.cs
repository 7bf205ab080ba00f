using System.Management.Automation;
using PachPS.Engine;

namespace PachPS.Infrastructure;

/// <summary>Base of every PachPS cmdlet: the current store, and engine failures turned into ErrorRecords.</summary>
public abstract class PachCmdlet : PSCmdlet, IDisposable
{
    // Created up front so a Ctrl+C that arrives before any work asked for the token is not lost; disposed with the cmdlet.
    private readonly CancellationTokenSource _stopping = new();

    private IPachClient? _client;

    /// <summary>
    /// The runspace's store, reached only through its service interfaces (in process now; a server's client later).
    /// Taken once per command on the pipeline thread, so one command works on one store throughout.
    /// </summary>
    private IPachClient Client => _client ??= StoreSession.Client;

    /// <summary>Repos, branches, commits and files.</summary>
    protected Engine.Pfs.IFileService Files => Client.Files;

    /// <summary>Pipelines, jobs, datums and logs.</summary>
    protected Engine.Pps.IPipelineService Pipelines => Client.Pipelines;

    /// <summary>Lineage of commits, jobs and files.</summary>
    protected Engine.Provenance.IProvenanceService Lineage => Client.Provenance;

    /// <summary>The store as a whole: where, how big, how sound.</summary>
    protected IStoreAdmin Admin => Client.Admin;

    /// <summary>A server's tokens (an embedded store has none: TokensNeedServer).</summary>
    protected Engine.Remote.ITokenService Tokens => Client.Tokens;

    /// <summary>The content objects of an embedded store (null through a server).</summary>
    protected Engine.Storage.IObjectStore? LocalObjects => Client.LocalObjects;

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken CancelToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();

    /// <summary>Runs engine work; a failure ends the call.</summary>
    protected void Invoke(Action work)
    {
        try { work(); }
        catch (PachException ex) { ThrowTerminatingError(ToErrorRecord(ex)); }
        catch (OperationCanceledException ex) { ThrowTerminatingError(new ErrorRecord(ex, "OperationStopped", ErrorCategory.OperationStopped, null)); }
        catch (Exception ex) when (ToErrorRecord(ex) is { } record) { ThrowTerminatingError(record); }
    }

    /// <summary>Runs engine work for one item; a failure is reported and the next item goes on.</summary>
    protected void InvokeEach(Action work)
    {
        try { work(); }
        catch (PachException ex) { WriteError(ToErrorRecord(ex)); }
        catch (Exception ex) when (ToErrorRecord(ex) is { } record) { WriteError(record); }
    }

    /// <summary>
    /// Local file system failures that can hit one item (a destination that cannot be created, a file in use), with
    /// stable ids; the engine reports its own (metadata included) as PachExceptions, and anything else is a bug.
    /// </summary>
    private static ErrorRecord? ToErrorRecord(Exception ex) => ex switch
    {
        UnauthorizedAccessException => new ErrorRecord(ex, "AccessDenied", ErrorCategory.PermissionDenied, null),
        IOException => new ErrorRecord(ex, "FileSystemError", ErrorCategory.WriteError, null),
        _ => null,
    };

    /// <summary>How often a wait shows the progress of the jobs it waits for.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// Waits for engine work on the pipeline thread while writing the job progress it reports (one bar per job):
    /// reports arrive on other threads, so they are queued and written from here.
    /// </summary>
    protected T AwaitWithJobProgress<T>(Func<IProgress<Engine.Pps.JobInfo>, Task<T>> work)
    {
        var reports = new System.Collections.Concurrent.ConcurrentQueue<Engine.Pps.JobInfo>();
        var task = work(new Progress(reports));
        var bars = new Dictionary<string, int>(StringComparer.Ordinal);
        // WaitAny, unlike Wait, does not throw when the task fails: GetResult below rethrows the engine's own exception.
        while (Task.WaitAny([task], ProgressInterval) < 0)
        {
            var latest = new Dictionary<string, Engine.Pps.JobInfo>(StringComparer.Ordinal);
            while (reports.TryDequeue(out var job)) latest[job.JobId] = job;
            foreach (var job in latest.Values)
            {
                if (!bars.TryGetValue(job.JobId, out var activity)) bars[job.JobId] = activity = bars.Count + 10;
                var done = job.Processed + job.Skipped + job.Failed + job.Recovered;
                WriteProgress(new ProgressRecord(activity, $"{job.Pipeline} job {Ids.Short(job.JobId)}",
                    $"{done} of {job.Total} datums ({job.Progress})") { PercentComplete = job.Total == 0 ? 0 : (int)(100L * done / job.Total) });
            }
        }
        foreach (var activity in bars.Values)
            WriteProgress(new ProgressRecord(activity, "done", "done") { RecordType = ProgressRecordType.Completed });
        return task.GetAwaiter().GetResult();
    }

    /// <summary>An IProgress that only queues (System.Progress would post to a thread the cmdlet does not pump).</summary>
    private sealed class Progress(System.Collections.Concurrent.ConcurrentQueue<Engine.Pps.JobInfo> queue) : IProgress<Engine.Pps.JobInfo>
    {
        public void Report(Engine.Pps.JobInfo value) => queue.Enqueue(value);
    }

    internal static ErrorRecord ToErrorRecord(PachException ex) => new(ex, ex.ErrorId, ex.Kind switch
    {
        PachErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        PachErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        PachErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        PachErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        PachErrorKind.InvalidData => ErrorCategory.InvalidData,
        PachErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        PachErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        PachErrorKind.NotSupported => ErrorCategory.NotImplemented,
        PachErrorKind.Unauthenticated => ErrorCategory.AuthenticationError,
        PachErrorKind.Forbidden => ErrorCategory.PermissionDenied,
        _ => ErrorCategory.NotSpecified,
    }, ex.Target);

    protected ErrorRecord Error(string id, ErrorCategory category, string message, object? target) =>
        new(new PachException(id, PachErrorKind.InvalidArgument, message, target), id, category, target);
}
