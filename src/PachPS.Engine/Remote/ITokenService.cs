namespace PachPS.Engine.Remote;

/// <summary>What a token allows, each role including the ones before it.</summary>
public enum TokenRole
{
    /// <summary>Lists and reads repos, commits, files, pipelines, jobs, logs and provenance.</summary>
    Reader,
    /// <summary>Also writes: repos, branches, commits, files, tags; runs and stops jobs.</summary>
    Writer,
    /// <summary>Also creates, changes and removes pipelines, collects garbage, and manages tokens.</summary>
    Admin,
}

/// <summary>A token of a server, as an admin lists it: never its secret.</summary>
public sealed record TokenInfo(string TokenId, string User, TokenRole Role, IReadOnlyList<string> Repos, DateTimeOffset Created,
    DateTimeOffset? Expires, DateTimeOffset? Revoked)
{
    /// <summary>Every repo, or only <see cref="Repos"/>.</summary>
    public bool Global => Repos.Count == 0;
    public bool Active(DateTimeOffset now) => Revoked is null && (Expires is null || Expires > now);
}

/// <summary>A new token with its secret, shown once: the server keeps only a hash of it.</summary>
public sealed record NewTokenInfo(TokenInfo Info, string Token)
{
    public string TokenId => Info.TokenId;
    public string User => Info.User;
    public TokenRole Role => Info.Role;
    public IReadOnlyList<string> Repos => Info.Repos;
    public DateTimeOffset? Expires => Info.Expires;

    public override string ToString() => $"NewTokenInfo {{ TokenId = {Info.TokenId}, User = {Info.User} }}"; // never print the secret
}

/// <summary>The tokens of a server (an embedded store has none): admins manage them, anyone asks who they are.</summary>
public interface ITokenService
{
    /// <summary>A new token for a user, with a role over every repo or only some, valid until it expires or is revoked.</summary>
    NewTokenInfo CreateToken(string user, TokenRole role, IReadOnlyList<string>? repos = null, DateTimeOffset? expires = null);
    IReadOnlyList<TokenInfo> ListTokens(string? user = null);
    TokenInfo RevokeToken(string tokenId);
    /// <summary>The token this connection uses.</summary>
    TokenInfo WhoAmI();
}
