using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PachPS.Engine.S3Api;

/// <summary>
/// A request whose AWS Signature Version 4 checked out: the access key that signed it, what it says of its body
/// (<see cref="PayloadHash"/>), and what checking an aws-chunked body's chunk signatures needs.
/// </summary>
public sealed record SignedRequest(string AccessKeyId, string PayloadHash, byte[] SigningKey, string Timestamp, string Scope, string Signature);

/// <summary>
/// AWS Signature Version 4: checks the Authorization header (AWS4-HMAC-SHA256) or a presigned URL's query against the
/// secret the caller's lookup gives for the access key id, and the clock (15 minutes either way). The secret is never
/// logged nor put in an error.
/// </summary>
public static class SigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    public const string StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    public const string StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    public const string StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    public static readonly string EmptySha256 = Hex(SHA256.HashData([]));
    private static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);
    private const string TimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>
    /// Checks a request's signature. <paramref name="secretOf"/> gives the secret of an access key id, or throws the
    /// S3Exception that says why it has none (InvalidAccessKeyId); <paramref name="keyHint"/> says, when the signature
    /// does not match, what the key and secret should be.
    /// </summary>
    public static SignedRequest Verify(IS3Request request, Func<string, string> secretOf, DateTimeOffset now,
        string keyHint = "your access key id and secret, and the signing method")
    {
        var header = request.FirstHeader("Authorization") ?? "";
        var presigned = request.Has("X-Amz-Algorithm");
        if (header.StartsWith("AWS ", StringComparison.Ordinal))
            throw new S3Exception("InvalidRequest", 400, "Signature Version 2 is not supported: sign requests with AWS4-HMAC-SHA256 (Signature Version 4).");
        if (!header.StartsWith(Algorithm + " ", StringComparison.Ordinal) && !presigned)
            throw new S3Exception("AccessDenied", 403, "Anonymous access is not allowed: sign requests with a token's id as access key id and its secret as secret access key.");

        string credential, signedHeaders, signature, timestamp, payloadHash;
        if (presigned)
        {
            if (request.Query("X-Amz-Algorithm") != Algorithm)
                throw new S3Exception("AuthorizationQueryParametersError", 400, $"X-Amz-Algorithm must be {Algorithm}.");
            credential = Required(request.Query("X-Amz-Credential"), "X-Amz-Credential");
            signedHeaders = Required(request.Query("X-Amz-SignedHeaders"), "X-Amz-SignedHeaders");
            signature = Required(request.Query("X-Amz-Signature"), "X-Amz-Signature");
            timestamp = Required(request.Query("X-Amz-Date"), "X-Amz-Date");
            payloadHash = request.Query("X-Amz-Content-Sha256") ?? UnsignedPayload;
        }
        else
        {
            var fields = header[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            credential = fields.GetValueOrDefault("Credential") ?? throw Malformed("Credential");
            signedHeaders = fields.GetValueOrDefault("SignedHeaders") ?? throw Malformed("SignedHeaders");
            signature = fields.GetValueOrDefault("Signature") ?? throw Malformed("Signature");
            timestamp = request.FirstHeader("x-amz-date") ?? throw new S3Exception("AccessDenied", 403, "The request has no x-amz-date header.");
            payloadHash = request.FirstHeader("x-amz-content-sha256")
                ?? throw new S3Exception("InvalidRequest", 400, "The request has no x-amz-content-sha256 header (S3 signatures need one).");
        }

        // Credential: <access key id>/<yyyymmdd>/<region>/s3/aws4_request; any region is accepted (a server has one).
        var parts = credential.Split('/');
        if (parts.Length != 5 || parts[4] != "aws4_request" || parts[3] != "s3")
            throw new S3Exception("AuthorizationHeaderMalformed", 400, $"The credential '{string.Join('/', parts.Skip(1))}' is not <date>/<region>/s3/aws4_request.");
        if (!DateTimeOffset.TryParseExact(timestamp, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
            throw new S3Exception("AccessDenied", 403, $"The request's date '{timestamp}' is not yyyyMMddTHHmmssZ.");
        if (presigned)
        {
            var expires = int.TryParse(request.Query("X-Amz-Expires"), CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 604800 ? seconds
                : throw new S3Exception("AuthorizationQueryParametersError", 400, "X-Amz-Expires must be 1 to 604800 seconds.");
            if (now < signedAt - MaxSkew) throw new S3Exception("RequestTimeTooSkewed", 403, "The presigned URL is signed in the future.");
            if (now > signedAt.AddSeconds(expires)) throw new S3Exception("AccessDenied", 403, "Request has expired: the presigned URL is no longer valid.");
        }
        else if ((now - signedAt).Duration() > MaxSkew)
            throw new S3Exception("RequestTimeTooSkewed", 403, $"The request's time {signedAt:u} differs from the server's ({now:u}) by more than 15 minutes.");

        var id = parts[0];
        var secret = secretOf(id);
        var scope = string.Join('/', parts.Skip(1));
        var canonical = CanonicalRequest(request, signedHeaders, payloadHash, presigned);
        var stringToSign = $"{Algorithm}\n{timestamp}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = SigningKey(secret, parts[1], parts[2], parts[3]);
        var expected = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature.ToLowerInvariant())))
            throw new S3Exception("SignatureDoesNotMatch", 403,
                $"The request signature we calculated does not match the signature you provided. Check {keyHint}.");
        return new SignedRequest(id, payloadHash, key, timestamp, scope, signature.ToLowerInvariant());
    }

    /// <summary>The signature of one chunk of an aws-chunked body, chained to the previous one (the seed: the request's).</summary>
    public static string ChunkSignature(SignedRequest signed, string previous, ReadOnlySpan<byte> chunk)
    {
        var stringToSign = $"{Algorithm}-PAYLOAD\n{signed.Timestamp}\n{signed.Scope}\n{previous}\n{EmptySha256}\n{Hex(SHA256.HashData(chunk))}";
        return Hex(HMACSHA256.HashData(signed.SigningKey, Encoding.UTF8.GetBytes(stringToSign)));
    }

    private static string CanonicalRequest(IS3Request request, string signedHeaders, string payloadHash, bool presigned)
    {
        var raw = request.RawTarget;
        var question = raw.IndexOf('?');
        var rawPath = question < 0 ? raw : raw[..question];
        var rawQuery = question < 0 ? "" : raw[(question + 1)..];
        // Clients encode the path each their own way: decoded, then encoded as SigV4 says, it is the same for all.
        var path = Encode(Uri.UnescapeDataString(rawPath), keepSlash: true);
        var query = rawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Key: Encode(Uri.UnescapeDataString(p[0]), false), Value: p.Length == 2 ? Encode(Uri.UnescapeDataString(p[1]), false) : ""))
            .Where(p => !(presigned && p.Key == "X-Amz-Signature"))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}");
        var headers = new StringBuilder();
        foreach (var name in signedHeaders.Split(';'))
        {
            var values = name == "host" ? [request.Host] : request.Header(name);
            headers.Append(name).Append(':').Append(string.Join(',', values.Select(Collapse))).Append('\n');
        }
        return $"{request.Method}\n{path}\n{string.Join('&', query)}\n{headers}\n{signedHeaders}\n{payloadHash}";
    }

    private static string Collapse(string value) => string.Join(' ', value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static byte[] SigningKey(string secret, string date, string region, string service)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ (and '/' in a path) as %XX.</summary>
    private static string Encode(string text, bool keepSlash)
    {
        var result = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (keepSlash && c == '/')) result.Append(c);
            else result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return result.ToString();
    }

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static string Required(string? value, string name) =>
        value is { Length: > 0 } text ? text : throw new S3Exception("AuthorizationQueryParametersError", 400, $"The presigned URL has no {name}.");

    private static S3Exception Malformed(string field) =>
        new("AuthorizationHeaderMalformed", 400, $"The Authorization header has no {field}.");
}
