using PachPS.Engine;
using PachPS.Engine.Execution;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>
/// The local executor's /pfs: a private mount namespace per worker where the machine allows one (else /pfs/ rewritten,
/// said in the job's log), and the rules for what a datum leaves in /pfs/out.
/// </summary>
public sealed class LocalExecutionTests : IDisposable
{
    private readonly string _work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "pachps-local-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static readonly PfsSupport Rewriting = new(false, false, "a test");

    private DatumRequest Request(string worker, string cmd, List<ExecutionLog> log) =>
        new("job1", "datum1", "p", "out1", new TransformSpec("", ["sh", "-c", cmd], [], new Dictionary<string, string> { ["IN"] = "/pfs/in" }, null, []),
            [new DatumMount("in", "raw", "c1", "/", [new DatumFile("/a.txt", new FileContent(0, "e", []))])], Path.Combine(_work, worker))
        { Reader = new EmptyReader(), OnLog = line => { lock (log) log.Add(line); } };

    [Fact]
    public async Task ANamespaceShowsEachWorkerItsFolderAtPfsWithNothingRewritten()
    {
        var support = PfsNamespaces.Probe();
        // As root on Linux (CI) a namespace can always be made; elsewhere the rewriting case below covers this machine.
        if (OperatingSystem.IsLinux() && PachPS.Engine.Interop.LibC.geteuid() == 0) Assert.True(support.Namespace, support.Reason);
        if (!support.Namespace) return;
        using var executor = new LocalProcessExecutor(support);
        var log = new List<ExecutionLog>();
        foreach (var worker in new[] { "w0", "w1" })
        {
            var result = await executor.RunAsync(Request(worker, "echo $IN $in > /pfs/out/seen; pwd >> /pfs/out/seen; ls /pfs/in >> /pfs/out/seen", log), CancellationToken.None);
            Assert.True(result.Success, result.Reason);
            Assert.Equal("/pfs/in /pfs/in\n/pfs\na.txt\n", File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
        }
        Assert.DoesNotContain(log, l => l.Stream == LogStreams.Executor);
        // As root a thread of this process joins each namespace and starts the datums there (one process start each).
        using (var namespaces = new PfsNamespaces(support))
            Assert.Equal(!support.Rootless, namespaces.StartIn(Path.Combine(_work, "w1"), Path.Combine(_work, "w1", "pfs")) is not null);
        // Each worker has its own namespace, held while its folder lives.
        Assert.Equal(2, Directory.GetFiles(_work, ".pfs-namespace-*", SearchOption.AllDirectories).Length);
        Directory.Delete(Path.Combine(_work, "w0"), recursive: true);
        var again = await executor.RunAsync(Request("w0", "ls /pfs > /pfs/out/ls", log), CancellationToken.None);
        Assert.True(again.Success, again.Reason);
        Assert.Equal("in\nout\n", File.ReadAllText(Path.Combine(again.OutputFolder, "ls")));
    }

    [Fact]
    public async Task WithoutANamespacePfsIsRewrittenAndTheJobsLogSaysSoOnce()
    {
        using var executor = new LocalProcessExecutor(Rewriting);
        Assert.Contains("rewritten", executor.Description);
        var log = new List<ExecutionLog>();
        for (var i = 0; i < 2; i++)
        {
            var result = await executor.RunAsync(Request("w0", "echo $IN > /pfs/out/seen", log), CancellationToken.None);
            Assert.True(result.Success, result.Reason);
            Assert.Equal(Path.Combine(_work, "w0", "pfs", "in") + "\n", File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
        }
        Assert.Equal("/pfs/ is rewritten to each worker's folder in cmd, stdin and env (a test)", Assert.Single(log, l => l.Stream == LogStreams.Executor).Message);
    }

    [Fact]
    public async Task AnEnvVarSecretComesFromTheSessionsPachpsSecretVariable()
    {
        using var executor = new LocalProcessExecutor(Rewriting);
        var log = new List<ExecutionLog>();
        var request = Request("w0", "echo \"$DB_PASSWORD\" > /pfs/out/seen", log);
        request = request with { Transform = request.Transform with { Secrets = [new SecretSpec("db", "password", "DB_PASSWORD", null)] } };
        Assert.Equal("PACHPS_SECRET_DB_PASSWORD", request.Transform.Secrets[0].LocalVariable);
        Environment.SetEnvironmentVariable("PACHPS_SECRET_DB_PASSWORD", "s3cret");
        try
        {
            var result = await executor.RunAsync(request, CancellationToken.None);
            Assert.True(result.Success, result.Reason);
            Assert.Equal("s3cret\n", File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
        }
        finally { Environment.SetEnvironmentVariable("PACHPS_SECRET_DB_PASSWORD", null); }
        Assert.DoesNotContain(log, l => l.Message.Contains("s3cret"));
    }

    private string Out(params string[] commands)
    {
        var pfs = Directory.CreateDirectory(Path.Combine(_work, "pfs-" + Guid.NewGuid().ToString("N")[..6], "pfs")).FullName;
        Directory.CreateDirectory(Path.Combine(pfs, "in", "sub"));
        File.WriteAllText(Path.Combine(pfs, "in", "sub", "x"), "x");
        Directory.CreateDirectory(Path.Combine(pfs, "out"));
        foreach (var command in commands)
        {
            using var sh = System.Diagnostics.Process.Start("sh", ["-c", command.Replace("OUT", Path.Combine(pfs, "out"))])!;
            sh.WaitForExit();
        }
        return Path.Combine(pfs, "out");
    }

    [Fact]
    public void LinksInsideTheDatumAreItsFilesWhetherWrittenAsPfsOrAsTheFolder()
    {
        var folder = Out("ln -s /pfs/in/sub/x OUT/abs", "ln -s ../in/sub OUT/dir", "ln -s dir/x OUT/chain", "echo y > OUT/y");
        var files = DatumOutputs.List(folder, Path.GetDirectoryName(folder)!);
        Assert.Equal(["/abs", "/chain", "/dir/x", "/y"], files.Select(f => f.Path));
        Assert.All(files.Where(f => f.Path != "/y"), f => Assert.Equal("x", File.ReadAllText(f.File)));
    }

    [Theory]
    [InlineData("ln -s /etc/hostname OUT/h", "/pfs/out/h is a link to /etc/hostname, outside the datum's /pfs")]
    [InlineData("ln -s /pfs/../etc/hostname OUT/h", "/pfs/out/h is a link to /pfs/../etc/hostname, outside the datum's /pfs")]
    [InlineData("ln -s nowhere OUT/n", "/pfs/out/n is a link to nowhere, which does not exist")]
    [InlineData("ln -s b OUT/a; ln -s a OUT/b", "/pfs/out/a is a link that goes through more than 40 links")]
    [InlineData("mkdir OUT/d; ln -s .. OUT/d/up", "/pfs/out/d/up is a link to /pfs/out, which holds it: a loop")]
    [InlineData("mkfifo OUT/f", "/pfs/out/f is a FIFO")]
    public void WhatIsNotAFileOrALinkInsideFailsTheDatumNamingIt(string command, string reason)
    {
        var folder = Out(command);
        var ex = Assert.Throws<PachException>(() => DatumOutputs.List(folder, Path.GetDirectoryName(folder)!));
        Assert.Equal("DatumOutputInvalid", ex.ErrorId);
        Assert.StartsWith(reason, ex.Message);
    }

    private sealed class EmptyReader : IContentReader
    {
        public Stream Open(FileContent content) => new MemoryStream();
    }

    /// <summary>Content as the hash names it ("h-&lt;text&gt;" holds text), counting the opens.</summary>
    private sealed class TextReader : IContentReader
    {
        public int Opens;
        public Stream Open(FileContent content)
        {
            Interlocked.Increment(ref Opens);
            return new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content.Hash[2..]));
        }
    }

    private DatumRequest LazyRequest(string worker, string cmd, TextReader reader, bool lazy = true) =>
        new("job1", "datum-" + worker, "p", "out1", new TransformSpec("", ["sh", "-c", cmd], [], new Dictionary<string, string>(), null, []),
            [new DatumMount("in", "raw", "c1", "/", [new DatumFile("/big", new FileContent(8, "h-original", []))]) { Lazy = lazy }],
            Path.Combine(_work, "job1", worker))
        { Reader = reader };

    [Fact]
    public async Task ALazyInputIsReadOnceAndLinkedIntoEveryDatumFromTheJobsCache()
    {
        using var executor = new LocalProcessExecutor(Rewriting);
        var reader = new TextReader();
        var seen = new List<string>();
        foreach (var worker in new[] { "w0", "w1", "w0" })
        {
            var result = await executor.RunAsync(LazyRequest(worker, "cat /pfs/in/big > /pfs/out/seen; echo >> /pfs/out/seen; stat -c '%i %h' /pfs/in/big >> /pfs/out/seen", reader), CancellationToken.None);
            Assert.True(result.Success, result.Reason);
            seen.Add(File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
            // Only the first datum read the file from the store.
            Assert.Equal(seen.Count == 1 ? 8 : 0, result.BytesDownloaded);
        }
        Assert.Equal(1, reader.Opens);
        // One inode, linked from the cache into each worker's folder (this test does not clear the folders between
        // datums, as the job runner does: the cache and w0 first, then w1 too).
        var lines = seen.Select(s => s.Split('\n')).ToList();
        Assert.All(lines, l => Assert.Equal("original", l[0]));
        Assert.Single(lines.Select(l => l[1].Split(' ')[0]).Distinct());
        Assert.Equal(["2", "3", "3"], lines.Select(l => l[1].Split(' ')[1]));
        var cached = Path.Combine(_work, "job1", "content-cache", "h-", "h-original");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(cached));

        // Without lazy the same input is copied: a file of the datum's own, read from the store again.
        var copied = await executor.RunAsync(LazyRequest("w2", "stat -c '%h' /pfs/in/big > /pfs/out/seen", reader, lazy: false), CancellationToken.None);
        Assert.Equal("1\n", File.ReadAllText(Path.Combine(copied.OutputFolder, "seen")));
        Assert.Equal(2, reader.Opens);
    }

    [Fact]
    public async Task ADatumThatWritesToALazyInputChangesNoLaterDatumsInput()
    {
        using var executor = new LocalProcessExecutor(Rewriting);
        var reader = new TextReader();
        // As root the read-only mode does not stop the write; as another user it fails, and the datum still succeeds.
        var write = "cat /pfs/in/big > /pfs/out/seen; (echo changed > /pfs/in/big) 2>/dev/null; chmod u+w /pfs/in/big 2>/dev/null; true";
        foreach (var worker in new[] { "w0", "w1", "w0" })
        {
            var result = await executor.RunAsync(LazyRequest(worker, write, reader), CancellationToken.None);
            Assert.True(result.Success, result.Reason);
            Assert.Equal("original", File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
        }
        // Each write (root) or chmod (anyone) spoilt the cached file, so each next datum had it read again.
        Assert.Equal(3, reader.Opens);
    }

    [Fact]
    public async Task TransformUserRunsTheDatumAsThatUserWhenTheSessionIsRoot()
    {
        var support = PfsNamespaces.Probe();
        var root = OperatingSystem.IsLinux() && PachPS.Engine.Interop.LibC.geteuid() == 0;
        foreach (var pfs in new[] { Rewriting, support }.Distinct())
        {
            using var executor = new LocalProcessExecutor(pfs);
            var log = new List<ExecutionLog>();
            var request = Request("user-" + pfs.Namespace, "id -u > /pfs/out/ids; id -g >> /pfs/out/ids; id -G >> /pfs/out/ids; cat /pfs/in/a.txt >> /pfs/out/ids", log);
            request = request with { Transform = request.Transform with { User = "65534:65533" } };
            var result = await executor.RunAsync(request, CancellationToken.None);
            if (!root)
            {
                Assert.False(result.Success);
                Assert.StartsWith("TransformUserNeedsRoot: ", result.Reason);
                continue;
            }
            Assert.True(result.Success, result.Reason);
            // The spec's uid and gid, and none of root's groups.
            Assert.Equal("65534\n65533\n65533\n", File.ReadAllText(Path.Combine(result.OutputFolder, "ids")));
        }
    }

    [Fact]
    public async Task AnUnknownTransformUserOrANonRootSessionFailsTheDatumAndIsRefusedUpFront()
    {
        using var executor = new LocalProcessExecutor(Rewriting);
        var request = Request("w0", "touch /pfs/out/ran", []);
        request = request with { Transform = request.Transform with { User = "4242424" } };
        var result = await executor.RunAsync(request, CancellationToken.None);
        Assert.False(result.Success);
        Assert.False(File.Exists(Path.Combine(result.OutputFolder, "ran")));
        var expected = OperatingSystem.IsLinux() && PachPS.Engine.Interop.LibC.geteuid() == 0 ? "TransformUserNotFound" : "TransformUserNeedsRoot";
        Assert.StartsWith(expected + ": ", result.Reason);
        var ex = Assert.Throws<PachException>(() => executor.CheckTransform("p", request.Transform));
        Assert.Equal(expected, ex.ErrorId);
        Assert.Contains("transform.user '4242424'", ex.Message);

        // A session that is not root cannot become anyone, even a user that exists.
        var notRoot = Assert.Throws<PachException>(() => LocalUser.Resolve("0", "p", () => 1000));
        Assert.Equal(("TransformUserNeedsRoot", PachErrorKind.NotSupported), (notRoot.ErrorId, notRoot.Kind));
        // Without a gid in the spec, the user's own from the passwd file.
        var passwd = Path.Combine(_work, "passwd");
        File.WriteAllText(passwd, "root:x:0:0:root:/root:/bin/sh\nsvc:x:1234:777::/home/svc:/bin/sh\n");
        if (OperatingSystem.IsLinux()) Assert.Equal(new LocalUser(1234, 777), LocalUser.Resolve("1234", "p", () => 0, passwd));
    }

    [Fact]
    public async Task MountPathSecretsAreFilesAtTheirPathFromTheSessionAndGoAwayAfter()
    {
        var support = PfsNamespaces.Probe();
        var source = Directory.CreateDirectory(Path.Combine(_work, "tls-source")).FullName;
        File.WriteAllText(Path.Combine(source, "cert"), "CERTDATA");
        File.WriteAllText(Path.Combine(source, "key"), "KEYDATA");
        var envFile = Path.Combine(_work, "db.env");
        File.WriteAllText(envFile, "# a comment\nuser=admin\npassword=pa=ss\n");
        Environment.SetEnvironmentVariable("PACHPS_SECRET_TLS_CERTS", source);
        Environment.SetEnvironmentVariable("PACHPS_SECRET_DB", envFile);
        Environment.SetEnvironmentVariable("PACHPS_SECRET_API_TOKEN", "t0ken");
        var mounts = new[] { "/run/pachps-test-tls", "/run/pachps-test-db", "/run/pachps-test-api" };
        try
        {
            foreach (var pfs in new[] { Rewriting, support }.Distinct())
            {
                using var executor = new LocalProcessExecutor(pfs);
                var log = new List<ExecutionLog>();
                var worker = "secrets-" + pfs.Namespace;
                var request = Request(worker, "for d in /run/pachps-test-tls/ /run/pachps-test-db/ /run/pachps-test-api/; do ls $d; cat $d*; echo; done > /pfs/out/seen", log);
                request = request with { Transform = request.Transform with { Secrets = [
                    new SecretSpec("tls-certs", null, null, mounts[0]), new SecretSpec("db", "ignored", null, mounts[1] + "/"), new SecretSpec("api", "token", null, mounts[2])] } };
                var result = await executor.RunAsync(request, CancellationToken.None);
                Assert.True(result.Success, result.Reason);
                Assert.Equal("cert\nkey\nCERTDATAKEYDATA\npassword\nuser\npa=ssadmin\ntoken\nt0ken\n", File.ReadAllText(Path.Combine(result.OutputFolder, "seen")));
                Assert.DoesNotContain(log, l => l.Message.Contains("KEYDATA") || l.Message.Contains("t0ken"));
                var files = LocalSecrets.FolderFor(Path.Combine(_work, worker));
                Assert.False(files.StartsWith(_work, StringComparison.Ordinal));
                if (!pfs.Namespace)
                {
                    Assert.False(Directory.Exists(files), "without a namespace the files live only while the datum runs");
                    continue;
                }
                // The worker's namespace holds them (read-only) until its folder goes; this machine sees none of them.
                Assert.False(File.Exists(Path.Combine(mounts[0], "cert")));
                Directory.Delete(Path.Combine(_work, worker), recursive: true);
                for (var i = 0; i < 50 && Directory.Exists(files); i++) await Task.Delay(100);
                Assert.False(Directory.Exists(files), "the namespace's holder removes the files when the worker's folder goes");
            }

            // A secret the session does not provide fails the datum, naming what to set.
            using var rewriting = new LocalProcessExecutor(Rewriting);
            var missing = Request("w-missing", "true", []);
            missing = missing with { Transform = missing.Transform with { Secrets = [new SecretSpec("absent", null, null, "/run/absent")] } };
            var failed = await rewriting.RunAsync(missing, CancellationToken.None);
            Assert.False(failed.Success);
            Assert.StartsWith("SecretNotFound: ", failed.Reason);
            Assert.Contains("PACHPS_SECRET_ABSENT", failed.Reason);
        }
        finally
        {
            foreach (var name in new[] { "PACHPS_SECRET_TLS_CERTS", "PACHPS_SECRET_DB", "PACHPS_SECRET_API_TOKEN" }) Environment.SetEnvironmentVariable(name, null);
            foreach (var mount in mounts) if (Directory.Exists(mount) && !Directory.EnumerateFileSystemEntries(mount).Any()) Directory.Delete(mount);
        }
    }
}
