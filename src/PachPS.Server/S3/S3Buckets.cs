using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.S3Api;

namespace PachPS.Server.S3;

/// <summary>What a bucket reads: a branch (read and written), a tag or a commit (read only).</summary>
internal enum S3BucketKind { Branch, Tag, Commit }

/// <summary>A bucket: <c>&lt;reference&gt;.&lt;repo&gt;</c>, as Pachyderm's S3 gateway names them.</summary>
internal sealed record S3Bucket(string Name, string Repo, string Reference, S3BucketKind Kind);

/// <summary>
/// Buckets are the branches and tags of every repo, named <c>&lt;branch-or-tag&gt;.&lt;repo&gt;</c>; a commit id works
/// in place of a branch for reads. Repo names have no '.', so the last '.' splits a name (and <c>master.1.repo</c>, the
/// branch's first commit, reads too).
/// </summary>
internal static class S3Buckets
{
    public static S3Bucket Resolve(IFileService files, string name)
    {
        var dot = name.LastIndexOf('.');
        if (dot <= 0 || dot == name.Length - 1)
            throw NoSuchBucket(name, "a bucket is named <branch-or-tag>.<repo>");
        var (reference, repo) = (name[..dot], name[(dot + 1)..]);
        IReadOnlyList<BranchInfo> branches;
        try { branches = files.ListBranches(repo); }
        catch (PachException ex) when (ex.Kind is PachErrorKind.NotFound or PachErrorKind.InvalidArgument)
        {
            throw NoSuchBucket(name, $"there is no repo '{repo}'");
        }
        if (branches.Any(b => b.Branch == reference)) return new S3Bucket(name, repo, reference, S3BucketKind.Branch);
        if (files.ListTags(repo).Any(t => t.Tag == reference)) return new S3Bucket(name, repo, reference, S3BucketKind.Tag);
        try { return new S3Bucket(name, repo, files.GetCommit(repo, reference).Commit, S3BucketKind.Commit); }
        catch (PachException ex) when (ex.Kind is PachErrorKind.NotFound or PachErrorKind.InvalidArgument)
        {
            throw NoSuchBucket(name, $"repo '{repo}' has no branch, tag or commit '{reference}'");
        }
    }

    /// <summary>Every branch and tag of the repos <paramref name="repos"/> lists, as buckets with their creation times.</summary>
    public static IEnumerable<(string Name, DateTimeOffset Created)> List(IFileService files, IEnumerable<RepoInfo> repos)
    {
        foreach (var repo in repos.OrderBy(r => r.Repo, StringComparer.Ordinal))
        {
            foreach (var branch in files.ListBranches(repo.Repo)) yield return ($"{branch.Branch}.{repo.Repo}", branch.Created);
            foreach (var tag in files.ListTags(repo.Repo)) yield return ($"{tag.Tag}.{repo.Repo}", tag.Created);
        }
    }

    /// <summary>Refuses a write to a tag or commit bucket: only a branch takes new commits.</summary>
    public static void RequireWritable(S3Bucket bucket)
    {
        if (bucket.Kind != S3BucketKind.Branch)
            throw new S3Exception("AccessDenied", 403, $"Bucket '{bucket.Name}' is a {bucket.Kind.ToString().ToLowerInvariant()}, which is read-only: write to a branch's bucket.");
    }

    public static S3Exception NoSuchBucket(string name, string why) => new("NoSuchBucket", 404, $"The specified bucket does not exist: {why}.");
}
