using System.Text.Json.Nodes;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>Where a pipeline's egress goes: an S3 bucket and key prefix, or a local folder.</summary>
public enum EgressKind { S3, Folder }

/// <summary>
/// A pipeline's egress (Pachyderm's <c>egress.URL</c> or <c>egress.object_storage.url</c>): after each successful
/// job, the output commit's changes since the last egress go to <see cref="Url"/>. For S3, <see cref="Bucket"/> and
/// <see cref="Prefix"/> (empty or ending in '/'), and optionally, as go-cloud URLs (Pachyderm 2.x) write them, the
/// query parameters endpoint, region and profile; for a folder, its absolute <see cref="Folder"/>.
/// </summary>
public sealed record EgressSpec(string Url, EgressKind Kind)
{
    public string Bucket { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string? Endpoint { get; init; }
    public string? Region { get; init; }
    public string? Profile { get; init; }
    public string Folder { get; init; } = "";

    /// <summary>
    /// Reads the egress object of a spec whose field names are already snake_case: URL or object_storage.url (both
    /// only when they agree); sql_database is refused earlier, when the names are read.
    /// </summary>
    internal static EgressSpec Parse(JsonObject egress, string pipeline)
    {
        var url = (egress["URL"] as JsonValue)?.ToString();
        var storage = ((egress["object_storage"] as JsonObject)?["url"] as JsonValue)?.ToString();
        if (!string.IsNullOrEmpty(url) && !string.IsNullOrEmpty(storage) && url != storage)
            throw Invalid(pipeline, $"egress.URL '{url}' and egress.object_storage.url '{storage}' differ; give one of them.");
        url = string.IsNullOrEmpty(url) ? storage : url;
        if (string.IsNullOrEmpty(url))
            throw Invalid(pipeline, "egress has no URL: write \"egress\": {\"URL\": \"s3://bucket/prefix/\"} (or file:///folder).");
        return ParseUrl(url, pipeline);
    }

    /// <summary>An egress URL: s3://bucket[/prefix][?endpoint=..&amp;region=..&amp;profile=..] or file:///absolute/folder.</summary>
    internal static EgressSpec ParseUrl(string url, string pipeline)
    {
        var colon = url.IndexOf("://", StringComparison.Ordinal);
        if (colon <= 0)
            throw Invalid(pipeline, $"egress URL '{url}' is not a URL: write s3://bucket/prefix/ or file:///absolute/folder.");
        var scheme = url[..colon].ToLowerInvariant();
        var rest = url[(colon + 3)..];
        return scheme switch
        {
            "s3" => S3(url, pipeline),
            "file" => Local(url, rest, pipeline),
            "gs" or "as" or "wasb" or "wasbs" or "azblob" or "http" or "https" or "minio" => throw new PachException("PipelineSpecUnsupportedEgress",
                PachErrorKind.NotSupported, $"Pipeline '{pipeline}': egress to {scheme}:// is not supported; PachPS egresses to s3:// (any S3-compatible " +
                "service; ?endpoint=https://host:port for one that is not AWS) and file:/// (a local folder).", pipeline),
            _ => throw Invalid(pipeline, $"egress URL '{url}' has the scheme '{scheme}': write s3://bucket/prefix/ or file:///absolute/folder."),
        };
    }

    private static EgressSpec S3(string url, string pipeline)
    {
        var location = S3Location.Parse(url, problem => Invalid(pipeline, "egress URL " + problem));
        var prefix = location.Key.Trim('/');
        if (prefix.Length > 0 && prefix.Split('/').Any(part => part is "" or "." or ".."))
            throw Invalid(pipeline, $"egress URL '{url}' has an empty, '.' or '..' part in its prefix '{prefix}'.");
        return new EgressSpec(url, EgressKind.S3)
        {
            Bucket = location.Bucket, Prefix = prefix.Length == 0 ? "" : prefix + "/", Endpoint = location.Endpoint, Region = location.Region,
            Profile = location.Profile,
        };
    }

    private static EgressSpec Local(string url, string rest, string pipeline)
    {
        // file:///abs/path (empty host) or file://localhost/abs/path, as RFC 8089 writes them.
        if (rest.StartsWith("localhost/", StringComparison.OrdinalIgnoreCase)) rest = rest["localhost".Length..];
        if (!rest.StartsWith('/') || rest.Contains('?') || rest.Contains('#'))
            throw Invalid(pipeline, $"egress URL '{url}' is not a local folder: write file:///absolute/folder (three slashes, an absolute path).");
        var path = Uri.UnescapeDataString(rest);
        if (path.Contains('\0') || path.Split('/').Any(part => part is "." or ".."))
            throw Invalid(pipeline, $"egress URL '{url}' has a '.' or '..' part, or a NUL; write the folder's absolute path.");
        var full = Path.GetFullPath(path).TrimEnd('/');
        if (full.Length == 0) throw Invalid(pipeline, $"egress URL '{url}' names the root folder; name a folder of its own.");
        return new EgressSpec(url, EgressKind.Folder) { Folder = full };
    }

    private static PachException Invalid(string pipeline, string message) =>
        PachException.Invalid("PipelineSpecInvalidEgress", $"Pipeline '{pipeline}': {message}", pipeline);
}
