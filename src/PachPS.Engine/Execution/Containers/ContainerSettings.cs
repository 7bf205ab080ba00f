using System.Text.Json.Serialization;

namespace PachPS.Engine.Execution.Containers;

/// <summary>A container runtime that runs transform.image on this machine (None: datums run as local processes).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ContainerRuntime>))]
public enum ContainerRuntime
{
    None,
    Podman,
    Docker,
}

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

    /// <summary>Reads a spec's transform.pachps_container_runtime ("podman", "docker" or "none"); null when it is none of them.</summary>
    public static ContainerRuntime? Parse(string value) => value.ToLowerInvariant() switch
    {
        "podman" => ContainerRuntime.Podman,
        "docker" => ContainerRuntime.Docker,
        "none" => ContainerRuntime.None,
        _ => null,
    };
}
