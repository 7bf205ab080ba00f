using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Provenance;

/// <summary>
/// Where data came from and where it went: commit-level provenance and subvenance, and file-level lineage (the datum
/// that wrote an output file and the exact input files it read), which Pachyderm itself does not offer.
/// </summary>
public sealed class ProvenanceService : IProvenanceService
{
    private readonly MetadataStore _meta;
    private readonly PfsService _pfs;

    internal ProvenanceService(MetadataStore meta, PfsService pfs)
    {
        _meta = meta;
        _pfs = pfs;
    }

    /// <summary>What a commit was derived from: every input commit (transitively) and, for a pipeline output, the spec version.</summary>
    public IReadOnlyList<ProvenanceEntry> GetProvenance(string repo, string reference)
    {
        var commit = _pfs.GetCommit(repo, reference);
        var entries = commit.Provenance.Select(p => new ProvenanceEntry(p.Repo, p.Branch, p.Commit, ProvenanceKind.Input, null) { SquashedFrom = p.SquashedFrom }).ToList();
        if (commit.Pipeline is not null)
            entries.Add(new ProvenanceEntry(commit.Pipeline, $"(spec v{commit.PipelineVersion})", commit.Commit, ProvenanceKind.Spec, commit.PipelineVersion));
        return entries;
    }

    /// <summary>The provenance of a job: of its output commit once it exists, else of the inputs it read.</summary>
    public IReadOnlyList<ProvenanceEntry> GetJobProvenance(string jobId)
    {
        var job = _meta.Read(db => JobQueries.RequireJob(db, jobId));
        // An output commit squashed away since leaves the job's own record of its inputs.
        if (job.State.HasOutput() && _pfs.FindCommit(job.OutputCommit) is not null) return GetProvenance(job.Pipeline, job.OutputCommit);
        var entries = job.Provenance.Select(p => new ProvenanceEntry(p.Repo, p.Branch, p.Commit, ProvenanceKind.Input, null)).ToList();
        entries.Add(new ProvenanceEntry(job.Pipeline, $"(spec v{job.PipelineVersion})", job.OutputCommit, ProvenanceKind.Spec, job.PipelineVersion));
        return entries;
    }

    /// <summary>Every commit derived from the given commit, directly or transitively.</summary>
    public IReadOnlyList<CommitInfo> GetSubvenance(string repo, string reference)
    {
        var commit = _pfs.GetCommit(repo, reference);
        return _pfs.FindDerived(commit.Commit).OrderBy(c => c.Started).ToList();
    }

    /// <summary>
    /// The input files an output file was made from: the datum of the job that wrote it, and every file that datum
    /// read, each at the exact commit it was read from. Empty for a file that no pipeline wrote.
    /// </summary>
    public IReadOnlyList<LineageEntry> GetFileProvenance(string repo, string reference, string path)
    {
        var normalized = Names.NormalizePath(path);
        return _meta.Read(db =>
        {
            var commit = CommitResolver.Resolve(db, repo, reference);
            var tree = PathTree.In(db);
            if (tree.Get(commit.Root, normalized) is null)
                throw PachException.NotFound("FileNotFound", $"There is no file '{normalized}' in {repo}@{reference}.", $"{repo}@{reference}:{normalized}");
            if (commit.Job is null) return [];
            var datum = db.Datums().Find(d => d.Job == commit.Job).FirstOrDefault(d => OutputPaths(d).Contains(normalized));
            if (datum is null) return [];
            var ranIn = string.IsNullOrEmpty(datum.SourceJob) ? datum.Job : datum.SourceJob;
            var result = new List<LineageEntry>();
            foreach (var input in datum.Inputs)
            {
                // An input commit squashed away since: its files are read where its changes live on now.
                var inputCommit = _pfs.FindCommit(input.Commit) ?? (db.SquashedCommits().Get(input.Commit) is { } gone ? _pfs.FindCommit(gone.Into) : null);
                foreach (var file in tree.Under(inputCommit?.Root, input.Path))
                    result.Add(new LineageEntry(LineageDirection.Input, input.Repo, inputCommit?.Branch ?? "", inputCommit?.Id ?? input.Commit, file.Path,
                        commit.Pipeline ?? repo, commit.Job, datum.Hash, ranIn, input.Name));
            }
            return result;
        });
    }

    /// <summary>The output files made from an input file at a commit: for every job that read it, the files its datum wrote.</summary>
    public IReadOnlyList<LineageEntry> GetFileSubvenance(string repo, string reference, string path)
    {
        var normalized = Names.NormalizePath(path);
        return _meta.Read(db =>
        {
            var commit = CommitResolver.Resolve(db, repo, reference);
            if (PathTree.In(db).Get(commit.Root, normalized) is null)
                throw PachException.NotFound("FileNotFound", $"There is no file '{normalized}' in {repo}@{reference}.", $"{repo}@{reference}:{normalized}");
            var result = new List<LineageEntry>();
            // Datums read this commit, or a commit squashed into it since (its data lives on here).
            var read = db.SquashedCommits().Find(s => s.Into == commit.Id).Select(s => s.Id).Append(commit.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var output in _pfs.FindDerived(commit.Id).Where(c => c.JobId is not null).OrderBy(c => c.Started))
            {
                var readers = db.Datums().Find(d => d.Job == output.JobId).Where(d => d.Inputs.Any(i =>
                    i.Repo == repo && read.Contains(i.Commit) && Covers(i.Path, normalized)));
                foreach (var datum in readers)
                {
                    var ranIn = string.IsNullOrEmpty(datum.SourceJob) ? datum.Job : datum.SourceJob;
                    foreach (var file in OutputPaths(datum))
                        result.Add(new LineageEntry(LineageDirection.Output, output.Repo, output.Branch, output.Commit, file,
                            output.Pipeline ?? output.Repo, output.JobId!, datum.Hash, ranIn, ""));
                }
            }
            return result;
        });
    }

    private static bool Covers(string datumPath, string file) =>
        datumPath == "/" || datumPath == file || file.StartsWith(datumPath + "/", StringComparison.Ordinal);

    private static IEnumerable<string> OutputPaths(DatumDoc datum) =>
        datum.Outputs is null ? [] : TreeCodec.DecodeFiles(datum.Outputs).Select(e => e.Path);
}
