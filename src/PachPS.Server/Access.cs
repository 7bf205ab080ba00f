using PachPS.Engine;
using PachPS.Engine.Remote;

namespace PachPS.Server;

/// <summary>
/// Who may call what, in one place. Reads need Reader, changes to data Writer, changes to pipelines, garbage
/// collection and tokens Admin. A token limited to some repos may call an operation only when every repo it names is
/// one of them (a pipeline's name counts as its output repo's); operations that name no repo need the role over every
/// repo, except a few reads (<see cref="AnyScope"/>): a listing of repos then shows such a token its own.
/// </summary>
public static class Access
{
    /// <summary>Operations that change pipelines or the store as a whole.</summary>
    private static readonly HashSet<string> AdminOperations = new(StringComparer.Ordinal)
    {
        "pipelines/CreatePipeline", "pipelines/CreatePipelines", "pipelines/UpdatePipeline", "pipelines/UpdatePipelines",
        "pipelines/RestorePipelineVersion", "pipelines/DeletePipeline", "pipelines/SetPaused", "admin/Collect", "admin/Repair",
        "admin/Backup", "admin/ListBackups", "admin/RemoveBackup",
        "tokens/CreateToken", "tokens/ListTokens", "tokens/RevokeToken",
    };

    /// <summary>Operations that only read, whatever their name suggests.</summary>
    private static readonly string[] ReadPrefixes = ["Get", "List", "Open", "Plan", "Diff", "Entries", "FileHistory", "Compare", "Wait", "ResolveWrite", "Info", "Check", "WhoAmI"];

    /// <summary>Parameters that name a repo (in the pipeline service, a pipeline's name is its output repo's).</summary>
    private static readonly HashSet<string> RepoParameters = new(StringComparer.Ordinal) { "repo", "sourceRepo", "otherRepo" };
    private static readonly HashSet<string> PipelineParameters = new(StringComparer.Ordinal) { "name", "pipeline" };

    /// <summary>Reads a token limited to some repos may make all the same: its own identity, the store's summary, the repos it covers.</summary>
    private static readonly HashSet<string> AnyScope = new(StringComparer.Ordinal)
    {
        "/api/v1/files/ListRepos", "/api/v1/tokens/WhoAmI", "/api/v1/admin/Info",
    };

    public static TokenRole Required(ApiOperation operation)
    {
        var key = $"{operation.Service}/{operation.Method.Name}";
        if (AdminOperations.Contains(key)) return TokenRole.Admin;
        return ReadPrefixes.Any(p => operation.Method.Name.StartsWith(p, StringComparison.Ordinal)) ? TokenRole.Reader : TokenRole.Writer;
    }

    /// <summary>The repos a call names, from its arguments (null values are not repos).</summary>
    public static IReadOnlyList<string> Repos(ApiOperation operation, IReadOnlyDictionary<string, object?> arguments)
    {
        var repos = new List<string>();
        foreach (var parameter in operation.Arguments)
        {
            var isRepo = RepoParameters.Contains(parameter.Name!) || (operation.Service == "pipelines" && PipelineParameters.Contains(parameter.Name!));
            if (isRepo && arguments.TryGetValue(parameter.Name!, out var value) && value is string repo) repos.Add(repo);
            if (operation.Service == "pipelines" && arguments.TryGetValue(parameter.Name!, out var specs))
            {
                if (specs is Engine.Pps.PipelineSpec spec) repos.Add(spec.Name);
                else if (specs is IEnumerable<Engine.Pps.PipelineSpec> many) repos.AddRange(many.Select(s => s.Name));
            }
        }
        return repos;
    }

    /// <summary>Refuses (Forbidden) a call the token does not allow; changes nothing either way.</summary>
    public static void Demand(TokenInfo token, ApiOperation operation, IReadOnlyDictionary<string, object?> arguments)
    {
        var required = Required(operation);
        if (token.Role < required)
            throw Forbidden(token, $"needs the {required} role; the token is {token.Role}", operation);
        if (token.Global || AnyScope.Contains(operation.Route)) return;
        var repos = Repos(operation, arguments);
        if (repos.Count == 0)
            throw Forbidden(token, $"names no repo, so it needs a token over every repo; this one covers {string.Join(", ", token.Repos)}", operation);
        if (repos.FirstOrDefault(r => !token.Repos.Contains(r, StringComparer.Ordinal)) is { } other)
            throw Forbidden(token, $"names repo '{other}', which the token does not cover (it covers {string.Join(", ", token.Repos)})", operation);
    }

    private static PachException Forbidden(TokenInfo token, string why, ApiOperation operation) =>
        new("Forbidden", PachErrorKind.Forbidden, $"User '{token.User}' may not call {operation.Method.Name}: it {why}.", operation.Method.Name);
}
