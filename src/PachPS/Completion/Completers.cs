using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Completion;

/// <summary>
/// Shared plumbing of the argument completers: the store the runspace has open (none: no candidates), the word typed
/// so far, quoting, and never an exception (a completer that throws only makes Tab do nothing).
/// </summary>
public abstract class PachCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = wordToComplete.Trim('\'', '"');
        // Only a store this runspace already has open: pressing Tab never creates a folder, opens LiteDB or resumes jobs.
        if (StoreSession.Connected is not { } store) return [];
        try
        {
            return Candidates(store, fakeBoundParameters, typed)
                .Where(c => c.Value.StartsWith(typed, StringComparison.Ordinal))
                .Take(200)
                .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.Tip))
                .ToList();
        }
        catch (Exception ex) when (ex is PachException or IOException or InvalidOperationException)
        {
            return [];
        }
    }

    /// <summary>Values to offer, best first, with a tool tip each.</summary>
    protected abstract IEnumerable<(string Value, string Tip)> Candidates(IPachClient store, IDictionary bound, string typed);

    protected static string? Bound(IDictionary bound, string name) => bound.Contains(name) ? bound[name]?.ToString() : null;

    private static string Quote(string value) => value.IndexOfAny([' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '&', '|', '@', '#']) >= 0
        ? "'" + value.Replace("'", "''") + "'"
        : value;
}

/// <summary>Repo names.</summary>
public sealed class RepoCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed) =>
        store.Files.ListRepos().Select(r => (r.Name, $"{r.Name} ({r.Branches.Count} branches)"));
}

/// <summary>Branches of the repo given in -Repo.</summary>
public sealed class BranchCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed) =>
        Bound(bound, PfsParameters.Repo) is { } repo ? store.Files.ListBranches(repo).Select(b => (b.Name, $"{repo}@{b.Name}")) : [];
}

/// <summary>Branches, then tags, then commit ids (most recent first) of the repo given in -Repo.</summary>
public sealed class CommitCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed)
    {
        if (Bound(bound, PfsParameters.Repo) is not { } repo) return [];
        var branches = store.Files.ListBranches(repo).Select(b => (b.Name, $"branch {b.Name}"));
        var tags = store.Files.ListTags(repo).Select(TagCompleter.Candidate);
        var commits = store.Files.ListCommits(repo, max: 50).Select(c => (c.Commit, $"{c.Branch} {c.Started.LocalDateTime:g} {c.Message}".Trim()));
        return branches.Concat(tags).Concat(commits);
    }
}

/// <summary>Tags of the repo given in -Repo (of every repo when none is).</summary>
public sealed class TagCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed) =>
        store.Files.ListTags(Bound(bound, "Repo")).Select(Candidate).DistinctBy(c => c.Item1);

    internal static (string, string) Candidate(Engine.Pfs.TagInfo t) => (t.Name, $"tag {t.Name} ({Display.Short(t.Commit)}) {t.Message}".Trim());
}

/// <summary>Pipeline names.</summary>
public sealed class PipelineCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed) =>
        store.Pipelines.ListPipelines().Select(p => (p.Name, $"{p.Name} v{p.Version} {p.State}"));
}

/// <summary>Job ids, newest first.</summary>
public sealed class JobCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed) =>
        store.Pipelines.ListJobsPage(Bound(bound, "Pipeline"), max: 50).Items.Select(j => (j.JobId, $"{j.Pipeline} {j.State} {j.Progress}"));
}

/// <summary>Paths inside -Repo at -Commit (or -Branch), one folder level at a time.</summary>
public sealed class PathCompleter : PachCompleter
{
    protected override IEnumerable<(string, string)> Candidates(IPachClient store, IDictionary bound, string typed)
    {
        if (Bound(bound, PfsParameters.Repo) is not { } repo) return [];
        var reference = Bound(bound, PfsParameters.Commit) ?? Bound(bound, PfsParameters.Branch) ?? PfsParameters.Default;
        var normalized = typed.StartsWith('/') ? typed : "/" + typed;
        var folder = normalized.EndsWith('/') ? normalized.TrimEnd('/') : normalized[..(normalized.LastIndexOf('/') + 1)].TrimEnd('/');
        // Read from the typed name on, up to the first path past it, not the whole folder: a folder may hold millions.
        var files = store.Files.StreamChildren(repo, reference, folder.Length == 0 ? "/" : folder, normalized)
            .TakeWhile(f => f.Path.StartsWith(normalized, StringComparison.Ordinal) || string.CompareOrdinal(f.Path, normalized) < 0);
        // Offer the form the user started with: with or without the leading '/'.
        var strip = !typed.StartsWith('/');
        return files.Select(f =>
        {
            var value = f.Type == PachFileType.Directory ? f.Path + "/" : f.Path;
            return (strip ? value.TrimStart('/') : value, $"{f.Type} {Display.Size(f.Size)}");
        });
    }
}
