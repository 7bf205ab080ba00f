using System.Diagnostics;

namespace PachPS.Engine.Execution;

/// <summary>
/// Runs a datum as a local process: inputs are written under &lt;work&gt;/pfs/&lt;input&gt;/..., outputs are read from
/// &lt;work&gt;/pfs/out. The command is an argv array; "/pfs/" in cmd, stdin and env points at the datum's folder, so
/// specs written for Pachyderm run unchanged.
/// </summary>
public sealed partial class LocalProcessExecutor : IDatumExecutor
{
    // Looking a command up in PATH for every datum is measurable at thousands of datums; the answer rarely changes.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> ResolvedCommands = new(StringComparer.Ordinal);

    public async Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel)
    {
        var pfs = Path.Combine(request.WorkFolder, "pfs");
        var outDir = Path.Combine(pfs, "out");
        if (Directory.Exists(request.WorkFolder)) Directory.Delete(request.WorkFolder, recursive: true);
        var downloaded = await MaterializeAsync(request, pfs, cancel);

        string Rewrite(string s) => RewritePfs(s, pfs);
        var t = request.Transform;
        var psi = new ProcessStartInfo(Resolve(Rewrite(t.Cmd[0])))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = t.WorkingDir is null ? request.WorkFolder : Rewrite(t.WorkingDir),
        };
        foreach (var arg in t.Cmd.Skip(1)) psi.ArgumentList.Add(Rewrite(arg));
        foreach (var (k, v) in t.Env) psi.Environment[k] = Rewrite(v);
        foreach (var (k, v) in DatumEnvironment(request, pfs)) psi.Environment[k] = v;

        var logs = new List<ExecutionLog>();
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new DatumResult(false, -1, $"cannot start '{psi.FileName}': {ex.Message}", outDir, downloaded, logs);
        }
        var stdout = Collect(process.StandardOutput, "stdout", logs, request.OnLog);
        var stderr = Collect(process.StandardError, "stderr", logs, request.OnLog);
        try
        {
            foreach (var line in t.Stdin) await process.StandardInput.WriteLineAsync(Rewrite(line).AsMemory(), cancel);
            process.StandardInput.Close();
        }
        catch (IOException) { /* the process exited without reading its input */ }
        try
        {
            await process.WaitForExitAsync(cancel);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        await Task.WhenAll(stdout, stderr);
        // Process.Dispose leaves the pipe streams to the finalizer, which then closes thousands of them on one thread.
        process.StandardOutput.Dispose();
        process.StandardError.Dispose();
        var code = process.ExitCode;
        var ok = code == 0 || t.AcceptReturnCode.Contains(code);
        List<ExecutionLog> snapshot;
        lock (logs) snapshot = [.. logs];
        var reason = ok ? "" : $"exit code {code}" + StderrTail(snapshot);
        return new DatumResult(ok, code, reason, outDir, downloaded, snapshot);
    }

    private static string RewritePfs(string s, string pfs) => s == "/pfs" ? pfs : s.Replace("/pfs/", pfs + "/", StringComparison.Ordinal);

    /// <summary>Writes the datum's input files under pfs/&lt;input&gt;/ and creates pfs/out; returns the bytes written.</summary>
    private static async Task<long> MaterializeAsync(DatumRequest request, string pfs, CancellationToken cancel)
    {
        Directory.CreateDirectory(Path.Combine(pfs, "out"));
        long downloaded = 0;
        foreach (var input in request.Inputs)
        {
            foreach (var file in input.Files)
            {
                var local = Path.Combine(pfs, input.Name, file.Path.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                using var source = file.Open();
                using var target = new FileStream(local, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
                await source.CopyToAsync(target, cancel);
                downloaded += file.Size;
            }
            Directory.CreateDirectory(Path.Combine(pfs, input.Name));
        }
        return downloaded;
    }

    /// <summary>The environment that describes one datum: its inputs' paths and commits, and the PACH_* variables.</summary>
    internal static Dictionary<string, string> DatumEnvironment(DatumRequest request, string pfs)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in request.Inputs)
        {
            env[input.Name] = Path.Combine(pfs, input.Name) + (input.Path == "/" ? "" : input.Path);
            env[input.Name + "_COMMIT"] = input.Commit;
        }
        foreach (var (k, v) in request.Env) env[k] = v;
        env["PACH_JOB_ID"] = request.JobId;
        env["PACH_DATUM_ID"] = request.DatumId;
        env["PACH_OUTPUT_COMMIT_ID"] = request.OutputCommit;
        env["PACH_PIPELINE_NAME"] = request.Pipeline;
        env["PACH_OUT"] = Path.Combine(pfs, "out");
        return env;
    }

    private static string Resolve(string command)
    {
        if (command.Contains('/')) return command;
        return ResolvedCommands.GetOrAdd(command, c =>
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, c)).FirstOrDefault(File.Exists) ?? c);
    }

    /// <summary>Reads a stream to its end, timestamping each line as it arrives.</summary>
    private static async Task Collect(StreamReader reader, string stream, List<ExecutionLog> logs, Action<ExecutionLog>? onLog)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            var entry = new ExecutionLog(DateTime.UtcNow, stream, line);
            lock (logs) logs.Add(entry);
            onLog?.Invoke(entry);
        }
    }

    /// <summary>The last lines of stderr (of every stream, when they are merged, as Kubernetes does) for a failure reason.</summary>
    internal static string StderrTail(IEnumerable<ExecutionLog> logs, bool merged = false)
    {
        var tail = logs.Where(l => merged || l.Stream == "stderr").TakeLast(5).Select(l => l.Message).ToList();
        return tail.Count == 0 ? "" : ": " + string.Join(" | ", tail);
    }
}
