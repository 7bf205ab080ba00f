using System.Management.Automation;
using PachPS.Completion;
using PachPS.Engine.Pfs;

namespace PachPS.Infrastructure;

/// <summary>
/// The one definition of the parameters that name a place in a store, shared by every cmdlet that has them:
/// <list type="bullet">
/// <item>-Repo: a repo's name. No alias; completes repo names (<see cref="RepoParameterAttribute"/>).</item>
/// <item>-Commit: a commit to read or act on (a branch, a commit id or prefix, ancestry). Aliases -Branch and -Id;
/// completes branches, then commit ids (<see cref="CommitParameterAttribute"/>); master where it is optional.</item>
/// <item>-Branch: where a change lands (a branch, or the id of its open commit). Alias -Commit; completes branches
/// (<see cref="BranchParameterAttribute"/>); master where it is optional.</item>
/// <item>-Path: a path inside the repo. No alias; completes paths at -Commit or -Branch (<see cref="PathParameterAttribute"/>).</item>
/// </list>
/// PowerShell shares parameters only through base classes, and these differ per cmdlet in position, mandatory and
/// pipeline binding; AliasAttribute is sealed and C# has no array constants. So each cmdlet declares the property
/// with the attribute of its kind (which brings the completer), aliases built from the constants here, and the
/// default <see cref="Default"/>; tests/Pester/Consistency.Tests.ps1 holds every cmdlet to <see cref="Aliases"/>.
/// </summary>
public static class PfsParameters
{
    public const string Repo = "Repo";
    public const string Commit = "Commit";
    public const string Branch = "Branch";
    public const string Id = "Id";
    public const string Path = "Path";

    /// <summary>The default of every optional -Commit and -Branch.</summary>
    public const string Default = Names.DefaultBranch;

    /// <summary>The aliases each of the four parameters carries, by parameter name.</summary>
    public static IReadOnlyDictionary<string, string[]> Aliases { get; } = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        [Repo] = [],
        [Commit] = [Branch, Id],
        [Branch] = [Commit],
        [Path] = [],
    };
}

/// <summary>Marks the -Repo parameter (see <see cref="PfsParameters"/>) and completes repo names.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class RepoParameterAttribute() : ArgumentCompleterAttribute(typeof(RepoCompleter));

/// <summary>Marks a -Commit parameter (see <see cref="PfsParameters"/>) and completes branches, then commit ids.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class CommitParameterAttribute() : ArgumentCompleterAttribute(typeof(CommitCompleter));

/// <summary>Marks a -Branch parameter that says where a change lands (see <see cref="PfsParameters"/>) and completes branches.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class BranchParameterAttribute() : ArgumentCompleterAttribute(typeof(BranchCompleter));

/// <summary>Marks a -Path inside a repo (see <see cref="PfsParameters"/>) and completes paths at -Commit or -Branch.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class PathParameterAttribute() : ArgumentCompleterAttribute(typeof(PathCompleter));
