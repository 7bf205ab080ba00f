using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>The records Pfs hands out, made from its stored documents.</summary>
internal static class PfsRecords
{
    public static RepoInfo ToRepo(LiteDatabase db, RepoDoc doc)
    {
        var branches = db.Branches().Find(b => b.Repo == doc.Name).ToList();
        var master = branches.FirstOrDefault(b => b.Name == Names.DefaultBranch);
        var size = master?.Head is null ? 0 : db.Commits().Get(master.Head)?.Size ?? 0;
        var measured = db.CollectionSummaries().Get(CollectionSummaryDoc.Last)?.RepoExclusiveBytes;
        return new RepoInfo(doc.Name, StoredTime.Utc(doc.Created), size, doc.Description, branches.Select(b => b.Name).OrderBy(n => n, StringComparer.Ordinal).ToList())
        {
            ExclusiveBytes = measured is not null && measured.TryGetValue(doc.Name, out var exclusive) ? exclusive : null,
        };
    }

    public static BranchInfo ToBranch(BranchDoc doc) => new(doc.Repo, doc.Name, doc.Head, doc.OpenCommit, StoredTime.Utc(doc.Created))
    {
        Trigger = doc.Trigger is { } t ? new BranchTrigger(t.Branch, t.Size, t.Commits, t.CronSpec, t.All) : null,
    };

    /// <summary>A commit with the names of its tags and of the commits squashed into it.</summary>
    public static CommitInfo ToCommit(LiteDatabase db, CommitDoc doc) =>
        ToCommit(doc, db.Tags().Find(t => t.Commit == doc.Id).Select(t => t.Name).Order(StringComparer.Ordinal).ToList(),
            db.SquashedCommits().Find(s => s.Into == doc.Id).Select(s => s.Id).Order(StringComparer.Ordinal).ToList());

    /// <summary>Commits of one repo with their tags and squashed commits, the repo's tags and squash records read once.</summary>
    public static IReadOnlyList<CommitInfo> ToCommits(LiteDatabase db, string repo, IEnumerable<CommitDoc> docs)
    {
        var tags = db.Tags().Find(t => t.Repo == repo).ToLookup(t => t.Commit, t => t.Name, StringComparer.Ordinal);
        var squashed = db.SquashedCommits().Find(s => s.Repo == repo).ToLookup(s => s.Into, s => s.Id, StringComparer.Ordinal);
        return docs.Select(d => ToCommit(d, tags[d.Id].Order(StringComparer.Ordinal).ToList(), squashed[d.Id].Order(StringComparer.Ordinal).ToList())).ToList();
    }

    /// <summary>A commit no tag names (one just removed: a tagged commit cannot be).</summary>
    public static CommitInfo ToCommit(CommitDoc doc) => ToCommit(doc, [], []);

    private static CommitInfo ToCommit(CommitDoc doc, IReadOnlyList<string> tags, IReadOnlyList<string> squashed) => new(doc.Repo, doc.Branch, doc.Id, doc.Parent, StoredTime.Utc(doc.Started),
        doc.Finished is null ? null : StoredTime.Utc(doc.Finished.Value), doc.Size, doc.FileCount, doc.MetadataBytes, doc.Message, doc.Origin, doc.Job, doc.Pipeline,
        doc.PipelineVersion, doc.Provenance.Select(ToProvenance).ToList())
    {
        Tags = tags,
        Metadata = CommitNotes.ToDictionary(doc.Metadata),
        MissingPaths = doc.Damage is { Count: > 0 } damage ? damage.Select(d => d.ToString()).ToList() : [],
        MergedFrom = doc.MergedFrom,
        SquashedFrom = squashed,
    };

    /// <summary>One provenance entry as handed out, with the squashed commits it stands for.</summary>
    public static CommitProvenance ToProvenance(ProvenanceDoc p) =>
        new(p.Repo, p.Branch, p.Commit) { SquashedFrom = p.SquashedFrom is { Count: > 0 } from ? from.ToList() : [] };

    public static RetentionPolicy ToRetention(RetentionDoc doc) => new(doc.Repo, doc.Branch, doc.KeepCommits, doc.KeepDays, StoredTime.Utc(doc.Set));

    public static TagInfo ToTag(TagDoc doc) => new(doc.Repo, doc.Name, doc.Commit, doc.Message, StoredTime.Utc(doc.Created));
}
