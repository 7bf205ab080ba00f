using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using PachPS.Engine;
using PachPS.Engine.Remote;
using PachPS.Engine.Storage;

namespace PachPS.Infrastructure;

/// <summary>
/// The store each runspace works on. A runspace gets one from Connect-PachStore or, at the first cmdlet that needs
/// one, the default store ($env:PACHPS_STORE, else ~/.pachps); it lets go of it at Disconnect-PachStore, when the
/// runspace closes, or when the module is removed from it. Runspaces connected to one folder share one open engine
/// (two instances would run the store's jobs twice and open its LiteDB file twice), closed when the last lets go.
/// Public so scripts and tests can reach the engine object (<c>[PachPS.Infrastructure.StoreSession]::Current</c>).
/// </summary>
public static class StoreSession
{
    // One lock for both tables: connecting, letting go and opening or closing an engine are rare and must not interleave.
    private static readonly object Gate = new();
    private static readonly Dictionary<string, SharedStore> OpenStores = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    private static readonly ConditionalWeakTable<Runspace, Connection> Connections = new();

    /// <summary>The current runspace's store; a runspace that has none is connected to the default store first.</summary>
    public static PachStore Current
    {
        get
        {
            var runspace = ThisRunspace();
            lock (Gate)
            {
                var connection = ConnectionOf(runspace);
                if (connection.Remote is { } remote)
                    throw new PachException("StoreIsRemote", PachErrorKind.InvalidOperation,
                        $"This session works on the server at {remote.Server}; its engine runs there, not in this process.", remote.Server);
                if (connection.Shared is { } shared) return shared.Store;
                var path = PachStore.DefaultPath();
                if (!OpenStores.TryGetValue(Key(path), out shared))
                {
                    shared = new SharedStore(Key(path), PachStore.Open(path));
                    OpenStores.Add(shared.Key, shared);
                }
                Attach(connection, shared);
                return shared.Store;
            }
        }
    }

    /// <summary>The connected store as the cmdlets and the drive see it: its service interfaces, in process or on a server.</summary>
    internal static IPachClient Client
    {
        get
        {
            lock (Gate)
            {
                if (Runspace.DefaultRunspace is { } runspace && Connections.TryGetValue(runspace, out var connection) && connection.Remote is { } remote)
                    return remote;
            }
            return Current;
        }
    }

    /// <summary>The current runspace's store if it has one open; null otherwise. Opens nothing (tab completion).</summary>
    internal static IPachClient? Connected
    {
        get
        {
            if (Runspace.DefaultRunspace is not { } runspace) return null;
            lock (Gate) return Connections.TryGetValue(runspace, out var connection) ? (IPachClient?)connection.Remote ?? connection.Shared?.Store : null;
        }
    }

    /// <summary>
    /// Connects the current runspace to a PachPS server, letting go of whatever store it used. The connection is the
    /// runspace's own; the server's jobs go on whatever happens to it. A failure (no server, a bad token) leaves the
    /// runspace's connection as it was.
    /// </summary>
    internal static RemoteClient ConnectServer(Uri server, string token, string? certificateThumbprint)
    {
        var runspace = ThisRunspace();
        var remote = RemoteClient.Connect(server, token, certificateThumbprint);
        lock (Gate)
        {
            var connection = ConnectionOf(runspace);
            Release(connection);
            connection.Remote = remote;
        }
        return remote;
    }

    /// <summary>
    /// Connects the current runspace to the store at <paramref name="path"/>. When the process already has it open
    /// (this or another runspace), that instance is shared and its running jobs go on; given new settings (S3,
    /// credentials, Kubernetes), the store is opened again with them for every runspace that uses it, and the new
    /// instance carries on the jobs of the old. A failure leaves every connection as it was.
    /// </summary>
    internal static PachStore Connect(string path, bool temporary, S3Settings? s3 = null, S3Credentials? credentials = null,
        Engine.Execution.Kubernetes.KubernetesSettings? kubernetes = null, Engine.Execution.Containers.ContainerSettings? containers = null)
    {
        var runspace = ThisRunspace();
        lock (Gate)
        {
            var key = Key(path);
            if (OpenStores.TryGetValue(key, out var shared))
            {
                if (s3 is null && credentials is null && kubernetes is null && containers is null)
                {
                    // As opening it would: pick up jobs that a closed or killed session left unfinished.
                    shared.Store.ResumeWork();
                }
                else
                {
                    if (shared.Store.Temporary)
                        throw new PachException("TemporaryStoreOpen", PachErrorKind.InvalidOperation,
                            $"The temporary store at '{shared.Store.Path}' is open in this process; connect to it with -Path alone (reopening it would delete it).", shared.Store.Path);
                    var fresh = PachStore.Open(path, temporary, s3, credentials, kubernetes, containers);
                    var previous = shared.Store;
                    shared.Store = fresh;
                    // The old instance stops its jobs; the new one carries them on.
                    previous.Dispose();
                    fresh.ResumeWork();
                }
            }
            else
            {
                shared = new SharedStore(key, PachStore.Open(path, temporary, s3, credentials, kubernetes, containers));
                OpenStores.Add(key, shared);
            }
            Attach(ConnectionOf(runspace), shared);
            return shared.Store;
        }
    }

    /// <summary>Lets go of the current runspace's store; the next cmdlet there opens the default store.</summary>
    internal static void Disconnect()
    {
        if (Runspace.DefaultRunspace is not { } runspace) return;
        lock (Gate)
        {
            if (Connections.TryGetValue(runspace, out var connection)) Release(connection);
        }
    }

    private static Runspace ThisRunspace() => Runspace.DefaultRunspace
        ?? throw new InvalidOperationException("PachPS stores belong to a runspace, and this thread runs none.");

    private static string Key(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private static Connection ConnectionOf(Runspace runspace)
    {
        if (Connections.TryGetValue(runspace, out var connection)) return connection;
        connection = new Connection();
        Connections.Add(runspace, connection);
        runspace.StateChanged += OnRunspaceStateChanged;
        return connection;
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace || e.RunspaceStateInfo.State is not (RunspaceState.Closed or RunspaceState.Broken)) return;
        lock (Gate)
        {
            // Nobody is left to tell if closing the store fails here (a temporary folder that cannot be deleted):
            // the runspace is gone either way, and the store opens again next time.
            try
            {
                if (Connections.TryGetValue(runspace, out var connection)) Release(connection);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PachException) { }
        }
    }

    private static void Attach(Connection connection, SharedStore shared)
    {
        if (connection.Remote is { } remote)
        {
            connection.Remote = null;
            remote.Dispose();
        }
        if (ReferenceEquals(connection.Shared, shared)) return;
        shared.Users++;
        Release(connection);
        connection.Shared = shared;
    }

    private static void Release(Connection connection)
    {
        if (connection.Remote is { } remote)
        {
            connection.Remote = null;
            remote.Dispose();
        }
        if (connection.Shared is not { } shared) return;
        connection.Shared = null;
        if (--shared.Users > 0) return;
        OpenStores.Remove(shared.Key);
        // Under the lock on purpose: a runspace connecting to this folder meanwhile must not open a second instance
        // while this one still runs its jobs.
        shared.Store.Dispose();
    }

    /// <summary>A runspace's side: the store it uses, if any, in this process or on a server.</summary>
    private sealed class Connection
    {
        public SharedStore? Shared { get; set; }
        public RemoteClient? Remote { get; set; }
    }

    /// <summary>One open engine and how many runspaces use it.</summary>
    private sealed class SharedStore(string key, PachStore store)
    {
        public string Key { get; } = key;
        public PachStore Store { get; set; } = store;
        public int Users { get; set; }
    }
}
