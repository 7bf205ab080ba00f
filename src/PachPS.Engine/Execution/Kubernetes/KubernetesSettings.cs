using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// Where datums run on Kubernetes: a kubeconfig file and context (without one, inside a pod, the pod's own service
/// account), a namespace, and the image of the fetch and upload containers. Kept in store.json (no secret: credentials
/// stay in the kubeconfig).
/// </summary>
public sealed record KubernetesSettings(string? KubeConfig = null, string? Context = null, string? Namespace = null, string? HelperImage = null)
{
    /// <summary>A public image with sh, curl and tar for the fetch and upload containers.</summary>
    public const string DefaultHelperImage = "curlimages/curl:8.11.1";

    public string Image => HelperImage ?? DefaultHelperImage;
}
