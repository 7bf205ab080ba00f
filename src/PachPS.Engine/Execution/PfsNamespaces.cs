using System.Collections.Concurrent;
using System.Globalization;

namespace PachPS.Engine.Execution;

/// <summary>
/// How the local executor shows a worker its folder as /pfs. <see cref="Namespace"/>: in a private mount namespace
/// where the worker's pfs folder is bind-mounted at /pfs, so cmd, stdin and env reach the process exactly as written and
/// paths in outputs are the same whichever worker or job made them. Otherwise "/pfs/" in cmd, stdin and env is
/// rewritten to the worker's folder (<see cref="Reason"/> says why).
/// </summary>
public sealed record PfsSupport(bool Namespace, bool Rootless, string Reason)
{
    /// <summary>Set to "rewrite" to rewrite /pfs/ even where a namespace would work.</summary>
    public const string Variable = "PACHPS_LOCAL_PFS";

    public string Describe() => Namespace
        ? $"/pfs is each worker's folder, in a private mount namespace{(Rootless ? " (rootless)" : "")}"
        : $"/pfs/ is rewritten to each worker's folder in cmd, stdin and env ({Reason})";
}

/// <summary>Folder i of <see cref="Folder"/> is bound read-only at <see cref="Paths"/>[i] in a worker's namespace (mount_path secrets).</summary>
internal sealed record SecretMounts(string Folder, IReadOnlyList<string> Paths);

/// <summary>
/// One private mount namespace per worker folder, made once (making one costs 25-35 ms, twenty times a process start)
/// and entered with nsenter for each of the worker's datums. Each namespace is held by a small process (started, like
/// every child, by <see cref="ChildProcess"/>: in a group of its own, killed if this process is asked to end),
/// <c>unshare -m</c> (<c>-r</c> too without root) running sh, that bind-mounts the folder at /pfs and then waits while
/// its marker file in the worker folder exists and this process lives: a job's folders deleted at its end, or this
/// process gone, end the namespaces within a second. A worker folder deleted and made again (after a failed datum)
/// loses its marker, so its next datum gets a new namespace over the new folder.
/// </summary>
internal sealed class PfsNamespaces(PfsSupport support) : IDisposable
{
    /// <summary>How long a namespace holder may take to say its mount is made.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    /// <summary>The marker file of a worker's namespace in its folder (beside pfs/, so never in the datum's view).</summary>
    private const string MarkerPrefix = ".pfs-namespace-";

    /// <summary>
    /// The holder: mounts $1 at /pfs and each folder $4/&lt;i&gt; (secrets) read-only at the i-th of the paths after it, says
    /// so with its pid, and waits while marker $2 exists and process $3 lives; then removes $4 (the secrets' files).
    /// </summary>
    private const string HolderScript = """
        pfs="$1"; marker="$2"; owner="$3"; secrets="$4"; shift 4
        mount --bind "$pfs" /pfs || exit 111
        i=0
        for target in "$@"; do
          mkdir -p "$target" && mount --bind "$secrets/$i" "$target" || exit 112
          mount -o remount,bind,ro "$target" 2>/dev/null
          i=$((i+1))
        done
        echo "ready $$"
        while [ -e "$marker" ] && kill -0 "$owner" 2>/dev/null; do sleep 1; done
        for target in "$@"; do umount "$target" 2>/dev/null; done
        [ -n "$secrets" ] && rm -rf "$secrets"
        """;

    /// <summary>A namespace's holder process (led by <see cref="Pid"/>, in a process group of its own), run by <see cref="ChildProcess"/>.</summary>
    private sealed record Holder(int Pid, string Marker, Task Exited, CancellationTokenSource Stop, string? Secrets)
    {
        /// <summary>A thread of this process inside the namespace that starts its datums' processes (root only), or null.</summary>
        public NamespaceThread? Thread { get; set; }
    }

    /// <summary>
    /// A thread that joined a worker's mount namespace (after taking its own filesystem attributes, which a thread of a
    /// process that runs other threads must do first) and starts processes there on request: a child started from it
    /// is born inside the namespace, so a datum costs one process start, as without a namespace, not two (nsenter, then
    /// the command). Joining needs CAP_SYS_ADMIN in the namespace's owner, so only a root session has these.
    /// </summary>
    private sealed class NamespaceThread : IDisposable
    {
        private readonly System.Collections.Concurrent.BlockingCollection<Action> _work = new();
        private readonly TaskCompletionSource<string?> _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public NamespaceThread(int holder)
        {
            var thread = new Thread(() => Serve(holder)) { IsBackground = true, Name = "pachps-pfs-namespace" };
            thread.Start();
        }

        /// <summary>Null when the thread is in the namespace, else why it could not join.</summary>
        public string? Failure => _joined.Task.GetAwaiter().GetResult();

        private void Serve(int holder)
        {
            var fd = Interop.LibC.open($"/proc/{holder}/ns/mnt", Interop.LibC.O_RDONLY | Interop.LibC.O_CLOEXEC);
            if (fd < 0 || Interop.LibC.unshare(Interop.LibC.CLONE_FS) != 0 || Interop.LibC.setns(fd, Interop.LibC.CLONE_NEWNS) != 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (fd >= 0) Interop.LibC.close(fd);
                _joined.SetResult($"errno {errno}");
                return;
            }
            Interop.LibC.close(fd);
            _joined.SetResult(null);
            foreach (var work in _work.GetConsumingEnumerable()) work();
        }

        /// <summary>Runs <paramref name="start"/> on the thread inside the namespace.</summary>
        public T Run<T>(Func<T> start)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add(() =>
            {
                try { done.SetResult(start()); }
                catch (Exception ex) { done.SetException(ex); }
            });
            return done.Task.GetAwaiter().GetResult();
        }

        public void Dispose() => _work.CompleteAdding();
    }

    /// <summary>
    /// The start of a command in the namespace of <paramref name="workFolder"/> from a thread inside it, or null where
    /// none can join (rootless: <see cref="Enter"/> with nsenter then).
    /// </summary>
    public Func<Func<(int, int, int, int)>, (int, int, int, int)>? StartIn(string workFolder, string pfsFolder, SecretMounts? secrets = null)
    {
        if (support.Rootless) return null;
        var holder = HolderFor(workFolder, pfsFolder, secrets);
        lock (_gate)
        {
            if (holder.Thread is null)
            {
                var thread = new NamespaceThread(holder.Pid);
                if (thread.Failure is not null)
                {
                    thread.Dispose();
                    return null;
                }
                holder.Thread = thread;
            }
            var joined = holder.Thread;
            return start => joined.Run(start);
        }
    }

    private readonly ConcurrentDictionary<string, Holder> _holders = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    private static readonly Lazy<PfsSupport> Probed = new(ProbeNow);

    /// <summary>What this machine allows, found once per process by making and entering a namespace.</summary>
    public static PfsSupport Probe() => Probed.Value;

    /// <summary>
    /// The program and arguments that run a command in the namespace of <paramref name="workFolder"/> (whose pfs/ is
    /// <paramref name="pfsFolder"/>) with working folder <paramref name="workingDirectory"/> as the command sees it;
    /// the command's argv follows them.
    /// </summary>
    public (string FileName, List<string> Arguments) Enter(string workFolder, string pfsFolder, string workingDirectory, SecretMounts? secrets = null)
    {
        var holder = HolderFor(workFolder, pfsFolder, secrets);
        var arguments = new List<string> { "-t", holder.Pid.ToString(CultureInfo.InvariantCulture) };
        // Rootless: the holder's user namespace (unshare -r) forbids setgroups, which nsenter would call without
        // --preserve-credentials (util-linux 2.38 fails with "setgroups failed").
        if (support.Rootless) arguments.AddRange(["-U", "--preserve-credentials"]);
        arguments.AddRange(["-m", "--wd=" + workingDirectory, "--"]);
        return (Tools.Value.Nsenter!, arguments);
    }

    private Holder HolderFor(string workFolder, string pfsFolder, SecretMounts? secrets)
    {
        lock (_gate)
        {
            if (_holders.TryGetValue(workFolder, out var holder) && !holder.Exited.IsCompleted && File.Exists(holder.Marker)) return holder;
            if (holder is not null)
            {
                _holders.TryRemove(workFolder, out _);
                Stop(holder);
            }
            foreach (var (folder, gone) in _holders.Where(h => h.Value.Exited.IsCompleted).ToList())
            {
                _holders.TryRemove(folder, out _);
                gone.Thread?.Dispose();
            }
            holder = Start(pfsFolder, Path.Combine(workFolder, MarkerPrefix + Guid.NewGuid().ToString("N")[..12]), support.Rootless, secrets);
            _holders[workFolder] = holder;
            return holder;
        }
    }

    /// <summary>Starts a holder over <paramref name="pfsFolder"/> and waits until its mount is made.</summary>
    private static Holder Start(string pfsFolder, string marker, bool rootless, SecretMounts? secrets)
    {
        File.WriteAllText(marker, "");
        string[] arguments = [.. rootless ? ["-r"] : Array.Empty<string>(), "-m", "--propagation", "private", "sh", "-c", HolderScript, "pachps-pfs",
            pfsFolder, marker, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), secrets?.Folder ?? "", .. secrets?.Paths ?? []];
        var command = new ChildCommand(Tools.Value.Unshare!, arguments, new Dictionary<string, string>(), "/", []);
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<string>();
        var stop = new CancellationTokenSource();
        void Line(string stream, string line)
        {
            if (stream == "stdout" && line.StartsWith("ready ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(6), CultureInfo.InvariantCulture, out var pid)) ready.TrySetResult(pid);
            else if (stream == "stderr") errors.Enqueue(line);
        }
        var exited = Task.Factory.StartNew(() => ChildProcess.Run(command, Line, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        exited.ContinueWith(t => ready.TrySetResult(-1), TaskScheduler.Default);
        if (ready.Task.Wait(StartTimeout) && ready.Task.Result > 0) return new Holder(ready.Task.Result, marker, exited, stop, secrets?.Folder);
        stop.Cancel();
        File.Delete(marker);
        var why = exited.IsFaulted ? exited.Exception!.InnerException!.Message : errors.IsEmpty ? "no answer" : string.Join(" ", errors);
        throw new IOException($"cannot make a mount namespace with {pfsFolder} at /pfs: {why}");
    }

    private static void Stop(Holder holder)
    {
        holder.Thread?.Dispose();
        holder.Stop.Cancel();
        try { File.Delete(holder.Marker); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        // A holder killed here cannot remove its secret files itself (its mounts die with its namespace).
        if (holder.Secrets is { } secrets)
        {
            try { holder.Exited.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
            Pps.WorkFolders.TryDelete(secrets);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var holder in _holders.Values) Stop(holder);
            _holders.Clear();
        }
    }

    private sealed record Programs(string? Unshare, string? Nsenter);

    private static readonly Lazy<Programs> Tools = new(() => new Programs(OnPath("unshare"), OnPath("nsenter")));

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static PfsSupport ProbeNow()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(PfsSupport.Variable), "rewrite", StringComparison.OrdinalIgnoreCase))
            return new PfsSupport(false, false, $"{PfsSupport.Variable}=rewrite");
        if (!OperatingSystem.IsLinux()) return new PfsSupport(false, false, "mount namespaces are Linux's");
        if (Tools.Value.Unshare is null || Tools.Value.Nsenter is null) return new PfsSupport(false, false, "unshare and nsenter (util-linux) are not on PATH");
        var root = Interop.LibC.geteuid() == 0;
        if (!Directory.Exists("/pfs"))
        {
            if (!root) return new PfsSupport(false, false, "/pfs does not exist: create it once as root (mkdir /pfs) to give each worker its own /pfs");
            try { Directory.CreateDirectory("/pfs"); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return new PfsSupport(false, false, $"cannot create /pfs: {ex.Message}"); }
        }
        var reasons = new List<string>();
        foreach (var rootless in root ? [false, true] : new[] { true })
        {
            var trial = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "pachps-pfs-probe-" + Guid.NewGuid().ToString("N")[..8]));
            try
            {
                var pfs = Directory.CreateDirectory(Path.Combine(trial.FullName, "pfs")).FullName;
                File.WriteAllText(Path.Combine(pfs, "probe"), "");
                var candidate = new PfsSupport(true, rootless, "");
                using var namespaces = new PfsNamespaces(candidate);
                var (file, arguments) = namespaces.Enter(trial.FullName, pfs, "/");
                var errors = new List<string>();
                var code = ChildProcess.Run(new ChildCommand(file, [.. arguments, "test", "-e", "/pfs/probe"], new Dictionary<string, string>(), "/", []),
                    (stream, line) => errors.Add(line), CancellationToken.None);
                if (code == 0) return candidate;
                var error = string.Join(" ", errors);
                reasons.Add(error.Length > 0 ? error : $"nsenter exit code {code}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception) { reasons.Add(ex.Message); }
            finally
            {
                try { trial.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        return new PfsSupport(false, false, "no mount namespace could be made: " + string.Join("; ", reasons));
    }
}
