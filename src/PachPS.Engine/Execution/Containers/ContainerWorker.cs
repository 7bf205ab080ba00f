using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using PachPS.Engine.Interop;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Containers;

/// <summary>
/// One worker's warm container: started once (a <c>run</c> costs 650-800 ms, an <c>exec</c> 350 ms here) with the
/// worker's pfs folder at /pfs and its control folder at <see cref="ContainerCli.ControlPath"/>, it runs a small sh loop
/// that, for each "datum" line on the request FIFO, sources the datum's variables, runs the transform's cmd (an argv
/// array, with the spec's stdin) in a subshell, writes a marker line to stdout and stderr (so the host knows the datum's
/// log is complete) and answers its exit code on the response FIFO. The host holds the request FIFO open: if this
/// process dies, the loop reads end-of-file and the container ends (and is removed, --rm).
/// </summary>
internal sealed class ContainerWorker : IDisposable
{
    private readonly ContainerCli _cli;
    private readonly FileStream _request;
    private readonly FileStream _response;
    private readonly BlockingCollection<string> _replies = new();
    private readonly Task<int> _exited;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _marker;
    private readonly Thread _reader;
    private int _disposed;
    /// <summary>The worker's mount_path secret files (in memory), deleted with the container.</summary>
    private readonly string? _secrets;
    private readonly object _gate = new();
    private Action<ExecutionLog>? _sink;
    private readonly LogTail _unattributed = new(anyStream: true);
    private int _markersSeen;
    private TaskCompletionSource? _logged;

    /// <summary>The container's name (pachps-…), for people and for <see cref="ContainerCli.Remove"/>.</summary>
    public string Name { get; }
    /// <summary>The control folder beside the worker's pfs/: FIFOs, datum.env and stdin. Deleted with the worker's folder.</summary>
    public string ControlFolder { get; }
    /// <summary>What the container was started for: a different transform (err_cmd) needs another.</summary>
    public string Signature { get; }

    /// <summary>The sh loop; $@ is the transform's cmd.</summary>
    private static string Script(string marker) => $$"""
        exec 3<"{{ContainerCli.ControlPath}}/request"
        while read -r line <&3; do
          [ "$line" = datum ] || exit 0
          ( set -a; . "{{ContainerCli.ControlPath}}/datum.env"; set +a; exec "$@" ) <"{{ContainerCli.ControlPath}}/stdin"
          code=$?
          echo "{{marker}}"; echo "{{marker}}" >&2
          echo "$code" >"{{ContainerCli.ControlPath}}/response"
        done
        """;

    private ContainerWorker(ContainerCli cli, string name, string controlFolder, string signature, ChildCommand command, string? secrets)
    {
        _cli = cli;
        _secrets = secrets;
        Name = name;
        ControlFolder = controlFolder;
        Signature = signature;
        _marker = "::pachps-datum-end-" + Guid.NewGuid().ToString("N") + "::";
        command = command with { Arguments = [.. command.Arguments.Select(a => a == MarkerSlot ? Script(_marker) : a)] };
        _request = new FileStream(Path.Combine(controlFolder, "request"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        _response = new FileStream(Path.Combine(controlFolder, "response"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        _reader = new Thread(() =>
        {
            using var lines = new StreamReader(_response, Encoding.UTF8, false, 1024, leaveOpen: true);
            try { while (lines.ReadLine() is { } line && line != StopLine) _replies.Add(line); }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
        }) { IsBackground = true, Name = "pachps-container-replies" };
        _reader.Start();
        _exited = Task.Factory.StartNew(() =>
        {
            try { return ChildProcess.Run(command, OnLine, _stop.Token); }
            catch (OperationCanceledException) { return -1; }
            catch (System.ComponentModel.Win32Exception ex)
            {
                OnLine("stderr", $"cannot start '{command.FileName}': {ex.Message}");
                return -1;
            }
            finally { _replies.TryAdd(ExitReply); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private const string ExitReply = "\u0004exit";
    /// <summary>Written to our own end of the response FIFO to end the reader thread.</summary>
    private const string StopLine = "\u0004stop";
    /// <summary>Stands for the script in the arguments given to <see cref="Start"/>.</summary>
    public const string MarkerSlot = "\u0004script";

    /// <summary>True while the container runs and its worker folder exists.</summary>
    public bool Alive => !_exited.IsCompleted && Directory.Exists(ControlFolder);

    /// <summary>
    /// Makes the control folder (FIFOs, stdin) and starts the container: <paramref name="command"/> runs the runtime
    /// with sh as entrypoint and <see cref="MarkerSlot"/> where the script goes, then the transform's cmd.
    /// </summary>
    public static ContainerWorker Start(ContainerCli cli, string name, string controlFolder, string signature, byte[] stdin, bool otherUser, ChildCommand command,
        string? secrets)
    {
        Directory.CreateDirectory(controlFolder);
        foreach (var fifo in new[] { "request", "response" })
        {
            var path = Path.Combine(controlFolder, fifo);
            // transform.user's process opens them too (the folder is the worker's own).
            if (LibC.mkfifo(path, Convert.ToUInt32(otherUser ? "666" : "600", 8)) != 0)
                throw new IOException($"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
            if (otherUser) ContainerCli.Share(path, "666");
        }
        File.WriteAllBytes(Path.Combine(controlFolder, "stdin"), stdin);
        File.WriteAllText(Path.Combine(controlFolder, "datum.env"), "");
        return new ContainerWorker(cli, name, controlFolder, signature, command, secrets);
    }

    private void OnLine(string stream, string line)
    {
        Action<ExecutionLog>? sink;
        var end = line.EndsWith(_marker, StringComparison.Ordinal);
        if (end) line = line[..^_marker.Length];
        lock (_gate)
        {
            sink = _sink;
            // What the runtime says with no datum running (it cannot start the container, say) is kept for the next failure.
            if (sink is null && !end && line.Length > 0) _unattributed.Add(new ExecutionLog(DateTime.UtcNow, stream, line));
        }
        if (!end || line.Length > 0) sink?.Invoke(new ExecutionLog(DateTime.UtcNow, stream, line));
        if (!end) return;
        lock (_gate)
        {
            if (++_markersSeen == 2) _logged?.TrySetResult();
        }
    }

    /// <summary>
    /// Runs one datum whose variables are <paramref name="env"/>; returns the cmd's exit code, or null when the container
    /// ended first (its last lines went to <paramref name="onLog"/>). When <paramref name="cancel"/> fires, removes the
    /// container and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public int? Run(IReadOnlyDictionary<string, string> env, Action<ExecutionLog> onLog, CancellationToken cancel)
    {
        BatchProtocol.WriteEnvironment(Path.Combine(ControlFolder, "datum.env"), env);
        var logged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _sink = onLog;
            _markersSeen = 0;
            _logged = logged;
        }
        try
        {
            _request.Write("datum\n"u8);
            _request.Flush();
            string reply;
            try { reply = _replies.Take(cancel); }
            catch (OperationCanceledException)
            {
                Dispose();
                throw;
            }
            if (reply == ExitReply)
            {
                _replies.TryAdd(ExitReply);
                _exited.Wait(TimeSpan.FromSeconds(5));
                return null;
            }
            // The marker lines follow the command's last output; a container that ends meanwhile ends the wait too.
            Task.WaitAny([logged.Task, _exited], TimeSpan.FromSeconds(10));
            return int.TryParse(reply.Trim(), out var code) ? code : null;
        }
        finally
        {
            lock (_gate) _sink = null;
        }
    }

    /// <summary>The last lines written while no datum ran (as a failure reason's tail).</summary>
    public string Unattributed
    {
        get { lock (_gate) return _unattributed.ToString(); }
    }

    /// <summary>The runtime's exit code once the container ended (-1 when it could not start or was stopped).</summary>
    public int? ExitCode => _exited.IsCompleted ? _exited.Result : null;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        // The runtime's client killed alone would leave the container running: remove it, then stop the client.
        if (!_exited.IsCompleted) _cli.Remove(Name);
        _stop.Cancel();
        try { _exited.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
        _request.Dispose();
        try
        {
            _response.Write(Encoding.UTF8.GetBytes(StopLine + "\n"));
            _response.Flush();
            _reader.Join(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException) { }
        _response.Dispose();
        if (_secrets is not null) WorkFolders.TryDelete(_secrets);
    }
}
