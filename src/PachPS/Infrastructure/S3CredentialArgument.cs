using System.Management.Automation;
using System.Net;
using PachPS.Engine.Storage;

namespace PachPS.Infrastructure;

/// <summary>A -Credential given for S3 (access key as user name, secret as password) as the engine takes it.</summary>
internal static class S3CredentialArgument
{
    public static S3Credentials? From(PSCredential? credential) =>
        credential is null ? null : new S3Credentials(credential.UserName, new NetworkCredential("", credential.Password).Password);
}
