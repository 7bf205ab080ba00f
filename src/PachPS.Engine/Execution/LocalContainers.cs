using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using PachPS.Engine.Execution.Containers;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// transform.image on this machine: with a container runtime (the store's, or the pipeline's
/// transform.pachps_container_runtime) a pipeline that names an image runs every datum in it, in one warm container per
/// worker (<see cref="ContainerWorker"/>) with the worker's folder at /pfs, the spec's env, working_dir, user and
/// resource_limits, and no network unless transform.pachps_network names one. A datum_batching worker is one container
/// running the command once (the protocol's FIFOs are bound in). Inputs and outputs are the worker folder's, as for a
/// local process.
/// </summary>
public sealed partial class LocalProcessExecutor
{
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial System.Text.RegularExpressions.Regex ShellName();

    private readonly ContainerSettings? _containers;
    private readonly ConcurrentDictionary<ContainerRuntime, ContainerCli> _clis = new();
    private readonly ConcurrentDictionary<string, ContainerWorker> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _toldContainers = new(StringComparer.Ordinal);
    private Timer? _reaper;

    /// <summary>An executor that runs transform.image in <paramref name="containers"/>'s runtime (null: local processes only).</summary>
    public LocalProcessExecutor(ContainerSettings? containers) : this(new Lazy<PfsSupport>(PfsNamespaces.Probe))
    {
        _containers = containers is { Runtime: not ContainerRuntime.None } ? containers : null;
    }

    /// <summary>Where a transform's datums run: a container runtime, or <see cref="ContainerRuntime.None"/> (local processes).</summary>
    internal ContainerRuntime RuntimeFor(TransformSpec transform) =>
        string.IsNullOrEmpty(transform.Image) ? ContainerRuntime.None : transform.ContainerRuntime ?? _containers?.Runtime ?? ContainerRuntime.None;

    private ContainerCli Cli(ContainerRuntime runtime, string? pipeline) =>
        _clis.TryGetValue(runtime, out var cli) ? cli : _clis.GetOrAdd(runtime, ContainerCli.Locate(runtime, pipeline));

    /// <summary>Refuses a transform that names a runtime without an image, or a runtime this machine lacks (ContainerImageMissing, ContainerRuntimeNotFound).</summary>
    private bool CheckContainer(string pipeline, TransformSpec transform)
    {
        if (transform.ContainerRuntime is { } asked and not ContainerRuntime.None && string.IsNullOrEmpty(transform.Image))
            throw PachException.Invalid("ContainerImageMissing",
                $"Pipeline '{pipeline}' sets transform.pachps_container_runtime '{asked.ToString().ToLowerInvariant()}' but no transform.image to run.", pipeline);
        var runtime = RuntimeFor(transform);
        if (runtime == ContainerRuntime.None) return false;
        Cli(runtime, pipeline);
        if (transform.User is { } user && !System.Text.RegularExpressions.Regex.IsMatch(user, "^[0-9]+(:[0-9]+)?$"))
            throw PachException.Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': transform.user '{user}' must be a uid or uid:gid.", pipeline);
        return true;
    }

    /// <summary>Says once per job how its datums run (in which runtime and image).</summary>
    private void TellContainer(string jobId, ContainerRuntime runtime, TransformSpec transform, Action<ExecutionLog>? onLog)
    {
        if (!_toldContainers.TryAdd(jobId, 0)) return;
        if (_toldContainers.Count > 64) _toldContainers.Clear();
        onLog?.Invoke(new ExecutionLog(DateTime.UtcNow, LogStreams.Executor,
            $"datums run in {runtime} containers of image '{transform.Image}', one warm container per worker, network {transform.Network ?? "none"}"));
    }

    /// <summary>Runs a datum whose inputs are in place in its worker's warm container (started, or restarted, as needed).</summary>
    private DatumResult RunInContainer(DatumRequest request, ContainerRuntime runtime, long downloaded, CancellationToken cancel)
    {
        var t = request.Transform;
        var outDir = Path.Combine(request.WorkFolder, "pfs", "out");
        TellContainer(request.JobId, runtime, t, request.OnLog);
        ContainerWorker worker;
        var tail = new LogTail();
        void Log(ExecutionLog entry)
        {
            tail.Add(entry);
            request.OnLog?.Invoke(entry);
        }
        try
        {
            var cli = Cli(runtime, request.Pipeline);
            if (cli.EnsureImage(t.Image!, cancel) is { } missing) return new DatumResult(false, -1, missing, outDir, downloaded);
            // With s3_out there is no /pfs/out to open to the user.
            if (t.User is not null && !request.S3Out) ContainerCli.Share(outDir, "777");
            worker = WorkerFor(cli, request.Pipeline, request.WorkFolder, t, request.Pod, Log);
        }
        catch (PachException ex) { return new DatumResult(false, -1, $"{ex.ErrorId}: {ex.Message}", outDir, downloaded); }
        catch (IOException ex) { return new DatumResult(false, -1, ex.Message, outDir, downloaded); }
        // The datum's variables are sourced by sh: a name sh cannot hold (an input named a-b) is left out.
        var env = DatumEnvironment(request, "/pfs").Where(kv => ShellName().IsMatch(kv.Key)).ToDictionary();
        var code = worker.Run(env, Log, cancel);
        if (code is null)
        {
            _workers.TryRemove(request.WorkFolder, out _);
            worker.Dispose();
            return new DatumResult(false, -1, $"the {runtime} container {worker.Name} ended (exit code {worker.ExitCode})" + tail + worker.Unattributed, outDir, downloaded);
        }
        var ok = code == 0 || t.AcceptReturnCode.Contains(code.Value);
        return new DatumResult(ok, code.Value, ok ? "" : $"exit code {code}" + tail, outDir, downloaded);
    }

    /// <summary>The worker folder's warm container: its running one if it serves this transform and the folder is the same, else a new one.</summary>
    private ContainerWorker WorkerFor(ContainerCli cli, string pipeline, string workFolder, TransformSpec t, PodSettings pod, Action<ExecutionLog> log)
    {
        var signature = string.Join("\u0000", [cli.Runtime.ToString(), t.Image!, .. t.Cmd, "\u0001", .. t.Stdin]);
        if (_workers.TryGetValue(workFolder, out var running))
        {
            if (running.Alive && running.Signature == signature) return running;
            _workers.TryRemove(workFolder, out _);
            running.Dispose();
        }
        var control = Path.Combine(workFolder, ".container-" + Guid.NewGuid().ToString("N")[..8]);
        var secrets = Secrets(pipeline, t, workFolder, null);
        var name = "pachps-" + Guid.NewGuid().ToString("N")[..16];
        var arguments = cli.RunArguments(name, Path.Combine(workFolder, "pfs"), control, t, pod, SecretVariables(t).Keys, secrets, pipeline);
        arguments.AddRange(["--entrypoint", "sh", t.Image!, "-c", ContainerWorker.MarkerSlot, "pachps", .. t.Cmd]);
        var stdin = Encoding.UTF8.GetBytes(string.Concat(t.Stdin.Select(line => line + "\n")));
        var command = new ChildCommand(cli.Program, arguments, SecretVariables(t), "/", []) { BaseEnvironment = EnvironmentSnapshot.Capture() };
        var worker = ContainerWorker.Start(cli, name, control, signature, stdin, t.User is not null, command, secrets?.Folder);
        _workers[workFolder] = worker;
        if (Volatile.Read(ref _reaper) is null)
        {
            var reaper = new Timer(_ => Reap(), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
            if (Interlocked.CompareExchange(ref _reaper, reaper, null) is not null) reaper.Dispose();
        }
        return worker;
    }

    /// <summary>env_var secrets' values (from the session, as for local processes): they reach the runtime in its environment only.</summary>
    private static Dictionary<string, string> SecretVariables(TransformSpec transform)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var secret in transform.Secrets)
            if (secret.EnvVar is { } variable && (Environment.GetEnvironmentVariable(secret.LocalVariable) ?? Environment.GetEnvironmentVariable(variable)) is { } value)
                env[variable] = value;
        return env;
    }

    /// <summary>Stops the containers of workers whose folders are gone (their job ended) or whose container ended.</summary>
    private void Reap()
    {
        foreach (var (folder, worker) in _workers)
        {
            if (worker.Alive) continue;
            // On a timer thread: a failure here must not end the process; the next tick or Dispose tries again.
            try { if (_workers.TryRemove(new KeyValuePair<string, ContainerWorker>(folder, worker))) worker.Dispose(); }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }

    private void DisposeContainers()
    {
        _reaper?.Dispose();
        var workers = _workers.Values.ToList();
        _workers.Clear();
        Parallel.ForEach(workers, w => w.Dispose());
    }

    /// <summary>
    /// A datum_batching worker in a container: the transform's cmd runs once with the worker folder bound at
    /// <see cref="ContainerCli.ControlPath"/> (the protocol's FIFOs and datum.env, named by the protocol's variables as
    /// the container sees them) and its pfs/ at /pfs.
    /// </summary>
    private (ChildCommand Command, Action Stop, SecretMounts? Secrets) BatchContainer(ContainerRuntime runtime, string workFolder, TransformSpec transform, PodSettings pod,
        Dictionary<string, string> protocol)
    {
        var cli = Cli(runtime, null);
        var name = "pachps-" + Guid.NewGuid().ToString("N")[..16];
        var secrets = Secrets(null, transform, workFolder, null);
        var t = transform with { Env = new Dictionary<string, string>(transform.Env.Concat(protocol)) };
        var arguments = cli.RunArguments(name, Path.Combine(workFolder, "pfs"), workFolder, t, pod, SecretVariables(t).Keys, secrets, null);
        arguments.AddRange(["--entrypoint", transform.Cmd[0], transform.Image!, .. transform.Cmd.Skip(1)]);
        var stdin = Encoding.UTF8.GetBytes(string.Concat(transform.Stdin.Select(line => line + "\n")));
        return (new ChildCommand(cli.Program, arguments, SecretVariables(t), "/", stdin) { BaseEnvironment = EnvironmentSnapshot.Capture() }, () => cli.Remove(name), secrets);
    }
}
