using System.Text;
using System.Text.RegularExpressions;

namespace PachPS.Engine.Storage;

/// <summary>
/// An s3:// URL as go-cloud (and so Pachyderm 2.x) writes them: <c>s3://bucket/key?endpoint=..&amp;region=..&amp;profile=..</c>,
/// the query naming a server that is not AWS (<c>disableSSL=true</c> for plain http) and how to sign for it. The key
/// is kept as written (a prefix, a glob, an object's key); whoever reads the location decides what it may be.
/// </summary>
public sealed record S3Location(string Bucket, string Key, string? Endpoint = null, string? Region = null, string? Profile = null)
{
    private static readonly Regex BucketName = new("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Reads an s3:// URL; what is wrong with it goes to <paramref name="invalid"/> (the caller's ErrorId and wording)
    /// as a sentence naming the URL.
    /// </summary>
    public static S3Location Parse(string url, Func<string, PachException> invalid)
    {
        if (!url.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)) throw invalid($"'{url}' is not an s3:// URL.");
        var rest = url[5..];
        var query = "";
        if (rest.IndexOf('?') is var q and >= 0) (rest, query) = (rest[..q], rest[(q + 1)..]);
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var key = slash < 0 ? "" : rest[(slash + 1)..];
        if (!BucketName.IsMatch(bucket) || bucket.Contains(".."))
            throw invalid($"'{url}' names no valid bucket ('{bucket}': 3 to 63 lower-case letters, digits, dots and hyphens).");
        string? endpoint = null, region = null, profile = null;
        var ssl = true;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (name)
            {
                case "endpoint": endpoint = value; break;
                case "region": region = value; break;
                case "profile": profile = value; break;
                case "disableSSL": ssl = !bool.TryParse(value, out var disabled) || !disabled; break;
                case "s3ForcePathStyle": break; // always path-style for an endpoint of its own
                default:
                    throw invalid($"'{url}' has the parameter '{name}'; an s3:// URL takes endpoint, region, profile, disableSSL and s3ForcePathStyle.");
            }
        }
        if (endpoint is not null)
        {
            if (!endpoint.Contains("://", StringComparison.Ordinal)) endpoint = (ssl ? "https://" : "http://") + endpoint;
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
                throw invalid($"'{url}': endpoint '{endpoint}' is not an http(s) address.");
            endpoint = endpoint.TrimEnd('/');
        }
        return new S3Location(bucket, key, endpoint, string.IsNullOrEmpty(region) ? null : region, string.IsNullOrEmpty(profile) ? null : profile);
    }

    /// <summary>The same server, bucket and signing, another key.</summary>
    public S3Location At(string key) => this with { Key = key };

    /// <summary>The URL again, in one canonical spelling (what a reference records and a message shows).</summary>
    public override string ToString()
    {
        var url = new StringBuilder("s3://").Append(Bucket).Append('/').Append(Key);
        var separator = '?';
        foreach (var (name, value) in new[] { ("endpoint", Endpoint), ("region", Region), ("profile", Profile) })
        {
            if (value is null) continue;
            url.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        return url.ToString();
    }
}
