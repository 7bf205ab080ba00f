using System.Collections.Concurrent;
using System.Text;
using PachPS.Engine.Execution.Containers;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// Runs a datum as a local process: inputs are written under &lt;work&gt;/pfs/&lt;input&gt;/..., outputs are read from
/// &lt;work&gt;/pfs/out. The command is an argv array. On Linux each worker's process sees its folder's pfs/ at /pfs, in a
/// private mount namespace (<see cref="PfsNamespaces"/>), so specs written for Pachyderm run unchanged and exactly as
/// written; where no namespace can be made, "/pfs/" in cmd, stdin and env is rewritten to the worker's folder instead
/// (said once per job in its log, and by <see cref="Description"/>).
/// </summary>
public sealed partial class LocalProcessExecutor : IDatumExecutor, ISpoutExecutor, IDisposable
{
    // What this machine allows is found when first needed (a datum, or a description asked for), not when a store opens:
    // the probe starts processes, a tenth of a second a session that only adds and reads files need not pay.
    private readonly Lazy<PfsSupport> _support;
    private readonly Lazy<PfsNamespaces?> _namespaces;
    private readonly ConcurrentDictionary<string, byte> _toldRewriting = new(StringComparer.Ordinal);

    /// <summary>An executor that gives each worker its own /pfs where this machine allows (<see cref="PfsNamespaces.Probe"/>).</summary>
    public LocalProcessExecutor() : this(new Lazy<PfsSupport>(PfsNamespaces.Probe)) { }

    public LocalProcessExecutor(PfsSupport pfs) : this(new Lazy<PfsSupport>(pfs)) { }

    private LocalProcessExecutor(Lazy<PfsSupport> support)
    {
        _support = support;
        _namespaces = new(() => support.Value.Namespace ? new PfsNamespaces(support.Value) : null);
    }

    /// <summary>How a worker sees /pfs.</summary>
    public PfsSupport PfsMount => _support.Value;

    public string Description => "local processes; " + PfsMount.Describe() +
        (_containers is null ? "" : $"; transform.image in {_containers.Runtime} containers (one warm container per worker)");

    // Looking a command up in PATH for every datum is measurable at thousands of datums; the answer rarely changes.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> ResolvedCommands = new(StringComparer.Ordinal);

    /// <summary>Runs the datum on the calling thread: the job runner gives each worker its own thread.</summary>
    public Task<DatumResult> RunAsync(DatumRequest request, CancellationToken cancel) => Task.FromResult(Run(request, cancel));

    // The session's environment, read once per job: a job's datums all see the same one (and reading it costs more
    // than starting sh). Jobs of different pipelines run at once; a few are remembered.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, EnvironmentSnapshot> _environments = new(StringComparer.Ordinal);

    private DatumResult Run(DatumRequest request, CancellationToken cancel)
    {
        var pfs = Path.Combine(request.WorkFolder, "pfs");
        var outDir = Path.Combine(pfs, "out");
        long downloaded;
        try { downloaded = Materialize(request, pfs, cancel); }
        catch (InputNotWritableException ex) { return new DatumResult(false, -1, ex.Message, outDir, 0); }
        if (RuntimeFor(request.Transform) is var runtime and not ContainerRuntime.None) return RunInContainer(request, runtime, downloaded, cancel);
        if (_namespaces.Value is null && _toldRewriting.TryAdd(request.JobId, 0))
        {
            if (_toldRewriting.Count > 64) _toldRewriting.Clear();
            request.OnLog?.Invoke(new ExecutionLog(DateTime.UtcNow, LogStreams.Executor, PfsMount.Describe()));
        }

        var t = request.Transform;
        LocalUser? user;
        PfsView view;
        try
        {
            user = User(request.Pipeline, t, request.S3Out ? pfs : outDir);
            view = View(request.WorkFolder, Secrets(request.Pipeline, t, request.WorkFolder, user));
        }
        catch (PachException ex) { return new DatumResult(false, -1, $"{ex.ErrorId}: {ex.Message}", outDir, downloaded); }
        catch (IOException ex) { return new DatumResult(false, -1, ex.Message, outDir, downloaded); }
        // Where no namespace holds them, the secret files live only while the datum runs.
        using var secretFiles = view.Namespaces is null ? new SecretFiles(view.Secrets) : null;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in t.Env) env[k] = view.Rewrite(v);
        foreach (var (k, v) in DatumEnvironment(request, view.Root)) env[k] = v;
        ChildCommand command;
        try { command = Command(t, view, env, request.WorkFolder, user) with { BaseEnvironment = JobEnvironment(request.JobId) }; }
        catch (IOException ex) { return new DatumResult(false, -1, ex.Message, outDir, downloaded); }

        var tail = new LogTail();
        int code;
        try
        {
            code = ChildProcess.Run(command, (stream, line) =>
            {
                var entry = new ExecutionLog(DateTime.UtcNow, stream, line);
                tail.Add(entry);
                request.OnLog?.Invoke(entry);
            }, cancel);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new DatumResult(false, -1, $"cannot start '{command.FileName}': {ex.Message}", outDir, downloaded);
        }
        var ok = code == 0 || t.AcceptReturnCode.Contains(code);
        var reason = ok ? "" : $"exit code {code}" + tail;
        return new DatumResult(ok, code, reason, outDir, downloaded);
    }

    /// <summary>Runs a spout's command on a thread of its own until it exits (or is stopped: its process group is killed).</summary>
    public Task<int> RunSpoutAsync(SpoutRequest request, CancellationToken cancel) =>
        Task.Factory.StartNew(() => RunSpout(request, cancel), cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private int RunSpout(SpoutRequest request, CancellationToken cancel)
    {
        Directory.CreateDirectory(request.OutFolder);
        var t = request.Transform;
        var user = User(request.Pipeline, t, request.OutFolder);
        var view = View(request.WorkFolder, Secrets(request.Pipeline, t, request.WorkFolder, user));
        using var secretFiles = view.Namespaces is null ? new SecretFiles(view.Secrets) : null;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in t.Env) env[k] = view.Rewrite(v);
        env["PACH_PIPELINE_NAME"] = request.Pipeline;
        env["PACH_OUT"] = view.Root + "/out";
        // The session's environment as it is now: a spout runs for long, and each start reads it again.
        var command = Command(t, view, env, request.WorkFolder, user) with { BaseEnvironment = EnvironmentSnapshot.Capture() };
        return ChildProcess.Run(command, (stream, line) => request.OnLog?.Invoke(new ExecutionLog(DateTime.UtcNow, stream, line)), cancel);
    }

    /// <summary>
    /// How a worker's process sees its folder: at /pfs in the worker's namespace (<see cref="PfsView.Namespaces"/> set, nothing
    /// rewritten), or at the folder's own path with "/pfs/" rewritten to it.
    /// </summary>
    private sealed record PfsView(string Root, Func<string, string> Rewrite, string WorkFolder, PfsNamespaces? Namespaces, SecretMounts? Secrets);

    /// <summary>A worker's view; its mount_path secrets (if any) are bound in its namespace, or rewritten like /pfs/.</summary>
    private PfsView View(string workFolder, SecretMounts? secrets = null)
    {
        var pfs = Path.Combine(workFolder, "pfs");
        return _namespaces.Value is { } namespaces ? new PfsView("/pfs", s => s, workFolder, namespaces, secrets)
            : new PfsView(pfs, s => secrets is null ? RewritePfs(s, pfs) : LocalSecrets.Rewrite(RewritePfs(s, pfs), secrets.Paths, secrets.Folder), workFolder, null, secrets);
    }

    /// <summary>Writes the transform's mount_path secrets for a worker (null when it has none). Throws SecretNotFound, SecretInvalid.</summary>
    private static SecretMounts? Secrets(string? pipeline, TransformSpec transform, string workFolder, LocalUser? user)
    {
        var paths = LocalSecrets.MountPaths(transform);
        if (paths.Count == 0) return null;
        var folder = LocalSecrets.FolderFor(workFolder);
        LocalSecrets.Write(transform, pipeline, folder, user);
        return new SecretMounts(folder, paths);
    }

    /// <summary>Deletes a worker's secret files when disposed (without a namespace, whose holder deletes them when it ends).</summary>
    private sealed class SecretFiles(SecretMounts? secrets) : IDisposable
    {
        public void Dispose()
        {
            if (secrets is not null) WorkFolders.TryDelete(secrets.Folder);
        }
    }

    /// <summary>
    /// The transform's command: cmd as argv, the stdin lines, working_dir (else /pfs in the worker's namespace, or the
    /// work folder with /pfs/ rewritten). Making the namespace can fail (IOException).
    /// </summary>
    private static ChildCommand Command(TransformSpec transform, PfsView view, Dictionary<string, string> env, string workFolder, LocalUser? user)
    {
        var command = Command(transform, view, env, workFolder);
        if (user is null) return command;
        // setpriv becomes the user and then execs the command (found in PATH as before, or the path already resolved).
        var setpriv = Resolve("setpriv", workFolder);
        if (command.StartOn is not null || view.Namespaces is null)
            return command with { FileName = setpriv, Arguments = [.. user.Prefix, command.FileName, .. command.Arguments] };
        // nsenter [options] <cmd...>: setpriv goes between its options and the command.
        var at = command.Arguments.Count - transform.Cmd.Count;
        return command with { Arguments = [.. command.Arguments.Take(at), setpriv, .. user.Prefix, .. command.Arguments.Skip(at)] };
    }

    /// <summary>
    /// transform.user as this machine's user (null when the spec sets none), with <paramref name="outFolder"/> made
    /// that user's so the command can write its outputs. Throws TransformUserNeedsRoot or TransformUserNotFound.
    /// </summary>
    private static LocalUser? User(string? pipeline, TransformSpec transform, string outFolder)
    {
        if (transform.User is not { } name) return null;
        var user = LocalUser.Resolve(name, pipeline, Interop.LibC.geteuid);
        user.Own(outFolder);
        return user;
    }

    /// <summary>Refuses a transform.user this session cannot run datums as (TransformUserNeedsRoot, TransformUserNotFound).</summary>
    public void CheckTransform(string pipeline, TransformSpec transform)
    {
        if (CheckContainer(pipeline, transform)) return;
        if (transform.User is { } name) LocalUser.Resolve(name, pipeline, Interop.LibC.geteuid);
    }

    private static ChildCommand Command(TransformSpec transform, PfsView view, Dictionary<string, string> env, string workFolder)
    {
        // An env_var secret's value comes from the session's PACHPS_SECRET_<NAME>_<KEY> (else the session's own variable
        // of that name reaches the command anyway); it is never written to the store or a log.
        foreach (var secret in transform.Secrets)
            if (secret.EnvVar is { } variable && Environment.GetEnvironmentVariable(secret.LocalVariable) is { } value) env[variable] = value;
        var stdin = new StringBuilder();
        foreach (var line in transform.Stdin) stdin.Append(view.Rewrite(line)).Append('\n');
        var input = Encoding.UTF8.GetBytes(stdin.ToString());
        if (view.Namespaces is { } namespaces)
        {
            // Without working_dir the command starts in /pfs: nothing about the worker shows in what it writes.
            var workingDirectory = transform.WorkingDir ?? "/pfs";
            var pfsFolder = Path.Combine(view.WorkFolder, "pfs");
            // Started from a thread inside the namespace (the host's PATH finds the command: only /pfs differs there).
            if (namespaces.StartIn(view.WorkFolder, pfsFolder, view.Secrets) is { } startOn)
            {
                var program = transform.Cmd[0].Contains('/') ? transform.Cmd[0] : Resolve(transform.Cmd[0], workFolder);
                return new ChildCommand(program, transform.Cmd.Skip(1).ToList(), env, workingDirectory, input) { StartOn = startOn };
            }
            // nsenter looks the command up (PATH, or the working folder as the command sees it) and becomes it.
            var (nsenter, arguments) = namespaces.Enter(view.WorkFolder, pfsFolder, workingDirectory, view.Secrets);
            arguments.AddRange(transform.Cmd);
            return new ChildCommand(nsenter, arguments, env, workFolder, input);
        }
        var folder = transform.WorkingDir is null ? workFolder : view.Rewrite(transform.WorkingDir);
        return new ChildCommand(Resolve(view.Rewrite(transform.Cmd[0]), folder), transform.Cmd.Skip(1).Select(view.Rewrite).ToList(), env, folder, input);
    }

    public void Dispose()
    {
        DisposeContainers();
        if (_namespaces.IsValueCreated) _namespaces.Value?.Dispose();
    }

    private EnvironmentSnapshot JobEnvironment(string jobId)
    {
        if (_environments.TryGetValue(jobId, out var snapshot)) return snapshot;
        if (_environments.Count >= 32) _environments.Clear();
        return _environments.GetOrAdd(jobId, _ => EnvironmentSnapshot.Capture());
    }

    private static string RewritePfs(string s, string pfs) => s == "/pfs" ? pfs : s.Replace("/pfs/", pfs + "/", StringComparison.Ordinal);

    /// <summary>
    /// Writes the datum's input files under pfs/&lt;input&gt;/ (a lazy input's as links to the job's <see cref="ContentCache"/>)
    /// and leaves pfs/out empty; returns the bytes read from the store. The
    /// folder may be a worker's, reused from its previous datum (or an earlier try of this one): pfs/ ends up holding
    /// out/ and this datum's inputs only, each with exactly its files.
    /// </summary>
    private static long Materialize(DatumRequest request, string pfs, CancellationToken cancel)
    {
        var wanted = new HashSet<string>(request.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        if (!request.S3Out) wanted.Add("out");
        if (Directory.Exists(pfs))
        {
            foreach (var entry in new DirectoryInfo(pfs).EnumerateFileSystemInfos())
            {
                if (wanted.Contains(entry.Name) && entry is DirectoryInfo { LinkTarget: null } folder) Empty(folder);
                else Delete(entry);
            }
        }
        // With s3_out the output goes through the datum's S3 endpoint: there is no /pfs/out, as in Pachyderm.
        Directory.CreateDirectory(request.S3Out ? pfs : Path.Combine(pfs, "out"));
        long downloaded = 0;
        string? cache = null;
        var reader = request.Reader ?? throw new InvalidOperationException("A local datum needs a content reader to write its inputs.");
        foreach (var input in request.Inputs)
        {
            Directory.CreateDirectory(Path.Combine(pfs, input.Name));
            foreach (var file in input.Files)
            {
                var local = Path.Combine(pfs, input.Name, file.Path.TrimStart('/'));
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                    if (input.Lazy)
                    {
                        downloaded += ContentCache.Place(cache ??= ContentCache.For(Path.GetDirectoryName(pfs)!), file.Content, reader, local);
                        cancel.ThrowIfCancellationRequested();
                        continue;
                    }
                    using var source = reader.Open(file.Content);
                    using var target = new FileStream(local, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
                    source.CopyTo(target);
                }
                // No room in the work folder is the store's, not the datum's: the job waits for room (StorageFull).
                catch (IOException ex) when (StorageFull.IsOutOfSpace(ex))
                {
                    throw StorageFull.Error($"the datums' work folder '{Path.GetDirectoryName(Path.GetDirectoryName(request.WorkFolder))}'",
                        $"writing input file '/pfs/{input.Name}{MessageText.Abbreviate(file.Path)}': {ex.Message}", ex);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // A path this machine's file system cannot hold (stored before paths had limits, or on a stricter
                    // file system): the datum fails naming the file, not the job with a bare exception.
                    throw new InputNotWritableException(
                        $"input file '/pfs/{input.Name}{MessageText.Abbreviate(file.Path)}' cannot be written in the datum's folder ({ex.GetType().Name}: {MessageText.Abbreviate(ex.Message)})", ex);
                }
                cancel.ThrowIfCancellationRequested();
                downloaded += file.Size;
            }
        }
        return downloaded;
    }

    /// <summary>A datum's input file could not be written to its folder; the message names the file.</summary>
    private sealed class InputNotWritableException(string message, Exception inner) : Exception(message, inner);

    private static void Empty(DirectoryInfo folder)
    {
        foreach (var entry in folder.EnumerateFileSystemInfos()) Delete(entry);
    }

    /// <summary>Deletes a file, a link (not what it points to) or a folder with everything in it.</summary>
    private static void Delete(FileSystemInfo entry)
    {
        if (entry is DirectoryInfo { LinkTarget: null } folder) folder.Delete(recursive: true);
        else entry.Delete();
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

    /// <summary>A command with a slash is a path (a relative one from the working folder, as in a container); else it is looked up in PATH.</summary>
    private static string Resolve(string command, string workingDirectory)
    {
        if (command.Contains('/')) return Path.GetFullPath(command, Path.GetFullPath(workingDirectory));
        return ResolvedCommands.GetOrAdd(command, c =>
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, c)).FirstOrDefault(File.Exists) ?? c);
    }
}
