namespace PachPS.Engine.Pps;

/// <summary>
/// One file of a datum's input: <see cref="Content"/> says where its chunks are stored; an executor reads it through
/// the <see cref="DatumRequest.Reader"/> it is handed (or fetches the chunks itself, as a pod does).
/// </summary>
public sealed record DatumFile(string Path, Storage.FileContent Content)
{
    public long Size => Content.Size;
}

/// <summary>One input of a datum as the executor sees it: mounted at pfs/&lt;Name&gt;&lt;file path&gt;.</summary>
public sealed record DatumMount(string Name, string Repo, string Commit, string Path, IReadOnlyList<DatumFile> Files)
{
    /// <summary>The spec's lazy: the files may appear without being copied (the local executor links them from a cache).</summary>
    public bool Lazy { get; init; }
}

/// <summary>Everything needed to run one datum; nothing about the store.</summary>
public sealed record DatumRequest(string JobId, string DatumId, string Pipeline, string OutputCommit, TransformSpec Transform,
    IReadOnlyList<DatumMount> Inputs, string WorkFolder)
{
    /// <summary>Reads the inputs' content (verifying every chunk); the executor never reaches into the store otherwise.</summary>
    public Storage.IContentReader? Reader { get; init; }

    /// <summary>Datum-level environment variables (for example PACH_DATUM_&lt;input&gt;_JOIN_ON).</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>Called for each line as the process writes it (from any thread), so logs can be followed live.</summary>
    public Action<ExecutionLog>? OnLog { get; init; }

    /// <summary>datum_tries, for an executor that retries by itself (<see cref="IDatumExecutor.RetriesItself"/>).</summary>
    public int Tries { get; init; } = 1;

    /// <summary>datum_timeout, for an executor that enforces it by itself.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The pipeline's pod-shaping fields (resources, node selector, pull secrets, pod patch).</summary>
    public PodSettings Pod { get; init; } = PodSettings.None;

    /// <summary>s3_out: the datum writes its output through its S3 endpoint, so the executor makes no /pfs/out.</summary>
    public bool S3Out { get; init; }

    /// <summary>
    /// Cancelled when the store is closing (rather than the job being stopped): work that runs elsewhere is left to
    /// finish and is collected when the store is opened again.
    /// </summary>
    public CancellationToken Closing { get; init; }
}

/// <summary>A line a datum's process wrote.</summary>
public sealed record ExecutionLog(DateTime Time, string Stream, string Message);

/// <summary>How a datum ended: success with its outputs in <see cref="OutputFolder"/>, or failure with a reason.</summary>
public sealed record DatumResult(bool Success, int ExitCode, string Reason, string OutputFolder, long BytesDownloaded)
{
    /// <summary>Tries this result took (more than one only for an executor that retries by itself).</summary>
    public int Attempts { get; init; } = 1;
}

/// <summary>Runs datums (local processes by default); knows nothing about metadata.</summary>
public interface IDatumExecutor
{
    Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel);

    /// <summary>
    /// True when the executor applies <see cref="DatumRequest.Tries"/> and <see cref="DatumRequest.Timeout"/> itself
    /// (a Kubernetes Job's backoffLimit and activeDeadlineSeconds); the job runner then calls it once per datum.
    /// </summary>
    bool RetriesItself => false;

    /// <summary>Where datums run, for people ("local processes", "Kubernetes namespace x at https://...").</summary>
    string Description => "local processes";

    /// <summary>
    /// Throws a <see cref="PachException"/> when this executor cannot run <paramref name="transform"/> as written (a
    /// transform.user a local session cannot become); asked when a pipeline is created or updated.
    /// </summary>
    void CheckTransform(string pipeline, TransformSpec transform) { }
}

/// <summary>Hands datums to a batch worker one at a time and takes back each result.</summary>
public interface IBatchSource
{
    /// <summary>The next datum for this worker, or null when there are no more.</summary>
    DatumRequest? Next();

    /// <summary>A datum ended: success with its outputs in <see cref="DatumResult.OutputFolder"/>, or failure.</summary>
    void Complete(DatumRequest datum, DatumResult result);

    /// <summary>A datum taken but never started (its batch ended first): it goes back to the queue, no try counted.</summary>
    void Return(DatumRequest datum);
}

/// <summary>Log entries with this stream are not output: they say which datum the following lines belong to.</summary>
public static class LogStreams
{
    public const string DatumSwitch = "datum";
    /// <summary>What the executor says about how it runs a job's datums (once per job).</summary>
    public const string Executor = "executor";
    /// <summary>Lines PachPS itself writes to a job's log (the full trace of an unexpected failure).</summary>
    public const string Engine = "pachps";
    /// <summary>Lines about a job's egress: each failed try, and what it uploaded.</summary>
    public const string Egress = "egress";
}

/// <summary>An executor that can run many datums in one process (Pachyderm's datum_batching).</summary>
public interface IBatchExecutor
{
    /// <summary>
    /// Starts the transform once in <paramref name="workFolder"/> and feeds it datums from <paramref name="source"/>
    /// until it is done; returns when the process has exited (the caller restarts it while datums remain).
    /// </summary>
    Task RunBatchAsync(string workFolder, TransformSpec transform, IBatchSource source, Action<ExecutionLog>? onLog, CancellationToken cancel);
}

/// <summary>Everything needed to run a spout's command once: nothing about the store.</summary>
public sealed record SpoutRequest(string Pipeline, TransformSpec Transform, string WorkFolder)
{
    /// <summary>Where the command's /pfs/out is: the runner commits what appears here.</summary>
    public string OutFolder => Path.Combine(WorkFolder, "pfs", "out");

    /// <summary>Called for each line as the process writes it (from any thread).</summary>
    public Action<ExecutionLog>? OnLog { get; init; }

    /// <summary>The pipeline's pod-shaping fields (resources, node selector, pull secrets, pod patch).</summary>
    public PodSettings Pod { get; init; } = PodSettings.None;
}

/// <summary>An executor that can run a spout's command: a process that runs until it exits or is stopped.</summary>
public interface ISpoutExecutor
{
    /// <summary>
    /// Runs the transform in <see cref="SpoutRequest.WorkFolder"/> with /pfs/out at <see cref="SpoutRequest.OutFolder"/>
    /// and returns its exit code when it exits; when <paramref name="cancel"/> fires, kills it (its whole process group)
    /// and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<int> RunSpoutAsync(SpoutRequest request, CancellationToken cancel);
}
