using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
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
    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeFifo(string path, uint mode);

    public async Task RunBatchAsync(string workFolder, TransformSpec transform, IBatchSource source, Action<ExecutionLog>? onLog, CancellationToken cancel)
    {
        if (Directory.Exists(workFolder)) Directory.Delete(workFolder, recursive: true);
        var pfs = Path.Combine(workFolder, "pfs");
        Directory.CreateDirectory(Path.Combine(pfs, "out"));
        var requestPath = Path.Combine(workFolder, "request");
        var responsePath = Path.Combine(workFolder, "response");
        var envPath = Path.Combine(workFolder, "datum.env");
        foreach (var fifo in new[] { requestPath, responsePath })
            if (MakeFifo(fifo, Convert.ToUInt32("600", 8)) != 0)
                throw new IOException($"mkfifo {fifo} failed (errno {Marshal.GetLastPInvokeError()})");

        // Both FIFOs are held open read-write: opening never blocks, and the worker never sees a missing peer.
        using var request = new FileStream(requestPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        using var response = new FileStream(responsePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        using var requests = new StreamReader(request, Encoding.UTF8);

        string Rewrite(string s) => RewritePfs(s, pfs);
        var psi = new ProcessStartInfo(Resolve(Rewrite(transform.Cmd[0])))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = transform.WorkingDir is null ? workFolder : Rewrite(transform.WorkingDir),
        };
        foreach (var arg in transform.Cmd.Skip(1)) psi.ArgumentList.Add(Rewrite(arg));
        foreach (var (k, v) in transform.Env) psi.Environment[k] = Rewrite(v);
        psi.Environment["PACH_DATUM_BATCH"] = "1";
        psi.Environment[BatchProtocol.RequestVariable] = requestPath;
        psi.Environment[BatchProtocol.ResponseVariable] = responsePath;
        psi.Environment[BatchProtocol.EnvironmentVariable] = envPath;

        DatumRequest? current = null;
        long downloaded = 0;
        var logs = new List<ExecutionLog>();
        void Log(ExecutionLog line)
        {
            lock (logs) logs.Add(line);
            onLog?.Invoke(line);
        }

        using var process = new Process { StartInfo = psi };
        process.Start();
        using var stop = cancel.Register(() =>
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        });
        var stdout = Drain(process.StandardOutput, "stdout", Log);
        var stderr = Drain(process.StandardError, "stderr", Log);
        try
        {
            foreach (var line in transform.Stdin) await process.StandardInput.WriteLineAsync(Rewrite(line).AsMemory(), cancel);
            process.StandardInput.Close();
        }
        catch (IOException) { }

        // When the process exits, a sentinel line wakes the request reader.
        var exited = process.WaitForExitAsync(cancel).ContinueWith(async _ =>
        {
            try { await request.WriteAsync("\u0004exit\n"u8.ToArray()); await request.FlushAsync(); } catch (ObjectDisposedException) { }
        }, TaskScheduler.Default);
        try
        {
            while (true)
            {
                var line = await Task.Run(() => requests.ReadLine(), cancel);
                if (line is null || line == "\u0004exit") break;
                if (line.Trim() != "next") continue;
                if (current is not null) source.Complete(current, Success(pfs, downloaded));
                current = source.Next();
                if (current is null)
                {
                    Reply(response, "done");
                    continue;
                }
                lock (logs) logs.Clear();
                downloaded = Materialize(current, pfs, cancel);
                BatchProtocol.WriteEnvironment(envPath, DatumEnvironment(current, pfs));
                Reply(response, "datum " + current.DatumId);
            }
            await process.WaitForExitAsync(cancel);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        await Task.WhenAll(stdout, stderr);
        await exited;
        if (current is null) return;
        // The datum in hand when the process ended: exit 0 finishes it, anything else fails it.
        if (process.ExitCode == 0 || transform.AcceptReturnCode.Contains(process.ExitCode)) source.Complete(current, Success(pfs, downloaded));
        else
        {
            List<ExecutionLog> snapshot;
            lock (logs) snapshot = [.. logs];
            var tail = snapshot.Where(l => l.Stream == "stderr").TakeLast(5).Select(l => l.Message).ToList();
            source.Complete(current, new DatumResult(false, process.ExitCode,
                $"exit code {process.ExitCode} (batch worker)" + (tail.Count == 0 ? "" : ": " + string.Join(" | ", tail)), Path.Combine(pfs, "out"), downloaded, snapshot));
        }
    }

    private static DatumResult Success(string pfs, long downloaded) => new(true, 0, "", Path.Combine(pfs, "out"), downloaded, []);

    private static void Reply(FileStream response, string line)
    {
        response.Write(Encoding.UTF8.GetBytes(line + "\n"));
        response.Flush();
    }

    private static async Task Drain(StreamReader reader, string stream, Action<ExecutionLog> log)
    {
        while (await reader.ReadLineAsync() is { } line) log(new ExecutionLog(DateTime.UtcNow, stream, line));
    }
}
