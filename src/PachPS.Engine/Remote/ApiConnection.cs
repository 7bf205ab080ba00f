using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Remote;

/// <summary>
/// The client's side of the API: sends one operation's call to the server and turns the answer back into what the
/// interface method returns (a record, a content stream, a task), its progress frames into progress reports, and a
/// failure into the same <see cref="PachException"/> the engine would have thrown in process.
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private readonly HttpClient _http;

    public ApiConnection(Uri server, string token, string? certificateThumbprint = null)
    {
        Server = server;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (certificateThumbprint is not null)
        {
            var pinned = Normalize(certificateThumbprint);
            // A pinned certificate (the server's self-signed one) is trusted by its thumbprint alone, SHA-1 as Windows
            // shows it or SHA-256.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null &&
                (Normalize(certificate.GetCertHashString()) == pinned || Normalize(certificate.GetCertHashString(HashAlgorithmName.SHA256)) == pinned);
        }
        _http = new HttpClient(handler) { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("PachPS", typeof(ApiConnection).Assembly.GetName().Version?.ToString(3)));
    }

    public Uri Server { get; }

    private static string Normalize(string thumbprint) => new(thumbprint.Where(Uri.IsHexDigit).Select(char.ToUpperInvariant).ToArray());

    /// <summary>Calls an operation with the interface method's arguments and returns what the method returns.</summary>
    public object? Call(ApiOperation operation, object?[] args)
    {
        var returns = operation.Method.ReturnType;
        if (returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(Task<>))
            return CallAsyncMethod.MakeGenericMethod(operation.ResultType).Invoke(this, [operation, args]);
        return Send(operation, args);
    }

    private static readonly MethodInfo CallAsyncMethod = typeof(ApiConnection).GetMethod(nameof(CallAsync), BindingFlags.NonPublic | BindingFlags.Instance)!;

    // Waits run on a pool thread: the engine's waits are tasks, and a long poll is one request that the server answers
    // when the job or commit is done.
    private Task<T> CallAsync<T>(ApiOperation operation, object?[] args) => Task.Run(() => (T)Send(operation, args)!);

    private object? Send(ApiOperation operation, object?[] args)
    {
        var cancel = args.OfType<CancellationToken>().FirstOrDefault();
        var progress = operation.Progress is { } p ? args[p.Position] : null;
        using var request = new HttpRequestMessage(HttpMethod.Post, operation.Route + (progress is null ? "" : "?" + Wire.ProgressQuery + "=1"));
        UploadContent? upload = null;
        if (operation.Uploads)
        {
            request.Content = upload = new UploadContent(operation, args);
            request.Headers.TransferEncodingChunked = true;
        }
        else request.Content = new ByteArrayContent(Arguments(operation, args)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

        HttpResponseMessage response;
        try { response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, cancel); }
        catch (Exception) when (upload?.Failure is { } failure) { throw failure; }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { throw; }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException) { throw Unavailable(ex); }
        var keep = false;
        try
        {
            if (!response.IsSuccessStatusCode) throw Failure(response);
            if (operation.Downloads)
            {
                keep = true;
                return Download(operation, response);
            }
            using var body = response.Content.ReadAsStream(cancel);
            if (operation.Progress is not null) return ReadFrames(operation, body, progress, cancel);
            return operation.ResultType == typeof(void) ? null : JsonSerializer.Deserialize(body, operation.ResultType, Wire.Options);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException) { throw Unavailable(ex); }
        finally
        {
            if (!keep) response.Dispose();
        }
    }

    /// <summary>The arguments as one JSON object by parameter name.</summary>
    internal static byte[] Arguments(ApiOperation operation, object?[] args)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var parameter in operation.Arguments)
            {
                if (parameter.ParameterType == typeof(Func<Stream>)) continue;
                writer.WritePropertyName(parameter.Name!);
                JsonSerializer.Serialize(writer, args[parameter.Position], parameter.ParameterType, Wire.Options);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static object Download(ApiOperation operation, HttpResponseMessage response)
    {
        long? length = response.Headers.TryGetValues(Wire.LengthHeader, out var sizes) && long.TryParse(sizes.First(), out var size) ? size : null;
        // Disposing the content ends the response.
        var content = new ContentFraming.FileStream(response.Content.ReadAsStream(), length, response);
        if (operation.ResultType == typeof(Stream)) return content;
        // (info, content): the info travels in a header, as JSON.
        var infoType = operation.ResultType.GetGenericArguments()[0];
        var header = response.Headers.TryGetValues(Wire.ResultHeader, out var values) ? values.First() : "null";
        var info = JsonSerializer.Deserialize(Wire.DecodeHeader(header), infoType, Wire.Options);
        return Activator.CreateInstance(operation.ResultType, info, content)!;
    }

    private static object? ReadFrames(ApiOperation operation, Stream body, object? progress, CancellationToken cancel)
    {
        var progressType = ApiOperation.ProgressType(operation.Progress!.ParameterType)!;
        var report = progress is null ? null : typeof(IProgress<>).MakeGenericType(progressType).GetMethod("Report")!;
        using var reader = new StreamReader(body);
        while (reader.ReadLine() is { } line)
        {
            cancel.ThrowIfCancellationRequested();
            if (line.Length == 0) continue;
            var frame = JsonSerializer.Deserialize<ApiFrame>(line, Wire.Options)!;
            if (frame.Error is { } error) throw error.ToException();
            if (frame.Progress is { } value && report is not null) report.Invoke(progress, [value.Deserialize(progressType, Wire.Options)]);
            if (frame.Done) return operation.ResultType == typeof(void) ? null : frame.Result?.Deserialize(operation.ResultType, Wire.Options);
        }
        throw new PachException("ServerUnavailable", PachErrorKind.ResourceUnavailable,
            "The server's answer ended before the operation finished (the server stopped or the connection broke).", null);
    }

    private PachException Failure(HttpResponseMessage response)
    {
        ApiError? error = null;
        try { error = response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonSerializer.Deserialize<ApiError>(response.Content.ReadAsStream(), Wire.Options) : null; }
        catch (JsonException) { }
        return error?.ToException() ?? new PachException(response.StatusCode is HttpStatusCode.Unauthorized ? "Unauthenticated" : "ServerError",
            response.StatusCode is HttpStatusCode.Unauthorized ? PachErrorKind.Unauthenticated : PachErrorKind.ResourceUnavailable,
            $"The server at {Server} answered {(int)response.StatusCode} {response.ReasonPhrase}.", Server.ToString());
    }

    private PachException Unavailable(Exception ex) => new("ServerUnavailable", PachErrorKind.ResourceUnavailable,
        $"The PachPS server at {Server} cannot be reached: {(ex.InnerException ?? ex).Message}", Server.ToString(), ex);

    public void Dispose() => _http.Dispose();

    /// <summary>The body of an upload: the arguments, then each file's frames, read from the local sources as they go.</summary>
    private sealed class UploadContent(ApiOperation operation, object?[] args) : HttpContent
    {
        /// <summary>A local source that could not be read: the call fails with it, as it would in process.</summary>
        public PachException? Failure { get; private set; }

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            ContentFraming.WriteHeader(stream, Arguments(operation, args));
            var buffer = ContentFraming.NewBuffer();
            foreach (var source in Sources())
            {
                cancellationToken.ThrowIfCancellationRequested();
                Stream input;
                try { input = source.Open(); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw Failure = source.NotReadable(ex); }
                using (input)
                {
                    try { ContentFraming.WriteFile(stream, new ReadFailureStream(input, source, this), buffer); }
                    catch (PachException ex) when (ReferenceEquals(ex, Failure)) { throw; }
                }
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            Task.Run(() => SerializeToStream(stream, context, default));

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            Task.Run(() => SerializeToStream(stream, context, cancellationToken), cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        private IEnumerable<FileSource> Sources()
        {
            foreach (var parameter in operation.Method.GetParameters())
            {
                if (args[parameter.Position] is IReadOnlyList<FileSource> sources) foreach (var s in sources) yield return s;
                else if (args[parameter.Position] is Func<Stream> open) yield return new FileSource(parameter.Name!, open, parameter.Name!);
            }
        }

        /// <summary>A local read that fails mid-file fails the call as a source that is not readable.</summary>
        private sealed class ReadFailureStream(Stream inner, FileSource source, UploadContent owner) : ReadOnlyStream
        {
            public override int Read(Span<byte> buffer)
            {
                try { return inner.Read(buffer); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw owner.Failure = source.NotReadable(ex); }
            }

        }
    }
}
