using System.Text.Json.Serialization;

namespace PachPS.Engine.Pps;

/// <summary>A container runtime that runs transform.image on this machine (None: datums run as local processes).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ContainerRuntime>))]
public enum ContainerRuntime
{
    None,
    Podman,
    Docker,
}

/// <summary>transform.pachps_container_runtime's values.</summary>
public static class ContainerRuntimes
{
    /// <summary>Reads "podman", "docker" or "none" (any case); null when it is none of them.</summary>
    public static ContainerRuntime? Parse(string value) => value.ToLowerInvariant() switch
    {
        "podman" => ContainerRuntime.Podman,
        "docker" => ContainerRuntime.Docker,
        "none" => ContainerRuntime.None,
        _ => null,
    };
}
