using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;
using PachPS.Engine.Remote;
using PachPS.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace PachPS.Tests.Unit;

/// <summary>
/// A real pachps-server in this process (Kestrel on a loopback port, TLS with its self-signed certificate) over a
/// fresh store, with its first admin token.
/// </summary>
internal sealed class TestServer : IDisposable
{
    private readonly WebApplication _app;

    public TestServer(int requestsPerToken = 32, TimeSpan? retentionInterval = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "pachps-server-" + Guid.NewGuid().ToString("N")[..12]);
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Uri = new Uri($"https://127.0.0.1:{port}/");
        var announced = new StringWriter();
        _app = ServerHost.Build(new ServerOptions { Store = Folder, Listen = Uri, RequestsPerToken = requestsPerToken, RetentionInterval = retentionInterval ?? TimeSpan.FromHours(1) }, announced);
        _app.StartAsync().GetAwaiter().GetResult();
        var text = announced.ToString();
        AdminToken = System.Text.RegularExpressions.Regex.Match(text, @"(pachps_\S+)").Groups[1].Value;
        Thumbprint = System.Text.RegularExpressions.Regex.Match(text, @"thumbprint ([0-9A-F]+)").Groups[1].Value;
        Tokens = _app.Services.GetRequiredService<TokenStore>();
    }

    public string Folder { get; }
    public Uri Uri { get; }
    public string AdminToken { get; }
    public string Thumbprint { get; }
    public TokenStore Tokens { get; }
    /// <summary>The store the server owns, for what a test writes straight into its metadata.</summary>
    public PachStore Store => _app.Services.GetRequiredService<PachStore>();

    public RemoteClient Connect(string? token = null) => RemoteClient.Connect(Uri, token ?? AdminToken, Thumbprint);

    /// <summary>A token with a role, over every repo or some.</summary>
    public string Token(TokenRole role, params string[] repos) => Tokens.CreateToken("user-" + role, role, repos).Token;

    /// <summary>An HttpClient that trusts the server's certificate, without a token.</summary>
    public HttpClient Http()
    {
        var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.GetCertHashString() == Thumbprint };
        return new HttpClient(handler) { BaseAddress = Uri };
    }

    public void Dispose()
    {
        _app.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}

public class ServerTests
{
    [Fact]
    public void EveryMethodOfEveryServiceIsOneOperationWithItsOwnRoute()
    {
        foreach (var (service, contract) in ApiCatalog.Services)
        {
            var methods = contract.GetMethods().Where(m => !m.IsSpecialName).ToList();
            Assert.All(methods, m => Assert.Equal(m, ApiCatalog.Of(m).Method));
            Assert.Equal(methods.Count, ApiCatalog.All.Count(o => o.Service == service));
        }
        Assert.Equal(ApiCatalog.All.Count, ApiCatalog.All.Select(o => o.Route).Distinct().Count());
        Assert.Contains(ApiCatalog.All, o => o.Route == "/api/v1/pipelines/PlanDatums-specs");
    }

    [Fact]
    public void RolesFollowWhatAnOperationDoes()
    {
        TokenRole Role(Type contract, string name) => Access.Required(ApiCatalog.All.First(o => o.Contract == contract && o.Method.Name == name));
        Assert.Equal(TokenRole.Reader, Role(typeof(IFileService), nameof(IFileService.ListRepos)));
        Assert.Equal(TokenRole.Reader, Role(typeof(IFileService), nameof(IFileService.OpenFile)));
        Assert.Equal(TokenRole.Reader, Role(typeof(IPipelineService), nameof(IPipelineService.WaitJobAsync)));
        Assert.Equal(TokenRole.Writer, Role(typeof(IFileService), nameof(IFileService.PutFiles)));
        Assert.Equal(TokenRole.Writer, Role(typeof(IPipelineService), nameof(IPipelineService.StopJob)));
        Assert.Equal(TokenRole.Admin, Role(typeof(IPipelineService), nameof(IPipelineService.CreatePipeline)));
        Assert.Equal(TokenRole.Admin, Role(typeof(IStoreAdmin), nameof(IStoreAdmin.Collect)));
        Assert.Equal(TokenRole.Admin, Role(typeof(ITokenService), nameof(ITokenService.CreateToken)));
        Assert.Equal(TokenRole.Reader, Role(typeof(ITokenService), nameof(ITokenService.WhoAmI)));
    }

    [Fact]
    public void TokensAreKeptAsHashesAndStopWorkingWhenRevokedOrExpired()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-tokens-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var tokens = new TokenStore(folder);
            var made = tokens.CreateToken("ci", TokenRole.Writer, ["training"]);
            var soon = tokens.CreateToken("temp", TokenRole.Reader, expires: DateTimeOffset.UtcNow.AddMilliseconds(300));
            Assert.Equal("ci", tokens.Authenticate(made.Token)?.User);
            Assert.NotNull(tokens.Authenticate(soon.Token));
            Assert.Null(tokens.Authenticate(made.Token + "x"));
            Assert.Null(tokens.Authenticate(made.Token[..^1] + (made.Token[^1] == 'a' ? 'b' : 'a')));
            Assert.Null(tokens.Authenticate("pachps_" + made.TokenId + "_"));
            Assert.Null(tokens.Authenticate(null));
            var file = File.ReadAllText(Path.Combine(folder, "server", "tokens.json"));
            Assert.DoesNotContain(made.Token.Split('_', 3)[2], file);
            // A new instance over the same folder (a restart) knows the token; a revoked one fails everywhere.
            Assert.NotNull(new TokenStore(folder).Authenticate(made.Token));
            tokens.RevokeToken(made.TokenId);
            Assert.Null(tokens.Authenticate(made.Token));
            Assert.Null(new TokenStore(folder).Authenticate(made.Token));
            Thread.Sleep(400);
            Assert.Null(tokens.Authenticate(soon.Token));
            Assert.Equal("TokenNotFound", Assert.Throws<PachException>(() => tokens.RevokeToken("nope")).ErrorId);
            Assert.Equal("TokenUserInvalid", Assert.Throws<PachException>(() => tokens.CreateToken("a b", TokenRole.Reader)).ErrorId);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public async Task ARemoteClientWorksLikeTheEngineAndFailsWithItsErrorIds()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        Assert.Equal("admin", client.User.User);
        client.Files.CreateRepo("training", "iris");
        var reports = new List<(int Done, int Total, string Path)>();
        var progress = new SyncProgress<(int, int, string)>(reports.Add);
        var big = new byte[5 << 20];
        new Random(3).NextBytes(big);
        var commit = client.Files.PutFiles("training", "master",
            [new FileSource("/a.txt", () => new MemoryStream("hello"u8.ToArray()), "a"), new FileSource("/big.bin", () => new MemoryStream(big), "big")],
            progress: progress);
        Assert.Equal("training", commit.Repo);
        var (info, content) = client.Files.OpenFile("training", "master", "/big.bin");
        using (content)
        {
            using var copy = new MemoryStream();
            content.CopyTo(copy);
            Assert.Equal(big.Length, info.Size);
            Assert.Equal(big, copy.ToArray());
        }
        Assert.Equal(["/a.txt", "/big.bin"], client.Files.ListFiles("training", "master").Select(f => f.Path));
        var missing = Assert.Throws<PachException>(() => client.Files.GetRepo("nope"));
        Assert.Equal(("RepoNotFound", PachErrorKind.NotFound, "nope"), (missing.ErrorId, missing.Kind, missing.Target as string));
        Assert.Equal("InvalidRepoName", Assert.Throws<PachException>(() => client.Files.CreateRepo("has space")).ErrorId);

        var spec = PipelineSpec.Parse("""{"pipeline":{"name":"copy"},"transform":{"cmd":["sh","-c","cp /pfs/training/* /pfs/out/"]},"input":{"pfs":{"repo":"training","glob":"/*"}}}""");
        client.Pipelines.CreatePipeline(spec);
        var done = await client.Pipelines.WaitCommitAsync("training", "master", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Contains(done, c => c.Repo == "copy");
        Assert.Equal(JobState.Success, client.Pipelines.ListJobs("copy").Single().State);
        Assert.Equal("hello", new StreamReader(client.Files.OpenFile("copy", "master", "/a.txt").Content).ReadToEnd());
        Assert.Contains(client.Provenance.GetProvenance("copy", "master"), p => p.Repo == "training");
        Assert.Equal(server.Uri.ToString(), client.Admin.Info().Server);
    }

    [Fact]
    public void RolesAndScopesAreEnforcedAndARefusalChangesNothing()
    {
        using var server = new TestServer();
        using (var admin = server.Connect())
        {
            admin.Files.CreateRepo("training");
            admin.Files.CreateRepo("secret");
        }
        using var reader = server.Connect(server.Token(TokenRole.Reader));
        Assert.Equal(2, reader.Files.ListRepos().Count);
        var refused = Assert.Throws<PachException>(() => reader.Files.CreateRepo("x"));
        Assert.Equal(("Forbidden", PachErrorKind.Forbidden), (refused.ErrorId, refused.Kind));
        Assert.Equal("Forbidden", Assert.Throws<PachException>(() => reader.Files.PutFiles("training", "master",
            [new FileSource("/f", () => new MemoryStream([1]), "f")])).ErrorId);

        using var writer = server.Connect(server.Token(TokenRole.Writer, "training"));
        writer.Files.PutFiles("training", "master", [new FileSource("/f", () => new MemoryStream([1]), "f")]);
        Assert.Equal(["training"], writer.Files.ListRepos().Select(r => r.Repo));
        Assert.Equal("Forbidden", Assert.Throws<PachException>(() => writer.Files.ListFiles("secret", "master")).ErrorId);
        Assert.Equal("Forbidden", Assert.Throws<PachException>(() => writer.Pipelines.ListJobs()).ErrorId);
        Assert.Equal("Forbidden", Assert.Throws<PachException>(() => writer.Pipelines.CreatePipeline(PipelineSpec.Parse(
            """{"pipeline":{"name":"training2"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"training","glob":"/*"}}}"""))).ErrorId);
        Assert.Equal("Forbidden", Assert.Throws<PachException>(() => writer.Tokens.CreateToken("me", TokenRole.Admin)).ErrorId);

        using (var admin = server.Connect())
        {
            Assert.Equal(["training", "secret"], admin.Files.ListRepos().Select(r => r.Repo).Order().Reverse());
            Assert.Single(admin.Files.ListCommits("training"));
            Assert.Empty(admin.Pipelines.ListPipelines());
        }
    }

    [Fact]
    public async Task WithoutAValidTokenOnlyHealthzAnswers()
    {
        using var server = new TestServer();
        using var http = server.Http();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        foreach (var path in new[] { "/readyz", "/metrics", "/openapi.json" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(path)).StatusCode);
        var refused = await http.PostAsync("/api/v1/files/CreateRepo", new StringContent("""{"name":"x"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Unauthenticated", JsonSerializer.Deserialize<ApiError>(await refused.Content.ReadAsStringAsync(), Wire.Options)!.ErrorId);

        var revoked = server.Tokens.CreateToken("gone", TokenRole.Admin);
        using var client = server.Connect(revoked.Token);
        server.Tokens.RevokeToken(revoked.TokenId);
        Assert.Equal("Unauthenticated", Assert.Throws<PachException>(() => client.Files.CreateRepo("x")).ErrorId);
        Assert.Equal("Unauthenticated", Assert.Throws<PachException>(() => server.Connect("pachps_0000_wrong")).ErrorId);
        using var admin = server.Connect();
        Assert.Empty(admin.Files.ListRepos());

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("pachps_jobs{state=\"Success\"}", metrics);
        using var openApi = JsonDocument.Parse(await http.GetStringAsync("/openapi.json"));
        Assert.True(openApi.RootElement.GetProperty("paths").TryGetProperty("/api/v1/files/PutFiles", out _));
    }

    [Fact]
    public async Task MetricsCountJobsByStateAndSumTheirDatumsByOutcome()
    {
        using var server = new TestServer();
        var jobs = new[]
        {
            new JobDoc { Id = "j1", Pipeline = "p", State = JobState.Success, Processed = 3, Skipped = 2 },
            new JobDoc { Id = "j2", Pipeline = "p", State = JobState.Success, Processed = 1, Recovered = 1 },
            new JobDoc { Id = "j3", Pipeline = "q", State = JobState.Failure, Processed = 4, Failed = 2 },
            new JobDoc { Id = "j4", Pipeline = "q", State = JobState.Killed, Processed = 5, Skipped = 7 },
        };
        server.Store.Meta.Write(db => db.Jobs().Insert(jobs));

        var totals = server.Store.Pps.CountJobs();
        var listed = server.Store.Pps.ListJobs();
        Assert.Equal(Enum.GetValues<JobState>().ToDictionary(s => s, s => (long)listed.Count(j => j.State == s)), totals.ByState);
        Assert.Equal((13L, 9L, 2L, 1L), (totals.Processed, totals.Skipped, totals.Failed, totals.Recovered));

        using var http = server.Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        var metrics = (await http.GetStringAsync("/metrics")).Split('\n');
        foreach (var line in new[]
        {
            "pachps_jobs{state=\"Success\"} 2", "pachps_jobs{state=\"Failure\"} 1", "pachps_jobs{state=\"Killed\"} 1", "pachps_jobs{state=\"Running\"} 0",
            "pachps_datums{outcome=\"processed\"} 13", "pachps_datums{outcome=\"skipped\"} 9", "pachps_datums{outcome=\"failed\"} 2",
            "pachps_datums{outcome=\"recovered\"} 1",
        })
            Assert.Contains(line, metrics);
    }

    [Fact]
    public async Task AnUploadCutShortCommitsNothing()
    {
        using var server = new TestServer();
        using var admin = server.Connect();
        admin.Files.CreateRepo("data");
        using var http = server.Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        // The header and half of a file, then the body ends without the file's closing frame.
        var body = new MemoryStream();
        var args = Encoding.UTF8.GetBytes("""{"repo":"data","target":"master","sources":[{"path":"/f","origin":"f"}]}""");
        ContentFraming.WriteHeader(body, args);
        body.Write([0, 0, 0, 100]);
        body.Write(new byte[50]);
        var response = await http.PostAsync("/api/v1/files/PutFiles", new ByteArrayContent(body.ToArray()));
        Assert.Equal("UploadIncomplete", JsonSerializer.Deserialize<ApiError>(await response.Content.ReadAsStringAsync(), Wire.Options)!.ErrorId);
        Assert.Empty(admin.Files.ListCommits("data"));
        Assert.Empty(admin.Admin.Check());
    }

    [Fact]
    public async Task OneTokenFloodingTheServerWaitsForItselfNotForOthers()
    {
        using var server = new TestServer(requestsPerToken: 1);
        var flooder = server.Token(TokenRole.Admin);
        using var busy = server.Connect(flooder);
        using (var admin = server.Connect())
        {
            admin.Files.CreateRepo("in");
            admin.Files.PutFiles("in", "master", [new FileSource("/x", () => new MemoryStream([1]), "x")]);
            admin.Pipelines.CreatePipeline(PipelineSpec.Parse(
                """{"pipeline":{"name":"slow"},"transform":{"cmd":["sh","-c","sleep 4; cp /pfs/in/x /pfs/out/"]},"input":{"pfs":{"repo":"in","glob":"/"}}}"""));
        }
        var job = busy.Pipelines.ListJobs("slow").Single();
        // One wait in progress and one queued take the token's permit and queue; a third call is refused at once.
        var first = busy.Pipelines.WaitJobAsync(job.JobId, null, CancellationToken.None);
        await Task.Delay(300);
        var second = busy.Pipelines.WaitJobAsync(job.JobId, null, CancellationToken.None);
        await Task.Delay(300);
        var refused = Assert.Throws<PachException>(() => busy.Files.ListRepos());
        Assert.Equal(("ServerBusy", PachErrorKind.ResourceUnavailable), (refused.ErrorId, refused.Kind));
        // Another token is served meanwhile.
        using (var other = server.Connect())
            Assert.Single(other.Files.ListRepos(), r => r.Repo == "in");
        Assert.Equal(JobState.Success, (await first).State);
        Assert.Equal(JobState.Success, (await second).State);
        Assert.Equal(2, busy.Files.ListRepos().Count);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
