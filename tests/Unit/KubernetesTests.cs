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
    public void TolerationsAndMetadataFromTheSpecReachTheJobAndItsPods()
    {
        var spec = PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "a", "glob": "/" } },
              "tolerations": [ { "key": "gpu", "operator": "EQUAL", "value": "yes", "effect": "NO_SCHEDULE" },
                               { "operator": "Exists", "effect": "NoExecute", "toleration_seconds": { "value": 30 } } ],
              "metadata": { "labels": { "team": "vision", "app.kubernetes.io/managed-by": "someone-else" }, "annotations": { "owner": "ops@example.org" } } }
            """);
        Assert.Empty(spec.NotImplemented);
        var job = DatumJob.Build(Request() with { Pod = spec.Pod }, "c", "", null, new Uri("http://x"));
        var tolerations = job.Spec.Template.Spec.Tolerations;
        Assert.Equal(("gpu", "Equal", "yes", "NoSchedule", (long?)null), (tolerations[0].Key, tolerations[0].OperatorProperty, tolerations[0].Value, tolerations[0].Effect, tolerations[0].TolerationSeconds));
        Assert.Equal((null, "Exists", "NoExecute", (long?)30), (tolerations[1].Key, tolerations[1].OperatorProperty, tolerations[1].Effect, tolerations[1].TolerationSeconds));
        foreach (var meta in new[] { job.Metadata, job.Spec.Template.Metadata })
        {
            Assert.Equal("vision", meta.Labels["team"]);
            Assert.Equal("pachps", meta.Labels[DatumJob.ManagedBy]); // PachPS's own labels win: its watch finds the Job
            Assert.Equal("ops@example.org", meta.Annotations["owner"]);
        }
        var spout = SpoutJob.Build(Spout() with { Pod = spec.Pod }, "c", new Uri("http://x"), "0123456789", TimeSpan.FromHours(1));
        Assert.Equal(2, spout.Spec.Template.Spec.Tolerations.Count);
        Assert.Equal("vision", spout.Spec.Template.Metadata.Labels["team"]);
        Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "a", "glob": "/" } },
              "tolerations": [ { "operator": "MAYBE" } ] }
            """)).ErrorId);
    }

    [Fact]
    public void SecretsAndUserReachTheTransformContainerByNameOnly()
    {
        var spec = PipelineSpec.Parse("""
            { "pipeline": { "name": "p" }, "input": { "pfs": { "repo": "a", "glob": "/" } },
              "transform": { "cmd": ["true"], "user": "1000:2000",
                             "secrets": [ { "name": "db", "key": "password", "envVar": "DB_PASSWORD" }, { "name": "tls", "mount_path": "/etc/tls" } ] } }
            """);
        Assert.Empty(spec.NotImplemented);
        var job = DatumJob.Build(Request() with { Transform = spec.Transform }, "c", "", null, new Uri("http://x"));
        var pod = job.Spec.Template.Spec;
        var transform = pod.InitContainers[1];
        var variable = transform.Env.Single(e => e.Name == "DB_PASSWORD");
        Assert.Equal(("db", "password", null), (variable.ValueFrom.SecretKeyRef.Name, variable.ValueFrom.SecretKeyRef.Key, variable.Value));
        var mount = transform.VolumeMounts.Single(m => m.MountPath == "/etc/tls");
        Assert.Equal("tls", pod.Volumes.Single(v => v.Name == mount.Name).Secret.SecretName);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal((1000L, 2000L), (transform.SecurityContext.RunAsUser!.Value, transform.SecurityContext.RunAsGroup!.Value));
        Assert.All(pod.InitContainers.Take(1).Concat(pod.Containers), c => Assert.DoesNotContain(c.Env ?? [], e => e.Name == "DB_PASSWORD"));
        foreach (var bad in new[] { "\"user\": \"root\"", "\"secrets\": [ { \"name\": \"db\", \"env_var\": \"X\" } ]", "\"secrets\": [ { \"key\": \"k\" } ]" })
            Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => PipelineSpec.Parse(
                "{ \"pipeline\": { \"name\": \"p\" }, \"input\": { \"pfs\": { \"repo\": \"a\", \"glob\": \"/\" } }, \"transform\": { \"cmd\": [\"true\"], " + bad + " } }")).ErrorId);
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
    public async Task ADatumWhoseInputThePodCannotWriteFailsNamingThePath()
    {
        var request = Request("unwritableunwritable");
        var run = _executor.RunAsync(request, CancellationToken.None);
        var name = DatumJob.Name(request.JobId, request.DatumId);
        await Until(() => _api.Exists(name));
        // What the fetch script writes for a name the pod's file system refuses (see TheFetchScriptNamesAnInputPathTheFileSystemRefuses).
        var path = "in/" + new string('d', 300) + "/a.txt";
        _api.AddPod(name, DatumJob.FetchContainer, 1, $"pachps-unwritable\t{path}\tmkdir: cannot create directory '/pfs/in/{new string('d', 300)}': File name too long \n");
        _api.MarkFailed(name);
        var result = await run.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(result.Success);
        Assert.StartsWith("input file '/pfs/in/" + new string('d', 40), result.Reason);
        Assert.Contains("' cannot be written in the datum's folder (mkdir: cannot create directory", result.Reason);
        Assert.EndsWith("File name too long)", result.Reason);
        Assert.True(result.Reason.Length < 400, result.Reason); // the 300-byte name is abbreviated
        Assert.False(_api.Exists(name));
    }

    [Fact]
    public async Task AJobThatFailedForAnotherReasonKeepsTheJobsOwnReason()
    {
        var request = Request("otherfailureother001");
        var run = _executor.RunAsync(request, CancellationToken.None);
        var name = DatumJob.Name(request.JobId, request.DatumId);
        await Until(() => _api.Exists(name));
        _api.AddPod(name, DatumJob.FetchContainer, 22, "curl: (22) The requested URL returned error: 403\n");
        _api.MarkFailed(name);
        var result = await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(result.Success);
        Assert.StartsWith($"Kubernetes Job {name} failed (BackoffLimitExceeded", result.Reason);
    }

    [Fact]
    public void TheFetchScriptNamesAnInputPathTheFileSystemRefuses()
    {
        Skip.IfNot(File.Exists("/bin/sh"), "needs a POSIX shell");
        // The script as the pod runs it, with its /pfs moved to a folder of the test's.
        var root = Directory.CreateDirectory(Path.Combine(_work, "pod")).FullName;
        (int Code, string Output) Fetch(string manifest)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(root)) if (Directory.Exists(entry)) Directory.Delete(entry, true); else File.Delete(entry);
            var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(DatumJob.FetchScript.Replace("/pfs", root));
            start.Environment["PACH_MANIFEST"] = manifest;
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        var name = new string('d', 300);

        Assert.Equal((0, ""), Fetch("d\tin\nf\tin/sub/a.txt\nt\tin/b.txt\thello\n"));
        Assert.True(File.Exists(Path.Combine(root, "in", "sub", "a.txt")));
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(root, "in", "b.txt")));

        foreach (var manifest in new[] { $"d\tin\nf\tin/{name}/a.txt\n", $"d\tin\nf\tin/{name}\n", $"d\tin/{name}\n", $"t\t.pachps/datums/0/in/{name}\tx\n" })
        {
            var (code, output) = Fetch(manifest);
            Assert.Equal(1, code);
            var reason = DatumJob.UnwritableReason(output.TrimEnd('\n'));
            Assert.NotNull(reason);
            Assert.StartsWith("input file '/pfs/in/" + new string('d', 40), reason);
            Assert.Contains("' cannot be written in the datum's folder (", reason);
            Assert.Contains("too long", reason);
        }
    }

    [Fact]
    public async Task OutputsTheUploadContainerRefusedFailTheDatumWithItsList()
    {
        var request = Request("badbadbadbadbadbad01");
        var run = _executor.RunAsync(request, CancellationToken.None);
        var name = DatumJob.Name(request.JobId, request.DatumId);
        await Until(() => _api.Exists(name));
        var upload = System.Text.Json.Nodes.JsonNode.Parse(_api.Created(name)!)!["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());
        Assert.Contains(DatumJob.InvalidKey(DatumJob.StagingPrefix(request.JobId, request.DatumId)), upload["PACH_INVALID_URL"]);
        _objects.Put(DatumJob.InvalidKey(DatumJob.StagingPrefix(request.JobId, request.DatumId)),
            Encoding.UTF8.GetBytes("/pfs/out/h is a link to /etc/hostname, outside the datum's /pfs\n/pfs/out/p is a FIFO, socket or device\n"));
        _api.MarkComplete(name);
        var result = await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(result.Success);
        Assert.Equal("/pfs/out/h is a link to /etc/hostname, outside the datum's /pfs; /pfs/out/p is a FIFO, socket or device", result.Reason);
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
    public async Task AnUploadedLinkIsNotFollowedOnThisMachineButAHardLinkToAnEarlierEntryIsACopy()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, leaveOpen: true))
        {
            var file = new PaxTarEntry(TarEntryType.RegularFile, "./ok.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("fine")) };
            await writer.WriteEntryAsync(file);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "./passwd") { LinkName = "/etc/passwd" });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.HardLink, "./hard") { LinkName = "/etc/hostname" });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.HardLink, "./again") { LinkName = "./ok.txt" }); // tar -h meeting ok.txt twice
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "../escape.txt") { DataStream = new MemoryStream([1]) });
        }
        _objects.Put("k8s/x/out.tar", tar.ToArray());
        var folder = Directory.CreateDirectory(Path.Combine(_work, "extract")).FullName;
        await TarExtractor.ExtractAsync(_objects, "k8s/x/out.tar", folder, CancellationToken.None);
        Assert.Equal(["again", "ok.txt"], Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(folder, "ok.txt")));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(folder, "again")));
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

    private SpoutRequest Spout(string pipeline = "My_Spout") =>
        new(pipeline, new TransformSpec("python:3", ["python", "stream.py"], ["a line"], new Dictionary<string, string> { ["MODE"] = "live" }, null, []),
            Path.Combine(_work, "spout-" + Guid.NewGuid().ToString("N")[..6]))
        { Pod = new PodSettings { Limits = new Dictionary<string, string> { ["memory"] = "1Gi" } } };

    /// <summary>What a spout pod's ship container would PUT as shipment <paramref name="n"/> of the run staged under <paramref name="prefix"/>.</summary>
    private void Shipped(string prefix, int n, params (string Path, string Content)[] files)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_work, "ship-" + Guid.NewGuid().ToString("N")[..6]));
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder.FullName, path))!);
            File.WriteAllText(Path.Combine(folder.FullName, path), content);
        }
        using var tar = new MemoryStream();
        TarFile.CreateFromDirectory(folder.FullName, tar, includeBaseDirectory: false);
        _objects.Put(SpoutJob.ShipmentKey(prefix, n), tar.ToArray());
    }

    /// <summary>The run a spout's Job belongs to, once the executor has staged its upload URLs.</summary>
    private async Task<(string Name, string Prefix)> RunStarted(string pipeline)
    {
        string? urls = null;
        await Until(() => (urls = _objects.List(SpoutJob.PipelinePrefix(pipeline)).FirstOrDefault(k => k.EndsWith("/urls", StringComparison.Ordinal))) is not null);
        var prefix = urls![..^"urls".Length];
        var name = SpoutJob.Name(pipeline, prefix.TrimEnd('/').Split('/')[^1]);
        await Until(() => _api.Exists(name));
        return (name, prefix);
    }

    [Fact]
    public void ASpoutRunIsALongRunningJobWithAShipperBesideTheCommand()
    {
        var request = Spout();
        var job = SpoutJob.Build(request, "curl:1", new Uri("http://s3.test/urls?X-Amz-Signature=get"), "0123456789", TimeSpan.FromHours(11));
        Assert.Equal("pachps-spout-" + SpoutJob.PipelineHash("My_Spout") + "-0123456789", job.Metadata.Name);
        Assert.Matches("^[a-z0-9-]{1,63}$", job.Metadata.Name);
        Assert.Equal(SpoutJob.PipelineHash("My_Spout"), job.Metadata.Labels[SpoutJob.SpoutLabel]);
        Assert.Equal("pachps", job.Metadata.Labels[DatumJob.ManagedBy]);
        Assert.Equal(0, job.Spec.BackoffLimit);
        Assert.Equal(11 * 3600, job.Spec.ActiveDeadlineSeconds);
        var pod = job.Spec.Template.Spec;
        Assert.Equal(["fetch"], pod.InitContainers.Select(c => c.Name));
        Assert.Equal(["transform", "ship"], pod.Containers.Select(c => c.Name));
        var transform = pod.Containers[0];
        Assert.Equal("python:3", transform.Image);
        Assert.Equal(["sh", "-c", SpoutJob.TransformScript, "pachps-spout", "python", "stream.py"], transform.Command);
        var env = transform.Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("live", "My_Spout", "/pfs/out"), (env["MODE"], env["PACH_PIPELINE_NAME"], env["PACH_OUT"]));
        Assert.Equal("1Gi", transform.Resources.Limits["memory"].ToString());
        Assert.Null(pod.Containers[1].Resources);
        var fetchEnv = pod.InitContainers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("a line", "http://s3.test/urls?X-Amz-Signature=get"), (fetchEnv["PACH_STDIN"], fetchEnv["PACH_URLS_URL"]));
        Assert.DoesNotContain("AccessKey", KubernetesJson.Serialize(job), StringComparison.OrdinalIgnoreCase);
        Assert.All(pod.InitContainers.Concat(pod.Containers), c => Assert.Equal("/pfs", c.VolumeMounts.Single().MountPath));
    }

    [Fact]
    public async Task ASpoutRunDeliversEachShipmentInOrderUntilItsJobEnds()
    {
        var request = Spout();
        var run = _executor.RunSpoutAsync(request, CancellationToken.None);
        var (name, prefix) = await RunStarted(request.Pipeline);
        Assert.Equal(SpoutJob.Shipments, Encoding.UTF8.GetString(_objects.Get(SpoutJob.UrlsKey(prefix))).TrimEnd('\n').Split('\n')
            .Count(u => u.Contains("verb=PUT") && u.Contains(prefix)));
        Shipped(prefix, 0, ("a.txt", "1"), ("sub/b.txt", "b"));
        Shipped(prefix, 1, ("a.txt", "2"));
        await Until(() => File.Exists(Path.Combine(request.OutFolder, "a.txt")) && File.ReadAllText(Path.Combine(request.OutFolder, "a.txt")) == "2");
        Assert.Equal("b", File.ReadAllText(Path.Combine(request.OutFolder, "sub", "b.txt")));
        Shipped(prefix, 2, ("c.txt", "last"));
        _api.MarkComplete(name);
        Assert.Equal(-1, await run.WaitAsync(TimeSpan.FromSeconds(20))); // the fake server has no pods to say the code
        Assert.Equal("last", File.ReadAllText(Path.Combine(request.OutFolder, "c.txt")));
        Assert.False(_api.Exists(name));
        Assert.Empty(_objects.List(SpoutJob.PipelinePrefix(request.Pipeline)));
    }

    [Fact]
    public async Task StoppingASpoutDeletesItsJobAndDeliversWhatWasShipped_AndTheNextRunWhatAnEarlierOneLeft()
    {
        var request = Spout("stopped");
        // A shipment a run of a session that died left behind is delivered before the next run starts.
        Shipped(SpoutJob.RunPrefix(request.Pipeline, "deaddeadde"), 0, ("orphan.txt", "kept"));
        using var stop = new CancellationTokenSource();
        var run = _executor.RunSpoutAsync(request, stop.Token);
        var (name, prefix) = await RunStarted(request.Pipeline);
        Assert.Equal("kept", File.ReadAllText(Path.Combine(request.OutFolder, "orphan.txt")));
        Shipped(prefix, 0, ("final.txt", "shipped as the pod stopped"));
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.False(_api.Exists(name));
        Assert.Equal("shipped as the pod stopped", File.ReadAllText(Path.Combine(request.OutFolder, "final.txt")));
        Assert.Empty(_objects.List(SpoutJob.PipelinePrefix(request.Pipeline)));
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
