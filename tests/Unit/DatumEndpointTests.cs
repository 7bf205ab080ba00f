using System.Diagnostics;
using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.S3Api;

namespace PachPS.Tests.Unit;

/// <summary>
/// Pipelines over S3 (issue 18, item 4): Pachyderm's input.pfs.s3 and s3_out. A datum reads its s3 inputs as buckets of
/// its own S3 endpoint and writes bucket "out", which becomes its output; the endpoint speaks S3 to real clients
/// (AWSSDK.S3 here, the AWS CLI in the pipeline tests) and each datum's key sees only that datum's buckets.
/// </summary>
public sealed class DatumEndpointTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "pachps-s3datum-" + Guid.NewGuid().ToString("N")[..12]);

    public DatumEndpointTests() => Directory.CreateDirectory(_scratch);

    public void Dispose()
    {
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    /// <summary>Repo "data" holding a.txt, dir/b.txt and a 3 MiB file, as the mount a datum with glob "/" gets.</summary>
    private static DatumMount Mount(TempStore t, string name = "data")
    {
        t.Pfs.CreateRepo("data");
        t.Pfs.PutFiles("data", "master", [TempStore.Text("/a.txt", "alpha"), TempStore.Text("/dir/b.txt", "bravo"),
            new FileSource("/big.bin", () => new MemoryStream(TempStore.RandomBytes(3 << 20, 7)), "big.bin")]);
        var commit = t.Pfs.GetCommit("data", "master").Commit;
        var files = t.Pfs.Entries("data", commit).Select(e => new DatumFile(e.Path, e.Content)).ToList();
        return new DatumMount(name, "data", commit, "/", files);
    }

    private static AmazonS3Client Client(DatumGrant grant, string? secret = null) => new(
        new BasicAWSCredentials(grant.Environment["AWS_ACCESS_KEY_ID"], secret ?? grant.Environment["AWS_SECRET_ACCESS_KEY"]),
        new AmazonS3Config { ServiceURL = grant.Environment["S3_ENDPOINT"], ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

    private static async Task<string> Text(AmazonS3Client s3, string bucket, string key)
    {
        using var response = await s3.GetObjectAsync(bucket, key);
        using var reader = new StreamReader(response.ResponseStream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task ADatumListsAndReadsItsInputAndWritesItsOutputBucket()
    {
        using var t = new TempStore();
        using var endpoint = new DatumEndpoint();
        var outFolder = Path.Combine(_scratch, "out");
        using var grant = endpoint.Grant([Mount(t)], t.Pfs.Reader, outFolder);
        using var s3 = Client(grant);

        Assert.Equal(["data", "out"], (await s3.ListBucketsAsync()).Buckets.Select(b => b.BucketName));
        var all = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "data" });
        Assert.Equal(["a.txt", "big.bin", "dir/b.txt"], all.S3Objects.Select(o => o.Key));
        Assert.Equal(3L << 20, all.S3Objects.Single(o => o.Key == "big.bin").Size);
        var top = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "data", Delimiter = "/" });
        Assert.Equal(["a.txt", "big.bin"], top.S3Objects.Select(o => o.Key));
        Assert.Equal(["dir/"], top.CommonPrefixes);
        var paged = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "data", MaxKeys = 2 });
        Assert.True(paged.IsTruncated);
        var rest = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "data", ContinuationToken = paged.NextContinuationToken });
        Assert.Equal(["dir/b.txt"], rest.S3Objects.Select(o => o.Key));

        Assert.Equal("bravo", await Text(s3, "data", "dir/b.txt"));
        using (var range = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "data", Key = "big.bin", ByteRange = new ByteRange(1_000_000, 1_000_009) }))
        {
            var bytes = new byte[10];
            await range.ResponseStream.ReadExactlyAsync(bytes);
            Assert.Equal(TempStore.RandomBytes(3 << 20, 7).AsSpan(1_000_000, 10).ToArray(), bytes);
        }
        Assert.Equal(5, (await s3.GetObjectMetadataAsync("data", "a.txt")).ContentLength);
        var missing = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync("data", "nope.txt"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // The input is read-only; out takes puts, copies from the input, multipart uploads and deletes.
        var refused = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "data", Key = "x", ContentBody = "x" }));
        Assert.Equal("AccessDenied", refused.ErrorCode);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "out", Key = "result/one.txt", ContentBody = "one" });
        await s3.CopyObjectAsync("data", "a.txt", "out", "copied/a.txt");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "out", Key = "gone.txt", ContentBody = "soon gone" });
        await s3.DeleteObjectAsync("out", "gone.txt");
        var big = TempStore.RandomBytes(12 << 20, 11);
        var upload = await s3.InitiateMultipartUploadAsync("out", "parts.bin");
        var etags = new List<PartETag>();
        for (var part = 0; part < 3; part++)
        {
            var length = part < 2 ? 5 << 20 : big.Length - (10 << 20);
            var sent = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "out", Key = "parts.bin", UploadId = upload.UploadId, PartNumber = part + 1,
                InputStream = new MemoryStream(big, part * (5 << 20), length),
            });
            etags.Add(new PartETag(part + 1, sent.ETag));
        }
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "out", Key = "parts.bin", UploadId = upload.UploadId, PartETags = etags });
        Assert.Equal(["copied/a.txt", "parts.bin", "result/one.txt"], (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "out" })).S3Objects.Select(o => o.Key));
        Assert.Equal("one", await Text(s3, "out", "result/one.txt"));

        Assert.Equal("one", File.ReadAllText(Path.Combine(outFolder, "result", "one.txt")));
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(outFolder, "copied", "a.txt")));
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(outFolder, "parts.bin")));
        Assert.False(File.Exists(Path.Combine(outFolder, "gone.txt")));
        var bad = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "out", Key = "a/../../escape", ContentBody = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.False(File.Exists(Path.Combine(_scratch, "escape")));
    }

    [Fact]
    public async Task EachDatumSeesOnlyItsOwnBucketsAndItsKeyEndsWithIt()
    {
        using var t = new TempStore();
        using var endpoint = new DatumEndpoint();
        var mount = Mount(t);
        var first = endpoint.Grant([mount], t.Pfs.Reader, outFolder: null);
        using var second = endpoint.Grant([mount with { Name = "other" }], t.Pfs.Reader, Path.Combine(_scratch, "out2"));
        Assert.Equal(second.Environment["S3_ENDPOINT"], first.Environment["S3_ENDPOINT"]);
        Assert.NotEqual(second.AccessKeyId, first.AccessKeyId);
        using var s3 = Client(first);
        using var other = Client(second);

        // Without s3_out there is no out bucket; another datum's bucket names are unknown here.
        Assert.Equal(["data"], (await s3.ListBucketsAsync()).Buckets.Select(b => b.BucketName));
        Assert.Equal("NoSuchBucket", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "out", Key = "x", ContentBody = "x" }))).ErrorCode);
        Assert.Equal("NoSuchBucket", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => other.GetObjectAsync("data", "a.txt"))).ErrorCode);
        Assert.Equal("alpha", await Text(other, "other", "a.txt"));

        using (var wrong = Client(first, secret: "not-the-secret"))
            Assert.Equal("SignatureDoesNotMatch", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => wrong.ListBucketsAsync())).ErrorCode);

        first.Dispose();
        Assert.Equal("InvalidAccessKeyId", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListBucketsAsync())).ErrorCode);
        Assert.Equal("alpha", await Text(other, "other", "a.txt"));
    }

    [Fact]
    public void PachpsDatumS3AddressMakesTheEndpointReachableFromElsewhere()
    {
        using (var local = DatumEndpoint.FromAddress(null)) Assert.Equal("127.0.0.1", local.Address.Host);
        var port = FreePort();
        using (var shared = DatumEndpoint.FromAddress($"localhost:{port}"))
        {
            Assert.Equal(new Uri($"http://localhost:{port}"), shared.Address);
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect(IPAddress.Loopback, port); // listening on every interface, loopback included
        }
        foreach (var bad in new[] { "host:0", "host:x", "host:70000", "bad host:80" })
            Assert.Equal("DatumS3AddressInvalid", Assert.Throws<PachException>(() => DatumEndpoint.FromAddress(bad)).ErrorId);
    }

    private static int FreePort()
    {
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    // ---------------------------------------------------------------- the spec

    private static string Spec(string input, string extra = "") => $$"""
        { "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ] }, "input": {{input}} {{extra}} }
        """;

    [Fact]
    public void S3InputsAndOutputAreReadFromTheSpec()
    {
        var spec = PipelineSpec.Parse(Spec("""{ "cross": [ { "pfs": { "repo": "a", "glob": "/", "s3": true } }, { "pfs": { "repo": "b", "glob": "/*" } } ] }""", """, "s3_out": true"""));
        Assert.True(spec.S3Out);
        Assert.Equal([true, false], spec.Input.Leaves().Select(l => l.S3));
        Assert.True(spec.UsesS3Endpoint);
        Assert.DoesNotContain(spec.NotImplemented, n => n.Field.Contains("s3", StringComparison.Ordinal));
        Assert.False(PipelineSpec.Parse(Spec("""{ "pfs": { "repo": "a", "glob": "/*" } }""")).UsesS3Endpoint);
    }

    [Fact]
    public void AContainerOfAnS3PipelineIsOnTheHostNetworkUnlessTheSpecNamesOne()
    {
        var s3 = PipelineSpec.Parse(Spec("""{ "pfs": { "repo": "a", "glob": "/", "s3": true } }"""));
        Assert.Equal("host", s3.Transform.Network);
        var named = PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ], "pachps_network": "bridge" }, "input": { "pfs": { "repo": "a", "glob": "/*" } }, "s3_out": true }
            """);
        Assert.Equal("bridge", named.Transform.Network);
        Assert.Null(PipelineSpec.Parse(Spec("""{ "pfs": { "repo": "a", "glob": "/*" } }""")).Transform.Network);
    }

    [Theory]
    [InlineData("""{ "pfs": { "repo": "a", "glob": "/*", "s3": true } }""", "", "glob must be '/'")]
    [InlineData("""{ "pfs": { "repo": "a", "glob": "/", "s3": true, "lazy": true } }""", "", "s3 and lazy")]
    [InlineData("""{ "pfs": { "repo": "a", "glob": "/", "s3": true, "empty_files": true } }""", "", "s3 and empty_files")]
    [InlineData("""{ "union": [ { "pfs": { "repo": "a", "glob": "/", "s3": true } }, { "pfs": { "repo": "b", "glob": "/" } } ] }""", "", "in a union")]
    [InlineData("""{ "join": [ { "pfs": { "repo": "a", "glob": "/", "s3": true, "join_on": "$1" } }, { "pfs": { "repo": "b", "glob": "/(*)", "join_on": "$1" } } ] }""", "", "in a join")]
    [InlineData("""{ "group": [ { "pfs": { "repo": "a", "glob": "/", "s3": true, "group_by": "$1" } } ] }""", "", "in a group")]
    [InlineData("""{ "pfs": { "repo": "a", "name": "out", "glob": "/", "s3": true } }""", """, "s3_out": true""", "named 'out'")]
    public void S3InputsPachydermRefusesAreRefused(string input, string extra, string why)
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.Parse(Spec(input, extra)));
        Assert.Equal("PipelineSpecInvalidS3", ex.ErrorId);
        Assert.Contains(why, ex.Message);
    }

    [Fact]
    public void SpoutsAndBatchWorkersCannotUseS3()
    {
        var spout = Assert.Throws<PachException>(() => PipelineSpec.Parse("""{ "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ] }, "spout": {}, "s3_out": true }"""));
        Assert.Equal("PipelineSpecInvalidS3", spout.ErrorId);
        var batching = Assert.Throws<PachException>(() => PipelineSpec.Parse(
            """{ "pipeline": { "name": "p" }, "transform": { "cmd": [ "true" ], "datum_batching": true }, "input": { "pfs": { "repo": "a", "glob": "/", "s3": true } } }"""));
        Assert.Equal("PipelineSpecInvalidS3", batching.ErrorId);
    }

    // ---------------------------------------------------------------- pipelines

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    [SkippableFact]
    public async Task APipelineReadsItsS3InputAndWritesS3OutWithTheAwsCli()
    {
        Skip.If(Which("aws") is null, "The AWS CLI is not installed (apt-get install -y awscli).");
        using var t = new TempStore();
        t.Pfs.CreateRepo("labresults");
        t.Pfs.PutFiles("labresults", "master", [TempStore.Text("/a.txt", "alpha"), TempStore.Text("/dir/b.txt", "bravo")]);
        t.Pfs.CreateRepo("names");
        t.Put("names", "/x", "x");
        t.Put("names", "/y", "y");
        // Crossed with a file input: one datum per file of names, each with the whole labresults commit as a bucket.
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            {
              "pipeline": { "name": "copy" },
              "input": { "cross": [ { "pfs": { "repo": "labresults", "glob": "/", "s3": true } }, { "pfs": { "repo": "names", "glob": "/*" } } ] },
              "transform": { "cmd": [ "sh" ], "stdin": [
                "set -e",
                "export AWS_DEFAULT_REGION=us-east-1",
                "n=$(basename /pfs/names/*)",
                "aws --endpoint-url \"$S3_ENDPOINT\" s3 cp s3://labresults/dir/b.txt - | aws --endpoint-url \"$S3_ENDPOINT\" s3 cp - s3://out/$n/b.txt",
                "aws --endpoint-url \"$S3_ENDPOINT\" s3 ls | awk '{print $3}' | sort | aws --endpoint-url \"$S3_ENDPOINT\" s3 cp - s3://out/$n/buckets",
                "ls /pfs | aws --endpoint-url \"$S3_ENDPOINT\" s3 cp - s3://out/$n/pfs",
                "echo \"$labresults_COMMIT\" | aws --endpoint-url \"$S3_ENDPOINT\" s3 cp - s3://out/$n/commit"
              ] },
              "s3_out": true
            }
            """));
        var job = await WaitNewest(t, "copy", null);
        Assert.True(job.State == JobState.Success, $"{job.State}: {job.Reason}\n{string.Join('\n', t.Store.Pps.GetLogs("copy", null, null).Select(l => l.Message))}");
        var input = t.Pfs.GetCommit("labresults", "master").Commit;
        foreach (var n in new[] { "x", "y" })
        {
            Assert.Equal("bravo", Read(t, "copy", $"/{n}/b.txt"));
            Assert.Equal("labresults\nout\n", Read(t, "copy", $"/{n}/buckets"));
            Assert.Equal("names\n", Read(t, "copy", $"/{n}/pfs")); // no /pfs/out and no /pfs/labresults
            Assert.Equal(input + "\n", Read(t, "copy", $"/{n}/commit"));
        }
        // Provenance: the output commit names the S3 input's commit like any other input's.
        Assert.Contains(t.Store.Pfs.GetCommit("copy", "master").Provenance, p => p.Repo == "labresults" && p.Commit == input);

        // A new file in names runs one new datum; the two others are skipped, their outputs kept.
        t.Put("names", "/z", "z");
        job = await WaitNewest(t, "copy", job.JobId);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(1, job.Processed);
        Assert.Equal(2, job.Skipped);
        Assert.Equal("bravo", Read(t, "copy", "/z/b.txt"));
        Assert.Equal("bravo", Read(t, "copy", "/x/b.txt"));
    }

    [SkippableFact]
    public async Task ARetriedDatumStartsFromAnEmptyOutBucket()
    {
        Skip.If(Which("aws") is null, "The AWS CLI is not installed (apt-get install -y awscli).");
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "/a", "a");
        var marker = Path.Combine(_scratch, "tried");
        // The first try writes a file to out and fails; the second writes another and succeeds.
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse($$"""
            {
              "pipeline": { "name": "retry" },
              "input": { "pfs": { "repo": "in", "glob": "/", "s3": true } },
              "transform": { "cmd": [ "sh" ], "stdin": [
                "export AWS_DEFAULT_REGION=us-east-1",
                "if [ ! -e {{marker}} ]; then touch {{marker}}; echo bad | aws --endpoint-url $S3_ENDPOINT s3 cp - s3://out/first; exit 1; fi",
                "echo good | aws --endpoint-url $S3_ENDPOINT s3 cp - s3://out/second"
              ] },
              "datum_tries": 2,
              "s3_out": true
            }
            """));
        var job = await WaitNewest(t, "retry", null);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(["/second"], t.Pfs.Entries("retry", "master").Select(e => e.Path));
    }

    private static string Read(TempStore t, string repo, string path)
    {
        var (_, content) = t.Pfs.OpenFile(repo, "master", path);
        using var reader = new StreamReader(content, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static async Task<JobInfo> WaitNewest(TempStore t, string pipeline, string? after)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var jobs = t.Store.Pps.ListJobs(pipeline);
            if (jobs.Count > 0 && jobs[0].JobId != after) return await t.Store.Pps.WaitJobAsync(jobs[0].JobId, TimeSpan.FromSeconds(120), CancellationToken.None);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no new job");
            await Task.Delay(50);
        }
    }
}
