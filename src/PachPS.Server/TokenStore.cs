using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PachPS.Engine;
using PachPS.Engine.Remote;

namespace PachPS.Server;

/// <summary>
/// The server's bearer tokens, in server/tokens.json beside the store's metadata. A token is
/// <c>pachps_&lt;id&gt;_&lt;secret&gt;</c>: the id finds it, and only a SHA-256 hash of the secret is kept (the secret is
/// 256 random bits, so a fast hash is as safe as a slow one). A secret is shown once, when it is made.
/// S3 signatures (SigV4) are HMACs keyed by the secret itself, so a hash cannot check them: each token made since the
/// S3 gateway also keeps its secret encrypted (AES-GCM, the token id as associated data) under a key in
/// server/s3-secrets.key, a file only the server's user reads.
/// </summary>
public sealed partial class TokenStore : ITokenService
{
    private const string Prefix = "pachps_";
    private readonly string _file;
    private readonly string _keyFile;
    private readonly Lock _gate = new();
    private List<StoredToken> _tokens;

    public TokenStore(string storeFolder)
    {
        var folder = Path.Combine(storeFolder, "server");
        Directory.CreateDirectory(folder);
        _file = Path.Combine(folder, "tokens.json");
        _keyFile = Path.Combine(folder, "s3-secrets.key");
        _tokens = File.Exists(_file) ? JsonSerializer.Deserialize<List<StoredToken>>(File.ReadAllText(_file), Wire.Options) ?? [] : [];
    }

    /// <summary>Whether any token can still administer the server (if none, the first start makes one).</summary>
    public bool HasActiveAdmin
    {
        get { lock (_gate) return _tokens.Any(t => t.Info.Role == TokenRole.Admin && t.Info.Active(DateTimeOffset.UtcNow)); }
    }

    public NewTokenInfo CreateToken(string user, TokenRole role, IReadOnlyList<string>? repos = null, DateTimeOffset? expires = null)
    {
        if (!UserName().IsMatch(user))
            throw new PachException("TokenUserInvalid", PachErrorKind.InvalidArgument,
                $"'{user}' is not a valid user name: 1 to 64 letters, digits, '.', '_', '@' or '-'.", user);
        foreach (var repo in repos ?? []) Engine.Pfs.Names.ValidateName(repo, "Repo");
        if (expires is { } at && at <= DateTimeOffset.UtcNow)
            throw new PachException("TokenExpiryInvalid", PachErrorKind.InvalidArgument, $"The expiry {at:u} is in the past.", at);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var info = new TokenInfo(id, user, role, (repos ?? []).Distinct(StringComparer.Ordinal).ToList(), DateTimeOffset.UtcNow, expires, null);
        var sealedSecret = Encrypt(id, secret);
        lock (_gate)
        {
            _tokens = [.. _tokens, new StoredToken(info, Hash(secret), sealedSecret)];
            Save();
        }
        return new NewTokenInfo(info, $"{Prefix}{id}_{secret}");
    }

    public IReadOnlyList<TokenInfo> ListTokens(string? user = null)
    {
        lock (_gate) return _tokens.Select(t => t.Info).Where(t => user is null || t.User == user).OrderBy(t => t.Created).ToList();
    }

    public TokenInfo RevokeToken(string tokenId)
    {
        lock (_gate)
        {
            var index = _tokens.FindIndex(t => t.Info.TokenId == tokenId);
            if (index < 0) throw new PachException("TokenNotFound", PachErrorKind.NotFound, $"The server has no token '{tokenId}'.", tokenId);
            if (_tokens[index].Info.Revoked is not null) return _tokens[index].Info;
            var revoked = _tokens[index] with { Info = _tokens[index].Info with { Revoked = DateTimeOffset.UtcNow } };
            _tokens = [.. _tokens[..index], revoked, .. _tokens[(index + 1)..]];
            Save();
            return revoked.Info;
        }
    }

    /// <summary>Served by the API with the caller's token; a token store alone knows no caller.</summary>
    public TokenInfo WhoAmI() => throw new InvalidOperationException("WhoAmI is answered for the caller by the API.");

    /// <summary>The active token a bearer value names, or null (missing, malformed, wrong, revoked or expired).</summary>
    public TokenInfo? Authenticate(string? bearer)
    {
        if (bearer is null || !bearer.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var rest = bearer.AsSpan(Prefix.Length);
        var split = rest.IndexOf('_');
        if (split <= 0) return null;
        var id = rest[..split].ToString();
        var hash = Hash(rest[(split + 1)..].ToString());
        StoredToken? token;
        lock (_gate) token = _tokens.FirstOrDefault(t => t.Info.TokenId == id);
        if (token is null || !CryptographicOperations.FixedTimeEquals(Convert.FromHexString(token.Hash), Convert.FromHexString(hash))) return null;
        return token.Info.Active(DateTimeOffset.UtcNow) ? token.Info : null;
    }

    /// <summary>
    /// The token an S3 access key id names and its secret for checking a signature: null when no token has that id;
    /// a null secret when the token was made before the S3 gateway (the caller says to make a new one). The token may
    /// be inactive: the caller refuses it.
    /// </summary>
    internal (TokenInfo Info, string? Secret)? S3Credential(string tokenId)
    {
        StoredToken? token;
        lock (_gate) token = _tokens.FirstOrDefault(t => t.Info.TokenId == tokenId);
        if (token is null) return null;
        return (token.Info, token.S3Secret is null ? null : Decrypt(token.Info.TokenId, token.S3Secret));
    }

    private string Encrypt(string id, string secret)
    {
        var plain = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceBytes + plain.Length + TagBytes];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(SecretsKey(), TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes, plain.Length), sealedBytes.AsSpan(NonceBytes + plain.Length), Encoding.UTF8.GetBytes(id));
        return Convert.ToBase64String(sealedBytes);
    }

    private string Decrypt(string id, string stored)
    {
        var sealedBytes = Convert.FromBase64String(stored);
        var plain = new byte[sealedBytes.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(SecretsKey(), TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes, plain.Length), sealedBytes.AsSpan(NonceBytes + plain.Length), plain, Encoding.UTF8.GetBytes(id));
        return Encoding.UTF8.GetString(plain);
    }

    private const int NonceBytes = 12, TagBytes = 16;
    private byte[]? _secretsKey;

    /// <summary>The 256-bit key of the S3 secrets, made on first use (in a file only the server's user may read).</summary>
    private byte[] SecretsKey()
    {
        lock (_gate)
        {
            if (_secretsKey is not null) return _secretsKey;
            if (!File.Exists(_keyFile))
            {
                var key = RandomNumberGenerator.GetBytes(32);
                var tmp = _keyFile + ".tmp";
                using (var stream = PrivateFile.Create(tmp, FileMode.Create))
                {
                    stream.Write(key);
                    stream.Flush(flushToDisk: true);
                }
                // A key already there (another process won the race) is kept: the secrets it sealed stay readable.
                try { File.Move(tmp, _keyFile, overwrite: false); }
                catch (IOException) when (File.Exists(_keyFile)) { File.Delete(tmp); }
            }
            return _secretsKey = File.ReadAllBytes(_keyFile);
        }
    }

    private void Save()
    {
        var tmp = _file + ".tmp";
        using (var stream = PrivateFile.Create(tmp, FileMode.Create))
        {
            JsonSerializer.Serialize(stream, _tokens, Wire.Options);
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, _file, overwrite: true);
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,64}$")]
    private static partial Regex UserName();

    /// <summary>A token as kept: its hash, and (made since the S3 gateway) its secret sealed for SigV4.</summary>
    private sealed record StoredToken(TokenInfo Info, string Hash, string? S3Secret = null);
}
