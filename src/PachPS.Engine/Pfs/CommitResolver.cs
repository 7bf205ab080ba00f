using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Turns what a user writes (a repo name, a branch, a tag, a commit id or prefix, <c>master@{2026-11-01}</c>,
/// <c>master^2</c>, <c>master.1</c>) into the repo, branch, tag or commit document it names, inside the caller's unit
/// of work; each miss is a NotFound with a stable id, and a name that is more than one of a branch, a tag and a commit
/// id prefix is <c>AmbiguousReference</c>, listing what it could be.
/// </summary>
internal static class CommitResolver
{
    /// <summary>What one name of a repo is: a branch, a tag, commits its prefix matches (at most a few).</summary>
    private sealed record Named(BranchDoc? Branch, TagDoc? Tag, IReadOnlyList<CommitDoc> Commits);

    /// <summary>
    /// The commit a reference names: a branch head (or, with @{time}, the head as it was then), a tag's commit, a
    /// commit id or unique prefix, with ^/~N ancestry or .N from the oldest.
    /// </summary>
    public static CommitDoc Resolve(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        var r = CommitRef.Parse(reference);
        var commit = r.At is { } at ? BranchAt(db, repo, r.Base, at, reference) : Base(db, repo, r.Base, reference);
        if (r.FromOldest is { } nth)
        {
            var chain = Ancestry(db, commit).Reverse().ToList();
            if (nth > chain.Count)
                throw PachException.NotFound("CommitNotFound", $"'{reference}': branch history has only {chain.Count} commits.", $"{repo}@{reference}");
            commit = chain[nth - 1];
        }
        for (var i = 0; i < r.Ancestors; i++)
        {
            commit = commit.Parent is null ? null : db.Commits().Get(commit.Parent);
            if (commit is null)
                throw PachException.NotFound("CommitNotFound", $"'{reference}' goes back further than the first commit of '{repo}'.", $"{repo}@{reference}");
        }
        return commit;
    }

    /// <summary>The open commit a finish names: a branch's open commit, or an open commit by id.</summary>
    public static CommitDoc ResolveWritable(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        var named = Find(db, repo, reference, openOnly: true);
        if (named.Branch is { } branch)
        {
            if (branch.OpenCommit is null)
                throw PachException.State("NoOpenCommit", $"Branch '{reference}' of '{repo}' has no open commit.", $"{repo}@{reference}");
            return db.Commits().Get(branch.OpenCommit);
        }
        if (named.Tag is { } tag)
            throw PachException.State("CommitFinished", $"'{reference}' is a tag of '{repo}' (commit {tag.Commit}); a tagged commit is finished.", $"{repo}@{reference}");
        if (named.Commits is [var open]) return open;
        var commit = TryFindCommit(db, repo, reference)
            ?? throw PachException.NotFound("CommitNotFound", $"Repo '{repo}' has no commit or branch '{reference}'.", $"{repo}@{reference}");
        throw PachException.State("CommitFinished", $"Commit {commit.Id} of '{repo}' is already finished.", commit.Id);
    }

    /// <summary>The commit an undo names: a branch's open commit, an open commit by id, else what the reference resolves to.</summary>
    public static CommitDoc ResolveForRemoval(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        if (IsPlainName(reference))
        {
            var named = Find(db, repo, reference);
            if (named.Branch?.OpenCommit is { } open) return db.Commits().Get(open);
            if (named.Commits is [{ Finished: null } openById]) return openById;
        }
        return Resolve(db, repo, reference);
    }

    /// <summary>
    /// Where a write named <paramref name="target"/> goes: an existing branch, or an open commit by id; both null when
    /// nothing has that name (the writer then starts a branch of it). A tag or a finished commit is CommitFinished.
    /// Only open commits compete with a branch for the name here: a finished one cannot be written to anyway.
    /// </summary>
    public static (BranchDoc? Branch, CommitDoc? Open) ResolveWriteTarget(LiteDatabase db, string repo, string target)
    {
        RequireRepo(db, repo);
        Names.ValidateName(target, "Branch");
        var named = Find(db, repo, target, openOnly: true);
        if (named.Branch is { } branch) return (branch, null);
        if (named.Tag is { } tag)
            throw PachException.State("CommitFinished",
                $"'{target}' is a tag of '{repo}' (commit {tag.Commit}): a tagged commit is finished; files can only be added to a branch or an open commit.", $"{repo}@{target}");
        if (named.Commits is [var open]) return (null, open);
        if (TryFindCommit(db, repo, target) is { } finished)
            throw PachException.State("CommitFinished", $"Commit {finished.Id} of '{repo}' is finished; files can only be added to a branch or an open commit.", finished.Id);
        return (null, null);
    }

    /// <summary>
    /// Refuses a new branch or tag whose name is already the other kind in the repo (a reference to it would be
    /// ambiguous): NameInUse.
    /// </summary>
    public static void RequireNameFree(LiteDatabase db, string repo, string name, string newKind)
    {
        var taken = db.Branches().Get(BranchDoc.Key(repo, name)) is not null ? "branch"
            : db.Tags().Get(TagDoc.Key(repo, name)) is not null ? "tag" : null;
        if (taken is not null && taken != newKind)
            throw new PachException("NameInUse", PachErrorKind.AlreadyExists,
                $"'{name}' is already a {taken} of '{repo}'; a branch and a tag cannot share a name (a reference to it would be ambiguous).", $"{repo}@{name}");
    }

    /// <summary>A commit of the repo by full id or unique prefix of at least 4 characters; null when none.</summary>
    public static CommitDoc? TryFindCommit(LiteDatabase db, string repo, string idOrPrefix)
    {
        var matches = FindCommits(db, repo, idOrPrefix);
        if (matches.Count > 1)
            throw PachException.Invalid("AmbiguousCommit", $"'{idOrPrefix}' matches more than one commit of '{repo}'; give more characters.", idOrPrefix);
        return matches.FirstOrDefault();
    }

    /// <summary>
    /// The commit a reference names in <paramref name="repo"/>; a commit id (or prefix) of another repo is
    /// CommitNotInRepo rather than a plain miss, so a user who named the wrong repo is told which one holds it.
    /// </summary>
    public static CommitDoc ResolveInRepo(LiteDatabase db, string repo, string reference)
    {
        try { return Resolve(db, repo, reference); }
        catch (PachException ex) when (ex.ErrorId is "CommitNotFound" or "BranchNotFound" && IsHex(reference) && reference.Length >= Ids.MinPrefixLength)
        {
            var elsewhere = reference.Length == Ids.FullLength ? db.Commits().Get(reference)
                : reference.Length < Ids.FullLength ? db.Commits().FindOne(Query.StartsWith("_id", reference)) : null;
            if (elsewhere is null || elsewhere.Repo == repo) throw;
            throw PachException.Invalid("CommitNotInRepo", $"Commit {Ids.Short(elsewhere.Id)} is in repo '{elsewhere.Repo}', not in '{repo}'.", reference);
        }
    }

    /// <summary>
    /// The nearest common ancestor of two commits (through parents and merged-from links), or null when their histories
    /// never meet. Both histories are walked one generation at a time, so the cost follows the distance to the base.
    /// </summary>
    public static CommitDoc? MergeBase(LiteDatabase db, CommitDoc a, CommitDoc b)
    {
        var seenA = new Dictionary<string, CommitDoc>(StringComparer.Ordinal) { [a.Id] = a };
        var seenB = new Dictionary<string, CommitDoc>(StringComparer.Ordinal) { [b.Id] = b };
        if (seenB.ContainsKey(a.Id)) return a;
        List<CommitDoc> frontA = [a], frontB = [b];
        while (frontA.Count > 0 || frontB.Count > 0)
        {
            // A commit the other walk has reached is common; the newest of those found in one step is the nearest.
            var met = new List<CommitDoc>();
            frontA = Step(db, frontA, seenA, seenB, met);
            frontB = Step(db, frontB, seenB, seenA, met);
            if (met.Count > 0) return met.OrderByDescending(c => c.Finished ?? c.Started).First();
        }
        return null;
    }

    private static List<CommitDoc> Step(LiteDatabase db, List<CommitDoc> front, Dictionary<string, CommitDoc> seen, Dictionary<string, CommitDoc> other, List<CommitDoc> met)
    {
        var next = new List<CommitDoc>();
        foreach (var c in front)
        {
            if (other.ContainsKey(c.Id)) { met.Add(c); continue; }
            foreach (var id in new[] { c.Parent, c.MergedFrom })
            {
                if (id is null || seen.ContainsKey(id) || db.Commits().Get(id) is not { } parent) continue;
                seen[id] = parent;
                if (other.ContainsKey(id)) met.Add(parent);
                else next.Add(parent);
            }
        }
        return next;
    }

    /// <summary>A commit and its parents, newest first.</summary>
    public static IEnumerable<CommitDoc> Ancestry(LiteDatabase db, CommitDoc start)
    {
        for (var c = start; c is not null; c = c.Parent is null ? null : db.Commits().Get(c.Parent)) yield return c;
    }

    public static RepoDoc RequireRepo(LiteDatabase db, string name) =>
        db.Repos().Get(name ?? "") ?? throw PachException.NotFound("RepoNotFound", $"There is no repo named '{name}'.", name);

    public static BranchDoc RequireBranch(LiteDatabase db, string repo, string branch)
    {
        RequireRepo(db, repo);
        return db.Branches().Get(BranchDoc.Key(repo, branch))
            ?? throw PachException.NotFound("BranchNotFound", $"Repo '{repo}' has no branch '{branch}'.", $"{repo}@{branch}");
    }

    public static TagDoc RequireTag(LiteDatabase db, string repo, string tag)
    {
        RequireRepo(db, repo);
        return db.Tags().Get(TagDoc.Key(repo, tag))
            ?? throw PachException.NotFound("TagNotFound", $"Repo '{repo}' has no tag '{tag}'.", $"{repo}@{tag}");
    }

    /// <summary>The commit a name without ancestry names: a branch head, a tag's commit or a commit by id or prefix.</summary>
    private static CommitDoc Base(LiteDatabase db, string repo, string name, string reference)
    {
        var named = Find(db, repo, name);
        if (named.Branch is { } branch)
        {
            if (branch.Head is null)
                throw PachException.NotFound("CommitNotFound", $"Branch '{name}' of '{repo}' has no finished commit yet.", $"{repo}@{reference}");
            return db.Commits().Get(branch.Head);
        }
        if (named.Tag is { } tag)
            return db.Commits().Get(tag.Commit)
                ?? throw PachException.NotFound("CommitNotFound", $"Tag '{name}' of '{repo}' names commit {tag.Commit}, which does not exist.", $"{repo}@{reference}");
        if (named.Commits is [var commit]) return commit;
        if (name.Length < Ids.FullLength && !IsHex(name))
            throw PachException.NotFound("BranchNotFound", $"Repo '{repo}' has no branch, tag or commit '{name}'.", $"{repo}@{name}");
        if (Squashed(db, repo, name) is { } squashed) throw squashed;
        throw PachException.NotFound("CommitNotFound", $"Repo '{repo}' has no commit '{name}'.", $"{repo}@{name}");
    }

    /// <summary>The head a branch had at a time (<c>branch@{time}</c>); only a branch has a head history.</summary>
    private static CommitDoc BranchAt(LiteDatabase db, string repo, string name, DateTimeOffset at, string reference)
    {
        if (db.Branches().Get(BranchDoc.Key(repo, name)) is { } branch) return HeadAt(db, branch, at, reference);
        var what = db.Tags().Get(TagDoc.Key(repo, name)) is not null ? "a tag" : FindCommits(db, repo, name).Count > 0 ? "a commit id" : null;
        if (what is null)
            throw PachException.NotFound("BranchNotFound", $"Repo '{repo}' has no branch '{name}'.", $"{repo}@{name}");
        throw PachException.Invalid("InvalidCommitReference",
            $"'{reference}': @{{time}} follows a branch (its head as it was then); '{name}' is {what} of '{repo}', which never moves.", reference);
    }

    /// <summary>
    /// The head of <paramref name="branch"/> as it was at <paramref name="time"/>: the last recorded move at or before
    /// it. Before a branch's first recorded move, a branch created with head history did not exist yet; one from a store
    /// made before it had the newest commit of its ancestry (from the head it had then) that had finished by that time.
    /// </summary>
    private static CommitDoc HeadAt(LiteDatabase db, BranchDoc branch, DateTimeOffset time, string reference)
    {
        var at = time.UtcDateTime;
        var moves = HeadHistory.Moves(db, branch);
        var target = $"{branch.Repo}@{reference}";
        var when = time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        if (moves.Count > 0 && HeadHistory.Time(moves[0]) <= at)
        {
            var head = moves.Last(m => HeadHistory.Time(m) <= at).Commit
                ?? throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' had no commit at {when}.", target);
            return db.Commits().Get(head)
                ?? throw Squashed(db, branch.Repo, head, $"The commit branch '{branch.Name}' of '{branch.Repo}' had at {when} ({Ids.Short(head)})")
                ?? throw PachException.NotFound("CommitNotFound",
                    $"The commit branch '{branch.Name}' of '{branch.Repo}' had at {when} ({Ids.Short(head)}) has since been removed.", target);
        }
        if (moves.Count > 0 && HeadHistory.IsCreation(moves[0]))
            throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' did not exist yet at {when}.", target);
        var from = moves.Count > 0 ? moves[0].Commit : branch.Head;
        var start = from is null ? null : db.Commits().Get(from);
        return (start is null ? null : Ancestry(db, start).FirstOrDefault(c => c.Finished is { } f && StoredTime.Utc(f).UtcDateTime <= at))
            ?? throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' had no commit at {when}.", target);
    }

    /// <summary>
    /// CommitSquashed, naming the commit that holds its changes now, when <paramref name="id"/> (a full id) is a commit
    /// of the repo that was squashed; else null.
    /// </summary>
    public static PachException? Squashed(LiteDatabase db, string repo, string id, string? what = null)
    {
        if (id.Length != Ids.FullLength || db.SquashedCommits().Get(id) is not { } gone || gone.Repo != repo) return null;
        return PachException.NotFound("CommitSquashed",
            $"{what ?? $"Commit {id} of '{repo}'"} was squashed into commit {gone.Into}, which holds its changes now.", $"{repo}@{id}");
    }

    /// <summary>Everything a name could be in a repo; more than one kind is AmbiguousReference, listing the candidates.</summary>
    private static Named Find(LiteDatabase db, string repo, string name, bool openOnly = false)
    {
        var commits = FindCommits(db, repo, name);
        if (openOnly) commits = commits.Where(c => c.Finished is null).ToList();
        var named = new Named(db.Branches().Get(BranchDoc.Key(repo, name)), db.Tags().Get(TagDoc.Key(repo, name)), commits);
        var candidates = new List<string>();
        if (named.Branch is { } b) candidates.Add($"branch '{name}' (head {(b.Head is null ? "none" : Ids.Short(b.Head))})");
        if (named.Tag is { } t) candidates.Add($"tag '{name}' (commit {Ids.Short(t.Commit)})");
        candidates.AddRange(named.Commits.Select(c => $"commit {c.Id}"));
        if (candidates.Count > 1 && (named.Branch is not null || named.Tag is not null))
            throw PachException.Invalid("AmbiguousReference",
                $"'{name}' in '{repo}' could be {string.Join(" or ", candidates)}; name the commit you mean by more of its id.", $"{repo}@{name}");
        if (named.Commits.Count > 1)
            throw PachException.Invalid("AmbiguousCommit", $"'{name}' matches more than one commit of '{repo}'; give more characters.", name);
        return named;
    }

    /// <summary>Commits whose id is <paramref name="idOrPrefix"/> or starts with it (a prefix of at least 4 hex digits); at most 3.</summary>
    private static IReadOnlyList<CommitDoc> FindCommits(LiteDatabase db, string repo, string idOrPrefix)
    {
        if (idOrPrefix.Length == Ids.FullLength) return db.Commits().Get(idOrPrefix) is { } c && c.Repo == repo ? [c] : [];
        if (idOrPrefix.Length < Ids.MinPrefixLength || idOrPrefix.Length > Ids.FullLength || !IsHex(idOrPrefix)) return [];
        return db.Commits().Find(Query.And(Query.StartsWith("_id", idOrPrefix), Query.EQ("Repo", repo)), limit: 3).ToList();
    }

    private static bool IsHex(string text) => text.All(ch => ch is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static bool IsPlainName(string reference) => reference.Length > 0 && reference.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-');
}
