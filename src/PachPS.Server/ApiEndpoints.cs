using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Remote;

namespace PachPS.Server;

/// <summary>
/// Serves every operation of <see cref="ApiCatalog"/>: reads the call's arguments (JSON, or an upload's header and
/// frames), checks the caller's token against <see cref="Access"/>, runs the engine method, and answers with its
/// result as JSON, its content as the body, or its progress as frames before the result. A failure answers with the
/// engine's ErrorId, kind, message and target (<see cref="ApiError"/>).
/// </summary>
public sealed class ApiEndpoints(PachStore store, TokenStore tokens, ServerMetrics metrics, IHostApplicationLifetime lifetime, ILogger<ApiEndpoints> log)
{
    /// <summary>A JSON call's arguments: 16 MiB (an upload's content is not limited).</summary>
    public const long MaxArgumentBytes = 16 << 20;
    /// <summary>How often progress frames are sent at most.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    public void Map(IEndpointRouteBuilder routes)
    {
        foreach (var operation in ApiCatalog.All)
            routes.MapPost(operation.Route, context => Handle(context, operation))
                .WithName(operation.Service + "." + operation.Name);
    }

    private object Target(ApiOperation operation, TokenInfo caller) => operation.Service switch
    {
        "files" => store.Pfs,
        "pipelines" => store.Pps,
        "provenance" => store.Provenance,
        "admin" => store,
        "tokens" => new CallerTokens(tokens, caller, store.Pfs),
        _ => throw new InvalidOperationException(operation.Service),
    };

    private async Task Handle(HttpContext context, ApiOperation operation)
    {
        var caller = Authentication.Caller(context);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        FrameWriter? frames = null;
        try
        {
            var (args, named) = await ReadArguments(context, operation, metrics, stopping.Token);
            Access.Demand(caller, operation, named);
            RefuseScriptBlocks(named);
            if (operation.Progress is { } p && context.Request.Query.ContainsKey(Wire.ProgressQuery))
                args[p.Position] = FrameWriter.Progress(frames = new FrameWriter(context), ApiOperation.ProgressType(p.ParameterType)!);
            else if (operation.Progress is not null) frames = new FrameWriter(context);
            var target = Target(operation, caller);
            var result = await Task.Run(() => Invoke(operation, target, args), stopping.Token);
            if (result is Task task)
            {
                await task;
                result = task.GetType().GetProperty("Result")!.GetValue(task);
            }
            if (operation.Route == "/api/v1/files/ListRepos" && !caller.Global)
                result = ((IReadOnlyList<RepoInfo>)result!).Where(r => caller.Repos.Contains(r.Repo, StringComparer.Ordinal)).ToList();
            if (frames is not null) frames.Finish(new ApiFrame(Result: JsonSerializer.SerializeToElement(result, operation.ResultType, Wire.Options), Done: true));
            else if (operation.Downloads) await Download(context, result!, metrics, stopping.Token);
            else if (operation.ResultType == typeof(void)) context.Response.StatusCode = StatusCodes.Status204NoContent;
            else
            {
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body, result, operation.ResultType, Wire.Options, stopping.Token);
            }
        }
        catch (Exception ex) when (Unwrap(ex) is OperationCanceledException && context.RequestAborted.IsCancellationRequested) { }
        catch (Exception ex)
        {
            var error = Unwrap(ex) switch
            {
                PachException pach => ApiError.From(pach),
                OperationCanceledException => new ApiError("ServerStopping", PachErrorKind.ResourceUnavailable,
                    "The server is stopping; the operation was stopped and can be run again when it is back.", null),
                JsonException json => new ApiError("RequestInvalid", PachErrorKind.InvalidArgument, $"The request's arguments are not valid: {json.Message}", operation.Name),
                BadHttpRequestException bad => new ApiError("RequestInvalid", PachErrorKind.InvalidArgument, bad.Message, operation.Name),
                var other => Unexpected(context, operation, other),
            };
            if (frames is { Started: true }) frames.Finish(new ApiFrame(Error: error, Done: true));
            else if (!context.Response.HasStarted) await WriteError(context, error);
            else context.Abort();
        }
    }

    /// <summary>
    /// A script-block pipeline runs a PowerShell script with the client's module in the client's session; a server
    /// has neither, so it refuses one rather than store a pipeline whose every datum would fail.
    /// </summary>
    private static void RefuseScriptBlocks(Dictionary<string, object?> arguments)
    {
        foreach (var value in arguments.Values)
            foreach (var spec in value switch { Engine.Pps.PipelineSpec one => [one], IEnumerable<Engine.Pps.PipelineSpec> many => many, _ => [] })
                if (System.Text.Json.Nodes.JsonNode.Parse(spec.Json)?["pachps_script"] is not null)
                    throw new PachException("ScriptBlockTransformRemote", PachErrorKind.NotSupported,
                        $"Pipeline '{spec.Name}' runs a script block, which lives in a PowerShell session; a server runs pipelines from specs with a transform.cmd (an image or a program on the server).", spec.Name);
    }

    private ApiError Unexpected(HttpContext context, ApiOperation operation, Exception ex)
    {
        log.LogError(ex, "Unexpected {Type} in {Operation} (request {Request})", ex.GetType().Name, operation.Route, context.TraceIdentifier);
        return new ApiError("ServerError", PachErrorKind.InvalidOperation,
            $"Unexpected {ex.GetType().Name} in {operation.Method.Name}: {ex.Message}. The server's log has the full trace (request {context.TraceIdentifier}).",
            operation.Method.Name);
    }

    public static async Task WriteError(HttpContext context, ApiError error)
    {
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = "application/json";
        if (error.Kind == PachErrorKind.Unauthenticated) context.Response.Headers.WWWAuthenticate = "Bearer";
        await JsonSerializer.SerializeAsync(context.Response.Body, error, Wire.Options);
    }

    private static Exception Unwrap(Exception ex) => ex is TargetInvocationException { InnerException: { } inner } ? Unwrap(inner) : ex;

    private static object? Invoke(ApiOperation operation, object target, object?[] args)
    {
        try { return operation.Method.Invoke(target, args); }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }

    private static async Task<(object?[] Args, Dictionary<string, object?> Named)> ReadArguments(
        HttpContext context, ApiOperation operation, ServerMetrics metrics, CancellationToken cancel)
    {
        var parameters = operation.Method.GetParameters();
        var args = new object?[parameters.Length];
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        UploadReader? upload = null;
        byte[] json;
        if (operation.Uploads)
        {
            // The engine reads an upload's files as it stores them, on its own thread, from blocks read ahead.
            context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            var body = new ReadAheadStream(new CountingStream(context.Request.Body, metrics.BytesIn), cancel);
            context.Response.RegisterForDispose(body);
            json = await Task.Run(() => ContentFraming.ReadHeader(body), cancel);
            upload = new UploadReader(body);
        }
        else
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, cancel);
            json = buffer.Length == 0 ? "{}"u8.ToArray() : buffer.ToArray();
        }
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("The arguments must be a JSON object.");
        foreach (var parameter in parameters)
        {
            object? value;
            if (parameter.ParameterType == typeof(CancellationToken)) value = cancel;
            else if (ApiOperation.ProgressType(parameter.ParameterType) is not null) value = null;
            else if (parameter.ParameterType == typeof(Func<Stream>)) value = (Func<Stream>)(() => upload!.Open(0));
            else if (Property(document.RootElement, parameter.Name!) is { } element)
                value = element.Deserialize(parameter.ParameterType, Wire.StrictOptions);
            else if (parameter.HasDefaultValue) value = parameter.DefaultValue;
            else if (!parameter.ParameterType.IsValueType || Nullable.GetUnderlyingType(parameter.ParameterType) is not null) value = null;
            else throw new JsonException($"The argument '{parameter.Name}' is missing.");
            if (value is IReadOnlyList<FileSource> sources && upload is not null)
                value = sources.Select((s, i) => s with { Open = () => upload.Open(i) }).ToList();
            args[parameter.Position] = value;
            named[parameter.Name!] = value;
        }
        return (args, named);
    }

    private static JsonElement? Property(JsonElement root, string name)
    {
        foreach (var property in root.EnumerateObject())
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase)) return property.Value.ValueKind == JsonValueKind.Null ? null : property.Value;
        return null;
    }

    private async Task Download(HttpContext context, object result, ServerMetrics metrics, CancellationToken cancel)
    {
        Stream content;
        if (result is Stream stream) content = stream;
        else
        {
            // (info, content): the info goes in a header, so the body is the content alone.
            var fields = result.GetType().GetFields();
            var info = fields[0].GetValue(result);
            content = (Stream)fields[1].GetValue(result)!;
            context.Response.Headers[Wire.ResultHeader] = Wire.EncodeHeader(JsonSerializer.Serialize(info, fields[0].FieldType, Wire.Options));
        }
        await using (content)
        {
            context.Response.ContentType = "application/octet-stream";
            try { context.Response.Headers[Wire.LengthHeader] = content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture); }
            catch (NotSupportedException) { }
            // A failure found while reading (a corrupt or missing chunk) ends the content with its error frame.
            await ContentFraming.WriteFileAsync(new CountingStream(context.Response.Body, metrics.BytesOut), content, ContentFraming.NewBuffer(),
                ex => ex is PachException pach ? ApiError.From(pach) : null, cancel);
        }
    }

    /// <summary>
    /// The token service as one caller sees it: WhoAmI answers with the caller's token, and a token's repos must exist
    /// (RepoNotFound: a misspelt repo would make a token that covers nothing).
    /// </summary>
    private sealed class CallerTokens(TokenStore tokens, TokenInfo caller, IFileService files) : ITokenService
    {
        public NewTokenInfo CreateToken(string user, TokenRole role, IReadOnlyList<string>? repos = null, DateTimeOffset? expires = null)
        {
            foreach (var repo in repos ?? []) files.GetRepo(repo);
            return tokens.CreateToken(user, role, repos, expires);
        }
        public IReadOnlyList<TokenInfo> ListTokens(string? user = null) => tokens.ListTokens(user);
        public TokenInfo RevokeToken(string tokenId) => tokens.RevokeToken(tokenId);
        public TokenInfo WhoAmI() => caller;
    }

    /// <summary>
    /// A framed response: progress reports as they come (at most every 200 ms), then the result or error. Written
    /// from the engine's thread, so writes are synchronous and one at a time.
    /// </summary>
    private sealed class FrameWriter
    {
        private readonly HttpContext _context;
        private readonly Lock _gate = new();
        private DateTime _last = DateTime.MinValue;

        public FrameWriter(HttpContext context)
        {
            _context = context;
            context.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        }

        public bool Started { get; private set; }

        public static object Progress(FrameWriter writer, Type type) =>
            Activator.CreateInstance(typeof(Sink<>).MakeGenericType(type), writer)!;

        public void Finish(ApiFrame frame) => Write(frame, force: true);

        private void Write(ApiFrame frame, bool force)
        {
            lock (_gate)
            {
                var now = DateTime.UtcNow;
                if (!force && now - _last < ProgressInterval) return;
                _last = now;
                if (!Started)
                {
                    _context.Response.StatusCode = 200;
                    _context.Response.ContentType = Wire.FramesMediaType;
                    Started = true;
                }
                var bytes = JsonSerializer.SerializeToUtf8Bytes(frame, Wire.Options);
                _context.Response.Body.Write(bytes);
                _context.Response.Body.Write("\n"u8);
                _context.Response.Body.Flush();
            }
        }

        private sealed class Sink<T>(FrameWriter writer) : IProgress<T>
        {
            public void Report(T value)
            {
                try { writer.Write(new ApiFrame(Progress: JsonSerializer.SerializeToElement(value, Wire.Options)), force: false); }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException) { /* the client went away: the call's token stops the work */ }
            }
        }
    }
}

/// <summary>Counts the bytes that pass through a stream into a metric.</summary>
internal sealed class CountingStream(Stream inner, Prometheus.Counter counter) : Stream
{
    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Count(await inner.ReadAsync(buffer, cancellationToken));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); counter.Inc(count); }
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        counter.Inc(buffer.Length);
    }
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    private int Count(int n) { counter.Inc(n); return n; }
    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
