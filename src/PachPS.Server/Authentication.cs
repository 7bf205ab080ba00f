using PachPS.Engine;
using PachPS.Engine.Remote;

namespace PachPS.Server;

/// <summary>
/// Every request but /healthz carries a bearer token the server knows, is active (not revoked, not expired), or is
/// refused with 401 Unauthenticated before anything runs. The token's secret is never logged: only its id and user.
/// The S3 gateway (/s3) authenticates its own requests: S3 clients sign them with SigV4 instead of sending a bearer.
/// </summary>
public static class Authentication
{
    private const string CallerKey = "pachps.caller";

    public static IApplicationBuilder UseTokens(this IApplicationBuilder app, TokenStore tokens) => app.Use(async (context, next) =>
    {
        if (context.Request.Path == "/healthz" || context.Request.Path.StartsWithSegments(S3.S3Gateway.Prefix))
        {
            await next(context);
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (tokens.Authenticate(bearer) is not { } caller)
        {
            await ApiEndpoints.WriteError(context, new ApiError("Unauthenticated", PachErrorKind.Unauthenticated,
                bearer is null ? "The server needs a token (Connect-PachStore -Server <uri> -Token <token>)."
                    : "The token is not valid: unknown, wrong, revoked or expired.", null));
            return;
        }
        context.Items[CallerKey] = caller;
        await next(context);
    });

    /// <summary>The id of the request's token (empty for /healthz, which needs none).</summary>
    public static string CallerId(HttpContext context) => context.Items[CallerKey] is TokenInfo caller ? caller.TokenId : "";

    /// <summary>The token of the request being served.</summary>
    public static TokenInfo Caller(HttpContext context) => (TokenInfo)context.Items[CallerKey]!;
}
