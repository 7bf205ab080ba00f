using System.Collections.Concurrent;
using System.Diagnostics;
using LiteDB;
using PachPS.Engine.Execution;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>
/// Pipelines, jobs and datums. Finishing a commit on a pipeline's input branch creates a job in the same
/// transaction; jobs run in the background of this process, one at a time per pipeline, datums in parallel.
/// </summary>
public sealed partial class PpsService : IPipelineService, IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> ActiveJobs = new(StringComparer.Ordinal);
    private static readonly string ThisProcess = OwnerId(Process.GetCurrentProcess());

    private readonly PachStore _store;
    private readonly MetadataStore _meta;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _pipelineGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _toStart = new();
    private readonly ConcurrentDictionary<string, JobRunner> _runners = new(StringComparer.Ordinal);
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>Cancelled when this process stops its background work (the store is closing).</summary>
    internal CancellationToken Closing => _shutdown.Token;

    internal PpsService(PachStore store)
    {
        _store = store;
        _meta = store.Meta;
        WorkRoot = Path.Combine(store.Path, "work");
    }

    /// <summary>Starts what an opened store must do by itself: unfinished jobs, and cron ticks.</summary>
    internal void Start()
    {
        ResumeOrphans();
        TriggerJobs();
        EnsureCronTimer();
    }

    /// <summary>Runs datums; local processes unless replaced (for example by a Kubernetes executor).</summary>
    public IDatumExecutor Executor { get; set; } = new LocalProcessExecutor();

    internal string WorkRoot { get; }

    // ---------------------------------------------------------------- pipelines

    public PipelineInfo CreatePipeline(PipelineSpec spec)
    {
        var info = _meta.Write(db =>
        {
            CreateCronRepos(db, spec);
            if (db.Pipelines().FindById(spec.Name) is not null)
                throw new PachException("PipelineAlreadyExists", PachErrorKind.AlreadyExists, $"A pipeline named '{spec.Name}' already exists; use Update-PachPipeline.", spec.Name);
            if (db.Repos().FindById(spec.Name) is not null)
                throw new PachException("RepoAlreadyExists", PachErrorKind.AlreadyExists, $"A repo named '{spec.Name}' already exists; a pipeline's output repo takes the pipeline's name.", spec.Name);
            ValidateInputs(db, spec);
            db.Repos().Insert(new RepoDoc { Name = spec.Name, Created = DateTime.UtcNow, Description = $"Output repo for pipeline {spec.Name}." });
            var doc = new PipelineDoc
            {
                Name = spec.Name, Version = 1, SpecJson = spec.Json, EffectiveSalt = spec.Salt, Created = DateTime.UtcNow, Updated = DateTime.UtcNow,
                Inputs = InputKeys(spec),
                CronLastTick = CronInputs(spec).ToDictionary(c => c.Name, c => c.Start ?? DateTime.UtcNow),
            };
            db.Pipelines().Insert(doc);
            SaveVersion(db, doc);
            QueueJob(db, doc);
            return ToPipeline(doc);
        });
        StartQueuedJobs();
        EnsureCronTimer();
        return info;
    }

    public PipelineInfo UpdatePipeline(PipelineSpec spec, bool reprocess)
    {
        var info = _meta.Write(db =>
        {
            var doc = RequirePipeline(db, spec.Name);
            CreateCronRepos(db, spec);
            ValidateInputs(db, spec);
            doc.Version++;
            doc.CronLastTick = CronInputs(spec).ToDictionary(c => c.Name, c => doc.CronLastTick.GetValueOrDefault(c.Name, c.Start ?? DateTime.UtcNow));
            doc.SpecJson = spec.Json;
            doc.Inputs = InputKeys(spec);
            doc.Updated = DateTime.UtcNow;
            // -Reprocess: a fresh salt changes every datum hash, so nothing is skipped.
            doc.EffectiveSalt = reprocess ? spec.Salt + ":" + PfsService.NewId() : spec.Salt + KeptNonce(doc.EffectiveSalt);
            db.Pipelines().Update(doc);
            SaveVersion(db, doc);
            if (doc.State == PipelineState.Running) QueueJob(db, doc);
            return ToPipeline(doc);
        });
        StartQueuedJobs();
        EnsureCronTimer();
        return info;
    }

    public IReadOnlyList<PipelineInfo> ListPipelines() =>
        _meta.Read(db => db.Pipelines().FindAll().OrderBy(p => p.Name, StringComparer.Ordinal).Select(ToPipeline).ToList());

    public PipelineInfo GetPipeline(string name) => _meta.Read(db => ToPipeline(RequirePipeline(db, name)));

    public void DeletePipeline(string name, bool keepRepo)
    {
        foreach (var job in ListJobs(name).Where(j => !j.IsFinished)) StopJob(job.JobId);
        _meta.Write(db =>
        {
            RequirePipeline(db, name);
            var dependents = db.Pipelines().FindAll().Where(p => p.Inputs.Any(i => i.StartsWith(name + "@", StringComparison.Ordinal))).Select(p => p.Name).ToList();
            if (dependents.Count > 0)
                throw PachException.State("PipelineHasDependents", $"Pipeline '{name}' feeds {string.Join(", ", dependents)}; remove those first.", name);
            db.Pipelines().Delete(name);
            db.PipelineVersions().DeleteMany(v => v.Pipeline == name);
            var jobIds = db.Jobs().Find(j => j.Pipeline == name).Select(j => j.Id).ToList();
            foreach (var id in jobIds)
            {
                db.Datums().DeleteMany(d => d.Job == id);
                db.Logs().DeleteMany(l => l.Job == id);
            }
            db.Jobs().DeleteMany(j => j.Pipeline == name);
            if (!keepRepo)
            {
                db.Branches().DeleteMany(b => b.Repo == name);
                db.Commits().DeleteMany(c => c.Repo == name);
                db.Repos().Delete(name);
            }
        });
    }

    /// <summary>Paused pipelines start no jobs; resuming runs one over the current inputs.</summary>
    public PipelineInfo SetPaused(string name, bool paused)
    {
        var info = _meta.Write(db =>
        {
            var doc = RequirePipeline(db, name);
            StateMachines.MoveTo(doc, paused ? PipelineState.Paused : PipelineState.Running);
            db.Pipelines().Update(doc);
            if (!paused) QueueJob(db, doc);
            return ToPipeline(doc);
        });
        StartQueuedJobs();
        return info;
    }

    /// <summary>
    /// Drops the jobs that made (or would make) the given commits, so skipping never reuses a removed output; refuses
    /// while such a job still runs.
    /// </summary>
    internal void ForgetOutputs(LiteDatabase db, IReadOnlyList<CommitDoc> removed)
    {
        var ids = removed.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var jobs = db.Jobs().FindAll().Where(j => ids.Contains(j.OutputCommit) || j.Provenance.Any(p => ids.Contains(p.Commit))).ToList();
        if (jobs.FirstOrDefault(j => !j.State.IsTerminal()) is { } running)
            throw PachException.State("JobStillRunning", $"Job {running.Id[..16]} of '{running.Pipeline}' still works on these commits; wait for it or stop it first.", running.Id);
        foreach (var job in jobs)
        {
            db.Datums().DeleteMany(d => d.Job == job.Id);
            db.Logs().DeleteMany(l => l.Job == job.Id);
            db.Jobs().Delete(job.Id);
        }
        foreach (var pipeline in db.Pipelines().FindAll().Where(p => jobs.Any(j => j.Id == p.LastJob || j.Id == p.LastSuccess)).ToList())
        {
            var remaining = db.Jobs().Find(j => j.Pipeline == pipeline.Name).ToList();
            pipeline.LastJob = remaining.OrderByDescending(j => j.Created).FirstOrDefault()?.Id;
            pipeline.LastSuccess = remaining.Where(j => j.State == JobState.Success).OrderByDescending(j => j.Finished).FirstOrDefault()?.Id;
            db.Pipelines().Update(pipeline);
        }
    }

    // ---------------------------------------------------------------- cron

    private static IEnumerable<CronInput> CronInputs(PipelineSpec spec) => spec.Input.Leaves().Select(l => l.Cron).OfType<CronInput>();

    private static void CreateCronRepos(LiteDatabase db, PipelineSpec spec)
    {
        foreach (var leaf in spec.Input.Leaves().Where(l => l.Cron is not null))
            if (db.Repos().FindById(leaf.Repo) is null)
                db.Repos().Insert(new RepoDoc { Name = leaf.Repo, Created = DateTime.UtcNow, Description = $"Ticks of cron input '{leaf.Name}' of pipeline {spec.Name}." });
    }

    private Timer? _cronTimer;
    private int _ticking;

    /// <summary>Ticks cron inputs once a second while this store is open, if any pipeline has one.</summary>
    private void EnsureCronTimer()
    {
        if (_cronTimer is not null || _shutdown.IsCancellationRequested) return;
        if (!_meta.Read(db => db.Pipelines().FindAll().Any(p => p.CronLastTick.Count > 0))) return;
        _cronTimer = new Timer(_ => TickDueCrons(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    private void TickDueCrons()
    {
        if (Interlocked.Exchange(ref _ticking, 1) == 1) return;
        try
        {
            var now = DateTime.UtcNow;
            var due = _meta.Read(db => db.Pipelines().FindAll()
                .Where(p => p.CronLastTick.Count > 0 && p.State == PipelineState.Running).ToList())
                .SelectMany(p => CronInputs(PipelineSpec.Parse(p.SpecJson))
                    .Select(c => (Pipeline: p.Name, Input: c, Tick: c.Schedule.Due(p.CronLastTick.GetValueOrDefault(c.Name, now), now))))
                .Where(d => d.Tick is not null).ToList();
            foreach (var (pipeline, input, tick) in due) Tick(pipeline, input.Name, tick!.Value, force: false);
        }
        catch (Exception) when (_shutdown.IsCancellationRequested) { }
        catch (PachException) { /* a busy or closing store: the next second tries again */ }
        finally { Interlocked.Exchange(ref _ticking, 0); }
    }

    /// <summary>Ticks a cron input now (Invoke-PachCron), whatever its schedule says.</summary>
    public CommitInfo TickCron(string pipeline, string? input = null)
    {
        var spec = GetPipeline(pipeline).Spec;
        var cron = CronInputs(spec).FirstOrDefault(c => input is null || c.Name == input)
            ?? throw PachException.NotFound("CronInputNotFound", $"Pipeline '{pipeline}' has no cron input{(input is null ? "" : $" named '{input}'")}.", pipeline);
        return Tick(pipeline, cron.Name, DateTime.UtcNow, force: true)!;
    }

    /// <summary>
    /// Commits one tick file to the cron repo, unless another process already ticked this time; the check, the
    /// commit and the new last-tick time are one transaction.
    /// </summary>
    private CommitInfo? Tick(string pipeline, string inputName, DateTime tick, bool force)
    {
        var name = "/" + CronSchedule.FileName(tick);
        var writer = _store.Content.BeginWrite(_store.Pfs.FindPacked);
        var content = writer.Write(System.Text.Encoding.UTF8.GetBytes(CronSchedule.FileName(tick) + "\n"));
        writer.Flush();
        var commit = _meta.Write(db =>
        {
            var doc = db.Pipelines().FindById(pipeline);
            if (doc is null || (!force && doc.CronLastTick.GetValueOrDefault(inputName) >= tick)) return null;
            var leaf = PipelineSpec.Parse(doc.SpecJson).Input.Leaves().First(l => l.Cron?.Name == inputName);
            doc.CronLastTick[inputName] = tick;
            db.Pipelines().Update(doc);
            return _store.Pfs.Commit(leaf.Repo, Names.DefaultBranch, writer.NewPackedChunks, (_, tree, c) =>
            {
                var changes = leaf.Cron!.Overwrite ? tree.All(c.Root).Where(e => e.Path != name).Select(e => FileChange.Remove(e.Path)).ToList() : [];
                changes.Add(FileChange.Write(name, writer.Resolve(content)));
                return changes;
            });
        });
        StartQueuedJobs();
        return commit;
    }

    /// <summary>Refuses to delete a repo that a pipeline reads or writes.</summary>
    internal void GuardRepoDeletion(LiteDatabase db, string repo)
    {
        if (db.Pipelines().FindById(repo) is not null)
            throw PachException.State("RepoIsPipelineOutput", $"Repo '{repo}' is the output of pipeline '{repo}'; use Remove-PachPipeline.", repo);
        var readers = db.Pipelines().FindAll().Where(p => p.Inputs.Any(i => i.StartsWith(repo + "@", StringComparison.Ordinal))).Select(p => p.Name).ToList();
        if (readers.Count > 0)
            throw PachException.State("RepoHasDependents", $"Repo '{repo}' is an input of {string.Join(", ", readers)}; remove those pipelines first.", repo);
    }

    private void ValidateInputs(LiteDatabase db, PipelineSpec spec)
    {
        foreach (var input in spec.Input.Leaves())
        {
            if (input.Repo == spec.Name)
                throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' cannot read its own output repo.", spec.Name);
            if (db.Repos().FindById(input.Repo) is null)
                throw PachException.NotFound("PipelineInputNotFound", $"Pipeline '{spec.Name}' reads repo '{input.Repo}', which does not exist.", input.Repo);
        }
        // A cycle: some input is (transitively) produced from this pipeline's output.
        var upstream = new Queue<string>(spec.Input.Leaves().Select(l => l.Repo));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (upstream.TryDequeue(out var repo))
        {
            if (!seen.Add(repo)) continue;
            if (repo == spec.Name)
                throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' would read its own output through other pipelines.", spec.Name);
            var producer = db.Pipelines().FindById(repo);
            if (producer is null) continue;
            foreach (var key in producer.Inputs) upstream.Enqueue(key[..key.IndexOf('@')]);
        }
    }

    private static List<string> InputKeys(PipelineSpec spec) => spec.Input.Leaves().Select(l => $"{l.Repo}@{l.Branch}").Distinct().ToList();

    private static string KeptNonce(string salt)
    {
        var i = salt.LastIndexOf(':');
        return i >= 0 && salt.Length - i == 33 ? salt[i..] : "";
    }

    private static void SaveVersion(LiteDatabase db, PipelineDoc doc) =>
        db.PipelineVersions().Upsert(new PipelineVersionDoc { Id = $"{doc.Name}@{doc.Version}", Pipeline = doc.Name, Version = doc.Version, SpecJson = doc.SpecJson, Created = DateTime.UtcNow });

    // ---------------------------------------------------------------- triggering

    /// <summary>
    /// Creates the jobs that finished commits trigger, outside the transactions that finished them (Pfs queues them,
    /// see <see cref="PfsService.ConsumeFinishedCommits"/>), and starts them. PachStore calls it whenever Pfs says a
    /// commit finished; opening a store and waiting for a commit call it too, for commits a dead process left queued.
    /// </summary>
    internal void TriggerJobs()
    {
        _store.Pfs.ConsumeFinishedCommits(branches => _meta.Write(db =>
        {
            foreach (var (repo, branch) in branches) CreateTriggeredJobs(db, repo, branch);
        }));
        StartQueuedJobs();
    }

    private void CreateTriggeredJobs(LiteDatabase db, string repo, string branch)
    {
        var key = $"{repo}@{branch}";
        foreach (var pipeline in db.Pipelines().Find(Query.EQ("$.Inputs[*] ANY", key)).ToList())
            if (pipeline.State == PipelineState.Running) QueueJob(db, pipeline);
    }

    /// <summary>Creates a job over the current heads of every input, unless one exists for exactly those commits.</summary>
    private void QueueJob(LiteDatabase db, PipelineDoc pipeline)
    {
        var spec = PipelineSpec.Parse(pipeline.SpecJson);
        var inputs = new List<JobInputDoc>();
        foreach (var leaf in spec.Input.Leaves())
        {
            var head = db.Branches().FindById(BranchDoc.Key(leaf.Repo, leaf.Branch))?.Head;
            if (head is null) return; // an input without commits: nothing to run yet
            inputs.Add(new JobInputDoc { Name = leaf.Name, Repo = leaf.Repo, Branch = leaf.Branch, Commit = head });
        }
        // Two triggers for the same input commits (two processes, or a resume) make one job.
        var last = pipeline.LastJob is null ? null : db.Jobs().FindById(pipeline.LastJob);
        if (last is not null && last.PipelineVersion == pipeline.Version &&
            last.Inputs.Select(i => i.Commit).SequenceEqual(inputs.Select(i => i.Commit))) return;
        var provenance = new Dictionary<string, ProvenanceDoc>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            provenance.TryAdd(input.Commit, new ProvenanceDoc { Repo = input.Repo, Branch = input.Branch, Commit = input.Commit });
            var commit = db.Commits().FindById(input.Commit);
            foreach (var p in commit?.Provenance ?? []) provenance.TryAdd(p.Commit, p);
        }
        var job = new JobDoc
        {
            Id = PfsService.NewId(), Pipeline = pipeline.Name, PipelineVersion = pipeline.Version, Salt = pipeline.EffectiveSalt, OutputCommit = PfsService.NewId(),
            OutputBranch = spec.OutputBranch, Inputs = inputs, Provenance = provenance.Values.ToList(), Created = DateTime.UtcNow, Owner = ThisProcess,
        };
        db.Jobs().Insert(job);
        pipeline.LastJob = job.Id;
        db.Pipelines().Update(pipeline);
        _toStart.Enqueue(job.Id);
    }

    private void StartQueuedJobs()
    {
        while (_toStart.TryDequeue(out var id)) StartJob(id);
    }

    private void StartJob(string jobId)
    {
        if (_shutdown.IsCancellationRequested || !ActiveJobs.TryAdd(jobId, 0)) return;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        _running[jobId] = cts;
        var task = Task.Run(async () =>
        {
            string? pipeline = null;
            SemaphoreSlim? gate = null;
            try
            {
                pipeline = _meta.Read(db => db.Jobs().FindById(jobId)?.Pipeline);
                if (pipeline is null) return;
                gate = _pipelineGates.GetOrAdd(pipeline, _ => new SemaphoreSlim(1, 1));
                await gate.WaitAsync(cts.Token);
                var runner = new JobRunner(this, _store, jobId);
                _runners[jobId] = runner;
                try { await runner.RunAsync(cts.Token); }
                finally { _runners.TryRemove(jobId, out _); }
            }
            catch (OperationCanceledException) { }
            catch (Exception ex)
            {
                // Anything unexpected still ends the job with a reason: a job is never left running silently.
                TryFailJob(jobId, "internal error: " + ex.Message);
            }
            finally
            {
                gate?.Release();
                _running.TryRemove(jobId, out _);
                ActiveJobs.TryRemove(jobId, out _);
                cts.Dispose();
                StartQueuedJobs();
            }
        });
        lock (_tasks)
        {
            _tasks.RemoveAll(t => t.IsCompleted);
            _tasks.Add(task);
        }
    }

    /// <summary>Runs named datums of a running job again (the job must be running in this process).</summary>
    public IReadOnlyList<string> RestartDatums(string jobId, IEnumerable<string> datumIds)
    {
        var job = GetJob(jobId);
        if (job.IsFinished)
            throw PachException.State("JobFinished", $"Job {job.JobId[..16]} is {job.State}; only datums of a running job can be restarted.", job.JobId);
        if (!_runners.TryGetValue(job.JobId, out var runner))
            throw PachException.State("JobNotRunningHere", $"Job {job.JobId[..16]} is not running in this session; restart its datums where it runs.", job.JobId);
        return runner.Restart(datumIds);
    }

    private void TryFailJob(string jobId, string reason)
    {
        try
        {
            _meta.Write(db =>
            {
                var job = db.Jobs().FindById(jobId);
                if (job is null || job.State.IsTerminal()) return;
                StateMachines.MoveTo(job, JobState.Failure, reason);
                db.Jobs().Update(job);
                MarkDownstreamUnrunnable(db, job);
            });
        }
        catch (Exception) { /* the store is gone; the job is resumed when it is opened again */ }
    }

    /// <summary>Resumes jobs left unfinished by a process that no longer runs them (a closed or killed session).</summary>
    internal void ResumeOrphans()
    {
        var orphans = _meta.Read(db => db.UnfinishedJobs()
            .Where(j => !ActiveJobs.ContainsKey(j.Id) && (j.Owner == ThisProcess || !OwnerAlive(j.Owner)))
            .OrderBy(j => j.Created).Select(j => j.Id).ToList());
        foreach (var id in orphans) StartJob(id);
    }

    /// <summary>Marks jobs of every pipeline downstream of a failed job's output as unrunnable, recursively.</summary>
    internal static void MarkDownstreamUnrunnable(LiteDatabase db, JobDoc failed)
    {
        var queue = new Queue<(string Repo, string Branch, JobDoc Cause)>([(failed.Pipeline, failed.OutputBranch, failed)]);
        while (queue.TryDequeue(out var item))
        {
            foreach (var p in db.Pipelines().Find(Query.EQ("$.Inputs[*] ANY", $"{item.Repo}@{item.Branch}")).ToList())
            {
                var spec = PipelineSpec.Parse(p.SpecJson);
                var job = new JobDoc
                {
                    Id = PfsService.NewId(), Pipeline = p.Name, PipelineVersion = p.Version, OutputCommit = "", OutputBranch = spec.OutputBranch,
                    Created = DateTime.UtcNow, Provenance = item.Cause.Provenance, Owner = ThisProcess,
                };
                StateMachines.MoveTo(job, JobState.Unrunnable, $"upstream job {Ids.Short(item.Cause.Id)} of '{item.Cause.Pipeline}' did not succeed");
                db.Jobs().Insert(job);
                queue.Enqueue((p.Name, spec.OutputBranch, job));
            }
        }
    }

    private static string OwnerId(Process p) => $"{p.Id}:{p.StartTime.ToUniversalTime().Ticks}";

    private static bool OwnerAlive(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var pid)) return false;
        try
        {
            using var p = Process.GetProcessById(pid);
            return OwnerId(p) == owner;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }


    internal static PipelineDoc RequirePipeline(LiteDatabase db, string name) =>
        db.Pipelines().FindById(name ?? "") ?? throw PachException.NotFound("PipelineNotFound", $"There is no pipeline named '{name}'.", name);

    private static PipelineInfo ToPipeline(PipelineDoc doc) => new(doc.Name, doc.Version, doc.State,
        PipelineSpec.Parse(doc.SpecJson), PfsService.Utc(doc.Created), PfsService.Utc(doc.Updated));

    /// <summary>Stops the background work of this process; unfinished jobs resume when the store is opened again.</summary>
    public void Dispose()
    {
        _shutdown.Cancel();
        _cronTimer?.Dispose();
        Task[] tasks;
        lock (_tasks) tasks = [.. _tasks];
        try { Task.WaitAll(tasks, TimeSpan.FromSeconds(10)); }
        catch (AggregateException) { }
    }
}
