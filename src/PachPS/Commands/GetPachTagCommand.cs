using System.Management.Automation;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>The tags of a repo (or of every repo), by name; wildcards allowed.</summary>
[Cmdlet(VerbsCommon.Get, "PachTag")]
[OutputType(typeof(TagInfo))]
public sealed class GetPachTagCommand : PachCmdlet
{
    /// <summary>The repo; every repo when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string? Repo { get; set; }

    /// <summary>Tag names; wildcards allowed. All tags when omitted.</summary>
    [Parameter(Position = 1)]
    [Alias("Tag")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord() => Invoke(() =>
    {
        var tags = Files.ListTags(Repo);
        if (Name is null || Name.Length == 0)
        {
            WriteObject(tags, enumerateCollection: true);
            return;
        }
        foreach (var name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.None);
            var matches = tags.Where(t => pattern.IsMatch(t.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
            {
                var where = Repo is null ? "any repo" : $"repo '{Repo}'";
                WriteError(ToErrorRecord(new PachException("TagNotFound", PachErrorKind.NotFound, $"There is no tag '{name}' in {where}.",
                    Repo is null ? name : $"{Repo}@{name}")));
            }
            WriteObject(matches, enumerateCollection: true);
        }
    });
}
