using System.Management.Automation;
using System.Net;
using PachPS.Engine;
using PachPS.Engine.Execution.Containers;
using PachPS.Engine.Execution.Kubernetes;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Opens or creates a store: metadata in a folder, content in its objects folder or (-S3Bucket) in S3. Secrets are
/// only held in memory; the store remembers the bucket, endpoint, region, prefix and profile name, and (-Kubernetes)
/// that datums run as Kubernetes Jobs or (-ContainerRuntime) in containers. With -Server, connects to a PachPS server (pachps-server) instead.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "PachStore", DefaultParameterSetName = PathSet)]
[OutputType(typeof(StoreInfo))]
public sealed class ConnectPachStoreCommand : PachCmdlet
{
    private const string PathSet = "Path";
    private const string TemporarySet = "Temporary";
    private const string ServerSet = "Server";

    /// <summary>A PachPS server (pachps-server), such as https://pach.example:7443.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ServerSet)]
    public Uri? Server { get; set; }

    /// <summary>With -Server: the bearer token, as a SecureString (Read-Host -AsSecureString) or a string.</summary>
    [Parameter(ParameterSetName = ServerSet)]
    public object? Token { get; set; }

    /// <summary>With -Server: trust the server's certificate by its thumbprint (SHA-1 or SHA-256), as printed at its first start.</summary>
    [Parameter(ParameterSetName = ServerSet)]
    public string? CertificateThumbprint { get; set; }

    [Parameter(Position = 0, ParameterSetName = PathSet)]
    public string? Path { get; set; }

    /// <summary>
    /// Make the store at -Path (a new or empty folder) from a backup (a folder or s3://bucket/prefix, with its name),
    /// then connect to it. -S3Endpoint, -S3Region, -Credential and -ProfileName reach an s3:// backup and the content.
    /// </summary>
    [Parameter(ParameterSetName = PathSet)]
    public string? Restore { get; set; }

    /// <summary>A throw-away store in a new temporary folder (and S3 prefix), deleted by Disconnect-PachStore.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TemporarySet)]
    public SwitchParameter Temporary { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = TemporarySet)]
    [ValidatePattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    public string? S3Bucket { get; set; }

    /// <summary>An S3-compatible endpoint such as http://127.0.0.1:7480; AWS when omitted.</summary>
    [Parameter]
    public Uri? S3Endpoint { get; set; }

    [Parameter]
    public string? S3Region { get; set; }

    [Parameter]
    public string? S3Prefix { get; set; }

    /// <summary>Access key as user name, secret key as password; with -Server, the token as password. Kept in memory only.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    public string? ProfileName { get; set; }

    /// <summary>Run datums as Kubernetes Jobs (needs -S3Bucket, now or from an earlier connect); the store remembers it.</summary>
    [Parameter]
    public SwitchParameter Kubernetes { get; set; }

    /// <summary>With -Kubernetes: the kubeconfig file ($env:KUBECONFIG or ~/.kube/config when omitted; inside a pod, its service account).</summary>
    [Parameter]
    public string? KubeConfig { get; set; }

    /// <summary>With -Kubernetes: the kubeconfig context (its current context when omitted).</summary>
    [Parameter]
    public string? KubeContext { get; set; }

    /// <summary>With -Kubernetes: the namespace for the Jobs (the context's namespace, else default).</summary>
    [Parameter]
    public string? Namespace { get; set; }

    /// <summary>With -Kubernetes: the image of the fetch and upload containers (sh, curl and tar; default curlimages/curl).</summary>
    [Parameter]
    public string? HelperImage { get; set; }

    /// <summary>
    /// Run transform.image for every datum in this container runtime (Podman or Docker; None forgets it); the store
    /// remembers it, and transform.pachps_container_runtime overrides it per pipeline.
    /// </summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = TemporarySet)]
    public ContainerRuntime? ContainerRuntime { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        if (ParameterSetName == ServerSet)
        {
            ConnectServer();
            return;
        }
        if (Credential is not null && ProfileName is not null)
            ThrowTerminatingError(Error("CredentialConflict", ErrorCategory.InvalidArgument, "Use -Credential or -ProfileName, not both.", ProfileName));
        var path = Temporary
            ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pachps-" + Guid.NewGuid().ToString("N")[..12])
            : Path is null ? PachStore.DefaultPath() : GetUnresolvedProviderPathFromPSPath(Path);
        var credentials = S3CredentialArgument.From(Credential);
        if (Restore is not null)
        {
            RestoreStore(path, credentials);
            return;
        }
        S3Settings? s3 = null;
        if (S3Bucket is not null)
        {
            var prefix = S3Prefix ?? "";
            if (Temporary) prefix = (prefix.Length == 0 ? "" : prefix.TrimEnd('/') + "/") + System.IO.Path.GetFileName(path);
            s3 = new S3Settings(S3Bucket, S3Endpoint?.ToString().TrimEnd('/'), S3Region, prefix, ProfileName);
        }
        else if (S3Endpoint is not null || S3Prefix is not null || S3Region is not null)
            ThrowTerminatingError(Error("S3BucketRequired", ErrorCategory.InvalidArgument, "-S3Endpoint, -S3Region and -S3Prefix need -S3Bucket.", S3Endpoint));
        if (!Kubernetes && (KubeConfig ?? KubeContext ?? Namespace ?? HelperImage) is not null)
            ThrowTerminatingError(Error("KubernetesSwitchRequired", ErrorCategory.InvalidArgument, "-KubeConfig, -KubeContext, -Namespace and -HelperImage need -Kubernetes.", KubeConfig));
        var kubernetes = Kubernetes
            ? new KubernetesSettings(KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig), KubeContext, Namespace, HelperImage)
            : null;
        var containers = ContainerRuntime is { } runtime ? new ContainerSettings(runtime) : null;
        WriteObject(StoreSession.Connect(path, Temporary, s3, credentials, kubernetes, containers).Info());
    });

    /// <summary>A restored store keeps its content where the backup says (a copy beside it, or the same S3 bucket and prefix).</summary>
    private void RestoreStore(string path, S3Credentials? credentials)
    {
        if (Path is null)
            ThrowTerminatingError(Error("RestorePathRequired", ErrorCategory.InvalidArgument, "-Restore needs -Path: the new store's folder.", Restore));
        if (S3Bucket is not null || S3Prefix is not null || Kubernetes || ContainerRuntime is not null)
            ThrowTerminatingError(Error("RestoreParameterConflict", ErrorCategory.InvalidArgument,
                "-S3Bucket, -S3Prefix, -Kubernetes and -ContainerRuntime do not go with -Restore: the restored store's content is where its backup says.", Restore));
        var restore = Restore!;
        var s3 = restore.StartsWith(Engine.Backup.BackupLocation.S3Scheme, StringComparison.OrdinalIgnoreCase);
        var backup = new Engine.Backup.BackupLocation(s3 ? restore : GetUnresolvedProviderPathFromPSPath(restore),
            S3Endpoint?.ToString().TrimEnd('/'), S3Region, ProfileName, credentials);
        BackupCmdlet.WithProgress(this, "Restoring a store", CancelToken, (progress, cancel) =>
        {
            PachStore.Restore(backup, path, credentials, progress, cancel);
            return 0;
        });
        WriteObject(StoreSession.Connect(path, false, null, credentials, null).Info());
    }

    private void ConnectServer()
    {
        var token = Token switch
        {
            null => Credential is null ? null : new NetworkCredential("", Credential.Password).Password,
            PSObject { BaseObject: var o } => Plain(o),
            var o => Plain(o),
        };
        if (token is null || (Token is not null && Credential is not null))
            ThrowTerminatingError(Error("TokenRequired", ErrorCategory.InvalidArgument,
                "Connecting to a server needs its token: -Token (a SecureString or a string) or -Credential (the token as password), not both.", Server));
        // The server chose its content store and executor; a client has no say in them.
        string[] own = [nameof(Server), nameof(Token), nameof(Credential), nameof(CertificateThumbprint)];
        if (MyInvocation.BoundParameters.Keys.FirstOrDefault(k => !own.Contains(k) && !CommonParameters.Contains(k)) is { } other)
            ThrowTerminatingError(Error("ServerParameterConflict", ErrorCategory.InvalidArgument,
                $"-{other} does not go with -Server: the server decides where its content is and where datums run.", other));
        if (Server!.Scheme != Uri.UriSchemeHttps && Server.Scheme != Uri.UriSchemeHttp)
            ThrowTerminatingError(Error("ServerUriInvalid", ErrorCategory.InvalidArgument, $"'{Server}' is not an http(s) address of a PachPS server.", Server));
        WriteObject(StoreSession.ConnectServer(Server, token!, CertificateThumbprint).Admin.Info());
    }

    private static string? Plain(object value) => value switch
    {
        System.Security.SecureString secure => new NetworkCredential("", secure).Password,
        string text => text,
        _ => null,
    };
}
