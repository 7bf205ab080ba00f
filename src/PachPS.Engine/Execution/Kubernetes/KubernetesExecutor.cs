using System.Net;
using k8s;
using k8s.Models;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// Runs each datum as a Kubernetes Job (see <see cref="DatumJob"/>): inputs and outputs travel through presigned URLs
/// of the S3 content store, so no credential reaches the cluster. The Job's backoffLimit applies datum_tries and its
/// activeDeadlineSeconds datum_timeout; the Job controller's verdict, seen through the watch API, ends the datum.
/// Job names are fixed per datum, so a store reopened after a crash finds the Jobs it submitted and collects them.
/// </summary>
public sealed class KubernetesExecutor : IDatumExecutor, IBatchExecutor, ISpoutExecutor, IDisposable
{
    /// <summary>A manifest longer than this goes to the content store and the pod fetches it by URL.</summary>
    public const int InlineManifestLimit = 16 * 1024;
    /// <summary>Datums per Job of a batching pipeline.</summary>
    public const int BatchSize = 64;
    private static readonly TimeSpan UrlLifetime = TimeSpan.FromHours(12);

    private readonly IKubernetes _client;
    private readonly IObjectStore _objects;
    private readonly IPresigningObjectStore _presigner;
    private readonly JobWatcher _watcher;
    private readonly string _image;

    /// <summary>Over a given client (tests point it at a fake API server).</summary>
    public KubernetesExecutor(IKubernetes client, string ns, string image, IObjectStore objects)
    {
        _presigner = objects as IPresigningObjectStore ?? throw PachException.Invalid("KubernetesNeedsS3",
            "The Kubernetes executor needs the content in S3 (pods cannot read a local folder): connect with -S3Bucket as well.", null);
        _client = client;
        _objects = objects;
        _image = image;
        Namespace = ns;
        _watcher = new JobWatcher(client, ns, $"{DatumJob.ManagedBy}=pachps");
        Description = $"Kubernetes Jobs in namespace '{ns}' at {client.BaseUri}";
    }

    public string Namespace { get; }
    public string Description { get; }
    public bool RetriesItself => true;

    /// <summary>
    /// A client for the settings' cluster and the namespace to use: the kubeconfig file and context, or (without them,
    /// inside a pod) the pod's service account. Only reads configuration; a bad one is KubernetesConfigInvalid.
    /// </summary>
    public static IKubernetes Connect(KubernetesSettings settings, out string ns)
    {
        try
        {
            var config = settings.KubeConfig is null && settings.Context is null && KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(settings.KubeConfig, settings.Context);
            ns = settings.Namespace ?? config.Namespace ?? "default";
            return new k8s.Kubernetes(config);
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or FileNotFoundException or IOException)
        {
            throw new PachException("KubernetesConfigInvalid", PachErrorKind.InvalidArgument,
                $"Cannot use the Kubernetes configuration ({settings.KubeConfig ?? "the default kubeconfig"}): {ex.Message}", settings.KubeConfig, ex);
        }
    }

    public async Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel)
    {
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var staging = DatumJob.StagingPrefix(request.JobId, request.DatumId);
        var outFolder = Path.Combine(request.WorkFolder, "pfs", "out");
        var downloaded = Downloaded(request);
        var (manifest, manifestUrl) = Stage(staging, DatumManifest.For(request, PresignGet, LocateOnce()));
        var job = DatumJob.Build(request, _image, manifest, manifestUrl, _presigner.Presign(staging + "out.tar", put: true, UrlLifetime),
            invalidUrl: _presigner.Presign(DatumJob.InvalidKey(staging), put: true, UrlLifetime));
        var (finished, logs) = await SubmitAsync(job, request.OnLog, request.Closing, cancel);
        var attempts = Math.Max(1, (finished?.Status?.Failed ?? 0) + (finished?.Status?.Succeeded ?? 0));
        try
        {
            if (!IsComplete(finished))
            {
                // An input the pod's file system refuses: the datum fails naming it, as on the local executor.
                if (finished is not null && await _client.UnwritableInputAsync(Namespace, name) is { } unwritable)
                    return new DatumResult(false, -1, unwritable, outFolder, downloaded) { Attempts = attempts };
                var (exit, reason) = await FailureAsync(name, finished, attempts);
                return new DatumResult(false, exit, reason + LogTail.Of(logs, anyStream: true), outFolder, downloaded) { Attempts = attempts };
            }
            if (_objects.Exists(DatumJob.InvalidKey(staging)))
            {
                var broken = System.Text.Encoding.UTF8.GetString(_objects.Get(DatumJob.InvalidKey(staging))).Trim();
                return new DatumResult(false, -1, broken.Replace("\n", "; "), outFolder, downloaded) { Attempts = attempts };
            }
            Directory.CreateDirectory(outFolder);
            await TarExtractor.ExtractAsync(_objects, staging + "out.tar", outFolder, cancel);
            return new DatumResult(true, 0, "", outFolder, downloaded) { Attempts = attempts };
        }
        finally { await CleanUpAsync(name, staging); }
    }

    /// <summary>
    /// A batching pipeline's worker slot: up to <see cref="BatchSize"/> datums in one Job whose transform container
    /// serves them to the command in turn (<see cref="DatumJob.BatchScript"/>). Datums the batch never started go back
    /// to the queue. A batch is resubmitted, not collected, after the store is reopened.
    /// </summary>
    public async Task RunBatchAsync(string workFolder, Pps.TransformSpec transform, IBatchSource source, Action<ExecutionLog>? onLog, CancellationToken cancel)
    {
        var batch = new List<DatumRequest>();
        while (batch.Count < BatchSize && source.Next() is { } datum) batch.Add(datum);
        if (batch.Count == 0) return;
        var first = batch[0];
        var name = DatumJob.BatchName(first.JobId, first.DatumId);
        var staging = DatumJob.StagingPrefix(first.JobId, "b" + first.DatumId);
        var (manifest, manifestUrl) = Stage(staging, DatumManifest.ForBatch(batch, PresignGet, LocateOnce()));
        var job = DatumJob.Build(first, _image, manifest, manifestUrl, _presigner.Presign(staging + "out.tar", put: true, UrlLifetime), batch);
        // A batch Job left from an earlier session holds other datums now: it goes before this one is submitted.
        await DeleteAsync(name);
        await _watcher.WaitGoneAsync(name, cancel);
        var ids = batch.ToDictionary(d => d.DatumId, StringComparer.Ordinal);
        void Attribute(ExecutionLog line) =>
            onLog?.Invoke(line.Message.StartsWith(DatumJob.DatumMarker, StringComparison.Ordinal) && ids.ContainsKey(line.Message[DatumJob.DatumMarker.Length..])
                ? line with { Stream = LogStreams.DatumSwitch, Message = line.Message[DatumJob.DatumMarker.Length..] }
                : line);
        var (finished, logs) = await SubmitAsync(job, Attribute, first.Closing, cancel);
        try
        {
            if (!IsComplete(finished))
            {
                var unwritable = finished is null ? null : await _client.UnwritableInputAsync(Namespace, name);
                var (exit, reason) = unwritable is null ? await FailureAsync(name, finished, 1) : (-1, unwritable);
                foreach (var datum in batch) source.Complete(datum, new DatumResult(false, exit, reason, "", Downloaded(datum)));
                return;
            }
            var result = Path.Combine(workFolder, "result");
            if (Directory.Exists(result)) Directory.Delete(result, recursive: true);
            Directory.CreateDirectory(result);
            await TarExtractor.ExtractAsync(_objects, staging + "out.tar", result, cancel);
            var status = File.ReadAllLines(Path.Combine(result, "status")).Select(l => l.Split(' ')).Where(p => p.Length >= 2)
                .ToDictionary(p => int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p => p);
            for (var n = 0; n < batch.Count; n++)
            {
                if (!status.TryGetValue(n, out var line)) source.Return(batch[n]);
                else if (line[1] == "ok") source.Complete(batch[n], new DatumResult(true, 0, "", Path.Combine(result, "outs", n.ToString(System.Globalization.CultureInfo.InvariantCulture)), Downloaded(batch[n])));
                else if (line[1] == "invalid")
                {
                    // Its output broke the rules every executor keeps: the datum fails naming what did.
                    var broken = File.ReadAllText(Path.Combine(result, "invalid-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture))).Trim();
                    source.Complete(batch[n], new DatumResult(false, -1, broken.Replace("\n", "; "), "", Downloaded(batch[n])));
                }
                else
                {
                    var code = line.Length > 2 && int.TryParse(line[2], out var c) ? c : -1;
                    var tail = LogTail.Of(PodLogFollower.DatumLines(logs, batch[n].DatumId), anyStream: true);
                    source.Complete(batch[n], new DatumResult(false, code, $"exit code {code}" + tail, "", Downloaded(batch[n])));
                }
            }
        }
        finally { await CleanUpAsync(name, staging); }
    }

    /// <summary>A run of a spout: a long-running Job whose pod ships what its command writes (see <see cref="SpoutRun"/>).</summary>
    public Task<int> RunSpoutAsync(SpoutRequest request, CancellationToken cancel) =>
        new SpoutRun(_client, Namespace, _objects, _presigner, _watcher, _image, UrlLifetime).RunAsync(request, cancel);

    private static long Downloaded(DatumRequest datum) => datum.Inputs.Sum(i => i.Files.Sum(f => f.Size));

    /// <summary>
    /// Where a packed chunk lives now when a garbage collection rewrote the pack its tree names (pods fetch objects by
    /// key, so they cannot follow the chunk index themselves). Wired by the store; identity until then.
    /// </summary>
    internal Func<string, ChunkRef?> Relocate { get; set; } = _ => null;

    /// <summary>The packs a garbage collection rewrote (their chunks are elsewhere now); wired by the store.</summary>
    internal Func<IReadOnlySet<string>> RepackedPacks { get; set; } = () => new HashSet<string>();

    /// <summary>Locates chunks for one manifest: the rewritten packs are read once, so a manifest costs no extra request.</summary>
    private Func<ChunkRef, ChunkRef> LocateOnce()
    {
        var repacked = RepackedPacks();
        return chunk => repacked.Count > 0 && repacked.Contains(chunk.Object) && Relocate(chunk.Hash) is { } moved
            ? chunk with { Object = moved.Object, Offset = moved.Offset }
            : chunk;
    }

    /// <summary>Reads of files imported by reference (their pieces are ranges of someone else's object); wired by the store.</summary>
    internal ObjectReferences? References { get; set; }

    // A referenced piece is fetched from its own bucket; the version is checked once, here, before the pod reads it.
    private Uri PresignGet(string key)
    {
        if (!ObjectReferences.Is(key)) return _presigner.Presign(key, put: false, UrlLifetime);
        var references = References ?? throw new InvalidOperationException("The executor was given no reference reader.");
        if (references.Check(key) is { } changed) throw new PachException("ReferencedObjectChanged", PachErrorKind.InvalidData, changed, ObjectReferences.Describe(key));
        return references.Presign(key, UrlLifetime);
    }

    /// <summary>An inline manifest, or (when long) one put in the content store and fetched by presigned URL.</summary>
    private (string? Inline, Uri? Url) Stage(string staging, string manifest)
    {
        if (manifest.Length <= InlineManifestLimit) return (manifest, null);
        _objects.Put(staging + "manifest", System.Text.Encoding.UTF8.GetBytes(manifest));
        return (null, PresignGet(staging + "manifest"));
    }

    /// <summary>
    /// Creates the Job (one that exists already is a resubmission: fine) and waits until it is finished, passing the
    /// transform container's log lines to <paramref name="onLog"/> as they are written (Get-PachLog -Follow shows them
    /// live) and returning them all.
    /// </summary>
    private async Task<(V1Job? Finished, List<ExecutionLog> Logs)> SubmitAsync(V1Job job, Action<ExecutionLog>? onLog, CancellationToken closing, CancellationToken cancel)
    {
        var name = job.Metadata.Name;
        var logs = new PodLogFollower(_client, Namespace, name, onLog);
        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        Task? following = null;
        V1Job? finished;
        try
        {
            await _client.CallAsync(Namespace, () => _client.BatchV1.CreateNamespacedJobAsync(job, Namespace, cancellationToken: cancel), HttpStatusCode.Conflict);
            following = logs.FollowAsync(stopFollowing.Token);
            finished = await _watcher.WaitFinishedAsync(name, cancel);
        }
        catch (OperationCanceledException)
        {
            // Stopped (Stop-PachJob, a job timeout): the Job and its pods go too. The store closing leaves the Job to
            // run; the next open resubmits the datum, finds the Job by its name and collects it.
            if (!closing.IsCancellationRequested) await DeleteAsync(name);
            throw;
        }
        finally
        {
            stopFollowing.Cancel();
            if (following is not null) await following;
        }
        // Whatever following missed (a server that does not stream, a pod that ended quickly) is read now.
        await logs.ReadAsync();
        return (finished, logs.All);
    }

    private static bool IsComplete(V1Job? job) => job?.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true;

    private async Task<(int Exit, string Reason)> FailureAsync(string name, V1Job? finished, int attempts)
    {
        var condition = finished?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        var reason = finished is null ? $"Kubernetes Job {name} was deleted before it finished"
            : condition?.Reason == "DeadlineExceeded" ? $"datum_timeout exceeded: Kubernetes stopped Job {name} ({condition.Message})"
            : $"Kubernetes Job {name} failed ({condition?.Reason}: {condition?.Message}) after {attempts} attempt(s)";
        var exit = (await _client.TransformStatusAsync(Namespace, name))?.State?.Terminated?.ExitCode;
        if (exit is not null) reason += $"; exit code {exit}";
        return (exit ?? -1, reason);
    }

    private async Task CleanUpAsync(string name, string staging)
    {
        await DeleteAsync(name);
        foreach (var key in _objects.List(staging).ToList()) _objects.Delete(key);
    }

    private Task DeleteAsync(string name) => _client.DeleteJobAsync(Namespace, name);

    public void Dispose()
    {
        _watcher.Dispose();
        _client.Dispose();
    }
}
