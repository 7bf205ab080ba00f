using System.Runtime.InteropServices;
using System.Text;
using PachPS.Engine.Execution.Containers;
using PachPS.Engine.Interop;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// datum_batching on the local executor: the command starts once and asks for datums through two FIFOs.
/// Protocol (any language): write "next" to $PACH_DATUM_REQUEST, read one line from $PACH_DATUM_RESPONSE:
/// "datum &lt;id&gt;" (the datum's inputs are now under /pfs, its variables in $PACH_DATUM_ENV as KEY='value' lines,
/// and /pfs/out is empty) or "done" (exit 0). Asking for the next datum, or exiting 0, finishes the current one:
/// whatever is in /pfs/out is its output. Exiting non-zero fails the current datum.
/// </summary>
public sealed partial class LocalProcessExecutor : IBatchExecutor
{
    public async Task RunBatchAsync(string workFolder, TransformSpec transform, IBatchSource source, Action<ExecutionLog>? onLog, CancellationToken cancel)
    {
        if (Directory.Exists(workFolder)) Directory.Delete(workFolder, recursive: true);
        var pfs = Path.Combine(workFolder, "pfs");
        Directory.CreateDirectory(Path.Combine(pfs, "out"));
        var requestPath = Path.Combine(workFolder, "request");
        var responsePath = Path.Combine(workFolder, "response");
        var envPath = Path.Combine(workFolder, "datum.env");
        foreach (var fifo in new[] { requestPath, responsePath })
            if (LibC.mkfifo(fifo, Convert.ToUInt32("600", 8)) != 0)
                throw new IOException($"mkfifo {fifo} failed (errno {Marshal.GetLastPInvokeError()})");

        // Both FIFOs are held open read-write: opening never blocks, and the worker never sees a missing peer.
        using var request = new FileStream(requestPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        using var response = new FileStream(responsePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        using var wake = new FileStream(requestPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
        using var requests = new StreamReader(request, Encoding.UTF8);

        var runtime = RuntimeFor(transform);
        // A container's limits are the pipeline's: they come with its first datum, which the container is started for.
        DatumRequest? pending = null;
        if (runtime != ContainerRuntime.None)
        {
            if ((pending = source.Next()) is null) return;
            TellContainer(pending.JobId, runtime, transform, onLog);
            string? refused;
            try { refused = Cli(runtime, pending.Pipeline).EnsureImage(transform.Image!, cancel); }
            catch (PachException ex) { refused = $"{ex.ErrorId}: {ex.Message}"; }
            if (refused is not null)
            {
                for (var datum = pending; datum is not null; datum = source.Next())
                    source.Complete(datum, new DatumResult(false, -1, refused, Path.Combine(pfs, "out"), 0));
                return;
            }
            if (transform.User is not null)
            {
                ContainerCli.Share(Path.Combine(pfs, "out"), "777");
                foreach (var fifo in new[] { requestPath, responsePath }) ContainerCli.Share(fifo, "666");
            }
        }

        LocalUser? user = null;
        PfsView view;
        ChildCommand command = null!;
        Action? stopContainer = null;
        if (runtime != ContainerRuntime.None)
        {
            var root = ContainerCli.ControlPath + "/";
            SecretMounts? secrets;
            try
            {
                (command, stopContainer, secrets) = BatchContainer(runtime, workFolder, transform, pending!.Pod, new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["PACH_DATUM_BATCH"] = "1",
                    [BatchProtocol.RequestVariable] = root + "request",
                    [BatchProtocol.ResponseVariable] = root + "response",
                    [BatchProtocol.EnvironmentVariable] = root + "datum.env",
                });
            }
            catch (PachException ex)
            {
                for (var datum = pending; datum is not null; datum = source.Next())
                    source.Complete(datum, new DatumResult(false, -1, $"{ex.ErrorId}: {ex.Message}", Path.Combine(pfs, "out"), 0));
                return;
            }
            // No namespace: the secret files are deleted when the batch ends (SecretFiles below).
            view = new PfsView("/pfs", s => s, workFolder, null, secrets);
        }
        else try
        {
            user = User(null, transform, Path.Combine(pfs, "out"));
            if (user is not null) foreach (var fifo in new[] { requestPath, responsePath }) user.Own(fifo);
            view = View(workFolder, Secrets(null, transform, workFolder, user));
        }
        catch (PachException ex)
        {
            // This session cannot run the datums as transform.user: each fails saying why (and its tries run out).
            while (source.Next() is { } datum) source.Complete(datum, new DatumResult(false, -1, $"{ex.ErrorId}: {ex.Message}", Path.Combine(pfs, "out"), 0));
            return;
        }
        if (runtime == ContainerRuntime.None)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in transform.Env) env[k] = view.Rewrite(v);
            env["PACH_DATUM_BATCH"] = "1";
            env[BatchProtocol.RequestVariable] = requestPath;
            env[BatchProtocol.ResponseVariable] = responsePath;
            env[BatchProtocol.EnvironmentVariable] = envPath;
            command = Command(transform, view, env, workFolder, user);
        }
        using var secretFiles = view.Namespaces is null ? new SecretFiles(view.Secrets) : null;

        DatumRequest? current = null;
        long downloaded = 0;
        var tail = new LogTail();
        void Log(ExecutionLog line)
        {
            tail.Add(line);
            onLog?.Invoke(line);
        }

        // The command runs on a thread of its own; when it exits, a sentinel line wakes the protocol loop, which has
        // a thread of its own too (a thread-pool hop per request is most of a small datum's cost).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // The runtime's client killed alone would leave the container running.
        using var removeContainer = stopContainer is null ? default : stop.Token.Register(stopContainer);
        var run = Task.Factory.StartNew(() =>
        {
            try { return ChildProcess.Run(command, (stream, line) => Log(new ExecutionLog(DateTime.UtcNow, stream, line)), stop.Token); }
            finally
            {
                wake.Write("\u0004exit\n"u8);
                wake.Flush();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var protocol = Task.Factory.StartNew(() =>
        {
            while (requests.ReadLine() is { } line && line != "\u0004exit")
            {
                if (line.Trim() != "next") continue;
                if (current is not null) source.Complete(current, Success(pfs, downloaded));
                // A datum whose inputs cannot be written here fails by itself; the worker gets the next one.
                while ((current = Interlocked.Exchange(ref pending, null) ?? source.Next()) is not null)
                {
                    try
                    {
                        downloaded = Materialize(current, pfs, cancel);
                        user?.Own(Path.Combine(pfs, "out"));
                        if (runtime != ContainerRuntime.None && transform.User is not null)
                            ContainerCli.Share(Path.Combine(pfs, "out"), "777");
                        break;
                    }
                    catch (InputNotWritableException ex) { source.Complete(current, new DatumResult(false, -1, ex.Message, Path.Combine(pfs, "out"), 0)); }
                }
                if (current is null)
                {
                    Reply(response, "done");
                    continue;
                }
                tail.Clear();
                BatchProtocol.WriteEnvironment(envPath, DatumEnvironment(current, view.Root));
                Reply(response, "datum " + current.DatumId);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try { await protocol; }
        catch
        {
            // The loop failed (or was cancelled) while the command may still run: stop it before giving up.
            stop.Cancel();
            try { await run; } catch (OperationCanceledException) { }
            throw;
        }
        var code = await run;
        // The container ended before asking for the datum it was started with: that datum fails with what it said.
        if (Interlocked.Exchange(ref pending, null) is { } unserved)
            source.Complete(unserved, new DatumResult(false, code, $"the {runtime} container ended with exit code {code} before asking for a datum" + tail, Path.Combine(pfs, "out"), 0));
        if (current is null) return;
        // The datum in hand when the process ended: exit 0 finishes it, anything else fails it.
        if (code == 0 || transform.AcceptReturnCode.Contains(code)) source.Complete(current, Success(pfs, downloaded));
        else
        {
            source.Complete(current, new DatumResult(false, code, $"exit code {code} (batch worker)" + tail, Path.Combine(pfs, "out"), downloaded));
        }
    }

    private static DatumResult Success(string pfs, long downloaded) => new(true, 0, "", Path.Combine(pfs, "out"), downloaded);

    private static void Reply(FileStream response, string line)
    {
        response.Write(Encoding.UTF8.GetBytes(line + "\n"));
        response.Flush();
    }
}
