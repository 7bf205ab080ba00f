using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Containers;

/// <summary>
/// The store's container runtime, kept in store.json: every datum of a pipeline with transform.image runs in that image
/// (transform.pachps_container_runtime overrides it per pipeline).
/// </summary>
public sealed record ContainerSettings(ContainerRuntime Runtime)
{
    /// <summary>The runtime's command, as found on PATH.</summary>
    public static string Program(ContainerRuntime runtime) => runtime switch
    {
        ContainerRuntime.Podman => "podman",
        ContainerRuntime.Docker => "docker",
        _ => throw new ArgumentOutOfRangeException(nameof(runtime)),
    };
}
