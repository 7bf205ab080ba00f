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
        var size = master?.Head is null ? 0 : db.Commits().FindById(master.Head)?.Size ?? 0;
        return new RepoInfo(doc.Name, StoredTime.Utc(doc.Created), size, doc.Description, branches.Select(b => b.Name).OrderBy(n => n, StringComparer.Ordinal).ToList());
    }

    public static BranchInfo ToBranch(BranchDoc doc) => new(doc.Repo, doc.Name, doc.Head, doc.OpenCommit, StoredTime.Utc(doc.Created));

    public static CommitInfo ToCommit(CommitDoc doc) => new(doc.Repo, doc.Branch, doc.Id, doc.Parent, StoredTime.Utc(doc.Started),
        doc.Finished is null ? null : StoredTime.Utc(doc.Finished.Value), doc.Size, doc.FileCount, doc.MetadataBytes, doc.Message, doc.Origin, doc.Job, doc.Pipeline,
        doc.PipelineVersion, doc.Provenance.Select(p => new CommitProvenance(p.Repo, p.Branch, p.Commit)).ToList());
}
