using System.Management.Automation;
using PachPS.Engine.Remote;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Makes a token on the connected server (admins only): a user, a role over every repo or only some, and an optional
/// expiry. The token's secret is in the output once; the server keeps only its hash.
/// </summary>
[Cmdlet(VerbsCommon.New, "PachToken", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NewTokenInfo))]
public sealed class NewPachTokenCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string User { get; set; } = "";

    /// <summary>Reader, Writer or Admin (default Reader).</summary>
    [Parameter(Position = 1)]
    public TokenRole Role { get; set; } = TokenRole.Reader;

    /// <summary>
    /// Only these repos (a pipeline's name counts as its output repo's); every repo when omitted. Piped repos
    /// (Get-PachRepo raw-* | New-PachToken etl -Role Writer) all go into the one token.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string[]? Repo { get; set; }

    private readonly List<string> _repos = [];

    /// <summary>When the token stops working; it never expires when omitted.</summary>
    [Parameter]
    public DateTimeOffset? Expires { get; set; }

    /// <summary>The token alone, as a SecureString, instead of the record (for a secret store or a CI variable).</summary>
    [Parameter]
    public SwitchParameter AsSecureString { get; set; }

    protected override void ProcessRecord()
    {
        if (Repo is not null) _repos.AddRange(Repo);
    }

    protected override void EndProcessing() => Invoke(() =>
    {
        var scope = _repos.Count > 0 ? "repos " + string.Join(", ", _repos.Distinct()) : "every repo";
        if (!ShouldProcess($"{User} as {Role} over {scope}", "New token")) return;
        var made = Tokens.CreateToken(User, Role, _repos.Count > 0 ? _repos.Distinct().ToList() : null, Expires);
        if (!AsSecureString)
        {
            WriteObject(made);
            return;
        }
        var secure = new System.Security.SecureString();
        foreach (var c in made.Token) secure.AppendChar(c);
        secure.MakeReadOnly();
        WriteObject(secure);
    });
}
