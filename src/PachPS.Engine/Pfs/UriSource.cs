using System.Net;
using System.Net.Http.Headers;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Files read from URLs (Add-PachFile -Uri): http(s) URLs, and s3:// objects, prefixes and globs. Each is streamed
/// into the ingest, chunked and deduplicated like a local file, and a transfer that breaks off is resumed where it
/// stopped, only while the source is the same version (an http Range request under If-Range on the ETag or
/// Last-Modified; an S3 ranged GET under If-Match on the ETag the listing gave), up to <see cref="Tries"/> times with a
/// growing pause.
/// </summary>
public static class UriSource
{
    /// <summary>Tries of one download in all: the first request and the resumptions after it.</summary>
    public const int Tries = 5;

    private static readonly Lazy<HttpClient> SharedClient = new(() =>
        new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { Timeout = Timeout.InfiniteTimeSpan });

    /// <summary>The URL as a source, checked now: an http or https URL with a host. It is read when the ingest opens it.</summary>
    public static FileSource Http(string uri, string path, HttpClient? client = null, TimeSpan? firstPause = null)
    {
        var parsed = Parse(uri);
        var pause = firstPause ?? TimeSpan.FromMilliseconds(250);
        return new FileSource(path, () => new ResumingDownload(parsed.ToString(), new HttpBody(client ?? SharedClient.Value, parsed).Open, pause), parsed.ToString());
    }

    /// <summary>One object of an S3 bucket as a source: read when the ingest opens it, only while it is the version listed.</summary>
    public static FileSource S3(S3ObjectStore bucket, S3Location location, S3Entry entry, string path, TimeSpan? firstPause = null)
    {
        var url = location.At(entry.Key).ToString();
        return new FileSource(path, () => new ResumingDownload(url, from => OpenS3(bucket, url, entry, from), firstPause ?? TimeSpan.FromMilliseconds(250)), url);
    }

    private static Stream OpenS3(S3ObjectStore bucket, string url, S3Entry entry, long from)
    {
        try { return bucket.OpenRead(entry.Key, from, null, entry.ETag.Length > 0 ? entry.ETag : null); }
        catch (PachException ex) when (ex.ErrorId == "ObjectMissing")
        {
            throw PachException.NotFound("UriNotFound", $"'{url}' does not exist (any more) in its bucket.", url);
        }
        catch (PachException ex) when (ex.ErrorId == "ObjectChanged")
        {
            throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                $"'{url}' changed while it was read; nothing was added: run it again.", url, ex);
        }
    }

    /// <summary>An absolute http(s) URL, or UriInvalid.</summary>
    public static Uri Parse(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Host.Length == 0)
            throw PachException.Invalid("UriInvalid", $"'{uri}' is not an http://, https:// or s3:// URL.", uri);
        return parsed;
    }

    /// <summary>An s3:// URL, or UriInvalid.</summary>
    public static S3Location ParseS3(string uri) => S3Location.Parse(uri, problem => PachException.Invalid("UriInvalid", problem, uri));

    public static bool IsS3(string uri) => uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The file name a URL gives when no path says otherwise: its last path segment (unescaped), or UriHasNoFileName.</summary>
    public static string FileName(string uri)
    {
        var name = IsS3(uri) ? ParseS3(uri).Key.Split('/')[^1] : Uri.UnescapeDataString(Parse(uri).AbsolutePath.Split('/')[^1]);
        if (name.Length == 0)
            throw PachException.Invalid("UriHasNoFileName", $"'{uri}' names no file (its path is empty or ends with '/'): give -Path a file name.", uri);
        return name;
    }

    /// <summary>An http(s) GET: the first from the start, the next ones from where the last broke off, if the resource is the same.</summary>
    private sealed class HttpBody(HttpClient client, Uri uri)
    {
        private RangeConditionHeaderValue? _validator;

        public Stream Open(long from)
        {
            if (from > 0 && _validator is null)
                throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                    $"Reading '{uri}' broke off after {from} bytes and its server gives no ETag or Last-Modified to resume it by.", uri.ToString());
            var response = Send(from > 0 ? (from, _validator!) : null);
            if (from > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            {
                response.Dispose();
                throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                    $"Reading '{uri}' broke off after {from} bytes and it changed (or its server ignores ranges) before it could be resumed; nothing was added: run it again.", uri.ToString());
            }
            // Only the same version may continue: If-Range on its ETag (else its Last-Modified) makes a changed one a 200.
            if (from == 0)
                _validator = response.Headers.ETag is { } etag ? new RangeConditionHeaderValue(etag)
                    : response.Content.Headers.LastModified is { } modified ? new RangeConditionHeaderValue(modified) : null;
            return new ResponseStream(response);
        }

        private HttpResponseMessage Send((long From, RangeConditionHeaderValue If)? resume)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (resume is { } r)
            {
                request.Headers.Range = new RangeHeaderValue(r.From, null);
                request.Headers.IfRange = r.If;
            }
            HttpResponseMessage response;
            try { response = client.Send(request, HttpCompletionOption.ResponseHeadersRead); }
            catch (HttpRequestException ex)
            {
                // Refused, reset, no such host: an IOException, so the ingest reports SourceNotReadable naming the URL.
                throw new IOException(ex.Message, ex);
            }
            if (response.IsSuccessStatusCode) return response;
            var status = response.StatusCode;
            response.Dispose();
            if (status == HttpStatusCode.NotFound)
                throw PachException.NotFound("UriNotFound", $"'{uri}' does not exist on its server (HTTP 404).", uri.ToString());
            throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable, $"'{uri}' answered HTTP {(int)status} ({status}).", uri.ToString());
        }
    }

    /// <summary>A response's body with its length, ending the response with it.</summary>
    private sealed class ResponseStream(HttpResponseMessage response) : ReadOnlyStream
    {
        private readonly Stream _body = response.Content.ReadAsStream();

        public override long Length => response.Content.Headers.ContentLength ?? -1;
        public override int Read(Span<byte> buffer) => _body.Read(buffer);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _body.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// A download read to its end, resumed after a broken transfer: <c>open(from)</c> gives the body from that byte
    /// (the length of the first is the whole one's), or fails when the source changed.
    /// </summary>
    private sealed class ResumingDownload : ReadOnlyStream
    {
        private readonly string _what;
        private readonly Func<long, Stream> _open;
        private readonly TimeSpan _firstPause;
        private Stream _body;
        private long _position;
        private int _tries = 1;

        public ResumingDownload(string what, Func<long, Stream> open, TimeSpan firstPause)
        {
            _what = what;
            _open = open;
            _firstPause = firstPause;
            _body = open(0);
            Length = _body.Length;
        }

        public override long Length { get; }

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                try
                {
                    var n = _body.Read(buffer);
                    // A body shorter than its length is a broken transfer too.
                    if (n == 0 && buffer.Length > 0 && Length >= 0 && _position < Length) throw new IOException($"the transfer ended after {_position} of {Length} bytes");
                    _position += n;
                    return n;
                }
                catch (IOException) when (_tries < Tries)
                {
                    Thread.Sleep(_firstPause * (1 << (_tries - 1)));
                    _tries++;
                    _body.Dispose();
                    _body = _open(_position);
                }
                catch (IOException ex)
                {
                    throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                        $"Reading '{_what}' broke off after {_position} bytes, {Tries} times: {ex.Message}", _what, ex);
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _body.Dispose();
            base.Dispose(disposing);
        }
    }
}
