using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The read side of the pipeline system: jobs, datums, logs, the DAG, a dry run of a spec's datums, and waiting for
/// jobs and commits to settle.
/// </summary>
internal sealed class JobQueries(MetadataStore meta, PfsService pfs, Action triggerJobs)
{
    /// <summary>How often a wait looks again at the jobs it waits for.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Jobs, newest first.</summary>
    public IReadOnlyList<JobInfo> ListJobs(string? pipeline = null, JobState? state = null) => ListJobsPage(pipeline, state, null, int.MaxValue).Items;

    /// <summary>
    /// Every job counted by state and its datums summed by outcome, from five fields of each job read as raw documents:
    /// a metrics scrape asks for this, and mapping every job in full (inputs, egress, times) was most of its cost.
    /// </summary>
    public JobTotals CountJobs() => meta.Read(db =>
    {
        var byState = Enum.GetValues<JobState>().ToDictionary(s => s, _ => 0L);
        long processed = 0, skipped = 0, failed = 0, recovered = 0;
        var fields = db.RawJobs().Query()
            .Select($"{{ State: $.{nameof(JobDoc.State)}, P: $.{nameof(JobDoc.Processed)}, S: $.{nameof(JobDoc.Skipped)}, F: $.{nameof(JobDoc.Failed)}, R: $.{nameof(JobDoc.Recovered)} }}");
        foreach (var job in fields.ToEnumerable())
        {
            if (Enum.TryParse<JobState>(job["State"].AsString, out var state)) byState[state]++;
            processed += job["P"].AsInt64;
            skipped += job["S"].AsInt64;
            failed += job["F"].AsInt64;
            recovered += job["R"].AsInt64;
        }
        return new JobTotals(byState, processed, skipped, failed, recovered);
    });

    /// <summary>
    /// Up to <paramref name="max"/> jobs after the cursor <paramref name="after"/> (null: the newest), newest first (by
    /// creation time, descending, then id, ascending, as the whole listing always gave them), read from the index on the
    /// creation time as far as the page needs.
    /// </summary>
    public Page<JobInfo> ListJobsPage(string? pipeline, JobState? state, string? after, int max) => meta.Read(db =>
    {
        if (pipeline is not null && after is null && db.Pipelines().Get(pipeline) is null && !db.Jobs().Exists(j => j.Pipeline == pipeline))
            throw PachException.NotFound("PipelineNotFound", $"There is no pipeline named '{pipeline}'.", pipeline);
        var jobs = NewestFirst(db, JobCursor.Parse(after)).Where(j => (pipeline is null || j.Pipeline == pipeline) && (state is null || j.State == state));
        var page = Listing.Take(jobs, max, JobCursor.Of);
        return new Page<JobInfo>(page.Items.Select(ToJob).ToList(), page.Next);
    });

    /// <summary>
    /// Jobs newest first from a cursor on: the index on Created gives them in time order; jobs created in the same
    /// millisecond (as stored) are put in id order among themselves, so that a cursor names one place.
    /// </summary>
    private static IEnumerable<JobDoc> NewestFirst(LiteDatabase db, JobCursor? cursor)
    {
        var query = db.Jobs().Query();
        if (cursor is not null)
        {
            var created = cursor.Created;
            query = query.Where(j => j.Created <= created);
        }
        var tied = new List<JobDoc>();
        foreach (var job in query.OrderByDescending(j => j.Created).ToEnumerable())
        {
            if (tied.Count > 0 && JobCursor.Time(job) != JobCursor.Time(tied[0]))
            {
                foreach (var t in Tied(tied, cursor)) yield return t;
                tied.Clear();
            }
            tied.Add(job);
        }
        foreach (var t in Tied(tied, cursor)) yield return t;
    }

    private static IEnumerable<JobDoc> Tied(List<JobDoc> jobs, JobCursor? cursor) =>
        jobs.OrderBy(j => j.Id, StringComparer.Ordinal).Where(j => cursor is null || cursor.IsBefore(j));

    /// <summary>Where a listing of jobs resumes: after the job created at <see cref="Created"/> (UTC, as stored) with id <see cref="Id"/>.</summary>
    private sealed record JobCursor(DateTime Created, string Id)
    {
        public static DateTime Time(JobDoc job) => job.Created.ToUniversalTime();

        public static string Of(JobDoc job) => $"{Time(job).Ticks}:{job.Id}";

        public static JobCursor? Parse(string? cursor)
        {
            if (cursor is null) return null;
            var colon = cursor.IndexOf(':');
            if (colon > 0 && long.TryParse(cursor.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
                && ticks <= DateTime.MaxValue.Ticks)
                return new JobCursor(new DateTime(ticks, DateTimeKind.Utc), cursor[(colon + 1)..]);
            throw PachException.Invalid("PageCursorInvalid", $"'{cursor}' is not a cursor of a job listing.", cursor);
        }

        /// <summary>The job comes after this cursor's in the listing (older, or as old with a higher id).</summary>
        public bool IsBefore(JobDoc job) => Time(job) < Created || (Time(job) == Created && string.CompareOrdinal(job.Id, Id) > 0);
    }

    public JobInfo GetJob(string id) => meta.Read(db => ToJob(RequireJob(db, id)));

    /// <summary>Waits until a job is finished.</summary>
    public async Task<JobInfo> WaitJobAsync(string id, TimeSpan? timeout, CancellationToken cancel, IProgress<JobInfo>? progress = null)
    {
        var deadline = timeout is null ? DateTime.MaxValue : DateTime.UtcNow + timeout.Value;
        while (true)
        {
            var job = GetJob(id);
            if (job.IsFinished) return job;
            progress?.Report(job);
            if (job.IsWaitingForRoom) throw WaitingForRoom(job);
            if (DateTime.UtcNow > deadline)
                throw new PachException("WaitTimeout", PachErrorKind.OperationStopped, $"Job {Ids.Short(job.JobId)} did not finish within {timeout}.", job.JobId);
            await Task.Delay(PollInterval, cancel);
        }
    }

    /// <summary>
    /// A wait for a job that stopped for want of room (StorageFull) ends with that error: the job is not finished and
    /// resumes by itself when there is room, but a script waiting for it should not hang until then.
    /// </summary>
    private static PachException WaitingForRoom(JobInfo job) =>
        new(StorageFull.ErrorId, PachErrorKind.ResourceUnavailable,
            $"Job {Ids.Short(job.JobId)} of '{job.Pipeline}' waits for room in the store ({job.Progress} datums done): {job.Reason} " +
            "Free space (or raise the quota), then wait for it again.", job.JobId);

    /// <summary>
    /// Like pachctl flush-commit: waits until no job downstream of the commit's repo is pending, then returns the
    /// newest commit of each downstream repo derived from it.
    /// </summary>
    public async Task<IReadOnlyList<CommitInfo>> WaitCommitAsync(string repo, string reference, TimeSpan? timeout, CancellationToken cancel,
        IProgress<JobInfo>? progress = null)
    {
        var commit = pfs.GetCommit(repo, reference);
        var deadline = timeout is null ? DateTime.MaxValue : DateTime.UtcNow + timeout.Value;
        while (true)
        {
            triggerJobs();
            var (busy, results) = meta.Read(db =>
            {
                var downstream = PipelineGraph.Downstream(db, repo);
                // Pipelines upstream of a downstream one count too: their output may still start a job downstream.
                var related = downstream.Concat(PipelineGraph.Upstream(db, downstream)).ToHashSet(StringComparer.Ordinal);
                var active = db.UnfinishedJobs().Where(j => related.Contains(j.Pipeline)).ToList();
                if (progress is not null) foreach (var j in active) progress.Report(ToJob(j));
                var busy = active.Count > 0;
                // A job waiting for room may wait for hours: the wait ends saying so, rather than hanging with it.
                if (active.FirstOrDefault(j => j.State == JobState.StorageFull) is { } waiting) throw WaitingForRoom(ToJob(waiting));
                var derived = pfs.FindDerived(commit.Commit)
                    .Where(c => c.IsFinished && downstream.Contains(c.Repo))
                    .GroupBy(c => c.Repo).Select(g => g.OrderByDescending(c => c.Started).First()).ToList();
                return (busy, derived);
            });
            if (!busy) return OrderByCascade(results);
            if (DateTime.UtcNow > deadline)
                throw new PachException("WaitTimeout", PachErrorKind.OperationStopped, $"The pipelines downstream of {repo}@{reference} did not finish within {timeout}.", reference);
            await Task.Delay(PollInterval, cancel);
        }
    }

    /// <summary>
    /// The log lines of a job after <paramref name="afterId"/>, as soon as there are some, the job has finished, or
    /// <paramref name="wait"/> has passed: one call per batch of lines (a long poll over a server's API).
    /// </summary>
    public async Task<LogBatch> FollowLogsAsync(string jobId, string? datumId, DateTimeOffset? since, string? afterId, TimeSpan wait, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            // The state first: lines written before the job finished are all visible after it. A job waiting for room
            // (StorageFull) ends the follow as it ends Wait-PachJob: it may not write again for hours.
            var job = GetJob(jobId);
            var finished = job.IsFinished || job.IsWaitingForRoom;
            var lines = GetLogs(null, jobId, datumId, since, afterId);
            if (lines.Count > 0 || finished || DateTime.UtcNow >= deadline) return new LogBatch(lines, finished);
            await Task.Delay(PollInterval, cancel);
        }
    }

    private static IReadOnlyList<CommitInfo> OrderByCascade(List<CommitInfo> commits) =>
        commits.OrderBy(c => c.Provenance.Count).ThenBy(c => c.Repo, StringComparer.Ordinal).ToList();

    public IReadOnlyList<DatumInfo> ListDatums(string jobId) => ListDatumsPage(jobId, null, int.MaxValue).Items;

    /// <summary>
    /// Up to <paramref name="max"/> datums of a job after the datum id <paramref name="after"/> (null: the first), in
    /// datum id order: a range of the datums' own keys (job id, ':', datum id), so a page reads what it holds.
    /// </summary>
    public Page<DatumInfo> ListDatumsPage(string jobId, string? after, int max) => meta.Read(db =>
    {
        var job = RequireJob(db, jobId);
        var page = Listing.Take(db.DatumsOfJob(job.Id, after), max, d => d.Hash);
        return new Page<DatumInfo>(page.Items.Select(ToDatum).ToList(), page.Next);
    });

    /// <summary>
    /// The datums specs would have now (a dry run: nothing is created). The tick repo of a cron input, and the output
    /// repo of a spec earlier in the list, count as existing and empty when they do not exist yet.
    /// </summary>
    public IReadOnlyList<DatumInfo> PlanDatums(IReadOnlyList<PipelineSpec> specs) => meta.Read(db =>
    {
        var planned = new HashSet<string>(StringComparer.Ordinal);
        var datums = new List<DatumInfo>();
        foreach (var spec in specs)
        {
            planned.UnionWith(spec.Input.Leaves().Where(l => l.Cron is not null).Select(l => l.Repo));
            try { PipelineRegistry.ValidateInputs(db, pfs, spec, planned); }
            catch (PachException ex) { throw spec.Source.Name(ex); }
            var plan = pfs.ReadTree(tree => DatumPlanner.Plan(spec, spec.Salt, tree, leaf =>
            {
                var head = pfs.RepoExists(leaf.Repo) ? JobScheduler.InputCommit(pfs, spec.Name, leaf) : null;
                return new InputHead(head?.Id ?? "", head?.Root);
            }));
            datums.AddRange(plan.Select(d => new DatumInfo(d.Hash, null, spec.Name, DatumState.Pending, 0,
                d.Inputs.Select(i => new DatumInput(i.Name, i.Repo, i.Commit, i.Path)).ToList(), null, null, "")));
            planned.Add(spec.Name);
        }
        return datums;
    });

    /// <summary>
    /// Log lines, oldest first, of a job, a pipeline or everything; optionally of one datum, from a time on, or only
    /// those after the line with id <paramref name="afterId"/> (for following a running job).
    /// </summary>
    public IReadOnlyList<LogLine> GetLogs(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since = null, string? afterId = null) =>
        GetLogsPage(pipeline, jobId, datumId, since, afterId, int.MaxValue).Items;

    /// <summary>
    /// Up to <paramref name="max"/> log lines after the line <paramref name="after"/> (null: the first), oldest first (in
    /// line id order). A job's lines are read from the index on job and line id from the cursor on; a pipeline's, or
    /// everyone's, from the line ids on, the other filters applied as they are read.
    /// </summary>
    public Page<LogLine> GetLogsPage(string? pipeline, string? jobId, string? datumId, DateTimeOffset? since, string? after, int max) => meta.Read(db =>
    {
        var cursor = LogKeys.Parse(after);
        var query = db.Logs().Query();
        string? job = null;
        if (jobId is not null)
        {
            job = RequireJob(db, jobId).Id;
            query = query.Where(LogKeys.JobLineExpression + " BETWEEN @0 AND @1", new BsonValue(LogKeys.JobLine(job, cursor)), new BsonValue(job + "|~"))
                .OrderBy(LogKeys.JobLineExpression);
        }
        else
        {
            if (pipeline is not null)
            {
                PipelineRegistry.RequirePipeline(db, pipeline);
                query = query.Where(Query.EQ("Pipeline", pipeline));
            }
            if (cursor is not null) query = query.Where(Query.GT("_id", cursor));
            query = query.OrderBy("_id");
        }
        if (since is not null) query = query.Where(Query.GTE("Time", since.Value.UtcDateTime));
        // The cursor's own line is in the job's range (BETWEEN takes both ends): it is not given again.
        var lines = query.ToEnumerable().Where(l => (cursor is null || !l.Id!.Equals(cursor))
            && (datumId is null || l.Datum.StartsWith(datumId, StringComparison.Ordinal)));
        var page = Listing.Take(lines, max, l => l.Id!.ToString());
        return new Page<LogLine>(page.Items.Select(l => new LogLine(StoredTime.Utc(l.Time), l.Pipeline, l.Job, l.Datum, l.Stream, l.Message)
        {
            LineId = l.Id!.ToString(),
        }).ToList(), page.Next);
    });

    /// <summary>The graph of repos and pipelines, with each pipeline's newest job state.</summary>
    public PachDag GetDag() => meta.Read(db =>
    {
        var pipelines = db.Pipelines().FindAll().ToDictionary(p => p.Name, StringComparer.Ordinal);
        var nodes = pfs.ListRepos().Select(r =>
        {
            var head = pfs.Head(r.Name, Names.DefaultBranch)?.Id;
            if (!pipelines.TryGetValue(r.Name, out var p)) return new DagNode(r.Name, DagNodeKind.Repo, null, head);
            var last = p.LastJob is null ? null : db.Jobs().Get(p.LastJob);
            return new DagNode(r.Name, DagNodeKind.Pipeline, last is null ? null : last.State, head);
        }).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        var edges = pipelines.Values.SelectMany(p => PipelineSpec.Load(p.SpecJson).Input.Leaves().Select(l => new DagEdge(l.Repo, p.Name, l.Name)))
            .Distinct().ToList();
        return new PachDag(nodes, edges);
    });

    internal static JobDoc RequireJob(LiteDatabase db, string id)
    {
        var job = db.Jobs().Get(id ?? "");
        if (job is not null) return job;
        if (!string.IsNullOrEmpty(id) && id.Length >= Ids.MinPrefixLength)
        {
            var matches = db.Jobs().Find(Query.StartsWith("_id", id), limit: 2).ToList();
            if (matches.Count == 1) return matches[0];
            if (matches.Count > 1) throw PachException.Invalid("AmbiguousJob", $"'{id}' matches more than one job; give more characters.", id);
        }
        throw PachException.NotFound("JobNotFound", $"There is no job '{id}'.", id);
    }

    internal static JobInfo ToJob(JobDoc j) => new(j.Id, j.Pipeline, j.PipelineVersion, j.OutputCommit, j.OutputBranch, j.State,
        j.Reason, StoredTime.Utc(j.Created), j.Started is null ? null : StoredTime.Utc(j.Started.Value), j.Finished is null ? null : StoredTime.Utc(j.Finished.Value),
        j.Total, j.Processed, j.Skipped, j.Failed, j.Recovered, j.Restarts, j.BytesDownloaded, j.BytesUploaded,
        j.Inputs.Select(i => new JobInput(i.Name, i.Repo, i.Branch, i.Commit)).ToList())
    {
        Trigger = j.Trigger, RerunOf = j.RerunOf,
        Egress = j.Egress is { } e ? new EgressInfo(e.Url, e.Since, e.FilesUploaded, e.FilesDeleted, e.BytesUploaded, e.Tries, e.Error) : null,
    };

    private static DatumInfo ToDatum(DatumDoc d) => new(d.Hash, d.Job, d.Pipeline, d.State, d.Attempts,
        d.Inputs.Select(i => new DatumInput(i.Name, i.Repo, i.Commit, i.Path)).ToList(),
        d.Started is null ? null : StoredTime.Utc(d.Started.Value), d.Finished is null ? null : StoredTime.Utc(d.Finished.Value), d.Reason);
}
