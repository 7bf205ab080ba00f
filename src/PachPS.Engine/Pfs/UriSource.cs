using System.Net;
using System.Net.Http.Headers;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Files read from http(s) URLs (Add-PachFile -Uri): each GET is streamed into the ingest, chunked and deduplicated
/// like a local file, and a download that breaks off is resumed where it stopped (a Range request that holds only
/// while the ETag or Last-Modified is the same), up to <see cref="Tries"/> times with a growing pause.
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
        return new FileSource(path, () => ResumingDownload.Start(client ?? SharedClient.Value, parsed, firstPause ?? TimeSpan.FromMilliseconds(250)), parsed.ToString());
    }

    /// <summary>An absolute http(s) URL, or UriInvalid.</summary>
    public static Uri Parse(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Host.Length == 0)
            throw PachException.Invalid("UriInvalid", $"'{uri}' is not an http:// or https:// URL with a host.", uri);
        return parsed;
    }

    /// <summary>The file name a URL gives when no path says otherwise: its last path segment (unescaped), or UriHasNoFileName.</summary>
    public static string FileName(string uri)
    {
        var name = Uri.UnescapeDataString(Parse(uri).AbsolutePath.Split('/')[^1]);
        if (name.Length == 0)
            throw PachException.Invalid("UriHasNoFileName", $"'{uri}' names no file (its path is empty or ends with '/'): give -Path a file name.", uri);
        return name;
    }

    /// <summary>The body of a GET, resumed after a broken transfer.</summary>
    private sealed class ResumingDownload : Stream
    {
        private readonly HttpClient _client;
        private readonly Uri _uri;
        private readonly TimeSpan _firstPause;
        private HttpResponseMessage _response;
        private Stream _body;
        private long _position;
        private int _tries = 1;

        private ResumingDownload(HttpClient client, Uri uri, TimeSpan firstPause, HttpResponseMessage response, Stream body)
        {
            _client = client;
            _uri = uri;
            _firstPause = firstPause;
            _response = response;
            _body = body;
            Length = response.Content.Headers.ContentLength ?? -1;
        }

        public static Stream Start(HttpClient client, Uri uri, TimeSpan firstPause)
        {
            var response = Send(client, uri, null);
            return new ResumingDownload(client, uri, firstPause, response, response.Content.ReadAsStream());
        }

        private static HttpResponseMessage Send(HttpClient client, Uri uri, (long From, RangeConditionHeaderValue If)? resume)
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

        public override long Length { get; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                try
                {
                    var n = _body.Read(buffer);
                    // A body shorter than its Content-Length is a broken transfer too.
                    if (n == 0 && Length >= 0 && _position < Length) throw new IOException($"the transfer ended after {_position} of {Length} bytes");
                    _position += n;
                    return n;
                }
                catch (IOException ex) when (_tries < Tries)
                {
                    Resume(ex);
                }
                catch (IOException ex)
                {
                    throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                        $"Reading '{_uri}' broke off after {_position} bytes, {Tries} times: {ex.Message}", _uri.ToString(), ex);
                }
            }
        }

        private void Resume(IOException broken)
        {
            Thread.Sleep(_firstPause * (1 << (_tries - 1)));
            _tries++;
            // Only the same version may continue: If-Range on its ETag (else its Last-Modified) makes a changed one a 200.
            var validator = _response.Headers.ETag is { } etag ? new RangeConditionHeaderValue(etag)
                : _response.Content.Headers.LastModified is { } modified ? new RangeConditionHeaderValue(modified) : null;
            if (validator is null)
                throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                    $"Reading '{_uri}' broke off after {_position} bytes ({broken.Message}) and its server gives no ETag or Last-Modified to resume it by.", _uri.ToString(), broken);
            _body.Dispose();
            _response.Dispose();
            var response = Send(_client, _uri, (_position, validator));
            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                response.Dispose();
                throw new PachException("UriNotReadable", PachErrorKind.ResourceUnavailable,
                    $"Reading '{_uri}' broke off after {_position} bytes and it changed (or its server ignores ranges) before it could be resumed; nothing was added: run it again.", _uri.ToString(), broken);
            }
            _response = response;
            _body = response.Content.ReadAsStream();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _body.Dispose();
                _response.Dispose();
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
