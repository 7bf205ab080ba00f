using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Remote;

/// <summary>How the engine's records cross the wire: JSON with camelCase names and enums as names.</summary>
public static class Wire
{
    /// <summary>For the client, and for what the server sends: stored specs are read back as a store reads them.</summary>
    public static readonly JsonSerializerOptions Options = Create(strictSpecs: false);

    /// <summary>For what the server receives: a spec is parsed as strictly as a local New-PachPipeline parses it.</summary>
    public static readonly JsonSerializerOptions StrictOptions = Create(strictSpecs: true);

    private static JsonSerializerOptions Create(bool strictSpecs)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            // Progress reports are value tuples, whose members are fields.
            IncludeFields = true,
            // Computed properties (JobInfo.Duration, DatumInfo.InputFiles) are computed again on the client.
            IgnoreReadOnlyProperties = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new PipelineSpecConverter(strictSpecs));
        options.Converters.Add(new FileSourceConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Media type of a response that streams progress frames before its result (one JSON object per line).</summary>
    public const string FramesMediaType = "application/x-ndjson";
    /// <summary>Media type of an upload request (<see cref="ContentFraming"/>).</summary>
    public const string UploadMediaType = "application/vnd.pachps.upload";
    /// <summary>Header of a download response that carries the JSON of what comes with the content (base64url).</summary>
    public const string ResultHeader = "X-Pach-Result";
    /// <summary>Header of a download response with the content's length in bytes, when known.</summary>
    public const string LengthHeader = "X-Pach-Length";
    /// <summary>Query flag by which a client asks for progress frames.</summary>
    public const string ProgressQuery = "progress";

    public static string EncodeHeader(string json) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string DecodeHeader(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return Encoding.UTF8.GetString(Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=')));
    }
}

/// <summary>
/// A failure as it crosses the wire: the ErrorId, kind, message and target of a <see cref="PachException"/>, so that a
/// remote failure reads exactly like a local one.
/// </summary>
public sealed record ApiError(string ErrorId, PachErrorKind Kind, string Message, string? Target)
{
    /// <summary>The error as it travels: a target that is a list (the outputs a squash would re-point, say) as its items, comma-separated.</summary>
    public static ApiError From(PachException ex) => new(ex.ErrorId, ex.Kind, ex.Message,
        ex.Target is System.Collections.IEnumerable items and not string ? string.Join(", ", items.Cast<object>()) : ex.Target?.ToString());

    public PachException ToException() => new(ErrorId, Kind, Message, Target);

    /// <summary>The HTTP status a kind of failure answers with.</summary>
    public int Status => ErrorId == "ServerBusy" ? 429 : Kind switch
    {
        PachErrorKind.NotFound => 404,
        PachErrorKind.AlreadyExists => 409,
        PachErrorKind.InvalidArgument => 400,
        PachErrorKind.InvalidOperation => 409,
        PachErrorKind.InvalidData => 422,
        PachErrorKind.ResourceUnavailable => 503,
        PachErrorKind.OperationStopped => 499,
        PachErrorKind.NotSupported => 501,
        PachErrorKind.Unauthenticated => 401,
        PachErrorKind.Forbidden => 403,
        _ => 500,
    };
}

/// <summary>One line of a framed response: a progress report, or the call's result or error (the last line).</summary>
public sealed record ApiFrame(JsonElement? Progress = null, JsonElement? Result = null, ApiError? Error = null, bool Done = false);

/// <summary>
/// A spec travels as the text it was given plus its JSON, and is parsed again on the other side, so both ends hold
/// the same record (its inputs, cron schedules and notes are derived from the text, never serialized field by field).
/// </summary>
internal sealed class PipelineSpecConverter(bool strict) : JsonConverter<PipelineSpec>
{
    public override PipelineSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var wire = JsonSerializer.Deserialize<WireSpec>(ref reader, WireOptions)
            ?? throw new JsonException("A pipeline spec cannot be null.");
        return PipelineSpec.FromWire(wire.Json, wire.Text, new SpecSource(wire.Number, wire.Count, wire.Line), strict);
    }

    public override void Write(Utf8JsonWriter writer, PipelineSpec value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, new WireSpec(value.Json, value.Text, value.Source.Number, value.Source.Count, value.Source.Line), WireOptions);

    private static readonly JsonSerializerOptions WireOptions = new(JsonSerializerDefaults.Web);

    private sealed record WireSpec(string Json, string Text, int Number, int Count, int Line);
}

/// <summary>
/// A file to upload travels as its path and origin; its bytes follow in the request body (<see cref="ContentFraming"/>),
/// and the server gives each source read back an opener over them.
/// </summary>
internal sealed class FileSourceConverter : JsonConverter<FileSource>
{
    public override FileSource Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var wire = JsonSerializer.Deserialize<WireSource>(ref reader, WireOptions) ?? throw new JsonException("A file source cannot be null.");
        return new FileSource(wire.Path, () => throw new InvalidOperationException("The content of an uploaded file is read from its frames."), wire.Origin);
    }

    public override void Write(Utf8JsonWriter writer, FileSource value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, new WireSource(value.Path, value.Origin), WireOptions);

    private static readonly JsonSerializerOptions WireOptions = new(JsonSerializerDefaults.Web);

    private sealed record WireSource(string Path, string Origin);
}
