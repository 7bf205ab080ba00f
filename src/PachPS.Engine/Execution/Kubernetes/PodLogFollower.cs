using System.Net;
using k8s;
using k8s.Autorest;

using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// The transform container's log of one Job's pods: followed live while the Job runs, read in full once it has
/// finished, each line passed on once however often the log is read.
/// </summary>
internal sealed class PodLogFollower(IKubernetes client, string ns, string job, Action<ExecutionLog>? onLog)
{
    /// <summary>How often the Job's pods are listed for one whose transform has started (and whose log to follow).</summary>
    private static readonly TimeSpan PodPollInterval = TimeSpan.FromMilliseconds(500);

    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    private readonly List<ExecutionLog> _all = [];

    /// <summary>Every line so far, oldest pod first.</summary>
    public List<ExecutionLog> All
    {
        get { lock (_all) return [.. _all]; }
    }

    /// <summary>Streams the transform container's log of each pod of the Job once it has started, until stopped.</summary>
    public async Task FollowAsync(CancellationToken stop)
    {
        var followed = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"job-name={job}", cancellationToken: stop);
                foreach (var pod in pods.Items.OrderBy(p => p.Metadata.CreationTimestamp))
                {
                    // A datum's transform is an init container; a spout's runs beside the ship container.
                    var transform = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? [])
                        .FirstOrDefault(c => c.Name == DatumJob.TransformContainer);
                    if (followed.Contains(pod.Metadata.Name) || transform?.State?.Running is null && transform?.State?.Terminated is null) continue;
                    followed.Add(pod.Metadata.Name);
                    using var response = await client.CoreV1.ReadNamespacedPodLogWithHttpMessagesAsync(pod.Metadata.Name, ns,
                        container: DatumJob.TransformContainer, follow: true, timestamps: true, cancellationToken: stop);
                    using var reader = new StreamReader(response.Body);
                    var index = 0;
                    while (await reader.ReadLineAsync(stop) is { } line) Line(pod.Metadata.Name, index++, line);
                }
                await Task.Delay(PodPollInterval, stop);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException) { /* read in full at the end */ }
    }

    /// <summary>The transform container's log of every pod the Job ran, oldest pod first, with the server's timestamps.</summary>
    public async Task ReadAsync()
    {
        var pods = await client.CallAsync(ns, () => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"job-name={job}"), HttpStatusCode.NotFound);
        foreach (var pod in (pods?.Items ?? []).OrderBy(p => p.Metadata.CreationTimestamp))
        {
            Stream log;
            try { log = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns, container: DatumJob.TransformContainer, timestamps: true); }
            catch (HttpOperationException) { continue; } // a pod that never started its transform has no log
            using var reader = new StreamReader(log);
            var index = 0;
            while (await reader.ReadLineAsync() is { } line) Line(pod.Metadata.Name, index++, line);
        }
    }

    /// <summary>A batch's log lines that belong to one datum (between its marker and the next).</summary>
    public static IEnumerable<ExecutionLog> DatumLines(IEnumerable<ExecutionLog> logs, string datumId)
    {
        var mine = false;
        foreach (var line in logs)
        {
            if (line.Message.StartsWith(DatumJob.DatumMarker, StringComparison.Ordinal)) mine = line.Message[DatumJob.DatumMarker.Length..] == datumId;
            else if (mine) yield return line;
        }
    }

    /// <summary>Line <paramref name="index"/> of a pod's log: new lines are kept and passed on, known ones skipped.</summary>
    private void Line(string pod, int index, string text)
    {
        ExecutionLog entry;
        lock (_all)
        {
            if (_seen.GetValueOrDefault(pod) > index) return;
            _seen[pod] = index + 1;
            entry = Parse(text);
            _all.Add(entry);
        }
        onLog?.Invoke(entry);
    }

    private static ExecutionLog Parse(string line)
    {
        // "<RFC 3339 time> <text>"; the server's nanoseconds are more digits than DateTime parses.
        var space = line.IndexOf(' ');
        if (space > 0)
        {
            var stamp = line[..space];
            var dot = stamp.IndexOf('.');
            if (dot > 0 && stamp.EndsWith('Z') && stamp.Length - dot > 9) stamp = stamp[..(dot + 8)] + "Z";
            if (DateTime.TryParse(stamp, null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var time))
                return new ExecutionLog(time, "stdout", line[(space + 1)..]);
        }
        return new ExecutionLog(DateTime.UtcNow, "stdout", line);
    }
}
