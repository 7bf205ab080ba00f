using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>
/// A store in a fresh temporary folder, deleted after the test. Backend "S3" keeps the content in the test S3 server
/// (PACHPS_TEST_S3_* environment variables, set by build.ps1 Test) under a prefix of its own.
/// </summary>
internal sealed class TempStore : IDisposable
{
    public const string Local = "Local";
    public const string S3 = "S3";

    /// <summary>The backends every PFS and pipeline test runs on.</summary>
    public static TheoryData<string> Backends => new() { Local, S3 };

    public TempStore(string backend = Local)
    {
        Backend = backend;
        Folder = Path.Combine(Path.GetTempPath(), "pachps-unit-" + Guid.NewGuid().ToString("N")[..12]);
        if (backend == S3)
        {
            Skip.If(S3Server.Endpoint is null, "S3 tests need the test S3 server (build.ps1 Test starts it; -SkipS3 skips them).");
            S3Settings = new S3Settings(S3Server.Bucket, S3Server.Endpoint, null, "unit/" + Path.GetFileName(Folder));
        }
        Store = Open();
    }

    public string Backend { get; }
    public string Folder { get; }
    public S3Settings? S3Settings { get; }
    public PachStore Store { get; private set; }
    public PfsService Pfs => Store.Pfs;

    private PachStore Open() => PachStore.Open(Folder, temporary: false, S3Settings, S3Settings is null ? null : S3Server.Credentials);

    public void Reopen()
    {
        Store.Dispose();
        Store = Open();
    }

    public CommitInfo Put(string repo, string path, string text, string branch = "master") =>
        Pfs.PutFiles(repo, branch, [Text(path, text)]);

    /// <summary>Random bytes, the same for the same seed.</summary>
    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static FileSource Bytes(string path, byte[] data) => new(path, () => new MemoryStream(data), path);

    public static FileSource Text(string path, string text) =>
        new(path, () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), path);

    public string Read(string repo, string reference, string path)
    {
        var (_, stream) = Pfs.OpenFile(repo, reference, path);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Overwrites a stored object with other bytes, as disk rot or a bad copy would.</summary>
    public void Corrupt(string key)
    {
        if (S3Settings is null)
        {
            var file = Directory.EnumerateFiles(Path.Combine(Folder, "objects"), "*", SearchOption.AllDirectories).Single(f => f.EndsWith(key[(key.IndexOf('/') + 1)..]));
            File.WriteAllBytes(file, [1, 2, 3]);
        }
        else Store.Objects.Put(key, [1, 2, 3]); // S3 PUT replaces the object
    }

    public void Dispose()
    {
        if (S3Settings is not null)
        {
            try { foreach (var key in Store.Objects.List("").ToList()) Store.Objects.Delete(key); }
            catch (PachException) { }
        }
        Store.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The test S3 server, when build.ps1 Test started one.</summary>
internal static class S3Server
{
    public static string? Endpoint => Environment.GetEnvironmentVariable("PACHPS_TEST_S3_ENDPOINT") is { Length: > 0 } e ? e : null;
    public static string Bucket => Environment.GetEnvironmentVariable("PACHPS_TEST_S3_BUCKET") ?? "pachps-test";
    public static S3Credentials Credentials => new(
        Environment.GetEnvironmentVariable("PACHPS_TEST_S3_ACCESS_KEY") ?? "", Environment.GetEnvironmentVariable("PACHPS_TEST_S3_SECRET_KEY") ?? "");
    /// <summary>tests/s3, where the start/stop scripts are (the fault tests stop and restart the server).</summary>
    public static string Scripts
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "tests", "s3"))) return Path.Combine(dir.FullName, "tests", "s3");
            throw new DirectoryNotFoundException("tests/s3 not found above " + AppContext.BaseDirectory);
        }
    }
}
