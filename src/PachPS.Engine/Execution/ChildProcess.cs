using System.Collections;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using PachPS.Engine.Interop;

using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// A command to run once: an argv array (never a shell string), its environment (<see cref="BaseEnvironment"/>, or the
/// session's now, with <see cref="Environment"/> over it), a working folder and stdin.
/// </summary>
internal sealed record ChildCommand(string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory, byte[] Stdin)
{
    public EnvironmentSnapshot? BaseEnvironment { get; init; }

    /// <summary>
    /// Where the child is started from, when not the calling thread: a thread inside a worker's mount namespace
    /// (<see cref="PfsNamespaces"/>), so the child sees that namespace. Runs the start and returns what it returned.
    /// </summary>
    public Func<Func<(int Pid, int Stdin, int Stdout, int Stderr)>, (int Pid, int Stdin, int Stdout, int Stderr)>? StartOn { get; init; }
}

/// <summary>
/// Runs a <see cref="ChildCommand"/> to its end on the calling thread, reporting each stdout/stderr line as it arrives.
/// On Linux the child is started with posix_spawn and driven with poll: at thousands of short datums,
/// System.Diagnostics.Process spends more CPU than the children (a SIGCHLD handler that contends with every start,
/// a copy of the whole environment per process, several thread-pool hops per line and per exit), on a machine the
/// children need. Elsewhere Process is used.
/// </summary>
internal static class ChildProcess
{
    /// <summary>
    /// Returns the exit code (128 + the signal's number when a signal ended it). Throws <see cref="Win32Exception"/>
    /// when the command cannot start, and <see cref="OperationCanceledException"/> after killing it when
    /// <paramref name="cancel"/> fires.
    /// </summary>
    public static int Run(ChildCommand command, Action<string, string> onLine, CancellationToken cancel, bool usePosixSpawn = true) =>
        usePosixSpawn && OperatingSystem.IsLinux() ? PosixSpawn.Run(command, onLine, cancel) : RunWithProcessClass(command, onLine, cancel);

    private static int RunWithProcessClass(ChildCommand command, Action<string, string> onLine, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = command.WorkingDirectory,
        };
        foreach (var arg in command.Arguments) psi.ArgumentList.Add(arg);
        if (command.BaseEnvironment is { } snapshot)
        {
            psi.Environment.Clear();
            foreach (var (k, v, _) in snapshot.Entries) psi.Environment[k] = v;
        }
        foreach (var (k, v) in command.Environment) psi.Environment[k] = v;
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine("stdout", e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine("stderr", e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using (cancel.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
        {
            try
            {
                process.StandardInput.BaseStream.Write(command.Stdin);
                process.StandardInput.Close();
            }
            catch (IOException) { /* the process exited without reading its input */ }
            process.WaitForExit();
        }
        cancel.ThrowIfCancellationRequested();
        return process.ExitCode;
    }

    /// <summary>Splits a byte stream into lines the way StreamReader.ReadLine does (\n, \r or \r\n; UTF-8 across reads).</summary>
    internal sealed class LineSplitter(string stream, Action<string, string> onLine)
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
        private readonly StringBuilder _line = new();
        private char[] _chars = new char[1024];
        private bool _afterCr;

        public void Add(ReadOnlySpan<byte> bytes, bool final = false)
        {
            var needed = _decoder.GetCharCount(bytes, final);
            if (needed > _chars.Length) _chars = new char[Math.Max(needed, _chars.Length * 2)];
            var count = _decoder.GetChars(bytes, _chars, final);
            foreach (var c in _chars.AsSpan(0, count))
            {
                if (c == '\n' && _afterCr) _afterCr = false;
                else if (c is '\n' or '\r')
                {
                    _afterCr = c == '\r';
                    Emit();
                }
                else
                {
                    _afterCr = false;
                    _line.Append(c);
                }
            }
            if (final && _line.Length > 0) Emit();
        }

        private void Emit()
        {
            onLine(stream, _line.ToString());
            _line.Clear();
        }
    }

    [SupportedOSPlatform("linux")]
    private static unsafe class PosixSpawn
    {
        // Children still running, killed if this process is asked to end (SIGTERM, SIGHUP when its terminal closes, or
        // a normal exit): they are in process groups of their own, so nothing else would stop them, and their job
        // resumes, redoing them, when the store is opened again. A SIGKILL cannot be caught.
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Child, byte> Running = new();
        private static readonly Lazy<PosixSignalRegistration[]> ExitHooks = new(() =>
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
            return [PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillAll()), PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => KillAll())];
        });

        private static void KillAll()
        {
            foreach (var child in Running.Keys) child.Kill();
        }

        /// <summary>
        /// A started child, leading its own process group: killing it kills whatever it started too, and never happens
        /// once it is reaped (its pid, and so its group's, could then belong to another process).
        /// </summary>
        private sealed class Child(int pid)
        {
            private readonly object _gate = new();
            private bool _reaped;

            public void Kill()
            {
                lock (_gate) if (!_reaped) LibC.kill(-pid, LibC.SIGKILL);
            }

            /// <summary>Waits for the child to exit and collects its wait status.</summary>
            public int Reap()
            {
                var info = stackalloc byte[256];
                // Wait without reaping first, so that a kill racing with the exit still targets this child.
                while (LibC.waitid(LibC.P_PID, pid, info, LibC.WEXITED | LibC.WNOWAIT) < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR) { }
                int result, status = 0;
                lock (_gate)
                {
                    _reaped = true;
                    do result = LibC.waitpid(pid, &status, 0); while (result < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);
                }
                Running.TryRemove(this, out _);
                // .NET reaps every child of a process started with SIGCHLD ignored (and its own Process class then hangs).
                if (result < 0)
                    throw new IOException($"the exit status of process {pid} was collected by the runtime: this PowerShell was started with " +
                        "SIGCHLD ignored, in which .NET reaps every child; start it with SIGCHLD at its default");
                return status;
            }
        }

        public static int Run(ChildCommand command, Action<string, string> onLine, CancellationToken cancel)
        {
            cancel.ThrowIfCancellationRequested();
            _ = ExitHooks.Value;
            var (pid, stdinFd, stdoutFd, stderrFd) = command.StartOn is { } startOn ? startOn(() => Spawn(command)) : Spawn(command);
            var child = new Child(pid);
            Running[child] = 0;
            int status;
            using (cancel.Register(child.Kill))
            {
                try
                {
                    Pump(command.Stdin, ref stdinFd, ref stdoutFd, ref stderrFd, new LineSplitter("stdout", onLine), new LineSplitter("stderr", onLine));
                }
                catch
                {
                    child.Kill();
                    child.Reap();
                    throw;
                }
                finally
                {
                    foreach (var fd in new[] { stdinFd, stdoutFd, stderrFd }) if (fd >= 0) LibC.close(fd);
                }
                status = child.Reap();
            }
            cancel.ThrowIfCancellationRequested();
            var signal = status & 0x7f;
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
        }

        /// <summary>Starts the child with its stdin, stdout and stderr on new pipes; returns its pid and our ends of the pipes.</summary>
        private static (int Pid, int Stdin, int Stdout, int Stderr) Spawn(ChildCommand command)
        {
            var pipes = stackalloc int[6];
            for (var i = 0; i < 3; i++)
            {
                if (LibC.pipe2(pipes + 2 * i, LibC.O_CLOEXEC) == 0) continue;
                var errno = Marshal.GetLastPInvokeError();
                for (var j = 0; j < 2 * i; j++) LibC.close(pipes[j]);
                throw new Win32Exception(errno);
            }
            var actions = stackalloc byte[LibC.OpaqueSize];
            var attributes = stackalloc byte[LibC.OpaqueSize];
            var defaults = stackalloc byte[LibC.OpaqueSize];
            var mask = stackalloc byte[LibC.OpaqueSize];
            byte** argv = Pack([command.FileName, .. command.Arguments]);
            byte** envp = PackEnvironment(command.BaseEnvironment ?? EnvironmentSnapshot.Capture(), command.Environment);
            byte** folder = Pack([command.WorkingDirectory]);
            int pid, error;
            try
            {
                LibC.posix_spawn_file_actions_init(actions);
                LibC.posix_spawn_file_actions_adddup2(actions, pipes[0], 0);
                LibC.posix_spawn_file_actions_adddup2(actions, pipes[3], 1);
                LibC.posix_spawn_file_actions_adddup2(actions, pipes[5], 2);
                LibC.posix_spawn_file_actions_addchdir_np(actions, folder[0]);
                LibC.posix_spawnattr_init(attributes);
                // Every signal back to its default (the runtime ignores SIGPIPE, which children would inherit) and none blocked.
                LibC.sigfillset(defaults);
                LibC.sigemptyset(mask);
                LibC.posix_spawnattr_setsigdefault(attributes, defaults);
                LibC.posix_spawnattr_setsigmask(attributes, mask);
                LibC.posix_spawnattr_setpgroup(attributes, 0);
                LibC.posix_spawnattr_setflags(attributes, LibC.POSIX_SPAWN_SETPGROUP | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSIGMASK);
                error = LibC.posix_spawn(&pid, argv[0], actions, attributes, argv, envp);
                LibC.posix_spawn_file_actions_destroy(actions);
                LibC.posix_spawnattr_destroy(attributes);
            }
            finally
            {
                NativeMemory.Free(argv);
                NativeMemory.Free(envp);
                NativeMemory.Free(folder);
                LibC.close(pipes[0]);
                LibC.close(pipes[3]);
                LibC.close(pipes[5]);
            }
            if (error != 0)
            {
                LibC.close(pipes[1]);
                LibC.close(pipes[2]);
                LibC.close(pipes[4]);
                var message = new Win32Exception(error).Message;
                throw Directory.Exists(command.WorkingDirectory) ? new Win32Exception(error) : new Win32Exception(error, $"{message} (working directory '{command.WorkingDirectory}')");
            }
            return (pid, pipes[1], pipes[2], pipes[4]);
        }

        /// <summary>Feeds stdin and reads stdout and stderr until both are closed; closes each descriptor it finishes (setting it to -1).</summary>
        private static void Pump(byte[] stdin, ref int stdinFd, ref int stdoutFd, ref int stderrFd, LineSplitter stdout, LineSplitter stderr)
        {
            var written = 0;
            if (stdin.Length == 0) Close(ref stdinFd);
            var buffer = stackalloc byte[16384];
            var set = stackalloc LibC.PollFd[3];
            while (stdoutFd >= 0 || stderrFd >= 0)
            {
                var n = 0;
                if (stdinFd >= 0) set[n++] = new LibC.PollFd { Fd = stdinFd, Events = LibC.POLLOUT };
                if (stdoutFd >= 0) set[n++] = new LibC.PollFd { Fd = stdoutFd, Events = LibC.POLLIN };
                if (stderrFd >= 0) set[n++] = new LibC.PollFd { Fd = stderrFd, Events = LibC.POLLIN };
                if (LibC.poll(set, (nuint)n, -1) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR) continue;
                    throw new Win32Exception(errno);
                }
                for (var i = 0; i < n; i++)
                {
                    var events = set[i].Revents;
                    if (events == 0) continue;
                    var fd = set[i].Fd;
                    if (fd == stdinFd)
                    {
                        if ((events & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0)
                        {
                            Close(ref stdinFd); // the child closed its stdin: the rest is not wanted
                            continue;
                        }
                        nint w;
                        fixed (byte* data = stdin) w = LibC.write(fd, data + written, Math.Min(LibC.PIPE_BUF, stdin.Length - written));
                        if (w > 0) written += (int)w;
                        if (written == stdin.Length || (w < 0 && Marshal.GetLastPInvokeError() is not (LibC.EINTR or LibC.EAGAIN))) Close(ref stdinFd);
                        continue;
                    }
                    var got = LibC.read(fd, buffer, 16384);
                    var lines = fd == stdoutFd ? stdout : stderr;
                    if (got > 0) lines.Add(new ReadOnlySpan<byte>(buffer, (int)got));
                    else if (got == 0 || Marshal.GetLastPInvokeError() is not (LibC.EINTR or LibC.EAGAIN))
                    {
                        lines.Add([], final: true);
                        if (fd == stdoutFd) Close(ref stdoutFd); else Close(ref stderrFd);
                    }
                }
            }
        }

        private static void Close(ref int fd)
        {
            LibC.close(fd);
            fd = -1;
        }

        /// <summary>envp: the snapshot's entries but those <paramref name="overrides"/> replaces, then the overrides.</summary>
        private static byte** PackEnvironment(EnvironmentSnapshot snapshot, IReadOnlyDictionary<string, string> overrides)
        {
            var kept = snapshot.Entries.Where(e => !overrides.ContainsKey(e.Key)).ToList();
            var extra = overrides.Select(o => $"{o.Key}={o.Value}").ToList();
            var pointers = (kept.Count + extra.Count + 1) * sizeof(nint);
            var size = pointers + kept.Sum(e => e.Entry.Length) + extra.Sum(x => Encoding.UTF8.GetByteCount(x) + 1);
            var block = (byte*)NativeMemory.Alloc((nuint)size);
            var array = (byte**)block;
            var cursor = block + pointers;
            var n = 0;
            foreach (var (_, _, entry) in kept)
            {
                array[n++] = cursor;
                entry.CopyTo(new Span<byte>(cursor, entry.Length));
                cursor += entry.Length;
            }
            foreach (var x in extra)
            {
                array[n++] = cursor;
                var written = Encoding.UTF8.GetBytes(x, new Span<byte>(cursor, (int)(block + size - cursor)));
                cursor[written] = 0;
                cursor += written + 1;
            }
            array[n] = null;
            return array;
        }

        /// <summary>A NULL-terminated array of NUL-terminated UTF-8 strings in one native block (free it with NativeMemory.Free).</summary>
        private static byte** Pack(IReadOnlyList<string> items)
        {
            var pointers = (items.Count + 1) * sizeof(nint);
            var size = pointers;
            foreach (var s in items) size += Encoding.UTF8.GetByteCount(s) + 1;
            var block = (byte*)NativeMemory.Alloc((nuint)size);
            var array = (byte**)block;
            var cursor = block + pointers;
            for (var i = 0; i < items.Count; i++)
            {
                array[i] = cursor;
                var written = Encoding.UTF8.GetBytes(items[i], new Span<byte>(cursor, (int)(block + size - cursor)));
                cursor[written] = 0;
                cursor += written + 1;
            }
            array[items.Count] = null;
            return array;
        }
    }
}
