using System.Net;
using PachPS.Engine;
using PachPS.Engine.Execution.Kubernetes;
using PachPS.Engine.Storage;

namespace PachPS.Server;

/// <summary>
/// pachps-server's command line. Secrets never come on it: S3 keys come from the AWS default chain (environment,
/// profile, instance role), a certificate's password from an environment variable.
/// </summary>
public sealed record ServerOptions
{
    public string Store { get; init; } = PachStore.DefaultPath();
    public Uri Listen { get; init; } = new("https://127.0.0.1:7443");
    public S3Settings? S3 { get; init; }
    public KubernetesSettings? Kubernetes { get; init; }
    /// <summary>A PFX or PEM certificate to serve TLS with; without one a self-signed certificate is made on first start.</summary>
    public string? Certificate { get; init; }
    /// <summary>The PEM private key of a PEM <see cref="Certificate"/> (when not in the same file).</summary>
    public string? CertificateKey { get; init; }
    /// <summary>The environment variable holding the PFX's password.</summary>
    public string? CertificatePasswordVariable { get; init; }
    /// <summary>Stop when this process exits (a supervisor or a test run that started the server).</summary>
    public int? StopWithProcess { get; init; }
    /// <summary>
    /// Requests one token may have in progress at once (waits and uploads included); more queue up to as many again,
    /// and beyond that are refused with ServerBusy, so one client cannot take every thread from the others.
    /// </summary>
    public int RequestsPerToken { get; init; } = 32;
    /// <summary>How often the server applies the branches' retention policies (squashing what they let go); zero: never.</summary>
    public TimeSpan RetentionInterval { get; init; } = TimeSpan.FromHours(1);

    public bool Tls => Listen.Scheme == Uri.UriSchemeHttps;

    public const string Usage = """
        pachps-server: a PachPS store as an always-on service.

        pachps-server [--store <folder>] [--listen <url>] [--s3-bucket <bucket> [--s3-endpoint <url>] [--s3-region <region>]
                      [--s3-prefix <prefix>] [--s3-profile <profile>]] [--kubernetes [--kubeconfig <file>] [--kube-context <name>]
                      [--namespace <ns>] [--helper-image <image>]] [--certificate <pfx|pem> [--certificate-key <pem>]
                      [--certificate-password-env <variable>]] [--requests-per-token <n>] [--retention-interval <seconds>]
                      [--stop-with-process <pid>]

          --store      the store folder (metadata.db and, without S3, the content); default $PACHPS_STORE, else ~/.pachps
          --listen     http(s)://<address>:<port>; default https://127.0.0.1:7443. Plain http only on a loopback address.
          --s3-*       content in an S3 bucket; keys from the AWS default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile)
          --kubernetes datums run as Kubernetes Jobs (needs S3)
          --certificate  serve TLS with this certificate; without it a self-signed one is made in <store>/server on first start
          --requests-per-token  requests one token may have in progress (default 32; as many more wait, the rest get ServerBusy)
          --retention-interval  seconds between applications of the retention policies (Set-PachRetention; default 3600, 0: never);
                       Optimize-PachStore applies them too and frees what they squashed away
        """;

    public static ServerOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string[] switches = ["--kubernetes"];
        string[] valued = ["--store", "--listen", "--s3-bucket", "--s3-endpoint", "--s3-region", "--s3-prefix", "--s3-profile", "--kubeconfig",
            "--kube-context", "--namespace", "--helper-image", "--certificate", "--certificate-key", "--certificate-password-env", "--stop-with-process",
            "--requests-per-token", "--retention-interval"];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (switches.Contains(arg)) flags.Add(arg);
            else if (valued.Contains(arg))
            {
                if (i + 1 >= args.Count) throw Invalid($"{arg} needs a value.");
                values[arg] = args[++i];
            }
            else throw Invalid($"Unknown argument '{arg}'.");
        }
        string? Value(string name) => values.GetValueOrDefault(name);

        var listen = Value("--listen") is { } l ? ParseListen(l) : new Uri("https://127.0.0.1:7443");
        S3Settings? s3 = null;
        if (Value("--s3-bucket") is { } bucket)
            s3 = new S3Settings(bucket, Value("--s3-endpoint")?.TrimEnd('/'), Value("--s3-region"), Value("--s3-prefix") ?? "", Value("--s3-profile"));
        else if (values.Keys.Any(k => k.StartsWith("--s3-", StringComparison.Ordinal))) throw Invalid("--s3-endpoint, --s3-region, --s3-prefix and --s3-profile need --s3-bucket.");
        KubernetesSettings? kubernetes = null;
        if (flags.Contains("--kubernetes"))
            kubernetes = new KubernetesSettings(Value("--kubeconfig") is { } k ? Path.GetFullPath(k) : null, Value("--kube-context"), Value("--namespace"), Value("--helper-image"));
        else if (new[] { "--kubeconfig", "--kube-context", "--namespace", "--helper-image" }.Any(values.ContainsKey))
            throw Invalid("--kubeconfig, --kube-context, --namespace and --helper-image need --kubernetes.");
        int? parent = null;
        if (Value("--stop-with-process") is { } pid)
            parent = int.TryParse(pid, out var p) && p > 0 ? p : throw Invalid($"--stop-with-process takes a process id, not '{pid}'.");
        var perToken = 32;
        if (Value("--requests-per-token") is { } limit && (!int.TryParse(limit, out perToken) || perToken < 1))
            throw Invalid($"--requests-per-token takes a positive number, not '{limit}'.");
        var retention = 3600;
        if (Value("--retention-interval") is { } every && (!int.TryParse(every, out retention) || retention < 0))
            throw Invalid($"--retention-interval takes a number of seconds (0: never), not '{every}'.");
        return new ServerOptions
        {
            RequestsPerToken = perToken,
            RetentionInterval = TimeSpan.FromSeconds(retention),
            Store = Path.GetFullPath(Value("--store") ?? PachStore.DefaultPath()),
            Listen = listen,
            S3 = s3,
            Kubernetes = kubernetes,
            Certificate = Value("--certificate") is { } c ? Path.GetFullPath(c) : null,
            CertificateKey = Value("--certificate-key") is { } key ? Path.GetFullPath(key) : null,
            CertificatePasswordVariable = Value("--certificate-password-env"),
            StopWithProcess = parent,
        };
    }

    /// <summary>A listen address: http or https, an IP address or host name, a port; plain http only on loopback.</summary>
    public static Uri ParseListen(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            throw Invalid($"--listen takes http(s)://<address>:<port>, not '{text}'.");
        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
            throw new PachException("ListenNeedsTls", PachErrorKind.InvalidArgument,
                $"'{text}' is not a loopback address: a server that other machines reach serves https only (tokens would cross the network in clear).", text);
        return uri;
    }

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static PachException Invalid(string message) => new("ServerArgumentInvalid", PachErrorKind.InvalidArgument, message + " (pachps-server --help)", null);
}
