using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PachPS.Engine.Pfs;
using PachPS.Engine.Remote;
using Xunit;

namespace PachPS.Tests.Unit;

/// <summary>The server's S3 gateway (/s3) through AWS's .NET SDK, and through the AWS CLI and rclone when installed.</summary>
public class S3GatewayTests
{
    /// <summary>An S3 client of the test server, signing with a token's id and secret.</summary>
    private static AmazonS3Client Client(TestServer server, string token, string? secret = null)
    {
        var (id, tokenSecret) = Split(token);
        var config = new AmazonS3Config
        {
            ServiceURL = server.Uri + "s3",
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            HttpClientFactory = new TrustingFactory(server.Thumbprint),
            MaxErrorRetry = 0,
        };
        return new AmazonS3Client(new BasicAWSCredentials(id, secret ?? tokenSecret), config);
    }

    private static (string Id, string Secret) Split(string token)
    {
        var parts = token.Split('_', 3);
        return (parts[1], parts[2]);
    }

    private sealed class TrustingFactory(string thumbprint) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
            new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.GetCertHashString() == thumbprint });
    }

    private static byte[] Random(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> Get(AmazonS3Client s3, string bucket, string key, ByteRange? range = null)
    {
        using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = range });
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task<string> ErrorCode(Func<Task> call) => (await Assert.ThrowsAnyAsync<AmazonS3Exception>(call)).ErrorCode;

    [Fact]
    public async Task BucketsAreBranchesAndTagsAndObjectsAreFiles()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("images");
        var commit = client.Files.PutFiles("images", "master",
            [new FileSource("/a.txt", () => new MemoryStream("hello"u8.ToArray()), "a"), new FileSource("/dir/b.txt", () => new MemoryStream("bee"u8.ToArray()), "b")]);
        client.Files.CreateTag("images", "v1", commit.Commit);
        client.Files.CreateBranch("images", "dev", "master");
        using var s3 = Client(server, server.AdminToken);

        var buckets = (await s3.ListBucketsAsync()).Buckets.Select(b => b.BucketName).ToList();
        Assert.Equal(["dev.images", "master.images", "v1.images"], buckets.Order());

        Assert.Equal("hello"u8.ToArray(), await Get(s3, "master.images", "a.txt"));
        Assert.Equal("bee"u8.ToArray(), await Get(s3, "v1.images", "dir/b.txt"));
        Assert.Equal("hello"u8.ToArray(), await Get(s3, commit.Commit + ".images", "a.txt"));
        Assert.Equal("ell"u8.ToArray(), await Get(s3, "master.images", "a.txt", new ByteRange(1, 3)));
        Assert.Equal("llo"u8.ToArray(), await Get(s3, "master.images", "a.txt", new ByteRange("bytes=-3")));
        Assert.Equal("lo"u8.ToArray(), await Get(s3, "master.images", "a.txt", new ByteRange("bytes=3-")));
        using (var ranged = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "master.images", Key = "a.txt", ByteRange = new ByteRange(1, 3) }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, ranged.HttpStatusCode);
            Assert.Equal("bytes 1-3/5", ranged.ContentRange);
        }
        var head = await s3.GetObjectMetadataAsync("master.images", "a.txt");
        Assert.Equal(5, head.ContentLength);
        Assert.NotEqual(default, head.LastModified);
        Assert.False(string.IsNullOrEmpty(head.ETag));

        Assert.Equal("NoSuchKey", await ErrorCode(() => s3.GetObjectAsync("master.images", "missing.txt")));
        Assert.Equal("NoSuchKey", await ErrorCode(() => s3.GetObjectAsync("master.images", "dir")));
        Assert.Equal("NoSuchBucket", await ErrorCode(() => s3.GetObjectAsync("master.nope", "a.txt")));
        Assert.Equal("NoSuchBucket", await ErrorCode(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "nobranch.images" })));
        Assert.Equal("InvalidRange", await ErrorCode(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = "master.images", Key = "a.txt", ByteRange = new ByteRange(9, 12) })));
    }

    [Fact]
    public async Task ListingsPageWithPrefixesDelimitersAndTokens()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("data");
        var sources = Enumerable.Range(0, 25).Select(i => new FileSource($"/logs/{i:D2}.txt", () => new MemoryStream([1]), "x"))
            .Concat(Enumerable.Range(0, 3).Select(i => new FileSource($"/dirs/d{i}/f.txt", () => new MemoryStream([2]), "y")))
            .Append(new FileSource("/top.txt", () => new MemoryStream([3]), "z")).ToList();
        client.Files.PutFiles("data", "master", sources);
        using var s3 = Client(server, server.AdminToken);

        var keys = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "master.data", Prefix = "logs/", MaxKeys = 10, ContinuationToken = token });
            keys.AddRange(page.S3Objects?.Select(o => o.Key) ?? []);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
            pages++;
        } while (token is not null);
        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"logs/{i:D2}.txt"), keys);

        var top = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "master.data", Delimiter = "/" });
        Assert.Equal(["dirs/", "logs/"], top.CommonPrefixes);
        Assert.Equal(["top.txt"], top.S3Objects.Select(o => o.Key));

        // A page that ends on a common prefix resumes after every key under it.
        var first = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "master.data", Prefix = "dirs/", Delimiter = "/", MaxKeys = 2 });
        Assert.Equal(["dirs/d0/", "dirs/d1/"], first.CommonPrefixes);
        var second = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "master.data", Prefix = "dirs/", Delimiter = "/", MaxKeys = 2, ContinuationToken = first.NextContinuationToken });
        Assert.Equal(["dirs/d2/"], second.CommonPrefixes);
        Assert.False(second.IsTruncated);

        var after = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "master.data", StartAfter = "logs/22.txt" });
        Assert.Equal(["logs/23.txt", "logs/24.txt", "top.txt"], after.S3Objects.Select(o => o.Key));

        var v1 = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = "master.data", Prefix = "logs/", MaxKeys = 20 });
        Assert.Equal(20, v1.S3Objects.Count);
        Assert.True(v1.IsTruncated);
        var v1Rest = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = "master.data", Prefix = "logs/", Marker = v1.NextMarker });
        Assert.Equal(5, v1Rest.S3Objects.Count);

        client.Files.CreateBranch("data", "empty");
        Assert.Empty((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "empty.data" })).S3Objects ?? []);
    }

    [Fact]
    public async Task PutDeleteAndCopyAreEachOneCommit()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("docs");
        client.Files.CreateBranch("docs", "master");
        using var s3 = Client(server, server.AdminToken);

        var content = Random(300_000, 1);
        var put = await s3.PutObjectAsync(new PutObjectRequest { BucketName = "master.docs", Key = "in/report.bin", InputStream = new MemoryStream(content) });
        Assert.Equal('"' + Convert.ToHexStringLower(MD5.HashData(content)) + '"', put.ETag);
        Assert.Single(client.Files.ListCommits("docs", "master"));
        var (info, stream) = client.Files.OpenFile("docs", "master", "/in/report.bin");
        using (stream) Assert.Equal(content.Length, info.Size);
        Assert.Equal(content, await Get(s3, "master.docs", "in/report.bin"));
        Assert.Equal(put.ETag, (await s3.GetObjectMetadataAsync("master.docs", "in/report.bin")).ETag);

        // A body sent with its SHA-256 signed, and with Content-MD5.
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "master.docs", Key = "small.txt", ContentBody = "small", UseChunkEncoding = false, MD5Digest = Convert.ToBase64String(MD5.HashData("small"u8.ToArray())) });
        Assert.Equal(2, client.Files.ListCommits("docs", "master").Count);
        Assert.Equal("BadDigest", await ErrorCode(() => s3.PutObjectAsync(new PutObjectRequest
            { BucketName = "master.docs", Key = "bad.txt", ContentBody = "small", MD5Digest = Convert.ToBase64String(MD5.HashData("other"u8.ToArray())) })));
        Assert.Equal(2, client.Files.ListCommits("docs", "master").Count);

        var copy = await s3.CopyObjectAsync("master.docs", "in/report.bin", "master.docs", "copies/report.bin");
        Assert.Equal(put.ETag, copy.ETag);
        Assert.Equal(content, await Get(s3, "master.docs", "copies/report.bin"));
        Assert.Equal(3, client.Files.ListCommits("docs", "master").Count);

        client.Files.CreateRepo("other");
        client.Files.PutFiles("other", "master", [new FileSource("/o.txt", () => new MemoryStream("other repo"u8.ToArray()), "o")]);
        await s3.CopyObjectAsync("master.other", "o.txt", "master.docs", "from-other.txt");
        Assert.Equal("other repo"u8.ToArray(), await Get(s3, "master.docs", "from-other.txt"));
        await s3.DeleteObjectAsync("master.docs", "from-other.txt");
        Assert.Equal(5, client.Files.ListCommits("docs", "master").Count);

        await s3.DeleteObjectAsync("master.docs", "small.txt");
        Assert.Equal(6, client.Files.ListCommits("docs", "master").Count);
        await s3.DeleteObjectAsync("master.docs", "small.txt"); // gone already: S3 answers 204 and nothing is committed
        Assert.Equal(6, client.Files.ListCommits("docs", "master").Count);
        var deleted = await s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "master.docs",
            Objects = [new KeyVersion { Key = "in/report.bin" }, new KeyVersion { Key = "copies/report.bin" }, new KeyVersion { Key = "never.txt" }],
        });
        Assert.Equal(3, deleted.DeletedObjects.Count);
        Assert.Equal(7, client.Files.ListCommits("docs", "master").Count);
        Assert.Empty(client.Files.Entries("docs", "master"));

        // A tag or a commit is read-only; a new bucket is a new branch.
        client.Files.PutFiles("docs", "master", [new FileSource("/x", () => new MemoryStream([1]), "x")]);
        client.Files.CreateTag("docs", "release", "master");
        Assert.Equal("AccessDenied", await ErrorCode(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "release.docs", Key = "y", ContentBody = "y" })));
        Assert.Equal("AccessDenied", await ErrorCode(() => s3.DeleteObjectAsync("release.docs", "x")));
        await s3.PutBucketAsync("feature.docs");
        Assert.Contains(client.Files.ListBranches("docs"), b => b.Branch == "feature");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "feature.docs", Key = "f.txt", ContentBody = "f" });
        Assert.Equal("f"u8.ToArray(), await Get(s3, "feature.docs", "f.txt"));
    }

    [Fact]
    public async Task AMultipartUploadIsStagedOnDiskAndBecomesOneFileInOneCommit()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("big");
        client.Files.CreateBranch("big", "master");
        using var s3 = Client(server, server.AdminToken);
        var content = Random(18 << 20, 2);
        var start = await s3.InitiateMultipartUploadAsync("master.big", "data/big.bin");
        var etags = new List<PartETag>();
        for (var i = 0; i < 3; i++)
        {
            var part = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "master.big", Key = "data/big.bin", UploadId = start.UploadId, PartNumber = i + 1,
                InputStream = new MemoryStream(content, i * (6 << 20), 6 << 20), PartSize = 6 << 20,
            });
            etags.Add(new PartETag(i + 1, part.ETag));
        }
        Assert.True(Directory.Exists(Path.Combine(server.Folder, "server", "multipart", start.UploadId)));
        Assert.Empty(client.Files.ListCommits("big"));
        var done = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            { BucketName = "master.big", Key = "data/big.bin", UploadId = start.UploadId, PartETags = etags });
        var md5s = Enumerable.Range(0, 3).SelectMany(i => MD5.HashData(content.AsSpan(i * (6 << 20), 6 << 20))).ToArray();
        Assert.Equal($"\"{Convert.ToHexStringLower(MD5.HashData(md5s))}-3\"", done.ETag);
        Assert.Single(client.Files.ListCommits("big", "master"));
        Assert.False(Directory.Exists(Path.Combine(server.Folder, "server", "multipart", start.UploadId)));
        Assert.Equal(content, await Get(s3, "master.big", "data/big.bin"));
        Assert.Equal(done.ETag, (await s3.GetObjectMetadataAsync("master.big", "data/big.bin")).ETag);

        var aborted = await s3.InitiateMultipartUploadAsync("master.big", "other.bin");
        await s3.AbortMultipartUploadAsync("master.big", "other.bin", aborted.UploadId);
        Assert.Equal("NoSuchUpload", await ErrorCode(() => s3.UploadPartAsync(new UploadPartRequest
            { BucketName = "master.big", Key = "other.bin", UploadId = aborted.UploadId, PartNumber = 1, InputStream = new MemoryStream([1]) })));
    }

    [Fact]
    public async Task TokensSignRequestsAndTheirRolesAndReposApply()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("open");
        client.Files.CreateRepo("secret");
        client.Files.PutFiles("open", "master", [new FileSource("/a", () => new MemoryStream([1]), "a")]);
        client.Files.PutFiles("secret", "master", [new FileSource("/a", () => new MemoryStream([1]), "a")]);

        using var reader = Client(server, server.Token(TokenRole.Reader));
        Assert.Equal([1], await Get(reader, "master.open", "a"));
        Assert.Equal("AccessDenied", await ErrorCode(() => reader.PutObjectAsync(new PutObjectRequest { BucketName = "master.open", Key = "b", ContentBody = "b" })));
        Assert.Equal("AccessDenied", await ErrorCode(() => reader.DeleteObjectAsync("master.open", "a")));

        using var scoped = Client(server, server.Token(TokenRole.Writer, "open"));
        await scoped.PutObjectAsync(new PutObjectRequest { BucketName = "master.open", Key = "b", ContentBody = "b" });
        Assert.Equal("AccessDenied", await ErrorCode(() => scoped.PutObjectAsync(new PutObjectRequest { BucketName = "master.secret", Key = "b", ContentBody = "b" })));
        Assert.Equal("AccessDenied", await ErrorCode(() => scoped.GetObjectAsync("master.secret", "a")));
        Assert.Equal(["master.open"], (await scoped.ListBucketsAsync()).Buckets.Select(b => b.BucketName));

        using var wrong = Client(server, server.AdminToken, secret: "not-the-secret");
        Assert.Equal("SignatureDoesNotMatch", await ErrorCode(() => wrong.ListBucketsAsync()));
        using var unknown = Client(server, "pachps_000000000000_x");
        Assert.Equal("InvalidAccessKeyId", await ErrorCode(() => unknown.ListBucketsAsync()));

        var revoked = server.Tokens.CreateToken("gone", TokenRole.Writer);
        using var gone = Client(server, revoked.Token);
        await gone.ListBucketsAsync();
        server.Tokens.RevokeToken(revoked.TokenId);
        var error = await Assert.ThrowsAsync<AmazonS3Exception>(() => gone.ListBucketsAsync());
        Assert.Equal("InvalidAccessKeyId", error.ErrorCode);
        Assert.Contains("revoked", error.Message);

        // Without a signature, /s3 is refused in S3's terms, not the API's.
        using var http = server.Http();
        var anonymous = await http.GetAsync("s3/");
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        Assert.Contains("<Code>AccessDenied</Code>", await anonymous.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PresignedUrlsWorkUntilTheyExpire()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("share");
        client.Files.PutFiles("share", "master", [new FileSource("/f.txt", () => new MemoryStream("shared"u8.ToArray()), "f")]);
        using var s3 = Client(server, server.AdminToken);
        var url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest { BucketName = "master.share", Key = "f.txt", Expires = DateTime.UtcNow.AddMinutes(5), Verb = HttpVerb.GET });
        using var http = server.Http();
        Assert.Equal("shared", await http.GetStringAsync(url));
        var tampered = await http.GetAsync(url.Replace("f.txt", "g.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);
        Assert.Contains("SignatureDoesNotMatch", await tampered.Content.ReadAsStringAsync());

        var upload = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest { BucketName = "master.share", Key = "up.txt", Expires = DateTime.UtcNow.AddMinutes(5), Verb = HttpVerb.PUT });
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync(upload, new StringContent("uploaded"))).StatusCode);
        Assert.Equal("uploaded"u8.ToArray(), await Get(s3, "master.share", "up.txt"));
        var expired = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest { BucketName = "master.share", Key = "f.txt", Expires = DateTime.UtcNow.AddSeconds(2), Verb = HttpVerb.GET });
        await Task.Delay(3500);
        var late = await http.GetAsync(expired);
        Assert.Equal(HttpStatusCode.Forbidden, late.StatusCode);
        Assert.Contains("expired", await late.Content.ReadAsStringAsync());
    }

    [Fact]
    public void SecretsAreKeptEncryptedAndOldTokensHaveNone()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pachps-s3tokens-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var tokens = new PachPS.Server.TokenStore(folder);
            var made = tokens.CreateToken("ci", TokenRole.Writer);
            var (id, secret) = Split(made.Token);
            Assert.Equal(secret, tokens.S3Credential(id)?.Secret);
            Assert.Equal(secret, new PachPS.Server.TokenStore(folder).S3Credential(id)?.Secret);
            Assert.DoesNotContain(secret, File.ReadAllText(Path.Combine(folder, "server", "tokens.json")));
            var key = Path.Combine(folder, "server", "s3-secrets.key");
            Assert.Equal(32, new FileInfo(key).Length);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.Null(tokens.S3Credential("000000000000"));

            // A token made before the gateway (no sealed secret) authenticates the API but has no S3 secret.
            var file = Path.Combine(folder, "server", "tokens.json");
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!.AsArray();
            foreach (var token in json) token!.AsObject().Remove("s3Secret");
            File.WriteAllText(file, json.ToJsonString());
            var old = new PachPS.Server.TokenStore(folder);
            Assert.NotNull(old.Authenticate(made.Token));
            Assert.Null(old.S3Credential(id)!.Value.Secret);
            var request = new Microsoft.AspNetCore.Http.DefaultHttpContext().Request;
            request.Method = "GET";
            request.Path = "/s3/";
            request.Headers["x-amz-date"] = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            request.Headers["x-amz-content-sha256"] = SigV4Empty;
            request.Headers.Authorization = $"AWS4-HMAC-SHA256 Credential={id}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
            var refused = Assert.Throws<PachPS.Engine.S3Api.S3Exception>(() => PachPS.Server.S3.S3Gateway.Verify(new PachPS.Server.S3.AspNetS3Request(request.HttpContext), old, DateTimeOffset.UtcNow));
            Assert.Equal("InvalidAccessKeyId", refused.Code);
            Assert.Contains("make a new token", refused.Message);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>A program on PATH, or null (then the test that needs it is skipped).</summary>
    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Run(string program, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        // A CA bundle of the machine's would replace the trust the clients are told to skip (rclone then fails).
        start.Environment.Remove("AWS_CA_BUNDLE");
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 3 minutes.");
        }
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {output.Result}{error.Result}");
        return output.Result;
    }

    [SkippableFact]
    public void TheAwsCliListsCopiesUpAndDownAndUploadsBigFilesInParts()
    {
        var aws = Which("aws");
        Skip.If(aws is null, "The AWS CLI is not installed (apt-get install -y awscli).");
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("cli");
        client.Files.CreateBranch("cli", "master");
        var (id, secret) = Split(server.Token(TokenRole.Writer, "cli"));
        var work = Directory.CreateDirectory(Path.Combine(server.Folder, "aws-work")).FullName;
        var env = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = id, ["AWS_SECRET_ACCESS_KEY"] = secret, ["AWS_DEFAULT_REGION"] = "us-east-1",
            ["AWS_CONFIG_FILE"] = Path.Combine(work, "none"), ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(work, "none"),
            ["PYTHONWARNINGS"] = "ignore", ["AWS_PAGER"] = "",
        };
        string Aws(params string[] args)
        {
            var watch = Stopwatch.StartNew();
            var output = Run(aws!, env, ["--endpoint-url", server.Uri + "s3", "--no-verify-ssl", .. args]);
            Console.WriteLine($"aws {string.Join(' ', args)}: {watch.Elapsed}");
            return output;
        }

        Assert.Contains("master.cli", Aws("s3", "ls"));
        var small = Path.Combine(work, "small.txt");
        File.WriteAllText(small, "small file");
        var big = Path.Combine(work, "big.bin");
        var bigContent = Random(20 << 20, 5);
        File.WriteAllBytes(big, bigContent);
        Aws("s3", "cp", small, "s3://master.cli/up/small.txt");
        Aws("s3", "cp", big, "s3://master.cli/up/big.bin");
        var listing = Aws("s3", "ls", "s3://master.cli/up/");
        Assert.Contains("small.txt", listing);
        Assert.Contains("big.bin", listing);
        Assert.Equal(2, client.Files.ListCommits("cli", "master").Count);
        // More than the CLI's 8 MiB threshold: a multipart upload, whose ETag says how many parts.
        Assert.Matches("^\"[0-9a-f]{32}-3\"$", Aws("s3api", "head-object", "--bucket", "master.cli", "--key", "up/big.bin", "--query", "ETag", "--output", "text").Trim());
        var down = Path.Combine(work, "down.bin");
        Aws("s3", "cp", "s3://master.cli/up/big.bin", down);
        Assert.Equal(bigContent, File.ReadAllBytes(down));
        Aws("s3", "cp", "s3://master.cli/up/small.txt", Path.Combine(work, "small-down.txt"));
        Assert.Equal("small file", File.ReadAllText(Path.Combine(work, "small-down.txt")));
        Aws("s3", "rm", "s3://master.cli/up/small.txt");
        Assert.DoesNotContain("small.txt", Aws("s3", "ls", "s3://master.cli/up/"));
    }

    [SkippableFact]
    public void RcloneCopiesAFolderInAndOut()
    {
        var rclone = Which("rclone");
        Skip.If(rclone is null, "rclone is not installed (apt-get install -y rclone).");
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("rc");
        client.Files.CreateBranch("rc", "master");
        var (id, secret) = Split(server.Token(TokenRole.Writer, "rc"));
        var work = Directory.CreateDirectory(Path.Combine(server.Folder, "rclone-work")).FullName;
        var source = Directory.CreateDirectory(Path.Combine(work, "in")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "a.txt"), "alpha");
        File.WriteAllText(Path.Combine(source, "sub", "b.txt"), "beta");
        File.WriteAllBytes(Path.Combine(source, "sub", "big.bin"), Random(12 << 20, 6));
        var env = new Dictionary<string, string>
        {
            ["RCLONE_CONFIG"] = Path.Combine(work, "rclone.conf"),
            ["RCLONE_CONFIG_PACH_TYPE"] = "s3", ["RCLONE_CONFIG_PACH_PROVIDER"] = "Other",
            ["RCLONE_CONFIG_PACH_ENDPOINT"] = server.Uri + "s3", ["RCLONE_CONFIG_PACH_ACCESS_KEY_ID"] = id,
            ["RCLONE_CONFIG_PACH_SECRET_ACCESS_KEY"] = secret, ["RCLONE_CONFIG_PACH_REGION"] = "us-east-1",
        };
        string Rclone(params string[] args) => Run(rclone!, env, [.. args, "--no-check-certificate", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]);

        Rclone("copy", source, "pach:master.rc/data");
        var listing = Rclone("ls", "pach:master.rc");
        Assert.Contains("data/a.txt", listing);
        Assert.Contains("data/sub/b.txt", listing);
        Assert.Contains("data/sub/big.bin", listing);
        Assert.Equal(["/data/a.txt", "/data/sub/b.txt", "/data/sub/big.bin"], client.Files.Entries("rc", "master").Select(e => e.Path).Order());
        var target = Path.Combine(work, "out");
        Rclone("copy", "pach:master.rc/data", target);
        foreach (var file in new[] { "a.txt", "sub/b.txt", "sub/big.bin" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, file)), File.ReadAllBytes(Path.Combine(target, file)));
        // A second copy finds everything there already and commits nothing (the gateway keeps no modification times,
        // so rclone compares checksums: MD5s, and for a multipart upload its size).
        var commits = client.Files.ListCommits("rc", "master").Count;
        Rclone("copy", source, "pach:master.rc/data", "--checksum");
        Assert.Equal(commits, client.Files.ListCommits("rc", "master").Count);
        // Without --checksum, rclone sets the small files' times with a copy onto themselves (no commit) and sends the
        // multipart file again.
        Rclone("copy", source, "pach:master.rc/data");
        Assert.InRange(client.Files.ListCommits("rc", "master").Count, commits, commits + 1);
    }

    /// <summary>SigV4 written out here, apart from the server's, for requests the SDK does not make (signed chunks, bad bodies).</summary>
    private static HttpRequestMessage Signed(HttpMethod method, Uri uri, string id, string secret, string payloadHash, DateTime now, HttpContent? content)
    {
        static string Hex(byte[] b) => Convert.ToHexStringLower(b);
        static byte[] Hmac(byte[] key, string text) => HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(text));
        var date = now.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var scope = $"{date[..8]}/us-east-1/s3/aws4_request";
        var host = uri.Authority;
        var canonical = $"{method.Method}\n{uri.AbsolutePath}\n\nhost:{host}\nx-amz-content-sha256:{payloadHash}\nx-amz-date:{date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payloadHash}";
        var toSign = $"AWS4-HMAC-SHA256\n{date}\n{scope}\n{Hex(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)))}";
        var key = Hmac(Hmac(Hmac(Hmac(System.Text.Encoding.UTF8.GetBytes("AWS4" + secret), date[..8]), "us-east-1"), "s3"), "aws4_request");
        var signature = Hex(Hmac(key, toSign));
        var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential={id}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}");
        request.Headers.Add("x-amz-content-sha256", payloadHash);
        request.Headers.Add("x-amz-date", date);
        request.Options.Set(new HttpRequestOptionsKey<(byte[] Key, string Scope, string Date, string Seed)>("sig"), (key, scope, date, signature));
        return request;
    }

    /// <summary>An aws-chunked body: each chunk signed, chained from the request's signature.</summary>
    private static byte[] Chunked(byte[] data, int chunkSize, byte[] key, string scope, string date, string seed, int tamperChunk = -1)
    {
        var body = new MemoryStream();
        var previous = seed;
        var empty = Convert.ToHexStringLower(SHA256.HashData([]));
        for (var offset = 0; ; offset += chunkSize)
        {
            var chunk = data.AsSpan(Math.Min(offset, data.Length), Math.Max(0, Math.Min(chunkSize, data.Length - offset))).ToArray();
            var toSign = $"AWS4-HMAC-SHA256-PAYLOAD\n{date}\n{scope}\n{previous}\n{empty}\n{Convert.ToHexStringLower(SHA256.HashData(chunk))}";
            previous = Convert.ToHexStringLower(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(toSign)));
            if (offset / chunkSize == tamperChunk) chunk[0] ^= 1;
            body.Write(System.Text.Encoding.ASCII.GetBytes($"{chunk.Length:x};chunk-signature={previous}\r\n"));
            body.Write(chunk);
            body.Write("\r\n"u8);
            if (chunk.Length == 0) return body.ToArray();
        }
    }

    [Fact]
    public async Task BodiesAreCheckedAgainstTheirSignedHashesAndChunkSignatures()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        client.Files.CreateRepo("raw");
        client.Files.CreateBranch("raw", "master");
        var (id, secret) = Split(server.AdminToken);
        using var http = server.Http();
        var uri = new Uri(server.Uri, "s3/master.raw/dir/file.bin");
        int Commits() => client.Files.ListCommits("raw").Count;
        async Task<(HttpStatusCode Status, string Body)> Send(HttpRequestMessage request)
        {
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var hello = "hello"u8.ToArray();
        var helloHash = Convert.ToHexStringLower(SHA256.HashData(hello));
        Assert.Equal(HttpStatusCode.OK, (await Send(Signed(HttpMethod.Put, uri, id, secret, helloHash, DateTime.UtcNow, new ByteArrayContent(hello)))).Status);
        Assert.Equal(1, Commits());
        var mismatch = await Send(Signed(HttpMethod.Put, uri, id, secret, helloHash, DateTime.UtcNow, new ByteArrayContent("other"u8.ToArray())));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.Status);
        Assert.Contains("<Code>XAmzContentSHA256Mismatch</Code>", mismatch.Body);
        Assert.Equal(1, Commits());

        var skewed = await Send(Signed(HttpMethod.Get, new Uri(server.Uri, "s3/"), id, secret, SigV4Empty, DateTime.UtcNow.AddMinutes(-20), null));
        Assert.Equal(HttpStatusCode.Forbidden, skewed.Status);
        Assert.Contains("<Code>RequestTimeTooSkewed</Code>", skewed.Body);
        Assert.Equal(HttpStatusCode.OK, (await Send(Signed(HttpMethod.Get, new Uri(server.Uri, "s3/"), id, secret, SigV4Empty, DateTime.UtcNow.AddMinutes(-10), null))).Status);

        // More than the API's 16 MiB argument limit in one PutObject, in signed 1 MiB chunks.
        var big = Random((17 << 20) + 5, 9);
        HttpRequestMessage Streaming(int tamper)
        {
            var request = Signed(HttpMethod.Put, uri, id, secret, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", DateTime.UtcNow, null);
            request.Options.TryGetValue(new HttpRequestOptionsKey<(byte[] Key, string Scope, string Date, string Seed)>("sig"), out var sig);
            request.Content = new ByteArrayContent(Chunked(big, 1 << 20, sig.Key, sig.Scope, sig.Date, sig.Seed, tamper));
            request.Content.Headers.ContentEncoding.Add("aws-chunked");
            request.Headers.Add("x-amz-decoded-content-length", big.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return request;
        }
        var tampered = await Send(Streaming(tamper: 7));
        Assert.Equal(HttpStatusCode.Forbidden, tampered.Status);
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", tampered.Body);
        Assert.Equal(1, Commits());
        var put = await Send(Streaming(tamper: -1));
        Assert.Equal(HttpStatusCode.OK, put.Status);
        Assert.Equal(2, Commits());
        using var s3 = Client(server, server.AdminToken);
        Assert.Equal(big, await Get(s3, "master.raw", "dir/file.bin"));
    }

    private static readonly string SigV4Empty = Convert.ToHexStringLower(SHA256.HashData([]));
}
