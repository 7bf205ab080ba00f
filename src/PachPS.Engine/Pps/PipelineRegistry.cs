using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The pipelines of a store: creating one (with its output repo and, for cron inputs, its tick repos), new spec
/// versions (updates and rollbacks, each recorded with what made it), their history and differences, pausing,
/// removing, and the rules that keep the graph sound (inputs exist, no cycles, no repo removed from under a pipeline).
/// </summary>
/// <param name="noSpouts">Where datums run, when that cannot run spouts (an executor that is not an ISpoutExecutor); null when it can.</param>
/// <param name="executor">Where and how datums run (the executor's description, asked for when a pipeline is shown).</param>
/// <param name="checkTransform">The executor's <see cref="IDatumExecutor.CheckTransform"/>: refuses a transform it cannot run.</param>
internal sealed class PipelineRegistry(MetadataStore meta, PfsService pfs, JobScheduler scheduler, string? noSpouts, Func<string> executor,
    Action<string, TransformSpec> checkTransform)
{
    /// <summary>
    /// Creates pipelines in order, all in one transaction: a later spec may read an earlier one's output, and if any
    /// fails (the error names which spec of several) none is created.
    /// </summary>
    public IReadOnlyList<PipelineInfo> Create(IReadOnlyList<PipelineSpec> specs) => meta.Write(db =>
    {
        var docs = specs.Select(spec => InSpec(spec, () => Insert(db, spec))).ToList();
        foreach (var doc in docs) scheduler.QueueJob(db, doc);
        return docs.Select(ToPipeline).ToList();
    });

    /// <summary>Replaces the specs of existing pipelines, in order, all in one transaction (all or none).</summary>
    public IReadOnlyList<PipelineInfo> Update(IReadOnlyList<PipelineSpec> specs, bool reprocess) => meta.Write(db =>
    {
        var docs = specs.Select(spec => InSpec(spec, () =>
        {
            var again = reprocess || spec.Reprocess;
            return Replace(db, RequirePipeline(db, spec.Name), spec, again, again ? PipelineChange.Reprocess : PipelineChange.Update, restoredFrom: null);
        })).ToList();
        foreach (var doc in docs.Where(d => d.State == PipelineState.Running)) scheduler.QueueJob(db, doc);
        return docs.Select(ToPipeline).ToList();
    });

    private PipelineDoc Insert(LiteDatabase db, PipelineSpec spec)
    {
        RefuseDryRun(spec);
        RefuseSpout(spec);
        checkTransform(spec.Name, spec.Transform);
        CronTicker.CreateRepos(pfs, spec);
        if (db.Pipelines().Get(spec.Name) is not null)
            throw new PachException("PipelineAlreadyExists", PachErrorKind.AlreadyExists, $"A pipeline named '{spec.Name}' already exists; use Update-PachPipeline.", spec.Name);
        if (pfs.RepoExists(spec.Name))
            throw new PachException("RepoAlreadyExists", PachErrorKind.AlreadyExists, $"A repo named '{spec.Name}' already exists; a pipeline's output repo takes the pipeline's name.", spec.Name);
        ValidateInputs(db, pfs, spec);
        pfs.CreateRepo(spec.Name, $"Output repo for pipeline {spec.Name}.");
        var doc = new PipelineDoc
        {
            Name = spec.Name, Version = 1, SpecJson = spec.Json, SpecText = spec.Text, EffectiveSalt = spec.Salt, Created = DateTime.UtcNow, Updated = DateTime.UtcNow,
            Inputs = InputKeys(spec),
            CronLastTick = CronTicker.CronInputs(spec).ToDictionary(c => c.Name, c => c.Start ?? DateTime.UtcNow),
            Spout = spec.Spout is not null,
        };
        db.Pipelines().Insert(doc);
        SaveVersion(db, doc, PipelineChange.Create, restoredFrom: null);
        return doc;
    }

    /// <summary>Makes an earlier spec version the current one again, as a new version (a rollback); a job runs as for any update.</summary>
    public PipelineInfo Restore(string name, int version, bool reprocess) => meta.Write(db =>
    {
        var doc = RequirePipeline(db, name);
        var restored = RequireVersion(db, name, version);
        doc = Replace(db, doc, PipelineSpec.Load(restored.SpecJson, restored.SpecText), reprocess, PipelineChange.Rollback, version);
        if (doc.State == PipelineState.Running) scheduler.QueueJob(db, doc);
        return ToPipeline(doc);
    });

    /// <summary>Every spec version of a pipeline, newest first.</summary>
    public IReadOnlyList<PipelineVersionInfo> History(string name) => meta.Read(db =>
    {
        RequirePipeline(db, name);
        return db.PipelineVersions().Find(v => v.Pipeline == name).OrderByDescending(v => v.Version).Select(ToVersion).ToList();
    });

    /// <summary>What differs between two spec versions (<paramref name="other"/> defaults to the current one), path by path.</summary>
    public IReadOnlyList<PipelineDiffEntry> Compare(string name, int version, int? other) => meta.Read(db =>
    {
        var doc = RequirePipeline(db, name);
        var older = RequireVersion(db, name, version);
        var newer = RequireVersion(db, name, other ?? doc.Version);
        return SpecDiff.Compare(older.SpecJson, newer.SpecJson)
            .Select(d => new PipelineDiffEntry(name, d.Path, d.Change, d.Old, d.New, older.Version, newer.Version)).ToList();
    });

    /// <summary>
    /// Stores <paramref name="spec"/> as the pipeline's next version, recording what made it (the caller queues a job
    /// unless the pipeline is paused). Datums whose hash did not change are skipped as usual; -Reprocess adds a fresh
    /// nonce to the salt, which changes every hash.
    /// </summary>
    private PipelineDoc Replace(LiteDatabase db, PipelineDoc doc, PipelineSpec spec, bool reprocess, PipelineChange change, int? restoredFrom)
    {
        RefuseDryRun(spec);
        RefuseSpout(spec);
        checkTransform(spec.Name, spec.Transform);
        CronTicker.CreateRepos(pfs, spec);
        ValidateInputs(db, pfs, spec);
        doc.Version++;
        doc.Spout = spec.Spout is not null;
        doc.CronLastTick = CronTicker.CronInputs(spec).ToDictionary(c => c.Name, c => doc.CronLastTick.GetValueOrDefault(c.Name, c.Start ?? DateTime.UtcNow));
        doc.SpecJson = spec.Json;
        doc.SpecText = spec.Text;
        doc.Inputs = InputKeys(spec);
        doc.Updated = DateTime.UtcNow;
        // -Reprocess: a fresh salt changes every datum hash, so nothing is skipped.
        doc.EffectiveSalt = reprocess ? spec.Salt + ":" + Ids.New() : spec.Salt + KeptNonce(doc.EffectiveSalt);
        db.Pipelines().Update(doc);
        SaveVersion(db, doc, change, restoredFrom);
        return doc;
    }

    /// <summary>Runs the work of one spec of several; its failure names that spec.</summary>
    private static T InSpec<T>(PipelineSpec spec, Func<T> work)
    {
        try { return work(); }
        catch (PachException ex) { throw spec.Source.Name(ex); }
    }

    private static void RefuseDryRun(PipelineSpec spec)
    {
        if (spec.DryRun)
            throw new PachException("PipelineSpecDryRunUnsupported", PachErrorKind.NotSupported,
                $"Pipeline '{spec.Name}' sets dry_run: true, and PachPS does not take a dry run from the spec: use -WhatIf to see what would " +
                "be created or updated, or Get-PachDatum -Spec to see the datums it would have; remove dry_run to create it.", spec.Name);
    }

    private void RefuseSpout(PipelineSpec spec)
    {
        if (spec.Spout is not null && noSpouts is not null)
            throw new PachException("SpoutNotSupported", PachErrorKind.NotSupported,
                $"Pipeline '{spec.Name}' is a spout, and this store runs its pipelines as {noSpouts}, which cannot run spouts: " +
                "open the store with the local or the Kubernetes executor to create it, or bring the data in with Add-PachFile or a cron input.", spec.Name);
    }

    public IReadOnlyList<PipelineInfo> List() =>
        meta.Read(db => db.Pipelines().FindAll().OrderBy(p => p.Name, StringComparer.Ordinal).Select(ToPipeline).ToList());

    public PipelineInfo Get(string name) => meta.Read(db => ToPipeline(RequirePipeline(db, name)));

    /// <summary>Removes a pipeline, its versions, jobs, datums and logs and, unless <paramref name="keepRepo"/>, its output repo.</summary>
    public void Delete(string name, bool keepRepo)
    {
        foreach (var id in meta.Read(db => db.UnfinishedJobs().Where(j => j.Pipeline == name).Select(j => j.Id).ToList())) scheduler.StopJob(id);
        meta.Write(db =>
        {
            RequirePipeline(db, name);
            var dependents = PipelineGraph.ReadersOf(db, name);
            if (dependents.Count > 0)
                throw PachException.State("PipelineHasDependents", $"Pipeline '{name}' feeds {string.Join(", ", dependents)}; remove those first.", name);
            db.Pipelines().Delete(name);
            db.PipelineVersions().DeleteMany(v => v.Pipeline == name);
            foreach (var id in db.Jobs().Find(j => j.Pipeline == name).Select(j => j.Id).ToList())
            {
                db.Datums().DeleteMany(d => d.Job == id);
                db.Logs().DeleteMany(l => l.Job == id);
            }
            db.Logs().DeleteMany(l => l.Pipeline == name && l.Job == ""); // a spout's lines
            db.Jobs().DeleteMany(j => j.Pipeline == name);
            if (!keepRepo) pfs.RemoveRepo(name);
        });
    }

    /// <summary>Paused pipelines start no jobs; resuming runs one over the current inputs.</summary>
    public PipelineInfo SetPaused(string name, bool paused) => meta.Write(db =>
    {
        var doc = RequirePipeline(db, name);
        StateMachines.MoveTo(doc, paused ? PipelineState.Paused : PipelineState.Running);
        db.Pipelines().Update(doc);
        if (!paused) scheduler.QueueJob(db, doc);
        return ToPipeline(doc);
    });

    /// <summary>Refuses to remove a repo that a pipeline reads or writes (Pfs asks before a repo goes).</summary>
    public static void GuardRepoRemoval(LiteDatabase db, string repo)
    {
        if (db.Pipelines().Get(repo) is not null)
            throw PachException.State("RepoIsPipelineOutput", $"Repo '{repo}' is the output of pipeline '{repo}'; use Remove-PachPipeline.", repo);
        var readers = PipelineGraph.ReadersOf(db, repo);
        if (readers.Count > 0)
            throw PachException.State("RepoHasDependents", $"Repo '{repo}' is an input of {string.Join(", ", readers)}; remove those pipelines first.", repo);
    }

    /// <summary>Every input repo exists, and the pipeline would not read its own output (directly or through others).</summary>
    /// <param name="planned">Repos a dry run takes as existing and empty (those that earlier specs of the same text would create).</param>
    public static void ValidateInputs(LiteDatabase db, PfsService pfs, PipelineSpec spec, IReadOnlySet<string>? planned = null)
    {
        foreach (var input in spec.Input.Leaves())
        {
            if (input.Repo == spec.Name)
                throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' cannot read its own output repo.", spec.Name);
            if (!pfs.RepoExists(input.Repo) && planned?.Contains(input.Repo) != true)
                throw PachException.NotFound("PipelineInputNotFound", $"Pipeline '{spec.Name}' reads repo '{input.Repo}', which does not exist.", input.Repo);
            if (input.Commit is not null && pfs.RepoExists(input.Repo)) JobScheduler.InputCommit(pfs, spec.Name, input);
        }
        if (PipelineGraph.WouldCycle(db, spec.Name, spec.Input.Leaves().Select(l => l.Repo)))
            throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' would read its own output through other pipelines.", spec.Name);
    }

    public static PipelineDoc RequirePipeline(LiteDatabase db, string name) =>
        db.Pipelines().Get(name ?? "") ?? throw PachException.NotFound("PipelineNotFound", $"There is no pipeline named '{name}'.", name);

    private static List<string> InputKeys(PipelineSpec spec) => spec.Input.Leaves().Select(l => $"{l.Repo}@{l.Branch}").Distinct().ToList();

    private static string KeptNonce(string salt)
    {
        var i = salt.LastIndexOf(':');
        return i >= 0 && salt.Length - i == 33 ? salt[i..] : "";
    }

    private static PipelineVersionDoc RequireVersion(LiteDatabase db, string name, int version) =>
        db.PipelineVersions().Get(PipelineVersionDoc.Key(name, version))
        ?? throw PachException.NotFound("PipelineVersionNotFound",
            $"Pipeline '{name}' has no spec version {version}; Get-PachPipeline {name} -History lists its versions.", $"{name}@{version}");

    private static void SaveVersion(LiteDatabase db, PipelineDoc doc, PipelineChange change, int? restoredFrom) =>
        db.PipelineVersions().Upsert(new PipelineVersionDoc
        {
            Id = PipelineVersionDoc.Key(doc.Name, doc.Version), Pipeline = doc.Name, Version = doc.Version, SpecJson = doc.SpecJson, SpecText = doc.SpecText,
            Created = DateTime.UtcNow, Change = change, RestoredFrom = restoredFrom,
        });

    // Versions stored before the change was recorded (0.1.0): the first was a create, every later one an update.
    private static PipelineVersionInfo ToVersion(PipelineVersionDoc v) => new(v.Pipeline, v.Version,
        v.Change ?? (v.Version == 1 ? PipelineChange.Create : PipelineChange.Update), v.RestoredFrom, StoredTime.Utc(v.Created), PipelineSpec.Load(v.SpecJson, v.SpecText));

    private PipelineInfo ToPipeline(PipelineDoc doc) => new(doc.Name, doc.Version, doc.State,
        PipelineSpec.Load(doc.SpecJson, doc.SpecText), StoredTime.Utc(doc.Created), StoredTime.Utc(doc.Updated)) { Executor = executor() };
}
