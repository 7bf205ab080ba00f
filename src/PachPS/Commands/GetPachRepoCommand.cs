using System.Management.Automation;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

[Cmdlet(VerbsCommon.Get, "PachRepo")]
[OutputType(typeof(RepoInfo))]
public sealed class GetPachRepoCommand : PachCmdlet
{
    /// <summary>Repo names; wildcards allowed. All repos when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Repo")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(RepoCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var repos = Files.ListRepos();
        if (Name is null || Name.Length == 0)
        {
            WriteObject(repos, enumerateCollection: true);
            return;
        }
        foreach (var name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.None);
            var matches = repos.Where(r => pattern.IsMatch(r.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(ToErrorRecord(new PachException("RepoNotFound", PachErrorKind.NotFound, $"There is no repo named '{name}'.", name)));
            WriteObject(matches, enumerateCollection: true);
        }
    });
}
