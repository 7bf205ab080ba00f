using System.Net;
using k8s;
using k8s.Autorest;

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
}
