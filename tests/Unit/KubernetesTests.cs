using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using PachPS.Engine;
using PachPS.Engine.Execution;
using PachPS.Engine.Execution.Kubernetes;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>
/// The Kubernetes executor's fast tier: the Job it builds, and its watch loop against an in-process fake API server
/// (dropped streams, 410 Gone, malformed events, 409 on create, 404 on delete). The real tier (a real API server and
/// Job controller) runs from Pester: tests/Pester/Kubernetes.Tests.ps1 and the tutorial suite.
/// </summary>
public sealed class KubernetesTests : IAsyncLifetime
{
    private readonly FakeKubernetesApi _api = new();
    private readonly MemoryObjects _objects = new();
    private KubernetesExecutor _executor = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "pachps-k8s-unit-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync()
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        _executor = new KubernetesExecutor(client, "default", KubernetesSettings.DefaultHelperImage, _objects);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _executor.Dispose();
        await _api.DisposeAsync();
        if (Directory.Exists(_work)) Directory.Delete(_work, recursive: true);
    }

    private DatumRequest Request(string datum = "d1d1d1d1d1d1d1d1d1d1") =>
        new("j0b0j0b0j0b0j0b0aaaa", datum, "my_pipe", "out0", new TransformSpec("python:3", ["python", "run.py"], ["line one", "line 2"],
            new Dictionary<string, string> { ["MODE"] = "fast" }, null, [3]),
            [new DatumMount("in", "raw", "c0ffee", "/a.txt", [new DatumFile("/a.txt", new FileContent(5, "h", [new ChunkRef("h1", "pack/p1", 100, 3), new ChunkRef("h2", "chunk/c2", 0, 2)]))])],
            Path.Combine(_work, datum)) { Tries = 3, Timeout = TimeSpan.FromSeconds(90) };

    /// <summary>What the pod's upload container would PUT: a tar of /pfs/out.</summary>
    private void Uploaded(DatumRequest request, string file, string content)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_work, "upload-" + Guid.NewGuid().ToString("N")[..6]));
        File.WriteAllText(Path.Combine(folder.FullName, file), content);
        using var tar = new MemoryStream();
        TarFile.CreateFromDirectory(folder.FullName, tar, includeBaseDirectory: false);
        _objects.Put(DatumJob.StagingPrefix(request.JobId, request.DatumId) + "out.tar", tar.ToArray());
    }

    [Fact]
    public void TheJobCarriesTheDatumAndNoCredential()
    {
        var request = Request();
        var manifest = DatumManifest.For(request, key => new Uri("http://s3.test/" + key + "?X-Amz-Signature=abc"));
        var job = DatumJob.Build(request, "curl:1", manifest, null, new Uri("http://s3.test/out.tar?X-Amz-Signature=put"));
        Assert.Equal(DatumJob.Name(request.JobId, request.DatumId), job.Metadata.Name);
        Assert.Equal(2, job.Spec.BackoffLimit);
        Assert.Equal(90, job.Spec.ActiveDeadlineSeconds);
        Assert.Equal("my_pipe", job.Metadata.Labels[DatumJob.PipelineLabel]);
        var pod = job.Spec.Template.Spec;
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Equal(["fetch", "transform"], pod.InitContainers.Select(c => c.Name));
        Assert.Equal("upload", pod.Containers.Single().Name);
        var transform = pod.InitContainers[1];
        Assert.Equal("python:3", transform.Image);
        // The user's command is passed as arguments to a fixed script, never spliced into a shell string.
        Assert.Equal(["sh", "-c", DatumJob.TransformScript, "pachps-transform", "python", "run.py"], transform.Command);
        var env = transform.Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("/pfs/in/a.txt", env["in"]);
        Assert.Equal("c0ffee", env["in_COMMIT"]);
        Assert.Equal("fast", env["MODE"]);
        Assert.Equal("/pfs/out", env["PACH_OUT"]);
        Assert.Equal("3", env["PACH_ACCEPT_RETURN_CODE"]);
        var fetchEnv = pod.InitContainers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("line one\nline 2", fetchEnv["PACH_STDIN"]);
        Assert.Equal(["d\tin", "f\tin/a.txt", "c\tin/a.txt\t100-102\thttp://s3.test/pack/p1?X-Amz-Signature=abc", "c\tin/a.txt\t0-1\thttp://s3.test/chunk/c2?X-Amz-Signature=abc"],
            fetchEnv["PACH_MANIFEST"].TrimEnd('\n').Split('\n'));
        var all = KubernetesJson.Serialize(job);
        Assert.DoesNotContain("AccessKey", all, StringComparison.OrdinalIgnoreCase);
        Assert.All(pod.InitContainers.Concat(pod.Containers), c => Assert.Equal("/pfs", c.VolumeMounts.Single().MountPath));
    }

    [Fact]
    public void ABatchJobCarriesEveryDatumAndServesThemOneByOne()
    {
        var batch = new[] { Request("aaaaaaaaaaaaaaaa0001"), Request("bbbbbbbbbbbbbbbb0002") };
        var manifest = DatumManifest.ForBatch(batch, key => new Uri("http://s3.test/" + key));
        var lines = manifest.TrimEnd('\n').Split('\n');
        Assert.Contains("t\t.pachps/ids/1\tbbbbbbbbbbbbbbbb0002", lines);
        Assert.Contains("t\t.pachps/envs/0\tin='/pfs/in/a.txt'", lines);
        Assert.Contains("d\t.pachps/datums/1/in", lines);
        Assert.Contains("c\t.pachps/datums/0/in/a.txt\t100-102\thttp://s3.test/pack/p1", lines);
        var job = DatumJob.Build(batch[0], "curl:1", manifest, null, new Uri("http://s3.test/put"), batch);
        Assert.Equal(DatumJob.BatchName(batch[0].JobId, batch[0].DatumId), job.Metadata.Name);
        Assert.Equal("true", job.Metadata.Labels[DatumJob.BatchLabel]);
        Assert.Equal(0, job.Spec.BackoffLimit); // failed datums go back to the queue instead
        Assert.Equal(180, job.Spec.ActiveDeadlineSeconds); // datum_timeout for each datum of the batch
        var transform = job.Spec.Template.Spec.InitContainers[1];
        Assert.Equal(["sh", "-c", DatumJob.BatchScript, "pachps-batch", "python", "run.py"], transform.Command);
        Assert.DoesNotContain(transform.Env, e => e.Name == "in"); // datum variables come through the protocol's env file
        Assert.Contains(job.Spec.Template.Spec.Containers[0].Env, e => e.Name == "PACH_UPLOAD_DIR" && e.Value == "/pfs/.pachps/result");
    }

    [Fact]
    public void PodFieldsAndPodPatchApply()
    {
        var spec = PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "raw", "glob": "/*" } },
              "resource_requests": { "cpu": 0.5, "memory": "1Gi", "gpu": { "type": "nvidia.com/gpu", "number": 1 } },
              "resource_limits": { "memory": "2Gi" }, "scheduling_spec": { "node_selector": { "disk": "ssd" } },
              "image_pull_secrets": ["regcred"],
              "pod_patch": "[{\"op\": \"add\", \"path\": \"/serviceAccountName\", \"value\": \"pachps-worker\"}, {\"op\": \"replace\", \"path\": \"/restartPolicy\", \"value\": \"Never\"}]" }
            """);
        Assert.Empty(spec.UnknownFields);
        var job = DatumJob.Build(Request() with { Pod = spec.Pod }, "curl:1", "", null, new Uri("http://s3.test/put"));
        var pod = job.Spec.Template.Spec;
        var resources = pod.InitContainers[1].Resources;
        Assert.Equal("500m", resources.Requests["cpu"].ToString());
        Assert.Equal("1Gi", resources.Requests["memory"].ToString());
        Assert.Equal("1", resources.Requests["nvidia.com/gpu"].ToString());
        Assert.Equal("2Gi", resources.Limits["memory"].ToString());
        Assert.Equal("ssd", pod.NodeSelector["disk"]);
        Assert.Equal("regcred", pod.ImagePullSecrets.Single().Name);
        Assert.Equal("pachps-worker", pod.ServiceAccountName);
        var bad = Assert.Throws<PachException>(() => DatumJob.Build(Request() with { Pod = new PodSettings { PodPatch = PodPatch.Parse("""[{"op":"remove","path":"/nope"}]""", "p") } }, "c", "", null, new Uri("http://x")));
        Assert.Equal("PipelineSpecInvalidPodPatch", bad.ErrorId);
        var parse = Assert.Throws<PachException>(() => PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "raw", "glob": "/*" } }, "pod_patch": "{\"op\": 1}" }
            """));
        Assert.Equal("PipelineSpecInvalidPodPatch", parse.ErrorId);
    }

    [Fact]
    public void PodPatchIsCheckedWhenReadAndAppliedInOrder()
    {
        Assert.Equal("PipelineSpecInvalidPodPatch", Assert.Throws<PachException>(() => PodPatch.Parse("""[{"op":"frob","path":"/x"}]""", "p")).ErrorId);
        var patch = PodPatch.Parse("""
            [{"op":"add","path":"/containers/0/env/-","value":{"name":"EXTRA","value":"1"}},
             {"op":"copy","from":"/containers/0/image","path":"/serviceAccountName"},
             {"op":"test","path":"/restartPolicy","value":"Never"}]
            """, "p");
        var pod = DatumJob.Build(Request() with { Pod = new PodSettings { PodPatch = patch } }, "curl:1", "", null, new Uri("http://x")).Spec.Template.Spec;
        Assert.Equal("EXTRA", pod.Containers[0].Env[^1].Name);
        Assert.Equal("curl:1", pod.ServiceAccountName);
        var failed = PodPatch.Parse("""[{"op":"test","path":"/restartPolicy","value":"Always"}]""", "p");
        Assert.Equal("PipelineSpecInvalidPodPatch", Assert.Throws<PachException>(() => DatumJob.Build(Request() with { Pod = new PodSettings { PodPatch = failed } }, "c", "", null, new Uri("http://x"))).ErrorId);
    }

    [Fact]
    public async Task ACompletedJobIsCollectedAndDeleted()
    {
        var request = Request();
        var run = _executor.RunAsync(request, CancellationToken.None);
        var name = DatumJob.Name(request.JobId, request.DatumId);
        await Until(() => _api.Exists(name));
        Uploaded(request, "result.txt", "hello");
        _api.MarkComplete(name);
        var result = await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.Success, result.Reason);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(result.OutputFolder, "result.txt")));
        Assert.False(_api.Exists(name));
        Assert.Empty(_objects.List(DatumJob.StagingPrefix(request.JobId, request.DatumId)));
    }

    [Fact]
    public async Task APodFetchesAChunkOfARewrittenPackFromWhereTheChunkIndexSays()
    {
        // A garbage collection rewrote pack/p1 (the request's tree still names it): the chunk is now at pack/p9, byte 7.
        _executor.RepackedPacks = () => new HashSet<string> { "pack/p1" };
        _executor.Relocate = hash => hash == "h1" ? new ChunkRef("h1", "pack/p9", 7, 3) : null;
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        var created = _api.Created(name)!;
        Assert.Contains("7-9", created);
        Assert.Contains("pack/p9", created);
        Assert.DoesNotContain("pack/p1", created);
        Assert.Contains("chunk/c2", created); // a large chunk is an object of its own and never moves
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name);
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
    }

    [Fact]
    public async Task ALongManifestIsFetchedThroughItsOwnPresignedUrl()
    {
        var files = Enumerable.Range(0, 300).Select(i => new DatumFile($"/f{i:D3}.txt", new FileContent(3, "h", [new ChunkRef("h" + i, "pack/p1", i * 3, 3)]))).ToList();
        var request = Request() with { Inputs = [new DatumMount("in", "raw", "c0ffee", "/", files)] };
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var staging = DatumJob.StagingPrefix(request.JobId, request.DatumId);
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        var created = _api.Created(name)!;
        Assert.Contains("PACH_MANIFEST_URL", created);
        Assert.DoesNotContain("\"PACH_MANIFEST\"", created);
        var manifest = Encoding.UTF8.GetString(_objects.Get(staging + "manifest"));
        Assert.True(manifest.Length > KubernetesExecutor.InlineManifestLimit);
        Assert.Contains("c\tin/f299.txt\t897-899\t", manifest);
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name);
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
        Assert.Empty(_objects.List(staging)); // the manifest and the output tar are removed once collected
    }

    [Fact]
    public async Task AnUploadedLinkIsNotFollowedOnThisMachine()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, leaveOpen: true))
        {
            var file = new PaxTarEntry(TarEntryType.RegularFile, "./ok.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("fine")) };
            await writer.WriteEntryAsync(file);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "./passwd") { LinkName = "/etc/passwd" });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.HardLink, "./hard") { LinkName = "/etc/hostname" });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "../escape.txt") { DataStream = new MemoryStream([1]) });
        }
        _objects.Put("k8s/x/out.tar", tar.ToArray());
        var folder = Directory.CreateDirectory(Path.Combine(_work, "extract")).FullName;
        await TarExtractor.ExtractAsync(_objects, "k8s/x/out.tar", folder, CancellationToken.None);
        Assert.Equal(["ok.txt"], Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(folder, "ok.txt")));
        Assert.False(File.Exists(Path.Combine(_work, "escape.txt")));
    }

    [Fact]
    public async Task AResubmissionFindsTheJobThatExists_409()
    {
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        _api.Seed(name, complete: true);
        Uploaded(request, "r.txt", "from the first submission");
        var result = await _executor.RunAsync(request, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.Success, result.Reason);
        Assert.Contains($"POST {name}", _api.Requests);
        Assert.Equal("from the first submission", File.ReadAllText(Path.Combine(result.OutputFolder, "r.txt")));
    }

    [Fact]
    public async Task AJobAlreadyGoneOnDeleteIsFine_404()
    {
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        _api.DeleteNotFound[name] = true;
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name);
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
        Assert.Contains($"DELETE {name}", _api.Requests);
    }

    [Fact]
    public async Task ADroppedWatchResumesFromTheLastVersionSeen()
    {
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        await _api.WaitForWatchesAsync(1);
        _api.Seed("other", complete: false);
        _api.MarkComplete("other");                 // the last event the first watch sees
        var seen = _api.VersionOf("other");
        await Task.Delay(200);
        _api.DropWatches();
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name);                     // while no watch is open: the resumed watch replays it
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
        Assert.Equal(1, _api.ListCount);
        var second = _api.Requests.Where(r => r.Contains("watch=true")).ElementAt(1);
        Assert.Contains($"resourceVersion={seen}&", second); // the last version seen, not the list's
    }

    [Fact]
    public async Task A410GoneListsAgainAndSeesWhatWasMissed()
    {
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        await _api.WaitForWatchesAsync(1);
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name, announce: false); // the event is lost...
        _api.Send(FakeKubernetesApi.Gone());      // ...and the server says the watch is too old
        _api.DropWatches();
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
        Assert.Equal(2, _api.ListCount);
    }

    [Fact]
    public async Task AMalformedEventIsSkipped()
    {
        var request = Request();
        var name = DatumJob.Name(request.JobId, request.DatumId);
        var run = _executor.RunAsync(request, CancellationToken.None);
        await Until(() => _api.Exists(name));
        await _api.WaitForWatchesAsync(1);
        _api.Send("{this is not json");
        _api.Send("""{"type":"MODIFIED","object":{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"other","resourceVersion":"150"}}}""");
        Uploaded(request, "r.txt", "x");
        _api.MarkComplete(name);
        Assert.True((await run.WaitAsync(TimeSpan.FromSeconds(20))).Success);
        Assert.Equal(1, _api.ListCount);
    }

    [Fact]
    public async Task StoppingDeletesTheJobButClosingTheStoreLeavesIt()
    {
        var stop = new CancellationTokenSource();
        var request = Request("stopstopstopstop0001");
        var run = _executor.RunAsync(request, stop.Token);
        var name = DatumJob.Name(request.JobId, request.DatumId);
        await Until(() => _api.Exists(name));
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.False(_api.Exists(name));

        var closing = new CancellationTokenSource();
        var detached = Request("closeclosecloseclo02") with { Closing = closing.Token };
        var second = _executor.RunAsync(detached, closing.Token);
        var kept = DatumJob.Name(detached.JobId, detached.DatumId);
        await Until(() => _api.Exists(kept));
        closing.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.True(_api.Exists(kept));
    }

    [Fact]
    public void KubernetesNeedsS3()
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        var local = new LocalObjectStore(Path.Combine(_work, "objects"));
        Assert.Equal("KubernetesNeedsS3", Assert.Throws<PachException>(() => new KubernetesExecutor(client, "default", "c", local)).ErrorId);
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition());
    }

    /// <summary>An in-memory object store that hands out (unusable) presigned URLs.</summary>
    private sealed class MemoryObjects : IObjectStore, IPresigningObjectStore
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _data = new();
        public void Put(string key, ReadOnlySpan<byte> data) => _data[key] = data.ToArray();
        public byte[] Get(string key) => _data[key];
        public byte[] GetRange(string key, long offset, int length) => _data[key].AsSpan((int)offset, length).ToArray();
        public bool Exists(string key) => _data.ContainsKey(key);
        public IEnumerable<string> List(string prefix) => _data.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        public void Delete(string key) => _data.TryRemove(key, out _);
        public (long Bytes, long Count) Usage() => (_data.Values.Sum(v => (long)v.Length), _data.Count);
        public bool IsRemote => true;
        public long Requests => 0;
        public string Description => "memory";
        public Uri Presign(string key, bool put, TimeSpan lifetime) => new($"http://s3.test/{key}?verb={(put ? "PUT" : "GET")}");
    }
}
