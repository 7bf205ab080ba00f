using System.Net;
using System.Net.Sockets;
using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>Issue 18 item 2: files downloaded from http(s) URLs, resumed where a transfer breaks off, refused cleanly.</summary>
public sealed class UriSourceTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _base;
    private readonly byte[] _iris = "5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n"u8.ToArray();
    private readonly byte[] _big = new byte[3 << 20];
    private readonly List<string> _requests = [];
    private int _changingVersion;

    public UriSourceTests()
    {
        new Random(22).NextBytes(_big);
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _base = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(_base);
        _listener.Start();
        _ = Task.Run(Serve);
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            var path = context.Request.Url!.AbsolutePath;
            var range = context.Request.Headers["Range"];
            lock (_requests) _requests.Add($"{path} {range}");
            var response = context.Response;
            try
            {
                switch (path)
                {
                    case "/data/iris.csv": Send(response, _iris, "\"iris-1\"", range, context.Request.Headers["If-Range"], breakAfter: null); break;
                    // The first transfer breaks off after 1 MiB; later ones are served, ranges included.
                    case "/flaky.bin": Send(response, _big, "\"big-1\"", range, context.Request.Headers["If-Range"], breakAfter: range is null ? 1 << 20 : null); break;
                    // Every transfer breaks off, and the file changes between them: it cannot be resumed.
                    case "/changing.bin":
                        var version = Interlocked.Increment(ref _changingVersion);
                        Send(response, _big, $"\"changing-{version}\"", range, context.Request.Headers["If-Range"], breakAfter: 1 << 20);
                        break;
                    default:
                        response.StatusCode = 404;
                        response.Close();
                        break;
                }
            }
            catch (Exception) { /* the client went away */ }
        }
    }

    private static void Send(HttpListenerResponse response, byte[] body, string etag, string? range, string? ifRange, int? breakAfter)
    {
        var from = 0L;
        response.Headers["ETag"] = etag;
        response.Headers["Accept-Ranges"] = "bytes";
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && (ifRange is null || ifRange == etag))
        {
            from = long.Parse(range["bytes=".Length..].TrimEnd('-'));
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{body.Length - 1}/{body.Length}";
        }
        response.ContentLength64 = body.Length - from;
        var length = (int)(body.Length - from);
        if (breakAfter is { } cut && cut < length)
        {
            response.OutputStream.Write(body, (int)from, cut);
            response.OutputStream.Flush();
            response.Abort();
            return;
        }
        response.OutputStream.Write(body, (int)from, length);
        response.Close();
    }

    public void Dispose() => _listener.Close();

    private static FileSource Http(string uri, string path) => UriSource.Http(uri, path, firstPause: TimeSpan.FromMilliseconds(10));

    [Fact]
    public void DownloadsAreStoredByteForByteAndABrokenTransferResumesWhereItStopped()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("web");
        var commit = t.Pfs.PutFiles("web", "master", [Http(_base + "data/iris.csv", "/raw/iris.csv"), Http(_base + "flaky.bin", "/raw/flaky.bin")]);

        Assert.Equal(2, commit.FileCount);
        using (var read = t.Pfs.OpenFile("web", "master", "/raw/iris.csv").Content) Assert.Equal(_iris, ReadAll(read));
        using (var read = t.Pfs.OpenFile("web", "master", "/raw/flaky.bin").Content) Assert.Equal(_big, ReadAll(read));
        lock (_requests) Assert.Equal(["/flaky.bin ", "/flaky.bin bytes=1048576-"], _requests.Where(r => r.StartsWith("/flaky", StringComparison.Ordinal)));
        Assert.Equal("iris.csv", UriSource.FileName(_base + "data/iris.csv"));
    }

    [Fact]
    public void AMissingOrChangingUrlFailsWithItsIdAndLeavesTheStoreAsItWas()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("web");
        var before = t.Pfs.PutFiles("web", "master", [TempStore.Text("/keep.txt", "kept")]);
        var objects = t.Store.Objects.List("").Count();

        var missing = Assert.Throws<PachException>(() => t.Pfs.PutFiles("web", "master", [Http(_base + "data/iris.csv", "/a.csv"), Http(_base + "missing.csv", "/b.csv")]));
        Assert.Equal("UriNotFound", missing.ErrorId);
        var changing = Assert.Throws<PachException>(() => t.Pfs.PutFiles("web", "master", [Http(_base + "changing.bin", "/c.bin")]));
        Assert.Equal("UriNotReadable", changing.ErrorId);
        Assert.Contains("changed", changing.Message);

        Assert.Equal(before.Commit, t.Pfs.GetCommit("web", "master").Commit);
        Assert.Equal(objects, t.Store.Objects.List("").Count());
    }

    [Theory]
    [InlineData("ftp://example.org/a.csv", "UriInvalid")]
    [InlineData("not a url", "UriInvalid")]
    [InlineData("/local/path.csv", "UriInvalid")]
    [InlineData("https://example.org/", "UriHasNoFileName")]
    [InlineData("https://example.org/data/", "UriHasNoFileName")]
    public void BadUrlsAreRefusedBeforeAnythingIsRead(string uri, string errorId) =>
        Assert.Equal(errorId, Assert.Throws<PachException>(() => UriSource.Http(uri, UriSource.FileName(uri))).ErrorId);

    [Theory]
    [InlineData("s3://lake/2026/11/*.csv", "lake", "2026/11/*.csv", null, null)]
    [InlineData("s3://lake", "lake", "", null, null)]
    [InlineData("s3://my.lake/a b?endpoint=minio:9000&disableSSL=true&region=eu-1", "my.lake", "a b", "http://minio:9000", "eu-1")]
    [InlineData("s3://lake/x?endpoint=https%3A%2F%2Fs3.example.org%2F", "lake", "x", "https://s3.example.org", null)]
    public void S3UrlsNameABucketAKeyAndTheirServer(string url, string bucket, string key, string? endpoint, string? region)
    {
        var location = UriSource.ParseS3(url);
        Assert.Equal((bucket, key, endpoint, region), (location.Bucket, location.Key, location.Endpoint, location.Region));
        // Written back, it reads the same.
        Assert.Equal(location, UriSource.ParseS3(location.ToString()));
    }

    [Theory]
    [InlineData("s3://Lake/a")]
    [InlineData("s3://ab/a")]
    [InlineData("s3://lake/a?colour=red")]
    [InlineData("s3://lake/a?endpoint=ftp://x")]
    public void BadS3UrlsAreUriInvalid(string url) => Assert.Equal("UriInvalid", Assert.Throws<PachException>(() => UriSource.ParseS3(url)).ErrorId);

    private static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
