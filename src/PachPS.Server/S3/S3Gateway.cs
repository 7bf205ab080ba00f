using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Remote;
using PachPS.Engine.S3Api;

namespace PachPS.Server.S3;

/// <summary>
/// An S3 gateway at /s3 (path-style: /s3/&lt;bucket&gt;/&lt;key&gt;) over the store's files, reached only through
/// <see cref="IFileService"/>: buckets are branches and tags (<see cref="S3Buckets"/>), objects are files, each write
/// is one commit. Requests are signed with SigV4 over the server's tokens (<see cref="SigV4"/>) and allowed by the
/// same rules as the API (<see cref="Access"/>); failures are S3's XML errors.
/// </summary>
internal sealed class S3Gateway(IFileService files, TokenStore tokens, S3ETags etags, S3Multipart multipart, ILogger log)
{
    public const string Prefix = "/s3";
    private const int MaxKeys = 1000;

    private async Task Handle(HttpContext context)
    {
        var request = context.Request;
        context.Response.Headers["x-amz-request-id"] = context.TraceIdentifier;
        try
        {
            var s3 = new AspNetS3Request(context);
            var (signed, caller) = Verify(s3, tokens, DateTimeOffset.UtcNow);
            var (bucketName, key) = s3.Target(Prefix);
            var query = request.Query;
            if (bucketName.Length == 0)
            {
                if (request.Method != "GET") throw NotImplemented(request.Method + " /");
                await ListBuckets(context, caller);
                return;
            }
            var repo = bucketName[(bucketName.LastIndexOf('.') + 1)..];
            if (key.Length == 0)
            {
                switch (request.Method)
                {
                    case "PUT": Demand(caller, nameof(IFileService.CreateBranch), repo); CreateBucket(context, bucketName); return;
                    case "DELETE": throw NotImplemented("DeleteBucket (remove the branch with Remove-PachBranch)");
                }
            }
            var write = request.Method is "PUT" or "POST" or "DELETE";
            Demand(caller, write ? nameof(IFileService.PutFiles) : nameof(IFileService.OpenFile), repo);
            var bucket = S3Buckets.Resolve(files, bucketName);
            if (write) S3Buckets.RequireWritable(bucket);
            switch (request.Method, key.Length == 0)
            {
                case ("GET", true) when query.ContainsKey("location"): await Xml(context, 200, S3Xml.Location()); break;
                case ("GET", true) when query.ContainsKey("uploads") || query.ContainsKey("versioning") || query.ContainsKey("policy"):
                    throw NotImplemented("this bucket sub-resource");
                case ("GET", true): await ListObjects(context, bucket); break;
                case ("HEAD", true): break;
                case ("POST", true) when query.ContainsKey("delete"): await DeleteObjects(context, signed, bucket); break;
                case ("GET" or "HEAD", false) when !query.ContainsKey("uploadId"): await GetObject(context, bucket, key, head: request.Method == "HEAD"); break;
                case ("PUT", false) when query.ContainsKey("uploadId"): await UploadPart(context, signed, bucket, key); break;
                case ("PUT", false) when request.Headers.ContainsKey("x-amz-copy-source"): await CopyObject(context, caller, bucket, key); break;
                case ("PUT", false): await PutObject(context, signed, bucket, key); break;
                case ("POST", false) when query.ContainsKey("uploads"): await CreateUpload(context, bucket, key); break;
                case ("POST", false) when query.ContainsKey("uploadId"): await CompleteUpload(context, signed, bucket, key); break;
                case ("DELETE", false) when query.ContainsKey("uploadId"):
                    multipart.Remove(multipart.Find(query["uploadId"]!, bucket.Name, key));
                    context.Response.StatusCode = 204;
                    break;
                case ("DELETE", false): DeleteObject(context, bucket, key); break;
                default: throw NotImplemented($"{request.Method} {request.QueryString}");
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested) { }
        catch (Exception ex)
        {
            var error = ex switch
            {
                S3Exception s3 => s3,
                PachException { Kind: PachErrorKind.Forbidden } pach => new S3Exception("AccessDenied", 403, pach.Message),
                PachException { Kind: PachErrorKind.InvalidArgument } pach => new S3Exception("InvalidArgument", 400, $"{pach.ErrorId}: {pach.Message}"),
                PachException { Kind: PachErrorKind.NotFound } pach => new S3Exception("NoSuchKey", 404, $"{pach.ErrorId}: {pach.Message}"),
                BadHttpRequestException bad => new S3Exception("IncompleteBody", 400, bad.Message),
                _ => Unexpected(context, ex),
            };
            if (context.Response.HasStarted) { context.Abort(); return; }
            context.Response.Clear();
            context.Response.Headers["x-amz-request-id"] = context.TraceIdentifier;
            if (request.Method == "HEAD") context.Response.StatusCode = error.Status;
            else await Xml(context, error.Status, S3Xml.Error(error.Code, error.Message, request.Path, context.TraceIdentifier));
        }
    }

    /// <summary>
    /// SigV4 over the server's tokens: the access key id is a token's id, the secret access key the token's secret, and
    /// the token must be active (checked after the signature, so only its holder learns that it no longer works).
    /// </summary>
    internal static (SignedRequest Signed, TokenInfo Caller) Verify(IS3Request request, TokenStore tokens, DateTimeOffset now)
    {
        TokenInfo? caller = null;
        var signed = SigV4.Verify(request, id =>
        {
            if (tokens.S3Credential(id) is not { } found)
                throw new S3Exception("InvalidAccessKeyId", 403, $"The access key id '{id}' is not a token of this server.");
            caller = found.Info;
            return found.Secret ?? throw new S3Exception("InvalidAccessKeyId", 403,
                $"Token '{id}' was made before the server's S3 gateway and has no S3 secret: make a new token (New-PachToken) and use its id and secret.");
        }, now, "your key (the token's id) and signing method (secret: the token's part after pachps_<id>_)");
        if (!caller!.Active(now))
            throw new S3Exception("InvalidAccessKeyId", 403, $"Token '{signed.AccessKeyId}' is revoked or expired: make a new token (New-PachToken).");
        return (signed, caller);
    }

    /// <summary>Access's rules for the file operation an S3 request amounts to (a read, a write, a new branch) on a repo.</summary>
    private static void Demand(TokenInfo caller, string operation, string repo) =>
        Access.Demand(caller, ApiCatalog.All.First(o => o.Contract == typeof(IFileService) && o.Method.Name == operation),
            new Dictionary<string, object?> { ["repo"] = repo });

    private async Task ListBuckets(HttpContext context, TokenInfo caller)
    {
        var repos = files.ListRepos().Where(r => caller.Global || caller.Repos.Contains(r.Repo, StringComparer.Ordinal));
        await Xml(context, 200, S3Xml.ListBuckets(caller.User, S3Buckets.List(files, repos).ToList()));
    }

    /// <summary>A bucket is a branch: creating one makes the branch (and its repo, if new).</summary>
    private void CreateBucket(HttpContext context, string name)
    {
        try
        {
            S3Buckets.Resolve(files, name);
            throw new S3Exception("BucketAlreadyOwnedByYou", 409, $"Bucket '{name}' already exists.");
        }
        catch (S3Exception ex) when (ex.Code == "NoSuchBucket") { }
        var dot = name.LastIndexOf('.');
        if (dot <= 0) throw new S3Exception("InvalidBucketName", 400, "A bucket is named <branch>.<repo>.");
        var (branch, repo) = (name[..dot], name[(dot + 1)..]);
        try
        {
            if (!files.ListRepos().Any(r => r.Repo == repo)) files.CreateRepo(repo);
            files.CreateBranch(repo, branch);
        }
        catch (PachException ex) when (ex.Kind == PachErrorKind.InvalidArgument)
        {
            throw new S3Exception("InvalidBucketName", 400, $"'{name}' is not <branch>.<repo> with valid names: {ex.Message}");
        }
        context.Response.Headers.Location = "/" + name;
    }

    private async Task ListObjects(HttpContext context, S3Bucket bucket)
    {
        var list = new AspNetS3Request(context).ListArguments(MaxKeys);
        await Xml(context, 200, list.ListXml(bucket.Name, Objects(bucket, list.Prefix)));
    }

    /// <summary>The files of a bucket under the folder a prefix is in, as objects in key order.</summary>
    private List<S3Object> Objects(S3Bucket bucket, string prefix)
    {
        var folder = "/" + (prefix.LastIndexOf('/') is var slash and >= 0 ? prefix[..slash] : "");
        IReadOnlyList<TreeEntry> entries;
        try { entries = folder.Length > 1 && !IsPath(folder) ? [] : files.Entries(bucket.Repo, bucket.Reference, folder); }
        catch (PachException ex) when (ex.Kind == PachErrorKind.NotFound) { entries = []; } // no such folder, or a branch with no commit yet
        var times = new CommitTimes(files, bucket.Repo);
        return entries.Select(e => new S3Object(e.Path[1..], e.Content.Size, etags.For(e.Content.Hash), times.Of(e.Commit)))
            .OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
    }

    private async Task GetObject(HttpContext context, S3Bucket bucket, string key, bool head)
    {
        var (file, content) = Open(bucket, key);
        await using (content)
        {
            var response = context.Response;
            response.Headers.ETag = etags.For(file.Hash);
            response.Headers.LastModified = new CommitTimes(files, bucket.Repo).Of(file.CommittedIn ?? file.Commit).ToString("R", CultureInfo.InvariantCulture);
            response.Headers.AcceptRanges = "bytes";
            response.ContentType = "application/octet-stream";
            var (start, length) = (0L, file.Size);
            if (context.Request.Headers.Range.FirstOrDefault() is { Length: > 0 } range)
            {
                (start, length) = S3Requests.Range(range, file.Size);
                response.StatusCode = 206;
                response.Headers.ContentRange = $"bytes {start}-{start + length - 1}/{file.Size}";
            }
            response.ContentLength = length;
            if (head) return;
            // The engine's content streams forward only: a range starts after reading up to it.
            await S3Requests.CopyRangeAsync(content, start, length, response.Body, key, context.RequestAborted);
        }
    }

    private (PachFileInfo File, Stream Content) Open(S3Bucket bucket, string key)
    {
        try
        {
            if (key.EndsWith('/') || !IsPath("/" + key)) throw NoSuchKey(key);
            var (file, content) = files.OpenFile(bucket.Repo, bucket.Reference, "/" + key);
            if (file.Type == PachFileType.File) return (file, content);
            content.Dispose();
            throw NoSuchKey(key);
        }
        catch (PachException ex) when (ex.Kind is PachErrorKind.NotFound or PachErrorKind.InvalidArgument or PachErrorKind.InvalidOperation) { throw NoSuchKey(key); }
    }

    private async Task PutObject(HttpContext context, SignedRequest signed, S3Bucket bucket, string key)
    {
        using var body = OpenBody(context, signed);
        // S3 folders are names: PachPS makes folders as files go in them, so a folder marker writes nothing.
        if (key.EndsWith('/'))
        {
            if (await Task.Run(body.ReadText) is { Length: > 0 }) throw new S3Exception("InvalidArgument", 400, $"'{key}' ends with '/': only an empty folder marker may.");
            context.Response.Headers.ETag = '"' + body.Md5 + '"';
            return;
        }
        var etag = await Store(bucket, key, body, () => body.Md5!, context.RequestAborted, $"S3 PutObject {key}");
        context.Response.Headers.ETag = etag;
    }

    /// <summary>Writes one file to a branch in one commit, remembers its ETag, and answers the ETag quoted.</summary>
    private async Task<string> Store(S3Bucket bucket, string key, Stream content, Func<string> etag, CancellationToken cancel, string message)
    {
        var path = "/" + key;
        var commit = await Task.Run(() => files.PutFiles(bucket.Repo, bucket.Reference, [new FileSource(path, () => content, $"s3://{bucket.Name}/{key}")],
            cancel: cancel, note: new CommitNote(message)), cancel);
        var hash = files.ListFiles(bucket.Repo, commit.Commit, path).Single().Hash!;
        etags.Remember(hash, etag());
        return etags.For(hash);
    }

    private async Task CopyObject(HttpContext context, TokenInfo caller, S3Bucket bucket, string key)
    {
        var source = Uri.UnescapeDataString(context.Request.Headers["x-amz-copy-source"].ToString().Split('?', 2)[0]).TrimStart('/');
        var slash = source.IndexOf('/');
        if (slash <= 0) throw new S3Exception("InvalidArgument", 400, "x-amz-copy-source must be <bucket>/<key>.");
        var (sourceBucketName, sourceKey) = (source[..slash], source[(slash + 1)..]);
        Demand(caller, nameof(IFileService.OpenFile), sourceBucketName[(sourceBucketName.LastIndexOf('.') + 1)..]);
        var from = S3Buckets.Resolve(files, sourceBucketName);
        var (file, content) = Open(from, sourceKey);
        content.Dispose();
        // A copy onto itself changes only metadata (rclone sets modification times so), which the gateway does not
        // keep: it commits nothing.
        if (from.Repo == bucket.Repo && from.Reference == bucket.Reference && sourceKey == key)
        {
            await Xml(context, 200, S3Xml.CopyObject(etags.For(file.Hash), new CommitTimes(files, bucket.Repo).Of(file.CommittedIn ?? file.Commit)));
            return;
        }
        var commit = files.CopyFile(from.Repo, from.Reference, "/" + sourceKey, bucket.Repo, bucket.Reference, "/" + key,
            new CommitNote($"S3 CopyObject {sourceBucketName}/{sourceKey} to {key}"));
        await Xml(context, 200, S3Xml.CopyObject(etags.For(file.Hash), commit.Finished ?? commit.Started));
    }

    private void DeleteObject(HttpContext context, S3Bucket bucket, string key)
    {
        context.Response.StatusCode = 204;
        var existing = Existing(bucket, [key]);
        if (existing.Count > 0)
            files.DeleteFiles(bucket.Repo, bucket.Reference, existing, new CommitNote($"S3 DeleteObject {key}"));
    }

    private async Task DeleteObjects(HttpContext context, SignedRequest signed, S3Bucket bucket)
    {
        using var body = OpenBody(context, signed);
        var (keys, quiet) = S3Xml.ParseDelete(await Task.Run(body.ReadText));
        if (keys.Count > 1000) throw new S3Exception("MalformedXML", 400, "A DeleteObjects request names at most 1000 keys.");
        // S3 deletes what is there and reports every key deleted; all of it is one commit.
        var existing = Existing(bucket, keys);
        if (existing.Count > 0)
            files.DeleteFiles(bucket.Repo, bucket.Reference, existing, new CommitNote($"S3 DeleteObjects ({existing.Count} files)"));
        await Xml(context, 200, S3Xml.DeleteResult(keys, [], quiet));
    }

    /// <summary>The paths of the keys that are files of the branch now.</summary>
    private List<string> Existing(S3Bucket bucket, IReadOnlyList<string> keys)
    {
        HashSet<string> paths;
        try { paths = files.Entries(bucket.Repo, bucket.Reference).Select(e => e.Path).ToHashSet(StringComparer.Ordinal); }
        catch (PachException ex) when (ex.Kind == PachErrorKind.NotFound) { return []; }
        return keys.Select(k => "/" + k).Where(paths.Contains).Distinct().ToList();
    }

    private async Task CreateUpload(HttpContext context, S3Bucket bucket, string key)
    {
        if (key.EndsWith('/') || !IsPath("/" + key)) throw new S3Exception("InvalidArgument", 400, $"'{key}' is not a valid file path.");
        var upload = multipart.Create(bucket.Name, key);
        await Xml(context, 200, S3Xml.InitiateMultipart(bucket.Name, key, upload.Id));
    }

    private async Task UploadPart(HttpContext context, SignedRequest signed, S3Bucket bucket, string key)
    {
        var query = context.Request.Query;
        var upload = multipart.Find(query["uploadId"]!, bucket.Name, key);
        if (!int.TryParse(query["partNumber"], CultureInfo.InvariantCulture, out var number))
            throw new S3Exception("InvalidArgument", 400, "partNumber must be a number from 1 to 10000.");
        using var body = OpenBody(context, signed);
        var md5 = await Task.Run(() => multipart.PutPart(upload, number, body), context.RequestAborted);
        context.Response.Headers.ETag = '"' + md5 + '"';
    }

    private async Task CompleteUpload(HttpContext context, SignedRequest signed, S3Bucket bucket, string key)
    {
        var upload = multipart.Find(context.Request.Query["uploadId"]!, bucket.Name, key);
        string xml;
        using (var body = OpenBody(context, signed)) xml = await Task.Run(body.ReadText);
        var (content, etag) = multipart.Assemble(upload, S3Xml.ParseComplete(xml));
        string quoted;
        using (content) quoted = await Store(bucket, key, content, () => etag, context.RequestAborted, $"S3 multipart upload {key}");
        multipart.Remove(upload);
        await Xml(context, 200, S3Xml.CompleteMultipart($"{Prefix}/{bucket.Name}/{key}", bucket.Name, key, quoted));
    }

    /// <summary>The request's body as the engine reads it: synchronously, of any size, checked at its end.</summary>
    private static CheckedStream OpenBody(HttpContext context, SignedRequest signed)
    {
        context.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        return S3Body.Open(new AspNetS3Request(context), signed);
    }

    private static async Task Xml(HttpContext context, int status, string xml)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        await context.Response.WriteAsync(xml);
    }

    private S3Exception Unexpected(HttpContext context, Exception ex)
    {
        log.LogError(ex, "Unexpected {Type} in S3 {Method} {Path} (request {Request})", ex.GetType().Name, context.Request.Method, context.Request.Path, context.TraceIdentifier);
        return new S3Exception("InternalError", 500, $"Unexpected {ex.GetType().Name}: {ex.Message}. The server's log has the full trace (request {context.TraceIdentifier}).");
    }

    private static bool IsPath(string path)
    {
        try { return Names.NormalizePath(path) == path; }
        catch (PachException) { return false; }
    }

    private static S3Exception NoSuchKey(string key) => new("NoSuchKey", 404, $"The specified key does not exist: '{key}'.");
    private static S3Exception NotImplemented(string what) => new("NotImplemented", 501, $"The S3 gateway does not implement {what}.");

    /// <summary>When commits were made (finished, or started while open), asked once each.</summary>
    private sealed class CommitTimes(IFileService files, string repo)
    {
        private readonly Dictionary<string, DateTimeOffset> _known = new(StringComparer.Ordinal);

        public DateTimeOffset Of(string commit)
        {
            if (_known.TryGetValue(commit, out var time)) return time;
            var info = files.GetCommit(repo, commit);
            return _known[commit] = info.Finished ?? info.Started;
        }
    }

    /// <summary>Serves the gateway at /s3 over the store's files; the server's tokens sign its requests.</summary>
    public static void Map(WebApplication app, IFileService files, TokenStore tokens, string storeFolder)
    {
        var gateway = new S3Gateway(files, tokens, new S3ETags(storeFolder), new S3Multipart(Path.Combine(storeFolder, "server", "multipart")),
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<S3Gateway>());
        app.Map(Prefix, gateway.Handle);
        app.Map(Prefix + "/{**path}", gateway.Handle);
    }
}
