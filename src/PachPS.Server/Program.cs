using System.Diagnostics;
using System.Net;
using System.Threading.RateLimiting;
using PachPS.Engine;
using PachPS.Server;
using Prometheus;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(ServerOptions.Usage);
    return 0;
}
try
{
    var options = ServerOptions.Parse(args);
    using var app = ServerHost.Build(options, Console.Out);
    app.Run();
    return 0;
}
catch (PachException ex)
{
    Console.Error.WriteLine($"pachps-server: {ex.ErrorId}: {ex.Message}");
    return 2;
}

namespace PachPS.Server
{
    /// <summary>Builds the server over one store: opens it (its jobs, cron and resumption start), then serves the API.</summary>
    public static class ServerHost
    {
        public static WebApplication Build(ServerOptions options, TextWriter announce)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            var certificate = options.Tls ? ServerCertificate.Load(options) : null;
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Limits.MaxRequestBodySize = ApiEndpoints.MaxArgumentBytes;
                kestrel.Limits.MaxRequestHeadersTotalSize = 64 << 10;
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(30);
                kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
                kestrel.Limits.MaxConcurrentConnections = 1000;
                var host = options.Listen.Host.Trim('[', ']');
                var addresses = host == "localhost" ? [IPAddress.Loopback]
                    : IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
                foreach (var address in addresses)
                    kestrel.Listen(address, options.Listen.Port, listen =>
                    {
                        if (certificate is not null) listen.UseHttps(certificate);
                    });
            });
            builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(15));

            var store = PachStore.Open(options.Store, s3: options.S3, kubernetes: options.Kubernetes);
            var tokens = new TokenStore(options.Store);
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton(tokens);
            builder.Services.AddSingleton(new ServerMetrics(store));
            builder.Services.AddRateLimiter(limits =>
            {
                // Per token, so a client that floods the server waits for itself, not for the others.
                limits.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    RateLimitPartition.GetConcurrencyLimiter(Authentication.CallerId(context), _ => new ConcurrencyLimiterOptions
                    {
                        PermitLimit = options.RequestsPerToken, QueueLimit = options.RequestsPerToken,
                        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                    }));
                limits.OnRejected = (rejected, _) => new ValueTask(ApiEndpoints.WriteError(rejected.HttpContext, new Engine.Remote.ApiError("ServerBusy",
                    PachErrorKind.ResourceUnavailable, $"This token already has {options.RequestsPerToken} requests in progress and as many waiting; try again when some have finished.", null)));
            });
            builder.Services.AddSingleton<ApiEndpoints>();
            var app = builder.Build();
            var lifetime = app.Lifetime;
            // Stopping (SIGTERM, Ctrl+C) closes the store: running local datums stop and resume on the next start.
            lifetime.ApplicationStopped.Register(store.Dispose);
            if (options.StopWithProcess is { } pid) WatchParent(pid, lifetime);
            if (options.RetentionInterval > TimeSpan.Zero)
            {
                var retention = new RetentionLoop(store, options.RetentionInterval, announce);
                lifetime.ApplicationStopping.Register(retention.Dispose);
            }

            app.MapGet("/healthz", () => Results.Text("ok"));
            app.UseTokens(tokens);
            app.UseRateLimiter();
            var metrics = app.Services.GetRequiredService<ServerMetrics>();
            app.UseHttpMetrics(o => o.SetMetricFactory(Metrics.WithCustomRegistry(metrics.Registry)));
            app.MapGet("/readyz", () => lifetime.ApplicationStopping.IsCancellationRequested ? Results.StatusCode(503) : Results.Text("ready"));
            app.MapMetrics("/metrics", metrics.Registry);
            var version = typeof(ServerHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
            var openApi = OpenApiDocument.Build(version).ToJsonString();
            app.MapGet("/openapi.json", () => Results.Text(openApi, "application/json"));
            app.Services.GetRequiredService<ApiEndpoints>().Map(app);
            S3.S3Gateway.Map(app, store.Pfs, tokens, options.Store);

            lifetime.ApplicationStarted.Register(() =>
            {
                announce.WriteLine($"pachps-server {version} serving the store at {options.Store} ({store.Objects.Description}; datums run as {store.ExecutorDescription})");
                announce.WriteLine($"listening on {options.Listen.GetLeftPart(UriPartial.Authority)}");
                if (certificate is not null)
                    announce.WriteLine($"certificate thumbprint {certificate.Thumbprint} (SHA-256 {certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)})");
                if (!tokens.HasActiveAdmin)
                {
                    var admin = tokens.CreateToken("admin", Engine.Remote.TokenRole.Admin);
                    announce.WriteLine($"first admin token (shown once; the server keeps only its hash): {admin.Token}");
                }
                announce.Flush();
            });
            return app;
        }

        private static void WatchParent(int pid, IHostApplicationLifetime lifetime)
        {
            Process parent;
            try { parent = Process.GetProcessById(pid); }
            catch (ArgumentException) { lifetime.StopApplication(); return; }
            parent.EnableRaisingEvents = true;
            parent.Exited += (_, _) => lifetime.StopApplication();
            if (parent.HasExited) lifetime.StopApplication();
        }
    }
}
