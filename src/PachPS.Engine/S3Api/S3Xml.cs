using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace PachPS.Engine.S3Api;

/// <summary>A failure answered as S3 answers it: an error code clients know (NoSuchKey, AccessDenied, ...) and its HTTP status.</summary>
public sealed class S3Exception(string code, int status, string message) : Exception(message)
{
    public string Code { get; } = code;
    public int Status { get; } = status;
}

/// <summary>An object as a listing shows it.</summary>
public sealed record S3Object(string Key, long Size, string ETag, DateTimeOffset LastModified);

/// <summary>The XML bodies of S3's answers and requests (namespace http://s3.amazonaws.com/doc/2006-03-01/).</summary>
public static class S3Xml
{
    private static readonly XNamespace Ns = "http://s3.amazonaws.com/doc/2006-03-01/";

    public static string Error(string code, string message, string resource, string requestId) =>
        Document(new XElement("Error", new XElement("Code", code), new XElement("Message", message),
            new XElement("Resource", resource), new XElement("RequestId", requestId)), withNamespace: false);

    public static string ListBuckets(string owner, IEnumerable<(string Name, DateTimeOffset Created)> buckets) =>
        Document(E("ListAllMyBucketsResult", Owner(owner),
            E("Buckets", buckets.Select(b => E("Bucket", E("Name", b.Name), E("CreationDate", Time(b.Created)))))));

    public static string ListObjects(string bucket, S3Listing listing, bool v2, string? prefix, string? delimiter, int maxKeys,
        string? continuationToken, string? startAfter, string? marker, bool encodeUrl)
    {
        string Key(string key) => encodeUrl ? Uri.EscapeDataString(key).Replace("%2F", "/") : key;
        var root = E("ListBucketResult", E("Name", bucket), E("Prefix", Key(prefix ?? "")), E("MaxKeys", maxKeys),
            E("IsTruncated", listing.Truncated ? "true" : "false"));
        if (delimiter is not null) root.Add(E("Delimiter", Key(delimiter)));
        if (encodeUrl) root.Add(E("EncodingType", "url"));
        if (v2)
        {
            root.Add(E("KeyCount", listing.Objects.Count + listing.Prefixes.Count));
            if (continuationToken is not null) root.Add(E("ContinuationToken", continuationToken));
            if (startAfter is not null) root.Add(E("StartAfter", Key(startAfter)));
            if (listing.Truncated) root.Add(E("NextContinuationToken", Convert.ToBase64String(Encoding.UTF8.GetBytes(listing.Last!))));
        }
        else
        {
            root.Add(E("Marker", Key(marker ?? "")));
            if (listing.Truncated) root.Add(E("NextMarker", Key(listing.Last!)));
        }
        root.Add(listing.Objects.Select(o => E("Contents", E("Key", Key(o.Key)), E("LastModified", Time(o.LastModified)), E("ETag", o.ETag),
            E("Size", o.Size), E("StorageClass", "STANDARD"))));
        root.Add(listing.Prefixes.Select(p => E("CommonPrefixes", E("Prefix", Key(p)))));
        return Document(root);
    }

    public static string CopyObject(string etag, DateTimeOffset modified) =>
        Document(E("CopyObjectResult", E("LastModified", Time(modified)), E("ETag", etag)));

    public static string InitiateMultipart(string bucket, string key, string uploadId) =>
        Document(E("InitiateMultipartUploadResult", E("Bucket", bucket), E("Key", key), E("UploadId", uploadId)));

    public static string CompleteMultipart(string location, string bucket, string key, string etag) =>
        Document(E("CompleteMultipartUploadResult", E("Location", location), E("Bucket", bucket), E("Key", key), E("ETag", etag)));

    public static string DeleteResult(IEnumerable<string> deleted, IEnumerable<(string Key, string Code, string Message)> errors, bool quiet) =>
        Document(E("DeleteResult",
            quiet ? null : deleted.Select(k => E("Deleted", E("Key", k))),
            errors.Select(e => E("Error", E("Key", e.Key), E("Code", e.Code), E("Message", e.Message)))));

    public static string Location() => Document(E("LocationConstraint"));

    /// <summary>The keys of a DeleteObjects request, and whether it is quiet.</summary>
    public static (List<string> Keys, bool Quiet) ParseDelete(string xml)
    {
        var root = Parse(xml);
        var keys = root.Elements().Where(e => e.Name.LocalName == "Object")
            .Select(o => o.Elements().FirstOrDefault(e => e.Name.LocalName == "Key")?.Value ?? throw Malformed("an Object has no Key")).ToList();
        var quiet = root.Elements().Any(e => e.Name.LocalName == "Quiet" && e.Value.Trim() == "true");
        return (keys, quiet);
    }

    /// <summary>The parts a CompleteMultipartUpload request names: numbers and ETags, in its order.</summary>
    public static List<(int Number, string ETag)> ParseComplete(string xml) =>
        Parse(xml).Elements().Where(e => e.Name.LocalName == "Part").Select(p =>
        {
            var number = p.Elements().FirstOrDefault(e => e.Name.LocalName == "PartNumber")?.Value;
            var etag = p.Elements().FirstOrDefault(e => e.Name.LocalName == "ETag")?.Value;
            return int.TryParse(number, CultureInfo.InvariantCulture, out var n) && etag is not null ? (n, etag.Trim()) : throw Malformed("a Part needs a PartNumber and an ETag");
        }).ToList();

    private static XElement Parse(string xml)
    {
        try { return XElement.Parse(xml); }
        catch (XmlException ex) { throw Malformed(ex.Message); }
    }

    private static S3Exception Malformed(string why) => new("MalformedXML", 400, $"The XML you provided was not well-formed or did not validate: {why}.");

    private static XElement Owner(string user) => E("Owner", E("ID", user), E("DisplayName", user));
    private static XElement E(string name, params object?[] content) => new(Ns + name, content);
    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Document(XElement root, bool withNamespace = true)
    {
        if (!withNamespace) foreach (var e in root.DescendantsAndSelf()) e.Name = e.Name.LocalName;
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root.ToString(SaveOptions.DisableFormatting);
    }
}
