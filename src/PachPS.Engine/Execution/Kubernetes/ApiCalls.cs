using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>How a request to the API server fails: one tolerated status is no error, anything else a PachException.</summary>
internal static class ApiCalls
{
    /// <summary>Calls the API server; <paramref name="tolerated"/> (409 on create, 404 on delete) is not an error.</summary>
    public static async Task<T?> CallAsync<T>(this IKubernetes client, string ns, Func<Task<T>> call, HttpStatusCode tolerated) where T : class
    {
        try { return await call(); }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == tolerated) { return null; }
        catch (HttpOperationException ex)
        {
            throw new PachException("KubernetesRequestFailed", PachErrorKind.ResourceUnavailable,
                $"The Kubernetes API server refused a request ({(int)ex.Response.StatusCode}): {ex.Response.Content}", ns, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new PachException("KubernetesUnavailable", PachErrorKind.ResourceUnavailable,
                $"The Kubernetes API server at {client.BaseUri} cannot be reached: {ex.Message}", ns, ex);
        }
    }

    /// <summary>Deletes a Job and (through the garbage collector) its pods; a Job already gone is fine.</summary>
    public static Task DeleteJobAsync(this IKubernetes client, string ns, string name) =>
        client.CallAsync(ns, () => client.BatchV1.DeleteNamespacedJobAsync(name, ns, propagationPolicy: "Background"), HttpStatusCode.NotFound);

    /// <summary>
    /// Why the fetch container of a Job's newest pod could not write an input (see <see cref="DatumJob.FetchScript"/>),
    /// as the datum's reason; null when it did not fail that way, or its log cannot be read.
    /// </summary>
    public static async Task<string?> UnwritableInputAsync(this IKubernetes client, string ns, string job)
    {
        try
        {
            var pods = await client.CallAsync(ns, () => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"job-name={job}"), HttpStatusCode.NotFound);
            var pod = pods?.Items.OrderBy(p => p.Metadata.CreationTimestamp).LastOrDefault();
            var fetch = pod?.Status?.InitContainerStatuses?.FirstOrDefault(s => s.Name == DatumJob.FetchContainer);
            if (pod is null || fetch?.State?.Terminated is not { ExitCode: not 0 }) return null;
            using var log = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns, container: DatumJob.FetchContainer);
            using var reader = new StreamReader(log);
            while (await reader.ReadLineAsync() is { } line)
                if (DatumJob.UnwritableReason(line) is { } reason) return reason;
            return null;
        }
        // The reason is a nicety over the Job's own failure: an API that cannot tell leaves that one.
        catch (Exception ex) when (ex is PachException or HttpOperationException or HttpRequestException or IOException) { return null; }
    }

    /// <summary>
    /// The transform container's status in the newest pod of a Job: an init container of a datum's pod, a container of a
    /// spout's. Null when the Job has no pod (any more) or the pod has not started it.
    /// </summary>
    public static async Task<V1ContainerStatus?> TransformStatusAsync(this IKubernetes client, string ns, string job)
    {
        var pods = await client.CallAsync(ns, () => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"job-name={job}"), HttpStatusCode.NotFound);
        var status = pods?.Items.OrderBy(p => p.Metadata.CreationTimestamp).LastOrDefault()?.Status;
        return (status?.InitContainerStatuses ?? []).Concat(status?.ContainerStatuses ?? []).FirstOrDefault(s => s.Name == DatumJob.TransformContainer);
    }
}
