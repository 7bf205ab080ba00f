using System.Buffers;
using System.Net;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using Amazon.S3.Util;

namespace PachPS.Engine.Storage;

/// <summary>Where a store keeps its content in S3. Saved with the store; it never holds a secret.</summary>
public sealed record S3Settings(string Bucket, string? Endpoint = null, string? Region = null, string Prefix = "", string? ProfileName = null)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string DisplayName => $"s3://{Bucket}/{Prefix}" + (Endpoint is null ? "" : $" at {Endpoint}");
}

/// <summary>An object an S3 listing or HEAD reports: its key (under the store's prefix), size, ETag and version.</summary>
public sealed record S3Entry(string Key, long Size, string ETag, string? VersionId);

/// <summary>An access key and secret, held in memory only for the lifetime of the open store.</summary>
public sealed record S3Credentials(string AccessKey, string SecretKey)
{
    public override string ToString() => $"S3Credentials {{ AccessKey = {AccessKey} }}"; // never print the secret
}

/// <summary>
/// Content objects in an S3 bucket (AWS or any S3-compatible server) under a key prefix. Uses path-style addressing
/// and WHEN_REQUIRED checksums for non-AWS endpoints, the SDK's standard retry with backoff (throttling, 5xx,
/// timeouts), multipart upload above 16 MiB, and counts its requests.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IPresigningObjectStore, IDisposable
{
    private const long MultipartThreshold = 16L * 1024 * 1024;
    private readonly AmazonS3Client _client;
    private readonly S3Settings _settings;
    private readonly S3Credentials? _credentials;
    private readonly string _prefix;
    private long _requests;

    /// <param name="createBucket">False for a bucket that is someone else's (an egress target): a missing one is an error, not made.</param>
    public S3ObjectStore(S3Settings settings, S3Credentials? credentials, bool createBucket = true)
    {
        _settings = settings;
        _credentials = credentials;
        _prefix = string.IsNullOrEmpty(settings.Prefix) ? "" : settings.Prefix.TrimEnd('/') + "/";
        var config = new AmazonS3Config
        {
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = 4,
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (settings.Endpoint is not null)
        {
            // S3-compatible servers: path-style keys, and no checksum trailers or aws-chunked bodies they would refuse.
            config.ServiceURL = settings.Endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = settings.Region ?? "us-east-1";
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Region ?? "us-east-1");
        _client = ResolveCredentials(settings, credentials) is { } creds ? new AmazonS3Client(creds, config) : new AmazonS3Client(config);
        if (createBucket) EnsureBucket();
    }

    /// <summary>
    /// Objects under another bucket and prefix of the same server, with the same credentials (which stay inside):
    /// an egress to the store's own S3 service. The bucket must exist.
    /// </summary>
    public S3ObjectStore At(string bucket, string prefix) =>
        new(_settings with { Bucket = bucket, Prefix = prefix }, _credentials, createBucket: false);

    /// <summary>
    /// Objects of an s3:// location that is not the store's own prefix (an egress target, an import's source, a
    /// referenced object), under <paramref name="prefix"/>. A location without endpoint, region or profile of its own
    /// (or with the store's) is on the server the store keeps its content on, with the store's credentials, when its
    /// content is in S3; otherwise it is at the location's endpoint (AWS when none) with <paramref name="credentials"/>
    /// when given, else the location's profile or the AWS default credential chain. The bucket must exist.
    /// </summary>
    public static S3ObjectStore Open(S3Location location, IObjectStore? storeObjects, S3Credentials? credentials = null, string prefix = "") =>
        storeObjects is S3ObjectStore own && credentials is null && location.Profile is null
            && (location.Endpoint is null || string.Equals(location.Endpoint, own.Settings.Endpoint?.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
            && (location.Region is null || location.Region == own.Settings.Region)
            ? own.At(location.Bucket, prefix)
            : new S3ObjectStore(new S3Settings(location.Bucket, location.Endpoint, location.Region, prefix, location.Profile), credentials, createBucket: false);

    /// <summary>Uploads a local file as one object (multipart above 16 MiB), read from disk as it goes.</summary>
    public void PutFile(string key, string localPath)
    {
        var length = new FileInfo(localPath).Length;
        if (length <= MultipartThreshold)
        {
            Put(key, File.ReadAllBytes(localPath));
            return;
        }
        Call($"write {key}", async () =>
        {
            using var transfer = new TransferUtility(_client);
            Interlocked.Add(ref _requests, (length + 8 * 1024 * 1024 - 1) / (8 * 1024 * 1024) + 2);
            await transfer.UploadAsync(new TransferUtilityUploadRequest { BucketName = _settings.Bucket, Key = _prefix + key, FilePath = localPath, PartSize = 8 * 1024 * 1024 });
            return 0;
        });
    }

    public bool IsRemote => true;

    /// <summary>HTTP requests sent so far (retries included).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public string Description => _settings.DisplayName;

    /// <summary>Where the objects are (a backup's manifest records it; never credentials).</summary>
    public S3Settings Settings => _settings;

    private static AWSCredentials? ResolveCredentials(S3Settings settings, S3Credentials? credentials)
    {
        if (credentials is not null) return new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey);
        if (settings.ProfileName is null) return null; // the SDK's default chain: environment, profile, instance role
        if (new CredentialProfileStoreChain().TryGetAWSCredentials(settings.ProfileName, out var fromProfile)) return fromProfile;
        throw PachException.NotFound("AwsProfileNotFound", $"There is no AWS profile named '{settings.ProfileName}'.", settings.ProfileName);
    }

    private void EnsureBucket() => Call("open bucket", async () =>
    {
        Count();
        if (await AmazonS3Util.DoesS3BucketExistV2Async(_client, _settings.Bucket)) return 0;
        Count();
        try { await _client.PutBucketAsync(new PutBucketRequest { BucketName = _settings.Bucket }); }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
        return 0;
    });

    public void Put(string key, ReadOnlySpan<byte> data)
    {
        // A pooled copy (chunks arrive in the writer's pooled buffers): a fresh array per chunk was 256 MiB of large-object
        // garbage per 256 MiB written.
        var length = data.Length;
        var bytes = ArrayPool<byte>.Shared.Rent(length);
        data.CopyTo(bytes);
        try
        {
            Call($"write {key}", async () =>
            {
                using var body = new MemoryStream(bytes, 0, length, writable: false);
                if (length > MultipartThreshold)
                {
                    using var transfer = new TransferUtility(_client);
                    var parts = (length + 8 * 1024 * 1024 - 1) / (8 * 1024 * 1024);
                    Interlocked.Add(ref _requests, parts + 2);
                    await transfer.UploadAsync(new TransferUtilityUploadRequest { BucketName = _settings.Bucket, Key = _prefix + key, InputStream = body, PartSize = 8 * 1024 * 1024 });
                    return 0;
                }
                Count();
                // aws-chunked, as before: radosgw answers a whole-signed PUT into a missing bucket with 405 MethodNotAllowed
                // instead of NoSuchBucket, and that reason is what a failed egress must tell.
                await _client.PutObjectAsync(new PutObjectRequest { BucketName = _settings.Bucket, Key = _prefix + key, InputStream = body, AutoCloseStream = false });
                return 0;
            });
        }
        finally { ArrayPool<byte>.Shared.Return(bytes); }
    }

    public byte[] Get(string key) => Read(key, null);

    public byte[] GetRange(string key, long offset, int length) => Read(key, new ByteRange(offset, offset + length - 1));

    private byte[] Read(string key, ByteRange? range) => Call($"read {key}", async () =>
    {
        Count();
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _settings.Bucket, Key = _prefix + key, ByteRange = range });
            if (response.ContentLength < 0)
            {
                using var ms = new MemoryStream();
                await response.ResponseStream.CopyToAsync(ms);
                return ms.ToArray();
            }
            // Read into an array of the length the server announced: no buffer grown and copied on the way.
            var data = new byte[response.ContentLength];
            var read = await response.ResponseStream.ReadAtLeastAsync(data, data.Length, throwOnEndOfStream: false);
            return read == data.Length ? data : data[..read];
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PachException("ObjectMissing", PachErrorKind.InvalidData, $"Content object '{key}' is missing from {_settings.DisplayName}.", key);
        }
    });

    /// <summary>A ranged GET read straight into the caller's buffer (a chunk into a pooled array): no array of its own.</summary>
    public int ReadInto(string key, long offset, Span<byte> destination)
    {
        if (destination.IsEmpty) return 0;
        var what = $"read {key}";
        var last = offset + destination.Length - 1;
        try
        {
            using var body = Call(what, async () =>
            {
                Count();
                try
                {
                    var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _settings.Bucket, Key = _prefix + key, ByteRange = new ByteRange(offset, last) });
                    return (Stream)new ResponseBody(response);
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
                {
                    throw new PachException("ObjectMissing", PachErrorKind.InvalidData, $"Content object '{key}' is missing from {_settings.DisplayName}.", key);
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    return Stream.Null; // from the object's end or past it: no bytes there
                }
            });
            var total = 0;
            while (total < destination.Length && body.Read(destination[total..]) is var n and > 0) total += n;
            return total;
        }
        catch (Exception ex) when (Failure(what, ex) is { } failure) { throw failure; }
    }

    public bool Exists(string key) => Call($"check {key}", async () =>
    {
        Count();
        try
        {
            await _client.GetObjectMetadataAsync(_settings.Bucket, _prefix + key);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound) { return false; }
    });

    public IEnumerable<string> List(string prefix) => ListObjects(prefix).Select(o => o.Key[_prefix.Length..]);

    public IEnumerable<StoredObject> ListDetailed(string prefix) =>
        ListObjects(prefix).Select(o => new StoredObject(o.Key[_prefix.Length..], o.Size ?? 0, o.LastModified?.ToUniversalTime()));

    private List<S3Object> ListObjects(string prefix) => Call("list objects", async () =>
    {
        var result = new List<S3Object>();
        var request = new ListObjectsV2Request { BucketName = _settings.Bucket, Prefix = _prefix + prefix };
        do
        {
            Count();
            var page = await _client.ListObjectsV2Async(request);
            result.AddRange(page.S3Objects ?? []);
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (request.ContinuationToken is not null);
        return result;
    });

    /// <summary>Objects under a prefix with what an import records of each: size, ETag and last write time.</summary>
    public IEnumerable<S3Entry> ListEntries(string prefix) =>
        ListObjects(prefix).Select(o => new S3Entry(o.Key[_prefix.Length..], o.Size ?? 0, o.ETag ?? "", null));

    /// <summary>Whether the bucket keeps every version of its objects (a caller not allowed to ask is told no).</summary>
    public bool IsVersioned() => Call("check versioning", async () =>
    {
        Count();
        try { return (await _client.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = _settings.Bucket })).VersioningConfig?.Status == VersionStatus.Enabled; }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotImplemented) { return false; }
    });

    /// <summary>One object's size, ETag and version (null where the bucket keeps none); ObjectMissing when there is none.</summary>
    public S3Entry Head(string key) => Call($"check {key}", async () =>
    {
        Count();
        try
        {
            var meta = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _settings.Bucket, Key = _prefix + key });
            return new S3Entry(key, meta.ContentLength, meta.ETag ?? "", string.IsNullOrEmpty(meta.VersionId) || meta.VersionId == "null" ? null : meta.VersionId);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw Missing(key);
        }
    });

    /// <summary>
    /// Streams an object from <paramref name="offset"/> (<paramref name="length"/> bytes, or to its end), only while
    /// it is still the version <paramref name="etag"/> and <paramref name="versionId"/> name: another one is
    /// ObjectChanged, none ObjectMissing.
    /// </summary>
    public Stream OpenRead(string key, long offset = 0, long? length = null, string? etag = null, string? versionId = null) => Call($"read {key}", async () =>
    {
        Count();
        var request = new GetObjectRequest { BucketName = _settings.Bucket, Key = _prefix + key, EtagToMatch = etag, VersionId = versionId };
        if (offset > 0 || length is not null) request.ByteRange = new ByteRange(offset, length is { } n ? offset + n - 1 : long.MaxValue);
        try
        {
            var response = await _client.GetObjectAsync(request);
            return (Stream)new ResponseBody(response);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw Missing(key);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new PachException("ObjectChanged", PachErrorKind.InvalidData,
                $"'{key}' at {_settings.DisplayName} is no longer the version with ETag {etag}{(versionId is null ? "" : $" (version {versionId})")}.", key);
        }
    });

    private PachException Missing(string key) =>
        new("ObjectMissing", PachErrorKind.InvalidData, $"Object '{key}' is missing from {_settings.DisplayName}.", key);

    /// <summary>A GET's body, which ends the response with it.</summary>
    private sealed class ResponseBody(GetObjectResponse response) : ReadOnlyStream
    {
        public override long Length => response.ContentLength;
        public override int Read(Span<byte> buffer) => response.ResponseStream.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => response.ResponseStream.ReadAsync(buffer, cancel);

        protected override void Dispose(bool disposing)
        {
            if (disposing) response.Dispose();
            base.Dispose(disposing);
        }
    }

    public void Delete(string key) => Call($"delete {key}", async () =>
    {
        Count();
        await _client.DeleteObjectAsync(_settings.Bucket, _prefix + key);
        return 0;
    });

    /// <summary>The most keys one DeleteObjects request takes.</summary>
    private const int DeleteBatch = 1000;

    public void DeleteMany(IReadOnlyCollection<string> keys)
    {
        foreach (var batch in keys.Chunk(DeleteBatch))
        {
            Call($"delete {batch.Length} objects", async () =>
            {
                Count();
                var response = await _client.DeleteObjectsAsync(new DeleteObjectsRequest
                {
                    BucketName = _settings.Bucket,
                    Objects = batch.Select(k => new KeyVersion { Key = _prefix + k }).ToList(),
                    Quiet = true,
                });
                if (response.DeleteErrors is { Count: > 0 } errors)
                    throw new PachException("ObjectStoreUnavailable", PachErrorKind.ResourceUnavailable,
                        $"S3 could not delete {errors.Count} object(s) at {_settings.DisplayName}, first '{errors[0].Key}': {errors[0].Code} {errors[0].Message}", _settings.Bucket);
                return 0;
            });
        }
    }

    public (long Bytes, long Count) Usage()
    {
        var objects = ListObjects("");
        return (objects.Sum(o => o.Size ?? 0), objects.Count);
    }

    private void Count() => Interlocked.Increment(ref _requests);

    /// <summary>Runs one S3 operation; a server that cannot be reached or refuses becomes a PachException that says so.</summary>
    private T Call<T>(string what, Func<Task<T>> operation)
    {
        try
        {
            return operation().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (Failure(what, ex) is { } failure) { throw failure; }
    }

    /// <summary>What an S3 failure of <paramref name="what"/> is to the caller (null: rethrow it as it is).</summary>
    private PachException? Failure(string what, Exception ex)
    {
        if (ex is PachException) return null;
        if (ex is AmazonServiceException full && StorageFull.IsOutOfSpace(full.ErrorCode, (int)full.StatusCode))
            return StorageFull.Error(_settings.DisplayName, $"S3 {what}: HTTP {(int)full.StatusCode} {full.ErrorCode}: {full.Message}", full);
        // The SDK's own internal failures too (HttpErrorResponseException from a credential lookup that found none).
        if (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException
            || ex.GetType().Namespace?.StartsWith("Amazon", StringComparison.Ordinal) == true)
        {
            var status = ex is AmazonServiceException ase && ase.StatusCode != 0 ? $" (HTTP {(int)ase.StatusCode} {ase.ErrorCode})" : "";
            return new PachException("ObjectStoreUnavailable", PachErrorKind.ResourceUnavailable,
                $"S3 {what} failed at {_settings.DisplayName}{status}: {ex.Message}", _settings.Bucket, ex);
        }
        return null;
    }

    /// <summary>A URL that lets its holder GET (or PUT) one object until it expires, without any credential.</summary>
    public Uri Presign(string key, bool put, TimeSpan lifetime)
    {
        var url = _client.GetPreSignedURL(new GetPreSignedUrlRequest
        {
            BucketName = _settings.Bucket,
            Key = _prefix + key,
            Verb = put ? HttpVerb.PUT : HttpVerb.GET,
            Expires = DateTime.UtcNow.Add(lifetime),
            Protocol = _settings.Endpoint?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        });
        return new Uri(url);
    }

    public void Dispose() => _client.Dispose();
}
