using System.Globalization;
using System.Text.RegularExpressions;
using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// The rule of branch triggers, in one place: which triggers a set may store (no trigger on itself, from an unknown
/// branch, or closing a cycle; a size and a schedule that parse) and when a trigger fires (<see cref="Due"/>).
/// <see cref="PfsService"/> asks it whenever a head moves and, for cron conditions, once a second.
/// </summary>
internal static partial class BranchTriggers
{
    private const string InvalidId = "BranchTriggerInvalid";

    /// <summary>Checks a trigger for <paramref name="branch"/> against the store and returns its document.</summary>
    public static BranchTriggerDoc Validate(LiteDatabase db, string repo, string branch, BranchTrigger trigger, DateTime now)
    {
        var target = $"{repo}@{branch}";
        if (string.IsNullOrWhiteSpace(trigger.Branch))
            throw PachException.Invalid(InvalidId, $"The trigger of branch '{branch}' names no branch to follow.", target);
        if (trigger.Branch == branch)
            throw PachException.Invalid(InvalidId, $"Branch '{branch}' of '{repo}' cannot trigger on itself.", target);
        if (trigger.Size is <= 0)
            throw PachException.Invalid(InvalidId, $"The trigger size of branch '{branch}' must be positive, not {trigger.Size}.", target);
        if (trigger.Commits is <= 0)
            throw PachException.Invalid(InvalidId, $"The trigger commit count of branch '{branch}' must be positive, not {trigger.Commits}.", target);
        if (trigger.CronSpec is { } spec) Schedule(spec, target);
        CommitResolver.RequireBranch(db, repo, trigger.Branch);
        // Following the chain of triggers up from the source must not come back to this branch.
        var seen = new HashSet<string>(StringComparer.Ordinal) { branch };
        for (var from = trigger.Branch; from is not null;)
        {
            if (!seen.Add(from))
                throw PachException.Invalid("BranchTriggerCycle", $"A trigger of '{branch}' on '{trigger.Branch}' would close a cycle of triggers in '{repo}' ({string.Join(" <- ", seen)}).", target);
            from = db.Branches().Get(BranchDoc.Key(repo, from))?.Trigger?.Branch;
        }
        return new BranchTriggerDoc { Branch = trigger.Branch, Size = trigger.Size, Commits = trigger.Commits, CronSpec = trigger.CronSpec?.Trim(), All = trigger.All, Since = now };
    }

    /// <summary>The branches of a repo whose triggers follow <paramref name="source"/>.</summary>
    public static IReadOnlyList<BranchDoc> Followers(LiteDatabase db, string repo, string source) =>
        db.Branches().Find(b => b.Repo == repo).Where(b => b.Trigger?.Branch == source).OrderBy(b => b.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Whether <paramref name="branch"/>'s trigger fires now: the source has a head the branch is not at, the branch
    /// has no open commit, and the conditions hold (any one, or all with All; no condition: always). Commits and size
    /// count the source's first-parent history back to the branch's head: each commit, and the bytes each added.
    /// </summary>
    public static bool Due(LiteDatabase db, BranchDoc branch, BranchDoc source, DateTime now)
    {
        var trigger = branch.Trigger!;
        if (source.Head is null || source.Head == branch.Head || branch.OpenCommit is not null) return false;
        var results = new List<bool>();
        if (trigger.CronSpec is { } spec)
            results.Add(Schedule(spec, $"{branch.Repo}@{branch.Name}").Next(StoredTime.Utc(trigger.Since).UtcDateTime) <= now);
        if (trigger.Size is not null || trigger.Commits is not null)
        {
            var (commits, bytes) = Accumulated(db, source.Head, branch.Head, trigger.Commits ?? 0, trigger.Size ?? 0);
            if (trigger.Commits is { } n) results.Add(commits >= n);
            if (trigger.Size is { } size) results.Add(bytes >= size);
        }
        return results.Count == 0 || (trigger.All ? results.All(r => r) : results.Any(r => r));
    }

    /// <summary>Commits and added bytes from <paramref name="head"/> back to <paramref name="since"/> (stops once both targets are met).</summary>
    private static (int Commits, long Bytes) Accumulated(LiteDatabase db, string head, string? since, int commitsWanted, long bytesWanted)
    {
        var commits = 0;
        long bytes = 0;
        var commit = db.Commits().Get(head);
        while (commit is not null && commit.Id != since && (commits < commitsWanted || bytes < bytesWanted))
        {
            var parent = commit.Parent is null ? null : db.Commits().Get(commit.Parent);
            commits++;
            bytes += Math.Max(0, commit.Size - (parent?.Size ?? 0));
            commit = parent;
        }
        return (commits, bytes);
    }

    private static CronSchedule Schedule(string spec, string target) =>
        CronSchedule.Parse(spec, reason => PachException.Invalid(InvalidId, $"The trigger cron spec '{spec}' of {target} is not a schedule: {reason}", target));

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KIB|K|MB|MIB|M|GB|GIB|G|TB|TIB|T|PB|PIB|P)?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();

    /// <summary>
    /// A trigger size as a byte count: a number with an optional unit, B, KB, MB, GB, TB, PB (powers of 1024, as
    /// PowerShell's 100MB), KiB ... PiB alike; "100MB", "1.5GB", "4096". Anything else is BranchTriggerInvalid.
    /// </summary>
    public static long ParseSize(string text)
    {
        var m = SizePattern().Match(text);
        if (!m.Success)
            throw PachException.Invalid(InvalidId, $"The trigger size '{text}' is not a size such as 4096, 100MB or 1.5GB.", text);
        var unit = m.Groups[2].Success ? char.ToUpperInvariant(m.Groups[2].Value[0]) : 'B';
        var power = "BKMGTP".IndexOf(unit);
        var bytes = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * Math.Pow(1024, power);
        if (bytes < 1 || bytes > long.MaxValue)
            throw PachException.Invalid(InvalidId, $"The trigger size '{text}' must be at least one byte.", text);
        return (long)bytes;
    }
}
