using System.Text.Json;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Remote;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>
/// Pachyderm's egress (issue 18, item 3): after each successful job the output commit's changes since the last egress
/// go to an S3 prefix or a folder; a last failed try ends the job EgressFailed and keeps its commit.
/// </summary>
public sealed class EgressTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "pachps-egress-" + Guid.NewGuid().ToString("N")[..12]);

    public EgressTests() => Directory.CreateDirectory(_scratch);

    public void Dispose()
    {
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    /// <summary>A pipeline copying its input repo's files (one datum over the whole repo) to its output, with an egress.</summary>
    private static PipelineSpec CopySpec(string name, string repo, string egress) => PipelineSpec.Parse($$"""
        {
          "pipeline": { "name": "{{name}}" },
          "transform": { "cmd": [ "sh" ], "stdin": [ "cp -r /pfs/{{repo}}/. /pfs/out/" ] },
          "input": { "pfs": { "repo": "{{repo}}", "glob": "/" } },
          "egress": {{egress}}
        }
        """);

    private static async Task<JobInfo> NewestJob(TempStore t, string pipeline, string? after = null)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var jobs = t.Store.Pps.ListJobs(pipeline);
            if (jobs.Count > 0 && jobs[0].JobId != after) return await t.Store.Pps.WaitJobAsync(jobs[0].JobId, Timeout, CancellationToken.None);
            Assert.True(DateTime.UtcNow < deadline, "no new job");
            await Task.Delay(50);
        }
    }

    /// <summary>Every file under a folder, by its path relative to it ("dir/c.txt"), with its text.</summary>
    /// <summary>
    /// A pipeline "copy" over repo "in" (one file) whose egress folder cannot be made (a file is in the way): its first
    /// try fails and the next waits 30 s. Returns that file.
    /// </summary>
    private string StartStuckEgress(TempStore t)
    {
        t.Store.Pps.EgressRetry.FirstDelay = TimeSpan.FromSeconds(30);
        var blocker = Path.Combine(_scratch, "blocker");
        File.WriteAllText(blocker, "in the way");
        t.Pfs.CreateRepo("in");
        t.Put("in", "a.txt", "one");
        t.Store.Pps.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "file://{{blocker}}/reports"}"""));
        return blocker;
    }

    private static Dictionary<string, string> Files(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText);

    // ---------------------------------------------------------------- the spec

    [Theory]
    [InlineData("""{"URL": "s3://reports/latest/"}""", "s3", "reports", "latest/", null)]
    [InlineData("""{"URL": "s3://reports"}""", "s3", "reports", "", null)]
    [InlineData("""{"objectStorage": {"url": "s3://reports/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1"}}""", "s3", "reports", "a/b/", "http://127.0.0.1:9000")]
    [InlineData("""{"object_storage": {"url": "s3://my.bucket-1/x?endpoint=minio:9000&disableSSL=true"}}""", "s3", "my.bucket-1", "x/", "http://minio:9000")]
    [InlineData("""{"URL": "file:///srv/reports/latest/"}""", "file", "", "", null)]
    [InlineData("""{"URL": "file://localhost/srv/reports"}""", "file", "", "", null)]
    public void EgressUrlsAreRead(string egress, string scheme, string bucket, string prefix, string? endpoint)
    {
        var spec = CopySpec("p", "in", egress);
        Assert.NotNull(spec.Egress);
        Assert.DoesNotContain(spec.NotImplemented, n => n.Field.StartsWith("egress", StringComparison.Ordinal));
        if (scheme == "s3")
        {
            Assert.Equal(EgressKind.S3, spec.Egress.Kind);
            Assert.Equal(bucket, spec.Egress.Bucket);
            Assert.Equal(prefix, spec.Egress.Prefix);
            Assert.Equal(endpoint, spec.Egress.Endpoint);
        }
        else
        {
            Assert.Equal(EgressKind.Folder, spec.Egress.Kind);
            Assert.StartsWith("/srv/reports", spec.Egress.Folder);
            Assert.False(spec.Egress.Folder.EndsWith('/'));
        }
    }

    [Theory]
    [InlineData("""{"URL": "reports/latest"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://Bad_Bucket/x"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://bucket/a//b"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://bucket/a/../b"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://bucket/x?endpoint=ftp://host"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://bucket/x?color=blue"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "file://relative/folder"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "file:///"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "file:///srv/a%00b"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "file:///srv/../etc"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "ftp://host/x"}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "s3://a-bucket/x", "object_storage": {"url": "s3://b-bucket/x"}}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{}""", "PipelineSpecInvalidEgress")]
    [InlineData("""{"URL": "gs://bucket/x"}""", "PipelineSpecUnsupportedEgress")]
    [InlineData("""{"sql_database": {"url": "snowflake://user@host/db"}}""", "PipelineSpecUnsupportedEgress")]
    [InlineData("""{"sqlDatabase": {"url": "snowflake://user@host/db"}}""", "PipelineSpecUnsupportedEgress")]
    public void BadEgressIsRefusedWithItsId(string egress, string id)
    {
        var ex = Assert.Throws<PachException>(() => CopySpec("p", "in", egress));
        Assert.Equal(id, ex.ErrorId);
        Assert.Contains("'p'", ex.Message);
    }

    [Fact]
    public void AStoredSpecWithAnEgressPachPSCannotUseReadsBackWithout()
    {
        // Stored when egress was not implemented (a warning then): read back, it has none instead of failing to load.
        var json = """{"pipeline": {"name": "p"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "in", "glob": "/"}}, "egress": {"URL": "gs://b/x"}}""";
        Assert.Null(PipelineSpec.Load(json).Egress);
    }

    [Fact]
    public void BadEgressChangesNothingInTheStore()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        t.Put("in", "a.txt", "a");
        var good = t.Store.Pps.CreatePipeline(CopySpec("p", "in", $$"""{"URL": "file://{{_scratch}}/out"}"""));
        Assert.Throws<PachException>(() => t.Store.Pps.UpdatePipeline(CopySpec("p", "in", """{"URL": "file://nope"}"""), reprocess: false));
        Assert.Equal(good.Version, t.Store.Pps.GetPipeline("p").Version);
    }

    // ---------------------------------------------------------------- egress to a folder

    [Fact]
    public async Task FolderEgressSendsOnlyTheChangesAndPropagatesDeletions()
    {
        using var t = new TempStore();
        var target = Path.Combine(_scratch, "reports");
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("a.txt", "one"), TempStore.Text("b.txt", "two"), TempStore.Text("dir/c.txt", "three")]);
        t.Store.Pps.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "file://{{target}}/"}"""));

        var first = await NewestJob(t, "copy");
        Assert.Equal(JobState.Success, first.State);
        Assert.NotNull(first.Egress);
        Assert.Equal((3, 0, 11L, 1, (string?)null, ""),
            (first.Egress.FilesUploaded, first.Egress.FilesDeleted, first.Egress.BytesUploaded, first.Egress.Tries, first.Egress.Since, first.Egress.Error));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "one", ["b.txt"] = "two", ["dir/c.txt"] = "three" }, Files(target));

        // A file the next commit leaves unchanged is not sent again: a copy changed at the target stays as it is.
        File.WriteAllText(Path.Combine(target, "dir", "c.txt"), "changed at the target");
        var open = t.Pfs.StartCommit("in", "master");
        t.Pfs.PutFiles("in", open.Commit, [TempStore.Text("a.txt", "ONE"), TempStore.Text("d.txt", "four")]);
        t.Pfs.DeleteFiles("in", open.Commit, ["b.txt"]);
        t.Pfs.FinishCommit("in", open.Commit);
        var third = await NewestJob(t, "copy", first.JobId);
        Assert.Equal(JobState.Success, third.State);
        Assert.Equal((2, 1, 7L, first.OutputCommit),
            (third.Egress!.FilesUploaded, third.Egress.FilesDeleted, third.Egress.BytesUploaded, third.Egress.Since));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "ONE", ["d.txt"] = "four", ["dir/c.txt"] = "changed at the target" }, Files(target));

        // Removing a folder's last file removes the folder at the target.
        t.Pfs.DeleteFiles("in", "master", ["dir/c.txt"]);
        var fourth = await NewestJob(t, "copy", third.JobId);
        Assert.Equal(JobState.Success, fourth.State);
        Assert.Equal((0, 1, third.OutputCommit), (fourth.Egress!.FilesUploaded, fourth.Egress.FilesDeleted, fourth.Egress.Since));
        Assert.False(Directory.Exists(Path.Combine(target, "dir")));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "ONE", ["d.txt"] = "four" }, Files(target));
        Assert.Contains(t.Store.Pps.GetLogs(null, fourth.JobId, null), l => l.Stream == LogStreams.Egress && l.Message.Contains("1 deleted"));
    }

    [Fact]
    public async Task AFailedEgressEndsTheJobEgressFailedAndKeepsItsCommit()
    {
        using var t = new TempStore();
        t.Store.Pps.EgressRetry.FirstDelay = TimeSpan.FromMilliseconds(20);
        t.Store.Pps.EgressRetry.Tries = 3;
        // A file where the egress folder's parent should be: nothing can be written there.
        var blocker = Path.Combine(_scratch, "blocker");
        File.WriteAllText(blocker, "in the way");
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("a.txt", "one"), TempStore.Text("b.txt", "two")]);
        t.Store.Pps.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "file://{{blocker}}/reports"}"""));
        // Downstream of the pipeline: it reads the commit whatever its egress did.
        t.Store.Pps.CreatePipeline(CopySpec("after", "copy", "null"));

        var job = await NewestJob(t, "copy");
        Assert.Equal(JobState.EgressFailed, job.State);
        Assert.True(job.IsFinished);
        Assert.StartsWith("EgressFailed: ", job.Reason);
        Assert.Contains("3 tries", job.Reason);
        Assert.Equal(3, job.Egress!.Tries);
        Assert.StartsWith("EgressTargetUnavailable", job.Egress.Error);
        Assert.Equal(3, t.Store.Pps.GetLogs(null, job.JobId, null).Count(l => l.Stream == LogStreams.Egress && l.Message.Contains("failed:")));
        // The output commit stays, finished, as the output branch's head, and the pipeline downstream runs on it.
        var commit = t.Pfs.GetCommit("copy", "master");
        Assert.Equal(job.OutputCommit, commit.Commit);
        Assert.True(commit.IsFinished);
        Assert.Equal("two", t.Read("copy", "master", "b.txt"));
        var downstream = await NewestJob(t, "after");
        Assert.Equal(JobState.Success, downstream.State);
        Assert.Equal("one", t.Read("after", "master", "a.txt"));

        // With the way clear, the next job sends everything: nothing was egressed to compare with.
        File.Delete(blocker);
        t.Put("in", "c.txt", "three");
        var next = await NewestJob(t, "copy", job.JobId);
        Assert.Equal(JobState.Success, next.State);
        Assert.Null(next.Egress!.Since);
        Assert.Equal(3, next.Egress.FilesUploaded);
        Assert.Equal(3, Files(Path.Combine(blocker, "reports")).Count);
    }

    [Fact]
    public async Task AnEgressInterruptedByClosingTheStoreResumesWhenItIsOpened()
    {
        using var t = new TempStore();
        var blocker = StartStuckEgress(t);
        var deadline = DateTime.UtcNow + Timeout;
        JobInfo job;
        while ((job = t.Store.Pps.ListJobs("copy").FirstOrDefault()!) is null || !t.Store.Pps.GetLogs(null, job.JobId, null).Any(l => l.Stream == LogStreams.Egress))
        {
            Assert.True(DateTime.UtcNow < deadline, "the first egress try did not fail");
            await Task.Delay(50);
        }
        Assert.Equal(JobState.Egressing, t.Store.Pps.GetJob(job.JobId).State);
        Assert.Equal(job.OutputCommit, t.Pfs.GetCommit("copy", "master").Commit);

        File.Delete(blocker);
        t.Reopen();
        var resumed = await t.Store.Pps.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);
        Assert.Equal(JobState.Success, resumed.State);
        Assert.Equal(1, resumed.Egress!.FilesUploaded);
        Assert.Equal("one", File.ReadAllText(Path.Combine(blocker, "reports", "a.txt")));
    }

    [Fact]
    public async Task StoppingAnEgressingJobKeepsItsCommitAndLeavesDownstreamRunnable()
    {
        using var t = new TempStore();
        var blocker = StartStuckEgress(t);
        t.Store.Pps.CreatePipeline(CopySpec("after", "copy", "null"));
        var deadline = DateTime.UtcNow + Timeout;
        JobInfo? job;
        while ((job = t.Store.Pps.ListJobs("copy").FirstOrDefault()) is null || job.State != JobState.Egressing)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job never egressed");
            await Task.Delay(50);
        }
        var stopped = t.Store.Pps.StopJob(job.JobId);
        Assert.Equal(JobState.Killed, stopped.State);
        Assert.Contains("during egress", stopped.Reason);
        Assert.Equal(job.OutputCommit, t.Pfs.GetCommit("copy", "master").Commit);
        var downstream = await NewestJob(t, "after");
        Assert.Equal(JobState.Success, downstream.State);
    }

    // ---------------------------------------------------------------- through a server

    [Fact]
    public async Task TheEgressResultCrossesTheApi()
    {
        using var server = new TestServer();
        using var client = server.Connect();
        var target = Path.Combine(_scratch, "remote");
        client.Files.CreateRepo("in");
        client.Files.PutFiles("in", "master", [TempStore.Text("a.txt", "one")]);
        client.Pipelines.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "file://{{target}}"}"""));
        JobInfo? job = null;
        var deadline = DateTime.UtcNow + Timeout;
        while (job is null)
        {
            job = client.Pipelines.ListJobs("copy").FirstOrDefault();
            Assert.True(DateTime.UtcNow < deadline, "no job");
            await Task.Delay(50);
        }
        job = await client.Pipelines.WaitJobAsync(job.JobId, Timeout, CancellationToken.None);
        Assert.Equal(JobState.Success, job.State);
        Assert.Equal(new EgressInfo($"file://{target}", null, 1, 0, 3, 1, ""), job.Egress);
        Assert.Equal("one", File.ReadAllText(Path.Combine(target, "a.txt")));

        // And a bad egress is refused by the server with the same id, nothing created.
        var bad = CopySpec("other", "in", """{"URL": "file:///tmp/x"}""") with
        {
            Json = """{"pipeline": {"name": "other"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "in", "glob": "/"}}, "egress": {"URL": "s3://Bad_Bucket"}}""",
            Text = "",
        };
        Assert.Equal("PipelineSpecInvalidEgress", Assert.Throws<PachException>(() => client.Pipelines.CreatePipeline(bad)).ErrorId);
        Assert.DoesNotContain(client.Pipelines.ListPipelines(), p => p.Name == "other");
        Assert.DoesNotContain(client.Files.ListRepos(), r => r.Name == "other");
    }

    [Fact]
    public void EgressInfoRoundTripsThroughTheWire()
    {
        var job = new JobInfo("j", "p", 1, "c", "master", JobState.EgressFailed, "EgressFailed: x", DateTimeOffset.UtcNow, null, null,
            1, 1, 0, 0, 0, 0, 0, 0, []) { Egress = new EgressInfo("s3://b/p/", "abc", 2, 1, 10, 4, "ObjectStoreUnavailable: down") };
        var back = JsonSerializer.Deserialize<JobInfo>(JsonSerializer.Serialize(job, Wire.Options), Wire.Options)!;
        Assert.Equal(job.Egress, back.Egress);
        Assert.Equal(JobState.EgressFailed, back.State);
    }

    // ---------------------------------------------------------------- egress to S3

    [SkippableFact]
    public async Task S3EgressSendsTheChangesWithTheStoresCredentials()
    {
        using var t = new TempStore(TempStore.S3);
        var prefix = "unit-egress/" + Guid.NewGuid().ToString("N")[..12];
        using var bucket = new S3ObjectStore(new S3Settings(S3Server.Bucket, S3Server.Endpoint, null, prefix), S3Server.Credentials);
        try
        {
            t.Pfs.CreateRepo("in");
            var large = TempStore.RandomBytes(17 * 1024 * 1024, 7);
            t.Pfs.PutFiles("in", "master", [TempStore.Text("a.txt", "one"), TempStore.Text("dir/b.txt", "two"), TempStore.Bytes("large.bin", large)]);
            // No endpoint in the URL: the store's S3 server and credentials.
            t.Store.Pps.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "s3://{{S3Server.Bucket}}/{{prefix}}/"}"""));
            var first = await NewestJob(t, "copy");
            Assert.Equal(JobState.Success, first.State);
            Assert.Equal((3, 0), (first.Egress!.FilesUploaded, first.Egress.FilesDeleted));
            Assert.Equal(["a.txt", "dir/b.txt", "large.bin"], bucket.List("").Order(StringComparer.Ordinal));
            Assert.Equal("two", System.Text.Encoding.UTF8.GetString(bucket.Get("dir/b.txt")));
            Assert.Equal(large, bucket.Get("large.bin"));

            t.Pfs.DeleteFiles("in", "master", ["dir/b.txt"]);
            var second = await NewestJob(t, "copy", first.JobId);
            Assert.Equal(JobState.Success, second.State);
            Assert.Equal((0, 1, first.OutputCommit), (second.Egress!.FilesUploaded, second.Egress.FilesDeleted, second.Egress.Since));
            Assert.Equal(["a.txt", "large.bin"], bucket.List("").Order(StringComparer.Ordinal));
        }
        finally { bucket.DeleteMany(bucket.List("").ToList()); }
    }

    [SkippableFact]
    public async Task S3EgressToABucketThatDoesNotExistFailsTheEgressNotTheCommit()
    {
        using var t = new TempStore(TempStore.S3);
        t.Store.Pps.EgressRetry.FirstDelay = TimeSpan.FromMilliseconds(20);
        t.Store.Pps.EgressRetry.Tries = 2;
        t.Pfs.CreateRepo("in");
        t.Put("in", "a.txt", "one");
        // The store's own endpoint, written out: still its credentials. The bucket is not made.
        var missing = "pachps-no-such-" + Guid.NewGuid().ToString("N")[..8];
        t.Store.Pps.CreatePipeline(CopySpec("copy", "in", $$"""{"URL": "s3://{{missing}}/x?endpoint={{S3Server.Endpoint}}"}"""));
        var job = await NewestJob(t, "copy");
        Assert.Equal(JobState.EgressFailed, job.State);
        Assert.Contains("NoSuchBucket", job.Egress!.Error);
        Assert.Equal(job.OutputCommit, t.Pfs.GetCommit("copy", "master").Commit);
        using var check = new S3ObjectStore(new S3Settings(missing, S3Server.Endpoint), S3Server.Credentials, createBucket: false);
        Assert.Contains("NoSuchBucket", Assert.Throws<PachException>(() => check.List("").ToList()).Message);
    }
}
