using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Turns what a user writes (a repo name, a branch, a commit id or prefix, <c>master^2</c>, <c>master.1</c>) into the
/// repo, branch or commit document it names, inside the caller's unit of work; each miss is a NotFound with a stable id.
/// </summary>
internal static class CommitResolver
{
    /// <summary>The commit a reference names: a branch head, a commit id or unique prefix, with ^/~N ancestry or .N from the oldest.</summary>
    public static CommitDoc Resolve(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        var r = CommitRef.Parse(reference);
        CommitDoc? commit;
        var branch = db.Branches().FindById(BranchDoc.Key(repo, r.Base));
        if (branch is not null)
        {
            if (branch.Head is null)
                throw PachException.NotFound("CommitNotFound", $"Branch '{r.Base}' of '{repo}' has no finished commit yet.", $"{repo}@{reference}");
            commit = db.Commits().FindById(branch.Head);
        }
        else
        {
            commit = TryFindCommit(db, repo, r.Base);
            if (commit is null && r.Base.Length < Ids.FullLength && !System.Text.RegularExpressions.Regex.IsMatch(r.Base, "^[0-9a-f]+$"))
                throw PachException.NotFound("BranchNotFound", $"Repo '{repo}' has no branch or commit '{r.Base}'.", $"{repo}@{r.Base}");
            if (commit is null) throw PachException.NotFound("CommitNotFound", $"Repo '{repo}' has no commit '{r.Base}'.", $"{repo}@{r.Base}");
        }
        if (r.FromOldest is { } nth)
        {
            var chain = Ancestry(db, commit).Reverse().ToList();
            if (nth > chain.Count)
                throw PachException.NotFound("CommitNotFound", $"'{reference}': branch history has only {chain.Count} commits.", $"{repo}@{reference}");
            commit = chain[nth - 1];
        }
        for (var i = 0; i < r.Ancestors; i++)
        {
            commit = commit.Parent is null ? null : db.Commits().FindById(commit.Parent);
            if (commit is null)
                throw PachException.NotFound("CommitNotFound", $"'{reference}' goes back further than the first commit of '{repo}'.", $"{repo}@{reference}");
        }
        return commit;
    }

    /// <summary>The open commit a finish names: a branch's open commit, or an open commit by id.</summary>
    public static CommitDoc ResolveWritable(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        var branch = db.Branches().FindById(BranchDoc.Key(repo, reference));
        if (branch is not null)
        {
            if (branch.OpenCommit is null)
                throw PachException.State("NoOpenCommit", $"Branch '{reference}' of '{repo}' has no open commit.", $"{repo}@{reference}");
            return db.Commits().FindById(branch.OpenCommit);
        }
        var commit = TryFindCommit(db, repo, reference)
            ?? throw PachException.NotFound("CommitNotFound", $"Repo '{repo}' has no commit or branch '{reference}'.", $"{repo}@{reference}");
        if (commit.Finished is not null)
            throw PachException.State("CommitFinished", $"Commit {commit.Id} of '{repo}' is already finished.", commit.Id);
        return commit;
    }

    /// <summary>The commit an undo names: a branch's open commit, an open commit by id, else what the reference resolves to.</summary>
    public static CommitDoc ResolveForRemoval(LiteDatabase db, string repo, string reference)
    {
        RequireRepo(db, repo);
        var branch = db.Branches().FindById(BranchDoc.Key(repo, reference));
        if (branch?.OpenCommit is not null) return db.Commits().FindById(branch.OpenCommit);
        return TryFindCommit(db, repo, reference) is { Finished: null } open ? open : Resolve(db, repo, reference);
    }

    /// <summary>A commit of the repo by full id or unique prefix of at least 4 characters; null when none.</summary>
    public static CommitDoc? TryFindCommit(LiteDatabase db, string repo, string idOrPrefix)
    {
        if (idOrPrefix.Length == Ids.FullLength) return db.Commits().FindById(idOrPrefix) is { } c && c.Repo == repo ? c : null;
        if (idOrPrefix.Length < Ids.MinPrefixLength || idOrPrefix.Length > Ids.FullLength) return null;
        var matches = db.Commits().Find(Query.And(Query.StartsWith("_id", idOrPrefix), Query.EQ("Repo", repo)), limit: 2).ToList();
        if (matches.Count > 1)
            throw PachException.Invalid("AmbiguousCommit", $"'{idOrPrefix}' matches more than one commit of '{repo}'; give more characters.", idOrPrefix);
        return matches.FirstOrDefault();
    }

    /// <summary>A commit and its parents, newest first.</summary>
    public static IEnumerable<CommitDoc> Ancestry(LiteDatabase db, CommitDoc start)
    {
        for (var c = start; c is not null; c = c.Parent is null ? null : db.Commits().FindById(c.Parent)) yield return c;
    }

    public static RepoDoc RequireRepo(LiteDatabase db, string name) =>
        db.Repos().FindById(name ?? "") ?? throw PachException.NotFound("RepoNotFound", $"There is no repo named '{name}'.", name);

    public static BranchDoc RequireBranch(LiteDatabase db, string repo, string branch)
    {
        RequireRepo(db, repo);
        return db.Branches().FindById(BranchDoc.Key(repo, branch))
            ?? throw PachException.NotFound("BranchNotFound", $"Repo '{repo}' has no branch '{branch}'.", $"{repo}@{branch}");
    }
}
