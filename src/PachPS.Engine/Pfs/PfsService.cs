using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>Repos, branches, commits and files. Content is written before the metadata that references it.</summary>
public sealed partial class PfsService : IFileService
{
    private readonly MetadataStore _meta;
    private readonly ContentStore _content;
    private readonly ChunkIndex _chunks;

    internal PfsService(MetadataStore meta, ContentStore content)
    {
        _meta = meta;
        _content = content;
        _chunks = new ChunkIndex(meta);
    }

    /// <summary>
    /// Raised after a transaction that moved a branch head to a finished commit (a commit finishing, a merge,
    /// <see cref="SetBranchHead"/>) has committed. The move is also recorded in a durable queue
    /// (<see cref="ConsumeFinishedCommits"/>), so a listener that never heard it (the process died first) finds it when
    /// the store is next opened.
    /// </summary>
    internal event Action<CommitInfo>? CommitFinished;

    // ---------------------------------------------------------------- repos

    public RepoInfo CreateRepo(string name, string? description = null)
    {
        Names.ValidateName(name, "Repo");
        return _meta.Write(db =>
        {
            var repos = db.Repos();
            if (repos.Get(name) is not null)
                throw new PachException("RepoAlreadyExists", PachErrorKind.AlreadyExists, $"A repo named '{name}' already exists.", name);
            var doc = new RepoDoc { Name = name, Created = DateTime.UtcNow, Description = description ?? "" };
            repos.Insert(doc);
            return PfsRecords.ToRepo(db, doc);
        });
    }

    public IReadOnlyList<RepoInfo> ListRepos() =>
        _meta.Read(db => db.Repos().FindAll().OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => PfsRecords.ToRepo(db, r)).ToList());

    public RepoInfo GetRepo(string name) => _meta.Read(db => PfsRecords.ToRepo(db, CommitResolver.RequireRepo(db, name)));

    /// <summary>
    /// Asked, in the removing transaction, before a repo goes; may refuse by throwing (pipelines refuse to lose an
    /// input or output). PachStore wires it; Pfs itself knows nothing of who asks.
    /// </summary>
    internal Action<LiteDatabase, string>? RepoRemoving { get; set; }

    /// <summary>
    /// Told, in the removing transaction, which commits an undo removes, so records derived from them go in the same
    /// transaction (or the undo is refused by throwing).
    /// </summary>
    internal Action<LiteDatabase, IReadOnlyList<CommitDoc>>? CommitsRemoving { get; set; }

    /// <summary>Removes a repo with its branches, tags and commits.</summary>
    public void RemoveRepo(string name)
    {
        _meta.Write(db =>
        {
            CommitResolver.RequireRepo(db, name);
            RepoRemoving?.Invoke(db, name);
            db.Tags().DeleteMany(t => t.Repo == name);
            db.Retention().DeleteMany(r => r.Repo == name);
            db.SquashedCommits().DeleteMany(c => c.Repo == name);
            HeadHistory.Forget(db, name);
            db.Branches().DeleteMany(b => b.Repo == name);
            db.Commits().DeleteMany(c => c.Repo == name);
            db.Repos().Delete(name);
        });
    }

    // ---------------------------------------------------------------- branches

    public BranchInfo CreateBranch(string repo, string branch, string? head = null, BranchTrigger? trigger = null)
    {
        Names.ValidateName(branch, "Branch");
        return _meta.Write(db =>
        {
            CommitResolver.RequireRepo(db, repo);
            if (db.Branches().Get(BranchDoc.Key(repo, branch)) is not null)
                throw new PachException("BranchAlreadyExists", PachErrorKind.AlreadyExists, $"Branch '{branch}' already exists in repo '{repo}'.", $"{repo}@{branch}");
            CommitResolver.RequireNameFree(db, repo, branch, "branch");
            var headCommit = head is null ? null : CommitResolver.Resolve(db, repo, head);
            if (headCommit is { Finished: null })
                throw PachException.State("CommitNotFinished", $"Commit {headCommit.Id} is still open; a branch can only point at a finished commit.", head);
            var triggerDoc = trigger is null ? null : BranchTriggers.Validate(db, repo, branch, trigger, DateTime.UtcNow);
            var doc = NewBranch(db, repo, branch, headCommit?.Id);
            if (triggerDoc is not null) SaveTrigger(db, doc, triggerDoc);
            return PfsRecords.ToBranch(doc);
        });
    }

    public IReadOnlyList<BranchInfo> ListBranches(string repo) => _meta.Read(db =>
    {
        CommitResolver.RequireRepo(db, repo);
        return db.Branches().Find(b => b.Repo == repo).OrderBy(b => b.Name, StringComparer.Ordinal).Select(PfsRecords.ToBranch).ToList();
    });

    public BranchInfo GetBranch(string repo, string branch) => _meta.Read(db => PfsRecords.ToBranch(CommitResolver.RequireBranch(db, repo, branch)));

    public void DeleteBranch(string repo, string branch)
    {
        _meta.Write(db =>
        {
            var doc = CommitResolver.RequireBranch(db, repo, branch);
            if (doc.OpenCommit is not null)
                throw PachException.State("CommitOpen", $"Branch '{branch}' of '{repo}' has open commit {doc.OpenCommit}; finish it first.", $"{repo}@{branch}");
            if (BranchTriggers.Followers(db, repo, branch) is { Count: > 0 } followers)
                throw PachException.State("BranchHasFollowers", $"Branch '{branch}' of '{repo}' triggers {string.Join(", ", followers.Select(f => f.Name))}; remove those triggers first.", $"{repo}@{branch}");
            HeadHistory.Forget(db, repo, branch);
            db.Retention().Delete(doc.Id);
            db.Branches().Delete(doc.Id);
        });
    }

    /// <summary>
    /// Moves a branch head to a finished commit of the same repo (any reference: a tag, an id, <c>branch~N</c>,
    /// <c>branch@{time}</c>); the move is recorded in the head history and pipelines reading the branch react as to a
    /// new commit. A branch with an open commit is refused (CommitOpen). Moving a head where it already is changes nothing.
    /// </summary>
    public BranchInfo SetBranchHead(string repo, string branch, string reference) => _meta.Write(db =>
    {
        var doc = CommitResolver.RequireBranch(db, repo, branch);
        var target = RequireFinished(CommitResolver.ResolveInRepo(db, repo, reference), reference, "a branch head");
        RequireNoOpenCommit(doc);
        if (doc.Head != target.Id) MoveHead(db, doc, target, "set");
        return PfsRecords.ToBranch(doc);
    });

    public BranchInfo SetBranchTrigger(string repo, string branch, BranchTrigger? trigger) => _meta.Write(db =>
    {
        var doc = CommitResolver.RequireBranch(db, repo, branch);
        var triggerDoc = trigger is null ? null : BranchTriggers.Validate(db, repo, branch, trigger, DateTime.UtcNow);
        doc.Trigger = null;
        if (triggerDoc is null) db.Branches().Update(doc);
        else SaveTrigger(db, doc, triggerDoc);
        return PfsRecords.ToBranch(doc);
    });

    private void SaveTrigger(LiteDatabase db, BranchDoc branch, BranchTriggerDoc trigger)
    {
        branch.Trigger = trigger;
        db.Branches().Update(branch);
        if (trigger.CronSpec is not null) _meta.AfterCommit(() => _cronTriggers = true);
    }

    private volatile bool _cronTriggers;

    /// <summary>
    /// Moves every branch whose trigger has a cron condition and is due at <paramref name="now"/> (the store calls this
    /// once a second; tests pass their own time); returns the branches moved (chained followers included).
    /// </summary>
    internal IReadOnlyList<BranchInfo> FireDueTriggers(DateTime now)
    {
        if (!_cronTriggers) return [];
        // Most seconds nothing is due: look in a read before taking the write lock.
        if (!_meta.Read(db => AnyCronDue(db, now))) return [];
        return _meta.Write(db =>
        {
            var moved = new List<BranchInfo>();
            var cron = db.Branches().FindAll().Where(b => b.Trigger?.CronSpec is not null).ToList();
            if (cron.Count == 0) { _cronTriggers = false; return moved; }
            foreach (var candidate in cron)
            {
                // Re-read: an earlier trigger of this pass may have moved it along a chain.
                var branch = db.Branches().Get(candidate.Id);
                var source = db.Branches().Get(BranchDoc.Key(branch.Repo, branch.Trigger!.Branch));
                if (source is not null && BranchTriggers.Due(db, branch, source, now)) Follow(db, branch, source, now, moved);
            }
            return moved;
        });
    }

    private bool AnyCronDue(LiteDatabase db, DateTime now)
    {
        var cron = db.Branches().FindAll().Where(b => b.Trigger?.CronSpec is not null).ToList();
        if (cron.Count == 0) _cronTriggers = false;
        return cron.Any(b => db.Branches().Get(BranchDoc.Key(b.Repo, b.Trigger!.Branch)) is { } source && BranchTriggers.Due(db, b, source, now));
    }

    /// <summary>Whether some branch has a cron trigger; the store's open looks once, later sets keep it current.</summary>
    internal void LoadTriggers() => _cronTriggers = _meta.Read(db => db.Branches().FindAll().Any(b => b.Trigger?.CronSpec is not null));

    /// <summary>After <paramref name="source"/>'s head moved: moves each follower whose trigger is due, and theirs in turn.</summary>
    private void FireTriggers(LiteDatabase db, BranchDoc source, DateTime now, List<BranchInfo>? moved = null)
    {
        foreach (var follower in BranchTriggers.Followers(db, source.Repo, source.Name))
            if (BranchTriggers.Due(db, follower, source, now)) Follow(db, follower, source, now, moved);
    }

    private void Follow(LiteDatabase db, BranchDoc branch, BranchDoc source, DateTime now, List<BranchInfo>? moved)
    {
        branch.Trigger!.Since = now;
        MoveHead(db, branch, db.Commits().Get(source.Head), "trigger", now, moved);
        moved?.Add(PfsRecords.ToBranch(branch));
    }

    // ---------------------------------------------------------------- merge and revert

    /// <summary>
    /// Merges <paramref name="source"/> (a branch or any commit reference) into branch <paramref name="destination"/>:
    /// nothing when the source is already in the destination's history, a fast-forward when the destination head is an
    /// ancestor of the source, else a merge commit made by a three-way merge from the nearest common ancestor, recording
    /// the source as <c>MergedFrom</c>. Conflicts fail it (MergeConflict, the conflicts as its target) unless
    /// <paramref name="strategy"/> takes one side; <paramref name="dryRun"/> writes nothing and returns the conflicts.
    /// </summary>
    public MergeResult Merge(string repo, string source, string destination, MergeStrategy strategy = MergeStrategy.Fail, CommitNote? note = null, bool dryRun = false)
    {
        CommitNotes.Validate(note);
        MergeResult Work(LiteDatabase db)
        {
            var dest = CommitResolver.RequireBranch(db, repo, destination);
            var src = RequireFinished(CommitResolver.ResolveInRepo(db, repo, source), source, "a merge source");
            RequireNoOpenCommit(dest);
            var head = dest.Head is null ? null : db.Commits().Get(dest.Head);
            var mergeBase = head is null ? null : CommitResolver.MergeBase(db, src, head);
            var tree = PathTree.In(db);
            MergeResult Result(MergeKind kind, string? commit, int changes, IReadOnlyList<MergeConflict> conflicts) =>
                new(repo, destination, commit, src.Id, mergeBase?.Id, kind, strategy, changes, conflicts) { DryRun = dryRun };
            if (head is not null && mergeBase?.Id == src.Id) return Result(MergeKind.UpToDate, head.Id, 0, []);
            if (head is null || mergeBase?.Id == head.Id)
            {
                var changed = TreeDiff.Changes(tree, head?.Root, src.Root).Count();
                if (!dryRun) MoveHead(db, dest, src, "merge");
                return Result(MergeKind.FastForward, src.Id, changed, []);
            }
            var plan = TreeMerge.Merge(tree, repo, mergeBase?.Root, src.Root, head.Root, strategy);
            if (plan.Conflicts.Count > 0 && strategy == MergeStrategy.Fail)
            {
                if (dryRun) return Result(MergeKind.Merge, null, plan.Changes.Count, plan.Conflicts);
                throw Conflicts("MergeConflict", $"Merging {source} into '{destination}' of '{repo}' conflicts", plan.Conflicts,
                    "nothing was merged; use -Strategy Source or Destination to take one side, or change one branch first");
            }
            if (dryRun) return Result(MergeKind.Merge, null, plan.Changes.Count, plan.Conflicts);
            var message = $"merge {source} ({Ids.Short(src.Id)}) into {destination}";
            var info = Commit(repo, destination, null, (_, _, _) => plan.Changes, new CommitNote(note?.Message ?? message, note?.Metadata), commit =>
            {
                commit.MergedFrom = src.Id;
                commit.Provenance = Union(head.Provenance, src.Provenance);
            });
            return Result(MergeKind.Merge, info.Commit, plan.Changes.Count, plan.Conflicts);
        }
        return dryRun ? _meta.Read(Work) : _meta.Write(Work);
    }

    /// <summary>
    /// Reverts one finished commit: a new commit on that commit's branch that undoes its changes (against its first
    /// parent): files it added are removed, files it changed or removed are restored. A path a later commit changed
    /// too is RevertConflict, and nothing is written.
    /// </summary>
    public CommitInfo RevertCommit(string repo, string reference, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        return _meta.Write(db =>
        {
            var target = RequireFinished(CommitResolver.Resolve(db, repo, reference), reference, "a revert");
            var branch = CommitResolver.RequireBranch(db, repo, target.Branch);
            RequireNoOpenCommit(branch);
            var head = branch.Head is null ? null : db.Commits().Get(branch.Head);
            var parent = target.Parent is null ? null : db.Commits().Get(target.Parent);
            // Reverting is merging the parent into the head with the reverted commit as the base.
            var plan = TreeMerge.Merge(PathTree.In(db), repo, target.Root, parent?.Root, head?.Root, MergeStrategy.Fail);
            if (plan.Conflicts.Count > 0)
                throw Conflicts("RevertConflict", $"Reverting commit {Ids.Short(target.Id)} of '{repo}' conflicts with later commits of '{target.Branch}'", plan.Conflicts,
                    "nothing was written");
            var message = $"revert {Ids.Short(target.Id)}" + (target.Message.Length > 0 ? $": {target.Message}" : "");
            return Commit(repo, target.Branch, null, (_, _, _) => plan.Changes, new CommitNote(note?.Message ?? message, note?.Metadata), commit =>
                commit.Provenance = Union(head?.Provenance ?? [], parent?.Provenance ?? []));
        });
    }

    private static PachException Conflicts(string id, string what, IReadOnlyList<MergeConflict> conflicts, string outcome)
    {
        const int shown = 10;
        var paths = string.Join(", ", conflicts.Take(shown).Select(c => $"{c.Path} ({c.Kind})")) + (conflicts.Count > shown ? $" and {conflicts.Count - shown} more" : "");
        return PachException.State(id, $"{what} on {conflicts.Count} path(s): {paths}; {outcome}. The conflicts are the error's target object.", conflicts);
    }

    /// <summary>Every input commit of two provenance lists, once.</summary>
    private static List<ProvenanceDoc> Union(List<ProvenanceDoc> a, List<ProvenanceDoc> b) =>
        a.Concat(b).GroupBy(p => p.Commit, StringComparer.Ordinal).Select(g => g.First()).ToList();

    private static CommitDoc RequireFinished(CommitDoc commit, string reference, string what) => commit.Finished is not null ? commit
        : throw PachException.State("CommitNotFinished", $"Commit {commit.Id} of '{commit.Repo}' is still open; {what} must be a finished commit.", reference);

    private static void RequireNoOpenCommit(BranchDoc branch)
    {
        if (branch.OpenCommit is not null)
            throw PachException.State("CommitOpen", $"Branch '{branch.Name}' of '{branch.Repo}' has open commit {branch.OpenCommit}; finish it first.", $"{branch.Repo}@{branch.Name}");
    }

    /// <summary>Moves a head to a finished commit, records the move and tells pipelines, as a finishing commit does.</summary>
    /// <remarks>Branches whose triggers follow this one move with it, in the same transaction.</remarks>
    private void MoveHead(LiteDatabase db, BranchDoc branch, CommitDoc commit, string cause, DateTime? time = null, List<BranchInfo>? moved = null)
    {
        var now = time ?? DateTime.UtcNow;
        HeadHistory.Move(db, branch, commit.Id, cause, now);
        db.Branches().Update(branch);
        db.FinishedCommits().Insert(new FinishedCommitDoc { Repo = branch.Repo, Branch = branch.Name, Commit = commit.Id });
        var info = PfsRecords.ToCommit(db, commit);
        _meta.AfterCommit(() => CommitFinished?.Invoke(info));
        FireTriggers(db, branch, now, moved);
    }

    // ---------------------------------------------------------------- commits

    public CommitInfo StartCommit(string repo, string branch, string? message = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Names.ValidateName(branch, "Branch");
        var note = new CommitNote(message, metadata);
        CommitNotes.Validate(note);
        return _meta.Write(db =>
        {
            CommitResolver.RequireRepo(db, repo);
            var b = db.Branches().Get(BranchDoc.Key(repo, branch)) ?? NewBranch(db, repo, branch);
            if (b.OpenCommit is not null)
                throw PachException.State("CommitAlreadyOpen", $"Branch '{branch}' of '{repo}' already has open commit {b.OpenCommit}.", b.OpenCommit);
            var commit = NewCommit(db, b);
            CommitNotes.Apply(commit, note);
            db.Commits().Insert(commit);
            b.OpenCommit = commit.Id;
            db.Branches().Update(b);
            return PfsRecords.ToCommit(db, commit);
        });
    }

    public CommitInfo FinishCommit(string repo, string reference)
    {
        var info = _meta.Write(db =>
        {
            var commit = CommitResolver.ResolveWritable(db, repo, reference);
            return FinishInTransaction(db, commit);
        });
        return info;
    }

    public CommitInfo GetCommit(string repo, string reference) => _meta.Read(db => PfsRecords.ToCommit(db, CommitResolver.Resolve(db, repo, reference)));

    /// <summary>Commits from <paramref name="reference"/> back through their parents, or (null) every commit of the repo newest first.</summary>
    public IReadOnlyList<CommitInfo> ListCommits(string repo, string? reference = null, int max = int.MaxValue) => ListCommitsPage(repo, reference, null, max).Items;

    /// <summary>A page of <see cref="ListCommits"/>: up to <paramref name="max"/> commits after a cursor, in one unit of work.</summary>
    public Page<CommitInfo> ListCommitsPage(string repo, string? reference = null, string? after = null, int max = Listing.LargestPage) =>
        _meta.Read(db => CommitPages.Read(db, repo, reference, after, max));

    /// <summary>
    /// Undo: removes a commit (open, or the newest finished one of its branch) and every commit derived from it, moving
    /// each branch head back to its parent, in one transaction. <paramref name="dryRun"/> only lists what would go.
    /// <see cref="CommitsRemoving"/> lets pipelines drop their records of the removed output commits in the same transaction.
    /// </summary>
    public IReadOnlyList<CommitInfo> RemoveCommit(string repo, string reference, bool dryRun = false)
    {
        IReadOnlyList<CommitInfo> Work(LiteDatabase db)
        {
            var target = CommitResolver.ResolveForRemoval(db, repo, reference);
            var doomed = new List<CommitDoc> { target };
            doomed.AddRange(db.Commits().Find(Query.EQ("$.Provenance[*].Commit ANY", target.Id)).OrderBy(c => c.Started));
            var ids = doomed.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var commit in doomed)
            {
                // A tag says someone wants that version kept: it goes first, by Remove-PachTag, or the commit stays.
                if (db.Tags().FindOne(t => t.Commit == commit.Id) is { } tag)
                    throw PachException.State("CommitTagged",
                        $"Commit {Ids.Short(commit.Id)} of '{commit.Repo}' has tag '{tag.Name}'; remove the tag first (Remove-PachTag {commit.Repo} {tag.Name}).", $"{commit.Repo}@{tag.Name}");
                // Only the tip of a history can go: a commit that later commits build on would leave them without a parent.
                var child = db.Commits().FindOne(c => c.Parent == commit.Id) ?? db.Commits().FindOne(c => c.MergedFrom == commit.Id);
                if (child is not null && !ids.Contains(child.Id))
                    throw PachException.State("CommitHasDescendants",
                        $"Commit {Ids.Short(commit.Id)} of '{commit.Repo}' has a later commit ({Ids.Short(child.Id)}); only the newest commit of a branch (or an open one) can be removed.", commit.Id);
            }
            if (dryRun) return doomed.Select(c => PfsRecords.ToCommit(db, c)).ToList();
            CommitsRemoving?.Invoke(db, doomed);
            var now = DateTime.UtcNow;
            // Newest first, so each branch steps back one commit at a time to the parent that stays.
            foreach (var commit in doomed.OrderByDescending(c => c.Started))
            {
                // Its own branch, and any other a merge or Set-PachBranch moved to it, step back to its parent.
                foreach (var branch in db.Branches().Find(b => b.Repo == commit.Repo).Where(b => b.Head == commit.Id || b.OpenCommit == commit.Id).ToList())
                {
                    if (branch.OpenCommit == commit.Id) branch.OpenCommit = null;
                    if (branch.Head == commit.Id) HeadHistory.Move(db, branch, commit.Parent, "undo", now);
                    db.Branches().Update(branch);
                }
                db.SquashedCommits().DeleteMany(c => c.Into == commit.Id);
                db.Commits().Delete(commit.Id);
            }
            return doomed.Select(PfsRecords.ToCommit).ToList();
        }
        return dryRun ? _meta.Read(Work) : _meta.Write(Work);
    }

    // ---------------------------------------------------------------- tags

    /// <summary>Names a finished commit; a tag never moves (TagAlreadyExists: remove it first) and shares no name with a branch.</summary>
    public TagInfo CreateTag(string repo, string name, string reference, string? message = null)
    {
        Names.ValidateName(name, "Tag");
        CommitNotes.Validate(new CommitNote(message));
        return _meta.Write(db =>
        {
            CommitResolver.RequireRepo(db, repo);
            if (db.Tags().Get(TagDoc.Key(repo, name)) is { } existing)
                throw new PachException("TagAlreadyExists", PachErrorKind.AlreadyExists,
                    $"Tag '{name}' already exists in repo '{repo}' (commit {Ids.Short(existing.Commit)}); a tag never moves: remove it first to give the name to another commit.", $"{repo}@{name}");
            CommitResolver.RequireNameFree(db, repo, name, "tag");
            var commit = CommitResolver.Resolve(db, repo, reference);
            if (commit.Finished is null)
                throw PachException.State("CommitNotFinished", $"Commit {commit.Id} is still open; a tag can only name a finished commit.", reference);
            var doc = new TagDoc { Id = TagDoc.Key(repo, name), Repo = repo, Name = name, Commit = commit.Id, Message = message ?? "", Created = DateTime.UtcNow };
            db.Tags().Insert(doc);
            return PfsRecords.ToTag(doc);
        });
    }

    /// <summary>The tags of a repo, or of every repo, by repo and name.</summary>
    public IReadOnlyList<TagInfo> ListTags(string? repo = null) => _meta.Read(db =>
    {
        if (repo is not null) CommitResolver.RequireRepo(db, repo);
        var tags = repo is null ? db.Tags().FindAll() : db.Tags().Find(t => t.Repo == repo);
        return tags.OrderBy(t => t.Repo, StringComparer.Ordinal).ThenBy(t => t.Name, StringComparer.Ordinal).Select(PfsRecords.ToTag).ToList();
    });

    public TagInfo GetTag(string repo, string name) => _meta.Read(db => PfsRecords.ToTag(CommitResolver.RequireTag(db, repo, name)));

    /// <summary>Removes a tag; its commit stays.</summary>
    public void RemoveTag(string repo, string name) => _meta.Write(db =>
    {
        var doc = CommitResolver.RequireTag(db, repo, name);
        db.Tags().Delete(doc.Id);
    });

    /// <summary>Commits whose provenance includes the given commit.</summary>
    internal IReadOnlyList<CommitInfo> FindDerived(string commitId) => _meta.Read(db =>
        db.Commits().Find(Query.EQ("$.Provenance[*].Commit ANY", commitId)).Select(c => PfsRecords.ToCommit(db, c)).ToList());

    // ---------------------------------------------------------------- what the layers above read and write through Pfs
    // Each joins the caller's unit of work, so the pipeline system can read heads and create output repos in its own
    // transactions without touching Pfs's collections.

    /// <summary>A branch's head commit; null while it has none or does not exist.</summary>
    internal CommitPointer? Head(string repo, string branch) => _meta.Read(db =>
        db.Branches().Get(BranchDoc.Key(repo, branch))?.Head is { } head ? FindCommit(head) : null);

    /// <summary>A commit by full id, with its tree root; null when there is none.</summary>
    internal CommitPointer? FindCommit(string id) => _meta.Read(db => db.Commits().Get(id) is { } c
        ? new CommitPointer(c.Repo, c.Branch, c.Id, c.Root, c.Provenance.Select(PfsRecords.ToProvenance).ToList())
        : null);

    /// <summary>Reads trees (<see cref="PathTree.Under"/> and friends) in one unit of work.</summary>
    internal T ReadTree<T>(Func<PathTree, T> work) => _meta.Read(db => work(PathTree.In(db)));

    internal bool RepoExists(string name) => _meta.Read(db => db.Repos().Get(name) is not null);

    /// <summary>Creates a repo unless it exists (the tick repos of cron inputs).</summary>
    internal void EnsureRepo(string name, string description) => _meta.Write(db =>
    {
        if (db.Repos().Get(name) is null) db.Repos().Insert(new RepoDoc { Name = name, Created = DateTime.UtcNow, Description = description });
    });

    /// <summary>A writer for new content that deduplicates small chunks against those already packed in this store.</summary>
    internal ContentWriter BeginWrite() => _content.BeginWrite(_chunks);

    /// <summary>
    /// Runs one ingest with a writer of its own whose content <see cref="Commit"/> commits: when anything fails before
    /// that commit (a full disk, a refused path, a lost source), the objects it wrote are removed again, so a refused
    /// or failed write leaves the store as it was and gives back the space it took.
    /// </summary>
    internal T Ingest<T>(Func<ContentWriter, T> work)
    {
        using var writer = BeginWrite();
        try { return work(writer); }
        catch
        {
            writer.Abandon();
            throw;
        }
    }

    /// <summary>Reads content this store holds (what executors read datum inputs through).</summary>
    internal IContentReader Reader => _content;

    // ---------------------------------------------------------------- files

    /// <summary>Where a write to <paramref name="target"/> would land, resolved as the writes resolve it, without writing.</summary>
    public WriteLanding ResolveWrite(string repo, string target) => _meta.Read(db =>
    {
        var (branch, open) = CommitResolver.ResolveWriteTarget(db, repo, target);
        if (open is not null) return new WriteLanding(repo, open.Branch, WriteLandingKind.OpenCommit, open.Id);
        if (branch is null)
        {
            CommitResolver.RequireNameFree(db, repo, target, "branch");
            return new WriteLanding(repo, target, WriteLandingKind.NewBranch, null);
        }
        if (branch.OpenCommit is { } id) return new WriteLanding(repo, branch.Name, WriteLandingKind.OpenCommit, id);
        return branch.Head is { } head
            ? new WriteLanding(repo, branch.Name, WriteLandingKind.NewCommit, head)
            : new WriteLanding(repo, branch.Name, WriteLandingKind.FirstCommit, null);
    });

    /// <summary>
    /// Adds files to a branch (its open commit, or a new commit finished by this call) or to an open commit.
    /// All files land in one commit, or none of them do.
    /// </summary>
    public CommitInfo PutFiles(string repo, string target, IReadOnlyList<FileSource> sources, bool append = false,
        IProgress<(int Done, int Total, string Path)>? progress = null, CancellationToken cancel = default, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        var paths = sources.Select(s => Names.NormalizePath(s.Path)).ToList();
        // The commit writer checks every path again; checking here refuses before any content is stored.
        paths.ForEach(Names.RequireStorable);
        CommitWriter.CheckDistinct(paths);
        var start = _meta.Read(db => ResolveTarget(db, repo, target, create: false).Commit);
        return Ingest(writer => PutFiles(repo, target, sources, paths, start, writer, append, progress, cancel, note));
    }

    private CommitInfo PutFiles(string repo, string target, IReadOnlyList<FileSource> sources, List<string> paths, CommitDoc start, ContentWriter writer,
        bool append, IProgress<(int Done, int Total, string Path)>? progress, CancellationToken cancel, CommitNote? note)
    {
        var contents = new List<FileContent>(sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            Stream input;
            try { input = sources[i].Open(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw sources[i].NotReadable(ex);
            }
            using (input)
            {
                if (append && start.Root is not null && _meta.Read(db => PathTree.In(db).Get(start.Root, paths[i])) is { } old)
                {
                    using var existing = _content.OpenRead(old.Content);
                    using var both = new ConcatStream(existing, input);
                    contents.Add(writer.Write(both));
                }
                else contents.Add(writer.Write(input));
            }
            progress?.Report((i + 1, sources.Count, paths[i]));
        }
        writer.Flush();
        cancel.ThrowIfCancellationRequested();

        return Commit(repo, target, writer, (_, _, _) => paths.Select((path, i) => FileChange.Write(path, writer.Resolve(contents[i]))), note);
    }

    /// <summary>
    /// Stores one file as a folder of pieces (/path/0000000000000000, ...), each holding whole records, so a
    /// "/path/*" glob gives one datum per piece. Replaces whatever was at the path.
    /// </summary>
    public CommitInfo PutSplit(string repo, string target, string path, Func<Stream> open, SplitMode mode, int targetDatums = 0, long targetBytes = 0,
        CancellationToken cancel = default, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        var folder = Names.NormalizePath(path);
        // Every piece's name is as long as the first's: checking it refuses before any content is stored.
        Names.RequireStorable(FileSplitter.PieceName(folder, 0));
        _meta.Read(db => ResolveTarget(db, repo, target, create: false));
        return Ingest(writer =>
        {
            var pieces = new List<(string Path, FileContent Content)>();
            using (var input = open())
            {
                foreach (var piece in FileSplitter.Split(input, mode, targetDatums, targetBytes))
                {
                    cancel.ThrowIfCancellationRequested();
                    pieces.Add((FileSplitter.PieceName(folder, pieces.Count), writer.Write(piece)));
                }
            }
            writer.Flush();
            return Commit(repo, target, writer, (db, tree, commit) =>
            {
                var written = pieces.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
                var changes = tree.Under(commit.Root, folder).Where(e => !written.Contains(e.Path)).Select(e => FileChange.Remove(e.Path)).ToList();
                changes.AddRange(pieces.Select(p => FileChange.Write(p.Path, writer.Resolve(p.Content))));
                return changes;
            }, note);
        });
    }

    public CommitInfo DeleteFiles(string repo, string target, IReadOnlyList<string> paths, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        return Commit(repo, target, null, (db, tree, commit) =>
        {
            var changes = new List<FileChange>();
            foreach (var raw in paths)
            {
                var path = Names.NormalizePath(raw);
                var under = tree.Under(commit.Root, path).ToList();
                if (under.Count == 0) throw TreeQueries.FileNotFound(repo, target, path);
                changes.AddRange(under.Select(e => FileChange.Remove(e.Path)));
            }
            return changes;
        }, note);
    }

    /// <summary>Copies a file or folder (by reference, no data is copied) into a branch or open commit.</summary>
    public CommitInfo CopyFile(string sourceRepo, string sourceRef, string sourcePath, string repo, string target, string path, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        var src = Names.NormalizePath(sourcePath, allowRoot: true);
        var dst = Names.NormalizePath(path, allowRoot: true);
        return Commit(repo, target, null, (db, tree, commit) =>
        {
            var from = CommitResolver.Resolve(db, sourceRepo, sourceRef);
            var entries = tree.Under(from.Root, src).ToList();
            if (entries.Count == 0) throw TreeQueries.FileNotFound(sourceRepo, sourceRef, src);
            var changes = new List<FileChange>();
            foreach (var e in entries)
            {
                var rel = e.Path == src ? "" : e.Path[(src == "/" ? 0 : src.Length)..];
                var to = rel.Length == 0 ? dst : (dst == "/" ? rel : dst + rel);
                changes.Add(FileChange.Write(to, e.Content));
            }
            return changes;
        }, note);
    }

    /// <summary>
    /// Records objects of S3 buckets as files without copying them (<see cref="ObjectReferences"/>): each object's key,
    /// size, ETag, and VersionId where its bucket keeps versions. <paramref name="uris"/> and <paramref name="path"/>
    /// name files as for <see cref="UriImport"/>; every URL is listed before anything is recorded.
    /// </summary>
    public CommitInfo ImportReferences(string repo, string target, IReadOnlyList<string> uris, string? path = null, CommitNote? note = null)
    {
        CommitNotes.Validate(note);
        // An unknown repo or branch is refused before any bucket is listed.
        _meta.Read(db => ResolveTarget(db, repo, target, create: false));
        using var import = new UriImport(uris, path, _content.Objects);
        if (import.Items.FirstOrDefault(i => i.Entry is null) is { } web)
            throw PachException.Invalid("ReferenceNeedsS3", $"'{web.Uri}' is not in S3: only s3:// objects can be imported by reference. Add-PachFile -Uri copies it in.", web.Uri);
        var paths = import.Items.Select(i => Names.NormalizePath(i.Path)).ToList();
        paths.ForEach(Names.RequireStorable);
        CommitWriter.CheckDistinct(paths);
        var versioned = import.Items.Select(i => i.Bucket!).Distinct().ToDictionary(b => b, b => b.IsVersioned());
        // A listing gives no versions: in a bucket that keeps them, each object's current one is asked for.
        var contents = import.Items.Select(i => ObjectReferences.Content(i.Location!, versioned[i.Bucket!] && i.Entry!.VersionId is null ? i.Bucket!.Head(i.Entry.Key) : i.Entry!)).ToList();
        return Commit(repo, target, null, (_, _, _) => paths.Select((p, i) => FileChange.Write(p, contents[i])), note);
    }

    /// <summary>
    /// Copies the bytes of the files at or under <paramref name="path"/> that were imported by reference into the
    /// store, as any added file (chunked, deduplicated), in one commit; each read checks that its source is still the
    /// version imported (ReferencedObjectChanged otherwise, and nothing is written). With none there, nothing happens
    /// and the target's current commit is returned.
    /// </summary>
    public CommitInfo MaterializeReferences(string repo, string target, string path = "/", IProgress<(int Done, int Total, string Path)>? progress = null,
        CancellationToken cancel = default, CommitNote? note = null)
    {
        var referenced = Entries(repo, target, path).Where(e => e.Content.Chunks.Any(ObjectReferences.Is)).ToList();
        if (referenced.Count == 0) return GetCommit(repo, target);
        var sources = referenced.Select(e => new FileSource(e.Path, () => _content.OpenRead(e.Content), ObjectReferences.Describe(e.Content.Chunks[0].Object))).ToList();
        return PutFiles(repo, target, sources, progress: progress, cancel: cancel, note: note);
    }

    /// <summary>Files and directories at a commit: a folder's children, one file, or every node a glob matches.</summary>
    public IReadOnlyList<PachFileInfo> ListFiles(string repo, string reference, string? pathOrGlob = null, bool recurse = false) =>
        _meta.Read(db => TreeQueries.ListFiles(db, repo, reference, pathOrGlob, recurse));

    /// <summary>A page of <see cref="ListFiles(string, string, string?, bool)"/>: up to <paramref name="max"/> nodes after a cursor, in one unit of work.</summary>
    public Page<PachFileInfo> ListFilesPage(string repo, string reference, string? pathOrGlob = null, bool recurse = false, string? after = null, int max = Listing.LargestPage) =>
        _meta.Read(db => TreeQueries.ListFiles(db, repo, reference, pathOrGlob, recurse, after, max));

    /// <summary>The versions of a file, newest first: each commit that wrote it.</summary>
    public IReadOnlyList<PachFileInfo> FileHistory(string repo, string reference, string path) =>
        _meta.Read(db => TreeQueries.FileHistory(db, repo, reference, path));

    /// <summary>The files at or under a path; a path that names nothing (other than the root) is FileNotFound.</summary>
    public IReadOnlyList<TreeEntry> Entries(string repo, string reference, string path = "/") =>
        _meta.Read(db => TreeQueries.Entries(db, repo, reference, path));

    /// <summary>Differences from <paramref name="olderRef"/> (default: the parent) to <paramref name="reference"/>.</summary>
    public IReadOnlyList<DiffEntry> Diff(string repo, string reference, string? olderRef = null, string? otherRepo = null) =>
        _meta.Read(db => TreeQueries.Diff(db, repo, reference, olderRef, otherRepo));

    /// <summary>Opens a file for reading; every chunk is verified as it is read.</summary>
    public (PachFileInfo File, Stream Content) OpenFile(string repo, string reference, string path)
    {
        var normalized = Names.NormalizePath(path);
        var (file, entry) = _meta.Read(db =>
        {
            var (commit, entry) = TreeQueries.FindFile(db, repo, reference, normalized);
            if (commit.Damage?.FirstOrDefault(d => d.Covers(normalized)) is { } gone)
                throw new PachException("FileContentMissing", PachErrorKind.InvalidData,
                    $"The content of '{normalized}' in {repo}@{Ids.Short(commit.Id)} is gone (object '{gone.Object}' is missing or damaged); Test-PachStore -Repair " +
                    "marked the commit Corrupt. Fetch it again with Test-PachStore -Repair -From <a backup or another store that holds it>.", normalized);
            return (TreeQueries.ToFile(commit, entry, new TreeQueries.Writers(db, repo)), entry);
        });
        return (file, _content.OpenRead(entry.Content));
    }

    public Stream OpenContent(FileContent content) => _content.OpenRead(content);

    /// <summary>
    /// Writes to a branch or open commit: <paramref name="changes"/> sees the tree and the target commit and names
    /// what to write or remove; the <see cref="CommitWriter"/> validates and applies it, and <paramref name="note"/>
    /// (message, metadata) goes on the commit; <paramref name="describe"/> may record more about it (a merge's second parent).
    /// <paramref name="content"/>, the writer that stored new content for it (if any), has its packed chunks indexed
    /// with the commit and is told once the commit is durable (<see cref="ContentWriter.Keep"/>).
    /// </summary>
    internal CommitInfo Commit(string repo, string target, ContentWriter? content,
        Func<LiteDatabase, PathTree, CommitDoc, IEnumerable<FileChange>> changes, CommitNote? note = null, Action<CommitDoc>? describe = null) => _meta.Write(db =>
    {
        // Before this commit's own after-commit actions (CommitFinished): its content is kept before anyone hears of it.
        if (content is not null) _meta.AfterCommit(content.Keep);
        var (commit, finishHere) = ResolveTarget(db, repo, target, create: true);
        CommitWriter.Apply(db, commit, changes(db, PathTree.In(db), commit).ToList());
        CommitNotes.Apply(commit, note);
        describe?.Invoke(commit);
        if (content is not null) RecordContent(content);
        if (finishHere) return FinishInTransaction(db, commit);
        db.Commits().Update(commit);
        return PfsRecords.ToCommit(db, commit);
    });

    /// <summary>
    /// Writes a job's output commit, finished, holding exactly <paramref name="files"/> (each naming the datum that
    /// wrote it). Joins the caller's transaction, so the job's own records change with it; a change the
    /// <see cref="CommitWriter"/> refuses throws before anything is written.
    /// </summary>
    internal CommitInfo WriteOutputCommit(OutputCommit output, IReadOnlyList<FileChange> files) => _meta.Write(db =>
    {
        var branch = db.Branches().Get(BranchDoc.Key(output.Repo, output.Branch));
        var parent = branch?.Head is null ? null : db.Commits().Get(branch.Head);
        var commit = new CommitDoc
        {
            Id = output.Id, Repo = output.Repo, Branch = output.Branch, Parent = parent?.Id, Started = DateTime.UtcNow, Message = output.Message,
            Origin = "Auto", Job = output.Job, Pipeline = output.Pipeline, PipelineVersion = output.PipelineVersion,
            Provenance = output.Provenance.Select(p => new ProvenanceDoc
            {
                Repo = p.Repo, Branch = p.Branch, Commit = p.Commit, SquashedFrom = p.SquashedFrom.Count > 0 ? p.SquashedFrom.ToList() : null,
            }).ToList(),
        };
        // An output commit holds the job's whole output, not its parent's files plus changes.
        CommitWriter.Apply(db, commit, files);
        if (branch is null) NewBranch(db, output.Repo, output.Branch);
        db.Commits().Insert(commit);
        return FinishInTransaction(db, commit);
    });

    /// <summary>
    /// Records, in the caller's transaction, what a commit (or a job's datum records) of <paramref name="writer"/>'s
    /// content names: its newly packed chunks in the chunk index, every object it used as named (ContentRemoved when
    /// a failed write of another session removed one of them meanwhile), and for a collection that is marking every
    /// object its content lives in.
    /// </summary>
    internal void RecordContent(ContentWriter writer)
    {
        _chunks.Name(writer.ObjectsUsed(), _content.Objects.Exists);
        _chunks.RecordWrites(writer);
    }

    /// <summary>Where the chunk index says a packed chunk lives now (how reads follow a pack a collection rewrote).</summary>
    internal ChunkRef? FindPacked(string hash) => _chunks.Find(hash);

    /// <summary>The packs a garbage collection rewrote: trees may still name them, their chunks live elsewhere now.</summary>
    internal IReadOnlySet<string> RepackedPacks() => _meta.Read(db => db.RepackedPacks().FindAll().Select(p => p.Id).ToHashSet(StringComparer.Ordinal));

    /// <summary>
    /// Hands the branches of commits finished since the last call to <paramref name="handle"/> and forgets them, in
    /// one transaction (which <paramref name="handle"/>'s own writes join): each is handled once, by some process.
    /// </summary>
    internal void ConsumeFinishedCommits(Action<IReadOnlyList<(string Repo, string Branch)>> handle) => _meta.Write(db =>
    {
        var queue = db.FinishedCommits();
        var finished = queue.FindAll().ToList();
        if (finished.Count == 0) return;
        handle(finished.Select(f => (f.Repo, f.Branch)).Distinct().ToList());
        var last = finished[^1].Id;
        queue.DeleteMany(f => f.Id <= last);
    });

    private CommitInfo FinishInTransaction(LiteDatabase db, CommitDoc commit)
    {
        var now = DateTime.UtcNow;
        commit.Finished = now;
        db.Commits().Upsert(commit);
        var branch = db.Branches().Get(BranchDoc.Key(commit.Repo, commit.Branch));
        if (branch is not null)
        {
            if (branch.OpenCommit == commit.Id) branch.OpenCommit = null;
            HeadHistory.Move(db, branch, commit.Id, "commit", now);
            db.Branches().Update(branch);
        }
        db.FinishedCommits().Insert(new FinishedCommitDoc { Repo = commit.Repo, Branch = commit.Branch, Commit = commit.Id });
        var info = PfsRecords.ToCommit(db, commit);
        _meta.AfterCommit(() => CommitFinished?.Invoke(info));
        if (branch is not null) FireTriggers(db, branch, now);
        return info;
    }

    /// <summary>
    /// The commit a write goes to: an open commit named by id, the branch's open commit, or a new commit on the branch
    /// that this call finishes (<c>NewForCall</c>). Without <paramref name="create"/> nothing is written (a dry check).
    /// </summary>
    private (CommitDoc Commit, bool NewForCall) ResolveTarget(LiteDatabase db, string repo, string target, bool create)
    {
        var (branch, open) = CommitResolver.ResolveWriteTarget(db, repo, target);
        if (open is not null) return (open, false);
        if (branch is null)
        {
            if (!create) return (new CommitDoc { Repo = repo, Branch = target }, true);
            branch = NewBranch(db, repo, target);
        }
        if (branch.OpenCommit is not null) return (db.Commits().Get(branch.OpenCommit), false);
        if (!create)
        {
            var head = branch.Head is null ? null : db.Commits().Get(branch.Head);
            return (new CommitDoc { Repo = repo, Branch = target, Root = head?.Root }, true);
        }
        return (NewCommit(db, branch), true);
    }

    /// <summary>Creates a branch (its head history starts with it); a name that is a tag of the repo is NameInUse.</summary>
    private static BranchDoc NewBranch(LiteDatabase db, string repo, string branch, string? head = null)
    {
        Names.ValidateName(branch, "Branch");
        CommitResolver.RequireNameFree(db, repo, branch, "branch");
        var doc = new BranchDoc { Id = BranchDoc.Key(repo, branch), Repo = repo, Name = branch, Head = head, Created = DateTime.UtcNow };
        db.Branches().Insert(doc);
        HeadHistory.Start(db, doc);
        return doc;
    }

    private static CommitDoc NewCommit(LiteDatabase db, BranchDoc branch)
    {
        var parent = branch.Head is null ? null : db.Commits().Get(branch.Head);
        return new CommitDoc
        {
            Id = Ids.New(),
            Repo = branch.Repo,
            Branch = branch.Name,
            Parent = parent?.Id,
            Started = DateTime.UtcNow,
            Root = parent?.Root,
            Size = parent?.Size ?? 0,
            FileCount = parent?.FileCount ?? 0,
            MetadataBytes = 0,
        };
    }
}
