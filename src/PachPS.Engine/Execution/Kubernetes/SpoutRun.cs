using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// One run of a spout on Kubernetes (<see cref="SpoutJob"/>): submits its Job, delivers each shipment the pod uploads
/// into the spout's local /pfs/out (where the spout's committer takes it, as from a local command), and ends when the
/// command has exited and its last shipment is delivered. Stopping it (the spout paused, updated or removed, the store
/// closing) deletes the Job, whose pod ships what its command wrote before it goes. Shipments and Jobs an earlier run
/// left (a session that died) are delivered and deleted before the next run starts.
/// </summary>
internal sealed class SpoutRun(IKubernetes client, string ns, IObjectStore objects, IPresigningObjectStore presigner, JobWatcher watcher, string image, TimeSpan urlLifetime)
{
    /// <summary>How often the content store is looked at for new shipments.</summary>
    public static readonly TimeSpan ShipmentPollInterval = TimeSpan.FromSeconds(1);
    /// <summary>How long a stopped run waits for its pod to ship and go before what was shipped is delivered.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(8);
    /// <summary>How long the ship container may outlive the command before the run is ended for it.</summary>
    public static readonly TimeSpan ShipGrace = TimeSpan.FromSeconds(30);
    /// <summary>A run ends this long before its upload URLs expire; the next run gets new ones.</summary>
    public static readonly TimeSpan DeadlineMargin = TimeSpan.FromHours(1);
    /// <summary>Pod status is read every this many shipment polls.</summary>
    private const int PodCheckEvery = 5;

    public async Task<int> RunAsync(SpoutRequest request, CancellationToken cancel)
    {
        Directory.CreateDirectory(request.OutFolder);
        await RemoveEarlierRunsAsync(request, cancel);
        var runId = Ids.New()[..10];
        var prefix = SpoutJob.RunPrefix(request.Pipeline, runId);
        var name = SpoutJob.Name(request.Pipeline, runId);
        var urls = new StringBuilder();
        for (var n = 0; n < SpoutJob.Shipments; n++) urls.Append(presigner.Presign(SpoutJob.ShipmentKey(prefix, n), put: true, urlLifetime).AbsoluteUri).Append('\n');
        objects.Put(SpoutJob.UrlsKey(prefix), Encoding.UTF8.GetBytes(urls.ToString()));
        var job = SpoutJob.Build(request, image, presigner.Presign(SpoutJob.UrlsKey(prefix), put: false, urlLifetime), runId, urlLifetime - DeadlineMargin);
        var logs = new PodLogFollower(client, ns, name, request.OnLog);
        using var stopFollowing = new CancellationTokenSource();
        var delivered = 0;
        try
        {
            await client.CallAsync(ns, () => client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancel), HttpStatusCode.Conflict);
            var following = logs.FollowAsync(stopFollowing.Token);
            using var watching = new CancellationTokenSource();
            var finished = watcher.WaitFinishedAsync(name, watching.Token);
            DateTime? commandEnded = null;
            try
            {
                for (var poll = 1; !finished.IsCompleted; poll++)
                {
                    await Task.WhenAny(finished, Task.Delay(ShipmentPollInterval, cancel));
                    if (cancel.IsCancellationRequested) break;
                    delivered += await DeliverAsync(prefix, request, CancellationToken.None);
                    // The URLs are nearly used up: the pod ships the rest with its last one as it stops, and the loop starts a new run.
                    if (delivered >= SpoutJob.Shipments - 1) break;
                    if (poll % PodCheckEvery != 0 || finished.IsCompleted) continue;
                    // A command that ended without the ship container noticing (killed before it could say so) ends the run.
                    var transform = await client.TransformStatusAsync(ns, name);
                    if (transform?.State?.Terminated is null) commandEnded = null;
                    else if ((commandEnded ??= DateTime.UtcNow) < DateTime.UtcNow - ShipGrace) break;
                }
            }
            finally { watching.Cancel(); }
            var exit = finished.IsCompletedSuccessfully && finished.Result is not null ? await ExitCodeAsync(name) : null;
            if (!finished.IsCompletedSuccessfully || finished.Result is null) await StopAsync(name, prefix, request);
            stopFollowing.Cancel();
            await following;
            await DeliverAsync(prefix, request, CancellationToken.None);
            cancel.ThrowIfCancellationRequested();
            return exit ?? await ExitCodeAsync(name) ?? -1;
        }
        finally
        {
            stopFollowing.Cancel();
            await DeleteAsync(name);
            foreach (var key in objects.List(prefix).ToList()) objects.Delete(key);
        }
    }

    /// <summary>
    /// Deletes the Job (its pod gets SIGTERM and ships what is left), waits for its pods to go for at most
    /// <see cref="StopGrace"/>, delivering shipments as they come.
    /// </summary>
    private async Task StopAsync(string name, string prefix, SpoutRequest request)
    {
        await DeleteAsync(name);
        var until = DateTime.UtcNow + StopGrace;
        while (DateTime.UtcNow < until)
        {
            await DeliverAsync(prefix, request, CancellationToken.None);
            var pods = await client.CallAsync(ns, () => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"job-name={name}"), HttpStatusCode.NotFound);
            if (pods is null || pods.Items.Count == 0) return;
            await Task.Delay(ShipmentPollInterval / 4);
        }
    }

    /// <summary>
    /// Unpacks each shipment under <paramref name="prefix"/>, in order, into the spout's /pfs/out (a file of the same name
    /// not yet committed is replaced) and deletes it from the content store; returns how many there were.
    /// </summary>
    private async Task<int> DeliverAsync(string prefix, SpoutRequest request, CancellationToken cancel)
    {
        var count = 0;
        foreach (var key in objects.List(prefix).Where(k => k.EndsWith(".tar", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList())
        {
            var unpacked = Path.Combine(request.WorkFolder, "incoming");
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            Directory.CreateDirectory(unpacked);
            await TarExtractor.ExtractAsync(objects, key, unpacked, cancel);
            foreach (var file in Directory.EnumerateFiles(unpacked, "*", SearchOption.AllDirectories).ToList())
            {
                var target = Path.Combine(request.OutFolder, Path.GetRelativePath(unpacked, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(file, target, overwrite: true);
            }
            Directory.Delete(unpacked, recursive: true);
            objects.Delete(key);
            count++;
        }
        return count;
    }

    /// <summary>Deletes the Jobs earlier runs of this spout left running and delivers what they shipped.</summary>
    private async Task RemoveEarlierRunsAsync(SpoutRequest request, CancellationToken cancel)
    {
        var jobs = await client.CallAsync(ns, () => client.BatchV1.ListNamespacedJobAsync(ns,
            labelSelector: $"{SpoutJob.SpoutLabel}={SpoutJob.PipelineHash(request.Pipeline)}", cancellationToken: cancel), HttpStatusCode.NotFound);
        foreach (var job in jobs?.Items ?? []) await DeleteAsync(job.Metadata.Name);
        var prefix = SpoutJob.PipelinePrefix(request.Pipeline);
        await DeliverAsync(prefix, request, cancel);
        foreach (var key in objects.List(prefix).ToList()) objects.Delete(key);
    }

    private async Task<int?> ExitCodeAsync(string job) => (await client.TransformStatusAsync(ns, job))?.State?.Terminated?.ExitCode;

    private Task DeleteAsync(string name) => client.DeleteJobAsync(ns, name);
}
