using System.Collections.Concurrent;
using System.Globalization;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Containers;

/// <summary>
/// The container runtime's command line (podman or docker, which take the same flags for what PachPS asks): where it is,
/// whether an image is in its local store, and the arguments of <c>run</c> for a datum's transform.
/// </summary>
internal sealed class ContainerCli(ContainerRuntime runtime, string program)
{
    public ContainerRuntime Runtime { get; } = runtime;
    public string Program { get; } = program;

    private readonly ConcurrentDictionary<string, byte> _present = new(StringComparer.Ordinal);

    /// <summary>The runtime's command on PATH; throws ContainerRuntimeNotFound naming the pipeline (if any) when it is missing.</summary>
    public static ContainerCli Locate(ContainerRuntime runtime, string? pipeline)
    {
        var name = ContainerSettings.Program(runtime);
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
        return path is null
            ? throw PachException.NotFound("ContainerRuntimeNotFound",
                $"{(pipeline is null ? "" : $"Pipeline '{pipeline}' runs in {runtime} containers, but ")}'{name}' is not on PATH: install {runtime} " +
                $"(Debian: apt-get install {(runtime == ContainerRuntime.Docker ? "docker.io" : "podman runc")}), or choose another runtime.", (object?)pipeline ?? name)
            : new ContainerCli(runtime, path);
    }

    /// <summary>
    /// Null when <paramref name="image"/> is in the runtime's local store (pulled now if it is not and a registry
    /// answers), else why it cannot be run. Datums then run with --pull=never: a missing image never waits on a registry.
    /// </summary>
    public string? EnsureImage(string image, CancellationToken cancel)
    {
        if (_present.ContainsKey(image)) return null;
        var errors = new List<string>();
        void Line(string stream, string line) { if (stream == "stderr" && errors.Count < 20) errors.Add(line); }
        if (Run(["image", "inspect", "--format", "{{.Id}}", image], (_, _) => { }, cancel) != 0
            && Run(["pull", "--quiet", image], Line, cancel) != 0)
            return $"image '{image}' is not in {Runtime}'s local images and could not be pulled ({MessageText.Abbreviate(string.Join(" ", errors.TakeLast(2)))}); " +
                $"load it first ({Program.Split('/')[^1]} load, import or build)";
        _present.TryAdd(image, 0);
        return null;
    }

    /// <summary>Stops and removes a container at once (it may be gone already).</summary>
    public void Remove(string name) =>
        Run(Runtime == ContainerRuntime.Podman ? ["rm", "--force", "--time", "0", name] : ["rm", "--force", name], (_, _) => { }, CancellationToken.None);

    private int Run(IReadOnlyList<string> arguments, Action<string, string> onLine, CancellationToken cancel) =>
        ChildProcess.Run(new ChildCommand(Program, arguments, new Dictionary<string, string>(), "/", []), onLine, cancel);

    /// <summary>
    /// <c>run</c>'s arguments up to the image: removed on exit, never pulled, /pfs and the worker's control folder bound,
    /// no network unless transform.pachps_network names one, the spec's env (env_var secrets by name: their values
    /// reach the runtime in its environment, never its arguments), working_dir, user and resource_limits. The caller
    /// adds the image and the command.
    /// </summary>
    public List<string> RunArguments(string name, string pfsFolder, string controlFolder, TransformSpec transform, PodSettings pod,
        IEnumerable<string> secretVariables, SecretMounts? secretMounts, string? pipeline)
    {
        var args = new List<string> { "run", "--rm", "--interactive", "--name", name, "--pull=never", "--network=" + (transform.Network ?? "none"),
            "--volume", pfsFolder + ":/pfs", "--volume", controlFolder + ":" + ControlPath };
        if (Runtime == ContainerRuntime.Podman) args.Add("--log-driver=none");
        if (secretMounts is not null)
            for (var i = 0; i < secretMounts.Paths.Count; i++)
                args.AddRange(["--volume", Path.Combine(secretMounts.Folder, i.ToString(CultureInfo.InvariantCulture)) + ":" + secretMounts.Paths[i] + ":ro"]);
        foreach (var (k, v) in transform.Env) args.AddRange(["--env", k + "=" + v]);
        foreach (var variable in secretVariables) args.AddRange(["--env", variable]);
        if (transform.WorkingDir is { } dir) args.Add("--workdir=" + dir);
        if (transform.User is { } user) args.Add("--user=" + user);
        args.AddRange(LimitFlags(pod.Limits, pipeline));
        return args;
    }

    /// <summary>Opens a worker's file to transform.user's uid inside the container (mode as octal), which need not exist here.</summary>
    public static void Share(string path, string mode)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));
    }

    /// <summary>Where a worker's control folder (FIFOs, the datum's variables, stdin) is inside its container.</summary>
    public const string ControlPath = "/.pachps";

    /// <summary>
    /// resource_limits as the runtime's flags: cpu as --cpus, memory as --memory (bytes), gpu as --gpus (docker) or the
    /// CDI device nvidia.com/gpu=all (podman). disk has no flag (a container's writable layer has no size limit here).
    /// Throws ContainerResourceInvalid for a quantity that is not one.
    /// </summary>
    public List<string> LimitFlags(IReadOnlyDictionary<string, string> limits, string? pipeline)
    {
        var flags = new List<string>();
        foreach (var (key, value) in limits)
        {
            switch (key)
            {
                case "cpu":
                    flags.Add("--cpus=" + Quantity(value, key, pipeline).ToString(CultureInfo.InvariantCulture));
                    break;
                case "memory":
                    flags.Add("--memory=" + decimal.Ceiling(Quantity(value, key, pipeline)).ToString(CultureInfo.InvariantCulture));
                    break;
                case "ephemeral-storage":
                    break;
                default:
                    // gpu: the resource's name (nvidia.com/gpu) is the key.
                    if (key.Contains('/'))
                        flags.AddRange(Runtime == ContainerRuntime.Docker
                            ? ["--gpus", decimal.Ceiling(Quantity(value, key, pipeline)).ToString(CultureInfo.InvariantCulture)]
                            : ["--device", key + "=all"]);
                    break;
            }
        }
        return flags;
    }

    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024),
        ("k", 1e3m), ("M", 1e6m), ("G", 1e9m), ("T", 1e12m), ("m", 1e-3m),
    ];

    /// <summary>A Kubernetes quantity ("500m", "1.5", "64Mi", "1G") as a number.</summary>
    internal static decimal Quantity(string value, string resource, string? pipeline)
    {
        var text = value.Trim();
        var factor = 1m;
        foreach (var (suffix, f) in Suffixes)
        {
            if (!text.EndsWith(suffix, StringComparison.Ordinal)) continue;
            factor = f;
            text = text[..^suffix.Length];
            break;
        }
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
            throw PachException.Invalid("ContainerResourceInvalid",
                $"{(pipeline is null ? "" : $"Pipeline '{pipeline}': ")}resource_limits.{resource} '{value}' is not a positive Kubernetes quantity (such as 500m, 2, 64Mi, 1G).", (object?)pipeline ?? value);
        return number * factor;
    }
}
