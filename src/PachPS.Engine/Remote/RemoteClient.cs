using System.Reflection;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;

namespace PachPS.Engine.Remote;

/// <summary>
/// A store served by a PachPS server (pachps-server): the same service interfaces as an embedded store, each call
/// sent over the API. Disposing it closes the connection; the server and its jobs go on.
/// </summary>
public sealed class RemoteClient : IPachClient
{
    private readonly ApiConnection _connection;
    private readonly IStoreAdmin _admin;

    private RemoteClient(ApiConnection connection)
    {
        _connection = connection;
        Files = ApiProxy.Create<IFileService>(connection);
        Pipelines = ApiProxy.Create<IPipelineService>(connection);
        Provenance = ApiProxy.Create<IProvenanceService>(connection);
        Tokens = ApiProxy.Create<ITokenService>(connection);
        _admin = ApiProxy.Create<IStoreAdmin>(connection);
        User = Tokens.WhoAmI();
    }

    /// <summary>
    /// Connects to a server and checks the token by asking who it belongs to (Unauthenticated when it is missing,
    /// wrong, revoked or expired; ServerUnavailable when nothing answers).
    /// </summary>
    public static RemoteClient Connect(Uri server, string token, string? certificateThumbprint = null)
    {
        var connection = new ApiConnection(server, token, certificateThumbprint);
        try { return new RemoteClient(connection); }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public Uri Server => _connection.Server;
    /// <summary>The token this client connected with (user, role, repos).</summary>
    public TokenInfo User { get; }

    public IFileService Files { get; }
    public IPipelineService Pipelines { get; }
    public IProvenanceService Provenance { get; }
    public ITokenService Tokens { get; }
    public IStoreAdmin Admin => new RemoteAdmin(_admin, this);

    public void Dispose() => _connection.Dispose();

    /// <summary>The server's store administration, its answers saying which server and which user.</summary>
    private sealed class RemoteAdmin(IStoreAdmin server, RemoteClient client) : IStoreAdmin
    {
        public string Path => client.Server.ToString();
        public StoreInfo Info() => server.Info() with { Server = client.Server.ToString(), User = client.User.User };
        public IReadOnlyList<IntegrityFinding> Check(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
            server.Check(progress, cancel);
        public IReadOnlyList<IntegrityFinding> Repair(string? from = null, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
            server.Repair(from, progress, cancel);
        public Collection.CollectionReport Collect(bool whatIf, IProgress<Collection.CollectionProgress>? progress = null, CancellationToken cancel = default) =>
            server.Collect(whatIf, progress, cancel);
        public Backup.BackupInfo Backup(Backup.BackupLocation destination, string? name = null, IProgress<Backup.BackupProgress>? progress = null,
            CancellationToken cancel = default) => server.Backup(destination, name, progress, cancel);
        public IReadOnlyList<Backup.BackupInfo> ListBackups(Backup.BackupLocation? destination = null) => server.ListBackups(destination);
        public Backup.BackupInfo RemoveBackup(Backup.BackupLocation backup, IProgress<Backup.BackupProgress>? progress = null,
            CancellationToken cancel = default) => server.RemoveBackup(backup, progress, cancel);
    }
}

/// <summary>Implements a service interface by sending each call to the server (<see cref="ApiConnection.Call"/>).</summary>
public class ApiProxy : DispatchProxy
{
    private ApiConnection? _connection;

    internal static T Create<T>(ApiConnection connection) where T : class
    {
        var proxy = Create<T, ApiProxy>();
        ((ApiProxy)(object)proxy)._connection = connection;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        _connection!.Call(ApiCatalog.Of(targetMethod!), args ?? []);
}
