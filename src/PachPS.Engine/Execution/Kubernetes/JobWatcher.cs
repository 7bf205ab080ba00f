using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// Follows the state of PachPS's Jobs in one namespace through the watch API: lists once, then watches from the
/// list's resourceVersion, resuming from the last version seen when the stream drops and listing again on 410 Gone
/// (or an ERROR event). Callers wait for a Job by name until it is Complete, Failed or deleted.
/// </summary>
internal sealed class JobWatcher : IDisposable
{
    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly string _selector;
    private readonly ConcurrentDictionary<string, V1Job> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<TaskCompletionSource<V1Job?>>> _waiters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TaskCompletionSource _firstList = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public JobWatcher(IKubernetes client, string ns, string selector)
    {
        _client = client;
        _namespace = ns;
        _selector = selector;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Waits until the Job is finished; returns it, or null if it was deleted before finishing.</summary>
    public async Task<V1Job?> WaitFinishedAsync(string name, CancellationToken cancel)
    {
        await _firstList.Task.WaitAsync(cancel);
        var waiter = new TaskCompletionSource<V1Job?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = _waiters.GetOrAdd(name, _ => []);
        lock (list) list.Add(waiter);
        if (_jobs.TryGetValue(name, out var known) && IsFinished(known)) Release(name, known);
        using var registration = cancel.Register(() => waiter.TrySetCanceled(cancel));
        return await waiter.Task;
    }

    /// <summary>Waits until no Job of that name is known (after a delete), so one of the same name can be created.</summary>
    public async Task WaitGoneAsync(string name, CancellationToken cancel)
    {
        await _firstList.Task.WaitAsync(cancel);
        while (_jobs.ContainsKey(name)) await Task.Delay(GonePollInterval, cancel);
    }

    /// <summary>How often a wait for a deleted Job to be gone looks again.</summary>
    private static readonly TimeSpan GonePollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The first wait before watching again after a dropped stream; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>How long closing waits for the watch loop to end.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    public static bool IsFinished(V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Status == "True" && c.Type is "Complete" or "Failed") == true;

    private async Task RunAsync(CancellationToken stop)
    {
        string? version = null;
        var delay = FirstRetryDelay;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var list = await _client.BatchV1.ListNamespacedJobAsync(_namespace, labelSelector: _selector, cancellationToken: stop);
                    var present = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var job in list.Items)
                    {
                        present.Add(job.Metadata.Name);
                        Observe(WatchEventType.Modified, job);
                    }
                    // Jobs deleted while nobody watched.
                    foreach (var name in _jobs.Keys.Where(n => !present.Contains(n)).ToList())
                        if (_jobs.TryRemove(name, out var gone)) Observe(WatchEventType.Deleted, gone);
                    version = list.Metadata.ResourceVersion;
                    _firstList.TrySetResult();
                }
                var relist = false;
                var events = _client.BatchV1.WatchListNamespacedJobAsync(_namespace, allowWatchBookmarks: true, labelSelector: _selector,
                    resourceVersion: version, timeoutSeconds: 240, onError: ex =>
                    {
                        // An ERROR event (410 Gone: the version is too old) means events were lost: list again.
                        // A line that is not an event is skipped.
                        if (ex is KubernetesException) relist = true;
                    }, cancellationToken: stop);
                await foreach (var (type, job) in events)
                {
                    if (job?.Metadata?.ResourceVersion is { } seen) version = seen;
                    if (type != WatchEventType.Bookmark && job?.Metadata?.Name is not null) Observe(type, job);
                    if (relist) break;
                }
                if (relist) version = null;
                delay = FirstRetryDelay;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
            {
                version = null;
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                // A dropped stream or an unreachable server: try again from the last version seen, backing off.
                try { await Task.Delay(delay, stop); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private void Observe(WatchEventType type, V1Job job)
    {
        var name = job.Metadata.Name;
        if (type == WatchEventType.Deleted)
        {
            _jobs.TryRemove(name, out _);
            Release(name, IsFinished(job) ? job : null);
            return;
        }
        _jobs[name] = job;
        if (IsFinished(job)) Release(name, job);
    }

    private void Release(string name, V1Job? job)
    {
        if (!_waiters.TryRemove(name, out var list)) return;
        lock (list) foreach (var waiter in list) waiter.TrySetResult(job);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(StopTimeout); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
