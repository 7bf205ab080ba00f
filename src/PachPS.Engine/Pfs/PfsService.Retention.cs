using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

// Squash (Remove-PachCommit -Squash) and retention policies (Set-PachRetention), which squash for the user.
public sealed partial class PfsService
{
    /// <summary>
    /// Asked, in the squashing transaction, before a commit is folded into its child; may refuse by throwing (a job
    /// still reading it: JobStillRunning). PachStore wires it; Pfs knows nothing of who asks.
    /// </summary>
    internal Action<LiteDatabase, CommitDoc>? CommitSquashing { get; set; }

    /// <summary>
    /// Folds one finished mid-history commit into its only child, in one transaction: the child's parent becomes the
    /// squashed commit's parent, and the commit leaves the history. Trees are full snapshots, so the child's content
    /// (which already holds the squashed commit's changes, unless it changed the same paths again) is untouched, as is
    /// every later commit's. Refused (nothing changes) for: a branch head (CommitIsBranchHead), a commit with no child
    /// (CommitHasNoChild) or several (CommitHasSeveralChildren: branches fork there), an open commit or open child
    /// (CommitNotFinished), a tagged commit (CommitTagged: a tag never moves), a merge commit whose child is a merge
    /// too (CommitIsMerge), and a commit output commits' provenance names (CommitNeededByProvenance, listing them)
    /// unless <paramref name="force"/>: then their provenance names the child instead, with the squashed id in
    /// SquashedFrom. <paramref name="dryRun"/> checks everything and writes nothing.
    /// </summary>
    public SquashResult SquashCommit(string repo, string reference, bool force = false, bool dryRun = false)
    {
        SquashResult Work(LiteDatabase db) => Squash(db, CommitResolver.ResolveInRepo(db, repo, reference), reference, force, dryRun, "squash", DateTime.UtcNow);
        return dryRun ? _meta.Read(Work) : _meta.Write(Work);
    }

    private SquashResult Squash(LiteDatabase db, CommitDoc target, string reference, bool force, bool dryRun, string cause, DateTime now)
    {
        var repo = target.Repo;
        var name = $"{repo}@{Ids.Short(target.Id)}";
        if (target.Finished is null)
            throw PachException.State("CommitNotFinished", $"Commit {target.Id} of '{repo}' is still open; only a finished commit can be squashed.", reference);
        // A head is what a branch shows: folding it into a child would change what that branch holds.
        if (db.Branches().Find(b => b.Repo == repo).FirstOrDefault(b => b.Head == target.Id) is { } head)
            throw PachException.State("CommitIsBranchHead",
                $"Commit {name} is the head of branch '{head.Name}'; a squash folds a commit into its child, and a branch head's content is what the branch shows. Squash an older commit, or move the branch first.", $"{repo}@{head.Name}");
        var children = db.Commits().Find(c => c.Parent == target.Id).ToList();
        var mergedInto = db.Commits().Find(c => c.MergedFrom == target.Id).ToList();
        if (children.Count + mergedInto.Count == 0)
            throw PachException.State("CommitHasNoChild", $"Commit {name} has no child to fold it into; only a commit with exactly one child can be squashed.", target.Id);
        if (children.Count + mergedInto.Count > 1)
            throw PachException.State("CommitHasSeveralChildren",
                $"Commit {name} has {children.Count + mergedInto.Count} children ({string.Join(", ", children.Concat(mergedInto).Select(c => $"{Ids.Short(c.Id)} on '{c.Branch}'"))}): histories fork there, so there is no one commit to fold it into.",
                children.Concat(mergedInto).Select(c => c.Id).ToList());
        if (children.Count == 0)
            throw PachException.State("CommitIsMergeSource",
                $"Commit {name} is only the merged-in side of merge {Ids.Short(mergedInto[0].Id)}; its changes did not go on in a child of its own branch, so there is nothing to fold it into.", target.Id);
        var child = children[0];
        if (child.Finished is null)
            throw PachException.State("CommitNotFinished", $"Commit {name} has open child {child.Id}; finish it first.", child.Id);
        // A tag says someone wants exactly that version: it must not silently name another, nor vanish.
        if (db.Tags().FindOne(t => t.Commit == target.Id) is { } tag)
            throw PachException.State("CommitTagged",
                $"Commit {name} has tag '{tag.Name}'; a tag never moves, so a tagged commit is never squashed. Remove the tag first (Remove-PachTag {repo} {tag.Name}).", $"{repo}@{tag.Name}");
        if (target.MergedFrom is not null && child.MergedFrom is not null)
            throw PachException.State("CommitIsMerge",
                $"Commit {name} merged {Ids.Short(target.MergedFrom)} and its child {Ids.Short(child.Id)} is a merge too; a commit records one merged-in source, so the squash would lose one.", target.Id);
        var outputs = db.Commits().Find(Query.EQ("$.Provenance[*].Commit ANY", target.Id)).OrderBy(c => c.Started).ToList();
        var outputNames = outputs.Select(o => $"{o.Repo}@{o.Id}").ToList();
        if (outputs.Count > 0 && !force)
            throw PachException.State("CommitNeededByProvenance",
                $"Commit {name} is in the provenance of {outputs.Count} output commit(s) ({string.Join(", ", outputs.Take(5).Select(o => $"{o.Repo}@{Ids.Short(o.Id)}"))}{(outputs.Count > 5 ? ", ..." : "")}); use -Force to squash it anyway: their provenance then names commit {Ids.Short(child.Id)}, which holds its changes, and says it was squashed.",
                outputNames);
        CommitSquashing?.Invoke(db, target);
        var result = new SquashResult(repo, target.Branch, target.Id, child.Id, target.Parent, target.Message, outputNames) { DryRun = dryRun, Cause = cause };
        if (dryRun) return result;

        child.Parent = target.Parent;
        child.MergedFrom ??= target.MergedFrom;
        db.Commits().Update(child);
        foreach (var output in outputs)
        {
            output.Provenance = Repoint(output.Provenance, target, child);
            db.Commits().Update(output);
        }
        // Lineage: the squashed commit, and every commit squashed into it before, now live on in the child.
        var squashed = db.SquashedCommits();
        foreach (var earlier in squashed.Find(s => s.Into == target.Id).ToList())
        {
            earlier.Into = child.Id;
            squashed.Update(earlier);
        }
        squashed.Upsert(new SquashedCommitDoc
        {
            Id = target.Id, Repo = repo, Branch = target.Branch, Into = child.Id, Message = target.Message, Started = target.Started,
            Finished = target.Finished, Squashed = now, Cause = cause,
        });
        db.Commits().Delete(target.Id);
        return result;
    }

    /// <summary>An output's provenance with the squashed commit replaced by its child (merged with an entry the child already has).</summary>
    private static List<ProvenanceDoc> Repoint(List<ProvenanceDoc> provenance, CommitDoc squashed, CommitDoc child)
    {
        var result = new List<ProvenanceDoc>(provenance.Count);
        var gone = provenance.First(p => p.Commit == squashed.Id);
        var from = new List<string> { squashed.Id };
        from.AddRange(gone.SquashedFrom ?? []);
        var existing = provenance.FirstOrDefault(p => p.Commit == child.Id);
        foreach (var p in provenance)
        {
            if (p.Commit == squashed.Id)
            {
                if (existing is null) result.Add(new ProvenanceDoc { Repo = child.Repo, Branch = p.Branch, Commit = child.Id, SquashedFrom = from });
                continue;
            }
            if (p == existing) p.SquashedFrom = [.. p.SquashedFrom ?? [], .. from];
            result.Add(p);
        }
        return result;
    }

    // ---------------------------------------------------------------- retention

    /// <summary>
    /// Sets (replacing any) the retention policy of a branch; the branch must exist. Stored only: a collection
    /// (Optimize-PachStore) and the server apply it (<see cref="ApplyRetention"/>).
    /// </summary>
    public RetentionPolicy SetRetention(string repo, string branch, int? keepCommits = null, double? keepDays = null)
    {
        return _meta.Write(db =>
        {
            // An unknown repo or branch first (RepoNotFound, BranchNotFound), as every cmdlet reports it; then the policy.
            var b = CommitResolver.RequireBranch(db, repo, branch);
            Retention.Validate(repo, branch, keepCommits, keepDays);
            var doc = new RetentionDoc { Id = b.Id, Repo = repo, Branch = branch, KeepCommits = keepCommits, KeepDays = keepDays, Set = DateTime.UtcNow };
            db.Retention().Upsert(doc);
            return PfsRecords.ToRetention(doc);
        });
    }

    /// <summary>The retention policies of a branch, of a repo's branches (<paramref name="branch"/> null) or of every repo (both null).</summary>
    public IReadOnlyList<RetentionPolicy> GetRetention(string? repo = null, string? branch = null) => _meta.Read(db =>
    {
        if (branch is not null) CommitResolver.RequireBranch(db, repo!, branch);
        else if (repo is not null) CommitResolver.RequireRepo(db, repo);
        var docs = repo is null ? db.Retention().FindAll() : db.Retention().Find(r => r.Repo == repo);
        return docs.Where(d => branch is null || d.Branch == branch)
            .OrderBy(d => d.Repo, StringComparer.Ordinal).ThenBy(d => d.Branch, StringComparer.Ordinal).Select(PfsRecords.ToRetention).ToList();
    });

    /// <summary>Removes a branch's retention policy (RetentionNotFound when it has none); no commit changes.</summary>
    public void RemoveRetention(string repo, string branch) => _meta.Write(db =>
    {
        var b = CommitResolver.RequireBranch(db, repo, branch);
        if (!db.Retention().Delete(b.Id))
            throw PachException.NotFound("RetentionNotFound", $"Branch '{branch}' of '{repo}' has no retention policy.", $"{repo}@{branch}");
    });

    /// <summary>
    /// Applies every retention policy at <paramref name="now"/>: each expired commit (<see cref="Retention.Expired"/>)
    /// is squashed into its child, oldest first, one transaction each. Retention is the user's explicit choice, so a
    /// commit output commits' provenance names is squashed as -Force would: their provenance names the surviving
    /// commit and lists the squashed one (lineage kept), rather than a busy pipeline's input never shrinking. A commit
    /// that cannot be squashed (tagged, a head of another branch, a fork point, a merge into a merge, read by a running
    /// job) stays, and the next run tries again. <paramref name="dryRun"/> writes nothing and returns what would go.
    /// </summary>
    internal IReadOnlyList<SquashResult> ApplyRetention(DateTime now, bool dryRun = false, CancellationToken cancel = default)
    {
        var done = new List<SquashResult>();
        var policies = _meta.Read(db => db.Retention().FindAll().ToList());
        foreach (var policy in policies)
        {
            var expired = _meta.Read(db => Retention.Expired(db, policy, now));
            foreach (var id in expired)
            {
                cancel.ThrowIfCancellationRequested();
                SquashResult Work(LiteDatabase db) =>
                    db.Commits().Get(id) is { } commit ? Squash(db, commit, id, force: true, dryRun, "retention", now) : throw Gone(id);
                try { done.Add(dryRun ? _meta.Read(Work) : _meta.Write(Work)); }
                catch (PachException ex) when (ex.Kind is PachErrorKind.InvalidOperation or PachErrorKind.NotFound)
                {
                    // Kept this time (see the summary); in a dry run a squash that would have gone first can make
                    // a later one refuse (several children), so dry runs may count a little low, never high.
                }
            }
        }
        return done;
    }

    private static PachException Gone(string id) => PachException.NotFound("CommitNotFound", $"Commit {id} is gone.", id);
}

/// <summary>
/// The retention rule. A branch's history is the chain of first parents from its head, newest first, the head at
/// position 0. A commit at position p expires when p &gt;= KeepCommits (when set) and it finished more than KeepDays
/// days before now (when set): both limits must let it go, and a limit not set lets every commit go. Only commits
/// made on that branch expire (a policy never shortens another branch's history through a shared past), and the
/// head never does (it has no child to fold into). Expired commits are squashed oldest first, so each one's changes
/// end in the oldest commit that stays.
/// </summary>
internal static class Retention
{
    public static void Validate(string repo, string branch, int? keepCommits, double? keepDays)
    {
        var target = $"{repo}@{branch}";
        if (keepCommits is null && keepDays is null)
            throw PachException.Invalid("RetentionPolicyInvalid", $"A retention policy for {target} needs -KeepCommits, -KeepDays or both.", target);
        if (keepCommits is < 1)
            throw PachException.Invalid("RetentionPolicyInvalid",
                $"-KeepCommits must be at least 1 (the head always stays: it has no child to fold into); {keepCommits} was given for {target}.", keepCommits);
        if (keepDays is { } days && (double.IsNaN(days) || double.IsInfinity(days) || days < 0))
            throw PachException.Invalid("RetentionPolicyInvalid", $"-KeepDays must be a number of days, 0 or more; {days} was given for {target}.", keepDays);
    }

    /// <summary>The ids of a policy's expired commits at <paramref name="now"/>, oldest first.</summary>
    public static IReadOnlyList<string> Expired(LiteDatabase db, RetentionDoc policy, DateTime now)
    {
        var branch = db.Branches().Get(policy.Id);
        if (branch?.Head is null || db.Commits().Get(branch.Head) is not { } head) return [];
        var cutoff = policy.KeepDays is { } days ? now - TimeSpan.FromDays(days) : DateTime.MaxValue;
        var expired = new List<string>();
        var position = 0;
        foreach (var commit in CommitResolver.Ancestry(db, head))
        {
            var old = commit.Finished is { } finished && StoredTime.Utc(finished).UtcDateTime < cutoff;
            if (position > 0 && position >= (policy.KeepCommits ?? 0) && old && commit.Branch == policy.Branch) expired.Add(commit.Id);
            position++;
        }
        expired.Reverse();
        return expired;
    }
}
