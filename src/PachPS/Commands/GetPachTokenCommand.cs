using System.Management.Automation;
using PachPS.Engine.Remote;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>The connected server's tokens (admins only), never their secrets; -Current: the token this session uses.</summary>
[Cmdlet(VerbsCommon.Get, "PachToken", DefaultParameterSetName = ListSet)]
[OutputType(typeof(TokenInfo))]
public sealed class GetPachTokenCommand : PachCmdlet
{
    private const string ListSet = "List";
    private const string CurrentSet = "Current";

    /// <summary>Only this user's tokens.</summary>
    [Parameter(Position = 0, ParameterSetName = ListSet)]
    public string? User { get; set; }

    /// <summary>Revoked and expired tokens too.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public SwitchParameter All { get; set; }

    /// <summary>The token this session connected with (any role may ask).</summary>
    [Parameter(Mandatory = true, ParameterSetName = CurrentSet)]
    public SwitchParameter Current { get; set; }

    protected override void EndProcessing() => Invoke(() =>
    {
        if (Current)
        {
            WriteObject(Tokens.WhoAmI());
            return;
        }
        var now = DateTimeOffset.UtcNow;
        WriteObject(Tokens.ListTokens(User).Where(t => All || t.Active(now)), enumerateCollection: true);
    });
}
