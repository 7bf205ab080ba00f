using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Engine.S3Api;

/// <summary>
/// The S3 endpoint datums of pipelines with s3 inputs or s3_out talk to (Pachyderm's S3 sidecar): one loopback HTTP
/// listener per session, started when the first such datum runs. Each running datum holds a <see cref="DatumGrant"/>
/// with its own access key and secret, and sees only its own buckets: each s3 input by its name (read-only: the
/// datum's files of that input, at the commit the datum reads) and, with s3_out, "out", a folder whose files become the
/// datum's output. Requests are checked with SigV4; a key stops working when its datum ends.
/// </summary>
public sealed class DatumEndpoint : IDisposable
{
    private const int MaxKeys = 1000;
    private readonly ConcurrentDictionary<string, DatumGrant> _grants = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly IPAddress _bind;
    private readonly string _host;
    private readonly int _fixedPort;
    private HttpListener? _listener;
    private int _port;

    /// <summary>
    /// An endpoint bound to <paramref name="bind"/> (loopback by default), on <paramref name="port"/> (0: any free one),
    /// and reached by datums at <paramref name="host"/>.
    /// </summary>
    public DatumEndpoint(IPAddress? bind = null, string? host = null, int port = 0)
    {
        _bind = bind ?? IPAddress.Loopback;
        _host = host ?? (_bind.Equals(IPAddress.Any) ? Dns.GetHostName() : _bind.ToString());
        _fixedPort = port;
    }

    /// <summary>The variable that makes the endpoint reachable from elsewhere (pods): host[:port] datums are told to use.</summary>
    public const string AddressVariable = "PACHPS_DATUM_S3_ADDRESS";

    /// <summary>
    /// The endpoint this process's environment asks for: on loopback, or, with PACHPS_DATUM_S3_ADDRESS=host[:port], on
    /// every interface at that port with datums told to use host. Throws DatumS3AddressInvalid for a value that is not that.
    /// </summary>
    public static DatumEndpoint FromEnvironment() => FromAddress(Environment.GetEnvironmentVariable(AddressVariable));

    /// <summary>The endpoint for a PACHPS_DATUM_S3_ADDRESS value (null or empty: loopback only).</summary>
    public static DatumEndpoint FromAddress(string? address)
    {
        if (string.IsNullOrEmpty(address)) return new DatumEndpoint();
        var colon = address.LastIndexOf(':');
        var (host, port) = colon < 0 ? (address, 0)
            : int.TryParse(address[(colon + 1)..], CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? (address[..colon], p)
            : throw PachException.Invalid("DatumS3AddressInvalid", $"{AddressVariable} '{address}' is not <host>[:<port>] (a port from 1 to 65535).", address);
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
            throw PachException.Invalid("DatumS3AddressInvalid", $"{AddressVariable} '{address}': '{host}' is not a host name or address.", address);
        return new DatumEndpoint(IPAddress.Any, host, port);
    }

    /// <summary>The address datums reach the endpoint at (http://host:port), starting it on first use.</summary>
    public Uri Address
    {
        get
        {
            Start();
            return new Uri($"http://{_host}:{_port.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>
    /// Opens a datum's buckets: its s3 inputs (read through <paramref name="reader"/>) and, when <paramref name="outFolder"/>
    /// is given, "out" writing there. Disposing the grant closes them.
    /// </summary>
    public DatumGrant Grant(IReadOnlyList<DatumMount> inputs, Storage.IContentReader reader, string? outFolder)
    {
        var address = Address;
        var grant = new DatumGrant(this, inputs, reader, outFolder, address);
        _grants[grant.AccessKeyId] = grant;
        return grant;
    }

    internal void Revoke(DatumGrant grant) => _grants.TryRemove(grant.AccessKeyId, out _);

    private void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            if (_listener is not null) return;
            // HttpListener takes no port 0: a free port is asked of the system, and another tried if it is taken meanwhile.
            for (var attempt = 0; ; attempt++)
            {
                var port = _fixedPort;
                if (port == 0)
                {
                    var probe = new TcpListener(_bind, 0);
                    probe.Start();
                    port = ((IPEndPoint)probe.LocalEndpoint).Port;
                    probe.Stop();
                }
                var listener = new HttpListener { IgnoreWriteExceptions = true };
                listener.Prefixes.Add($"http://{(_bind.Equals(IPAddress.Any) ? "+" : _bind.ToString())}:{port.ToString(CultureInfo.InvariantCulture)}/");
                try { listener.Start(); }
                catch (HttpListenerException) when (attempt < 5 && _fixedPort == 0)
                {
                    listener.Close();
                    continue;
                }
                (_listener, _port) = (listener, port);
                _ = Task.Run(() => AcceptAsync(listener));
                return;
            }
        }
    }

    private async Task AcceptAsync(HttpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = new ListenerS3Request(context.Request);
        var response = context.Response;
        var requestId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        response.Headers["x-amz-request-id"] = requestId;
        try
        {
            DatumGrant? grant = null;
            var signed = SigV4.Verify(request, id => (grant = _grants.GetValueOrDefault(id))?.Secret
                ?? throw new S3Exception("InvalidAccessKeyId", 403, $"The access key id '{id}' is not a running datum's (its datum has ended, or it belongs to no datum)."),
                DateTimeOffset.UtcNow);
            await grant!.HandleAsync(request, signed, response, _stop.Token);
        }
        catch (Exception ex)
        {
            var error = ex switch
            {
                S3Exception s3 => s3,
                PachException pach => new S3Exception(pach.Kind == PachErrorKind.NotFound ? "NoSuchKey" : "InvalidArgument", pach.Kind == PachErrorKind.NotFound ? 404 : 400,
                    $"{pach.ErrorId}: {pach.Message}"),
                IOException or HttpListenerException when _stop.IsCancellationRequested => null,
                _ => new S3Exception("InternalError", 500, $"Unexpected {ex.GetType().Name}: {ex.Message}"),
            };
            if (error is null) { response.Abort(); return; }
            try
            {
                response.StatusCode = error.Status;
                if (request.Method == "HEAD") { response.ContentLength64 = 0; }
                else
                {
                    var body = System.Text.Encoding.UTF8.GetBytes(S3Xml.Error(error.Code, error.Message, context.Request.RawUrl ?? "", requestId));
                    response.ContentType = "application/xml";
                    response.ContentLength64 = body.Length;
                    await response.OutputStream.WriteAsync(body);
                }
            }
            catch (Exception) { response.Abort(); return; } // the headers had gone: the client sees the connection end
        }
        try { response.Close(); }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested) return;
            _stop.Cancel();
            _listener?.Close();
        }
    }

    /// <summary>Most keys a listing page holds (S3's own limit).</summary>
    internal static int PageSize => MaxKeys;
}

/// <summary>
/// One running datum's access to the <see cref="DatumEndpoint"/>: its key and secret, its buckets, and the environment
/// the datum's command gets (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, as Pachyderm sets them).
/// </summary>
public sealed class DatumGrant : IDisposable
{
    public const string OutBucket = "out";
    private readonly DatumEndpoint _endpoint;
    private readonly Dictionary<string, DatumMount> _inputs;
    private readonly Storage.IContentReader _reader;
    private readonly ConcurrentDictionary<string, string> _written = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _opened = DateTimeOffset.UtcNow;
    private readonly S3Multipart? _multipart;

    internal DatumGrant(DatumEndpoint endpoint, IReadOnlyList<DatumMount> inputs, Storage.IContentReader reader, string? outFolder, Uri address)
    {
        _endpoint = endpoint;
        _inputs = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        _reader = reader;
        OutFolder = outFolder;
        if (outFolder is not null)
        {
            Directory.CreateDirectory(outFolder);
            _multipart = new S3Multipart(outFolder + ".parts");
        }
        AccessKeyId = "PACHPSDATUM" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6));
        Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)).Replace('+', 'A').Replace('/', 'B');
        Environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["S3_ENDPOINT"] = address.AbsoluteUri.TrimEnd('/'),
            ["AWS_ACCESS_KEY_ID"] = AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = Secret,
        };
    }

    public string AccessKeyId { get; }
    internal string Secret { get; }

    /// <summary>Where bucket "out" writes (null without s3_out): the datum's output folder.</summary>
    public string? OutFolder { get; }

    /// <summary>Empties bucket out (what an earlier try of the datum wrote).</summary>
    public void ClearOut()
    {
        if (OutFolder is null) return;
        WorkFolders.TryDelete(OutFolder);
        Directory.CreateDirectory(OutFolder);
        _written.Clear();
    }

    /// <summary>What the datum's command is given to reach its buckets.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    internal async Task HandleAsync(IS3Request request, SignedRequest signed, HttpListenerResponse response, CancellationToken cancel)
    {
        var (bucket, key) = request.Target();
        var method = request.Method;
        if (bucket.Length == 0)
        {
            if (method != "GET") throw NotImplemented(method + " /");
            var buckets = _inputs.Keys.Concat(OutFolder is null ? [] : [OutBucket]).Order(StringComparer.Ordinal).Select(b => (b, _opened));
            await Xml(response, 200, S3Xml.ListBuckets("pachps-datum", buckets));
            return;
        }
        var write = method is "PUT" or "POST" or "DELETE";
        if (bucket == OutBucket && OutFolder is not null)
        {
            await Out(request, signed, response, key, cancel);
            return;
        }
        if (!_inputs.TryGetValue(bucket, out var input))
            throw new S3Exception("NoSuchBucket", 404, $"The specified bucket does not exist: this datum's buckets are {string.Join(", ", _inputs.Keys.Concat(OutFolder is null ? [] : [OutBucket]))}.");
        if (write) throw new S3Exception("AccessDenied", 403, $"Bucket '{bucket}' is the datum's input: it is read-only{(OutFolder is null ? "" : "; write to bucket out")}.");
        switch (method, key.Length == 0)
        {
            case ("GET", true) when request.Has("location"): await Xml(response, 200, S3Xml.Location()); break;
            case ("GET", true): await Xml(response, 200, request.ListArguments(DatumEndpoint.PageSize).ListXml(bucket, Objects(input))); break;
            case ("HEAD", true): break;
            case ("GET" or "HEAD", false):
                var file = Find(input, key);
                await Send(request, response, key, file.Size, ETag(file.Content.Hash), () => _reader.Open(file.Content), cancel);
                break;
            default: throw NotImplemented($"{method} on an input bucket");
        }
    }

    /// <summary>Bucket out: what the datum writes is its output; it may read back and list what it wrote.</summary>
    private async Task Out(IS3Request request, SignedRequest signed, HttpListenerResponse response, string key, CancellationToken cancel)
    {
        var folder = OutFolder!;
        switch (request.Method, key.Length == 0)
        {
            case ("GET", true) when request.Has("location"): await Xml(response, 200, S3Xml.Location()); break;
            case ("GET", true): await Xml(response, 200, request.ListArguments(DatumEndpoint.PageSize).ListXml(OutBucket, Written())); break;
            case ("HEAD", true): break;
            case ("POST", true) when request.Has("delete"):
                string xml;
                using (var body = S3Body.Open(request, signed)) xml = body.ReadText();
                var (keys, quiet) = S3Xml.ParseDelete(xml);
                foreach (var k in keys) Delete(k);
                await Xml(response, 200, S3Xml.DeleteResult(keys, [], quiet));
                break;
            case ("GET" or "HEAD", false) when !request.Has("uploadId"):
                var local = LocalPath(key, mustExist: true);
                await Send(request, response, key, new FileInfo(local).Length, '"' + _written.GetValueOrDefault(key, "") + '"', () => File.OpenRead(local), cancel);
                break;
            case ("PUT", false) when request.Has("uploadId"):
                var upload = _multipart!.Find(request.Query("uploadId")!, OutBucket, key);
                if (!int.TryParse(request.Query("partNumber"), CultureInfo.InvariantCulture, out var number))
                    throw new S3Exception("InvalidArgument", 400, "partNumber must be a number from 1 to 10000.");
                using (var body = S3Body.Open(request, signed)) response.Headers["ETag"] = '"' + _multipart.PutPart(upload, number, body) + '"';
                break;
            case ("PUT", false) when request.FirstHeader("x-amz-copy-source") is { } source:
                var copied = await Task.Run(() => Copy(source, key), cancel);
                await Xml(response, 200, S3Xml.CopyObject('"' + copied + '"', DateTimeOffset.UtcNow));
                break;
            case ("PUT", false):
                using (var body = S3Body.Open(request, signed))
                {
                    if (key.EndsWith('/'))
                    {
                        // A folder marker: folders appear as files go in them.
                        if (body.ReadText().Length > 0) throw new S3Exception("InvalidArgument", 400, $"'{key}' ends with '/': only an empty folder marker may.");
                    }
                    else Write(key, body, () => body.Md5!);
                    response.Headers["ETag"] = '"' + body.Md5 + '"';
                }
                break;
            case ("POST", false) when request.Has("uploads"):
                LocalPath(key, mustExist: false);
                var created = _multipart!.Create(OutBucket, key);
                await Xml(response, 200, S3Xml.InitiateMultipart(OutBucket, key, created.Id));
                break;
            case ("POST", false) when request.Has("uploadId"):
                var completing = _multipart!.Find(request.Query("uploadId")!, OutBucket, key);
                string completion;
                using (var body = S3Body.Open(request, signed)) completion = body.ReadText();
                var (content, etag) = _multipart.Assemble(completing, S3Xml.ParseComplete(completion));
                using (content) Write(key, content, () => etag);
                _multipart.Remove(completing);
                await Xml(response, 200, S3Xml.CompleteMultipart($"/{OutBucket}/{key}", OutBucket, key, '"' + etag + '"'));
                break;
            case ("DELETE", false) when request.Has("uploadId"):
                _multipart!.Remove(_multipart.Find(request.Query("uploadId")!, OutBucket, key));
                response.StatusCode = 204;
                break;
            case ("DELETE", false):
                Delete(key);
                response.StatusCode = 204;
                break;
            default: throw NotImplemented($"{request.Method} {request.RawTarget}");
        }
    }

    /// <summary>The datum's files of an input, as objects in key order.</summary>
    private List<S3Object> Objects(DatumMount input) =>
        input.Files.Select(f => new S3Object(f.Path.TrimStart('/'), f.Size, ETag(f.Content.Hash), _opened)).OrderBy(o => o.Key, StringComparer.Ordinal).ToList();

    /// <summary>What the datum wrote to bucket out so far, in key order.</summary>
    private List<S3Object> Written()
    {
        var folder = OutFolder!;
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => (Key: Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'), Info: new FileInfo(path)))
            .Select(f => new S3Object(f.Key, f.Info.Length, '"' + _written.GetValueOrDefault(f.Key, "") + '"', f.Info.LastWriteTimeUtc))
            .OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
    }

    private static DatumFile Find(DatumMount input, string key) =>
        input.Files.FirstOrDefault(f => f.Path.TrimStart('/') == key) ?? throw new S3Exception("NoSuchKey", 404, $"The specified key does not exist: '{key}'.");

    /// <summary>
    /// The ETag of stored content: its PachPS hash and "-1", which clients read as a multipart upload's ETag and so do
    /// not compare with an MD5 of the bytes (the gateway's rule for content not uploaded through S3).
    /// </summary>
    private static string ETag(string hash) => $"\"{hash}-1\"";

    /// <summary>Where a key of bucket out is in the output folder; refuses a key that is no valid PachPS path (InvalidArgument).</summary>
    private string LocalPath(string key, bool mustExist)
    {
        string path;
        try { path = Names.NormalizePath("/" + key); }
        catch (PachException ex) { throw new S3Exception("InvalidArgument", 400, $"'{key}' is not a valid file path: {ex.Message}"); }
        if (path != "/" + key || key.EndsWith('/')) throw new S3Exception("InvalidArgument", 400, $"'{key}' is not a valid file path (no empty, '.' or '..' parts, no trailing '/').");
        var local = Path.Combine(OutFolder!, key);
        if (mustExist && !File.Exists(local)) throw new S3Exception("NoSuchKey", 404, $"The specified key does not exist: '{key}'.");
        return local;
    }

    /// <summary>Writes a file of bucket out whole (a temporary file renamed into place), remembering its ETag.</summary>
    private void Write(string key, Stream content, Func<string> etag)
    {
        var local = LocalPath(key, mustExist: false);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        var tmp = Path.Combine(OutFolder! + ".parts", Guid.NewGuid().ToString("N") + ".tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(tmp)!);
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16)) content.CopyTo(file);
            File.Move(tmp, local, overwrite: true);
            _written[key] = etag();
        }
        catch (IOException ex) when (StorageFull.IsOutOfSpace(ex)) { throw new S3Exception("InsufficientStorage", 507, $"No room for '{key}' in the datum's output folder: {ex.Message}"); }
        finally { File.Delete(tmp); }
    }

    private void Delete(string key)
    {
        var local = LocalPath(key, mustExist: false);
        File.Delete(local);
        _written.TryRemove(key, out _);
    }

    /// <summary>CopyObject into bucket out, from one of the datum's inputs or from out itself; returns the copy's ETag.</summary>
    private string Copy(string source, string key)
    {
        var text = Uri.UnescapeDataString(source.Split('?', 2)[0]).TrimStart('/');
        var slash = text.IndexOf('/');
        if (slash <= 0) throw new S3Exception("InvalidArgument", 400, "x-amz-copy-source must be <bucket>/<key>.");
        var (bucket, sourceKey) = (text[..slash], text[(slash + 1)..]);
        Stream open;
        if (bucket == OutBucket) open = File.OpenRead(LocalPath(sourceKey, mustExist: true));
        else if (_inputs.TryGetValue(bucket, out var input)) open = _reader.Open(Find(input, sourceKey).Content);
        else throw new S3Exception("NoSuchBucket", 404, $"The specified bucket does not exist: '{bucket}'.");
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using (var hashing = new HashingStream(open, md5)) Write(key, hashing, () => Convert.ToHexStringLower(md5.GetHashAndReset()));
        return _written[key];
    }

    /// <summary>Answers a GET or HEAD of an object: its headers, then (for GET) the bytes of the range asked for.</summary>
    private static async Task Send(IS3Request request, HttpListenerResponse response, string key, long size, string etag, Func<Stream> open, CancellationToken cancel)
    {
        response.Headers["ETag"] = etag;
        response.Headers["Accept-Ranges"] = "bytes";
        response.ContentType = "application/octet-stream";
        var (start, length) = (0L, size);
        if (request.FirstHeader("Range") is { Length: > 0 } range)
        {
            (start, length) = S3Requests.Range(range, size);
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{start + length - 1}/{size}";
        }
        response.ContentLength64 = length;
        if (request.Method == "HEAD") return;
        await using var content = open();
        await S3Requests.CopyRangeAsync(content, start, length, response.OutputStream, key, cancel);
    }

    private static async Task Xml(HttpListenerResponse response, int status, string xml)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(xml);
        response.StatusCode = status;
        response.ContentType = "application/xml";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private static S3Exception NotImplemented(string what) => new("NotImplemented", 501, $"A datum's S3 endpoint does not implement {what}.");

    public void Dispose()
    {
        _endpoint.Revoke(this);
        if (OutFolder is not null) WorkFolders.TryDelete(OutFolder + ".parts");
    }

    /// <summary>Passes a stream through, feeding what is read to a hash.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Storage.ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>An HttpListener request as the S3 protocol reads it.</summary>
internal sealed class ListenerS3Request(HttpListenerRequest request) : IS3Request
{
    private readonly Dictionary<string, string> _query = ParseQuery(request.RawUrl ?? "/");

    public string Method => request.HttpMethod;
    public string RawTarget => request.RawUrl ?? "/";
    public string Host => request.Headers["Host"] ?? "";
    public IReadOnlyList<string> Header(string name) => request.Headers[name] is { } value ? [value] : [];
    public string? Query(string name) => _query.GetValueOrDefault(name);
    public Stream Body => request.InputStream;
    public long? ContentLength => request.ContentLength64 >= 0 && request.Headers["Content-Length"] is not null ? request.ContentLength64 : null;

    private static Dictionary<string, string> ParseQuery(string raw)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var question = raw.IndexOf('?');
        if (question < 0) return result;
        foreach (var pair in raw[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            result.TryAdd(Uri.UnescapeDataString(parts[0].Replace('+', ' ')), parts.Length == 2 ? Uri.UnescapeDataString(parts[1].Replace('+', ' ')) : "");
        }
        return result;
    }
}
