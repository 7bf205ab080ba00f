using System.Management.Automation;
using PachPS.Engine.Remote;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Revokes tokens of the connected server (admins only): they stop working at once; the record stays, marked revoked.</summary>
[Cmdlet(VerbsSecurity.Revoke, "PachToken", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(TokenInfo))]
public sealed class RevokePachTokenCommand : PachCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[] TokenId { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var id in TokenId)
            InvokeEach(() =>
            {
                if (ShouldProcess(id, "Revoke token")) WriteObject(Tokens.RevokeToken(id));
            });
    }
}
