using LiteDB;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The pipelines of a store: creating one (with its output repo and, for cron inputs, its tick repos), new spec
/// versions (updates and rollbacks, each recorded with what made it), their history and differences, pausing,
/// removing, and the rules that keep the graph sound (inputs exist, no cycles, no repo removed from under a pipeline).
/// </summary>
internal sealed class PipelineRegistry(MetadataStore meta, PfsService pfs, JobScheduler scheduler)
{
    public PipelineInfo Create(PipelineSpec spec) => meta.Write(db =>
    {
        CronTicker.CreateRepos(pfs, spec);
        if (db.Pipelines().FindById(spec.Name) is not null)
            throw new PachException("PipelineAlreadyExists", PachErrorKind.AlreadyExists, $"A pipeline named '{spec.Name}' already exists; use Update-PachPipeline.", spec.Name);
        if (pfs.RepoExists(spec.Name))
            throw new PachException("RepoAlreadyExists", PachErrorKind.AlreadyExists, $"A repo named '{spec.Name}' already exists; a pipeline's output repo takes the pipeline's name.", spec.Name);
        ValidateInputs(db, pfs, spec);
        pfs.CreateRepo(spec.Name, $"Output repo for pipeline {spec.Name}.");
        var doc = new PipelineDoc
        {
            Name = spec.Name, Version = 1, SpecJson = spec.Json, EffectiveSalt = spec.Salt, Created = DateTime.UtcNow, Updated = DateTime.UtcNow,
            Inputs = InputKeys(spec),
            CronLastTick = CronTicker.CronInputs(spec).ToDictionary(c => c.Name, c => c.Start ?? DateTime.UtcNow),
        };
        db.Pipelines().Insert(doc);
        SaveVersion(db, doc, PipelineChange.Create, restoredFrom: null);
        scheduler.QueueJob(db, doc);
        return ToPipeline(doc);
    });

    public PipelineInfo Update(PipelineSpec spec, bool reprocess) => meta.Write(db =>
        NewVersion(db, RequirePipeline(db, spec.Name), spec, reprocess, reprocess ? PipelineChange.Reprocess : PipelineChange.Update, restoredFrom: null));

    /// <summary>Makes an earlier spec version the current one again, as a new version (a rollback); a job runs as for any update.</summary>
    public PipelineInfo Restore(string name, int version, bool reprocess) => meta.Write(db =>
    {
        var doc = RequirePipeline(db, name);
        var restored = RequireVersion(db, name, version);
        return NewVersion(db, doc, PipelineSpec.Parse(restored.SpecJson), reprocess, PipelineChange.Rollback, version);
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
    /// Stores <paramref name="spec"/> as the pipeline's next version, recording what made it, and queues a job over the
    /// current inputs unless the pipeline is paused. Datums whose hash did not change are skipped as usual; -Reprocess
    /// adds a fresh nonce to the salt, which changes every hash.
    /// </summary>
    private PipelineInfo NewVersion(LiteDatabase db, PipelineDoc doc, PipelineSpec spec, bool reprocess, PipelineChange change, int? restoredFrom)
    {
        CronTicker.CreateRepos(pfs, spec);
        ValidateInputs(db, pfs, spec);
        doc.Version++;
        doc.CronLastTick = CronTicker.CronInputs(spec).ToDictionary(c => c.Name, c => doc.CronLastTick.GetValueOrDefault(c.Name, c.Start ?? DateTime.UtcNow));
        doc.SpecJson = spec.Json;
        doc.Inputs = InputKeys(spec);
        doc.Updated = DateTime.UtcNow;
        doc.EffectiveSalt = reprocess ? spec.Salt + ":" + Ids.New() : spec.Salt + KeptNonce(doc.EffectiveSalt);
        db.Pipelines().Update(doc);
        SaveVersion(db, doc, change, restoredFrom);
        if (doc.State == PipelineState.Running) scheduler.QueueJob(db, doc);
        return ToPipeline(doc);
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
        if (db.Pipelines().FindById(repo) is not null)
            throw PachException.State("RepoIsPipelineOutput", $"Repo '{repo}' is the output of pipeline '{repo}'; use Remove-PachPipeline.", repo);
        var readers = PipelineGraph.ReadersOf(db, repo);
        if (readers.Count > 0)
            throw PachException.State("RepoHasDependents", $"Repo '{repo}' is an input of {string.Join(", ", readers)}; remove those pipelines first.", repo);
    }

    /// <summary>Every input repo exists, and the pipeline would not read its own output (directly or through others).</summary>
    public static void ValidateInputs(LiteDatabase db, PfsService pfs, PipelineSpec spec)
    {
        foreach (var input in spec.Input.Leaves())
        {
            if (input.Repo == spec.Name)
                throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' cannot read its own output repo.", spec.Name);
            if (!pfs.RepoExists(input.Repo))
                throw PachException.NotFound("PipelineInputNotFound", $"Pipeline '{spec.Name}' reads repo '{input.Repo}', which does not exist.", input.Repo);
        }
        if (PipelineGraph.WouldCycle(db, spec.Name, spec.Input.Leaves().Select(l => l.Repo)))
            throw PachException.Invalid("PipelineCycle", $"Pipeline '{spec.Name}' would read its own output through other pipelines.", spec.Name);
    }

    public static PipelineDoc RequirePipeline(LiteDatabase db, string name) =>
        db.Pipelines().FindById(name ?? "") ?? throw PachException.NotFound("PipelineNotFound", $"There is no pipeline named '{name}'.", name);

    private static PipelineVersionDoc RequireVersion(LiteDatabase db, string name, int version) =>
        db.PipelineVersions().FindById(PipelineVersionDoc.Key(name, version))
        ?? throw PachException.NotFound("PipelineVersionNotFound",
            $"Pipeline '{name}' has no spec version {version}; Get-PachPipeline {name} -History lists its versions.", $"{name}@{version}");

    private static List<string> InputKeys(PipelineSpec spec) => spec.Input.Leaves().Select(l => $"{l.Repo}@{l.Branch}").Distinct().ToList();

    private static string KeptNonce(string salt)
    {
        var i = salt.LastIndexOf(':');
        return i >= 0 && salt.Length - i == 33 ? salt[i..] : "";
    }

    private static void SaveVersion(LiteDatabase db, PipelineDoc doc, PipelineChange change, int? restoredFrom) =>
        db.PipelineVersions().Upsert(new PipelineVersionDoc
        {
            Id = PipelineVersionDoc.Key(doc.Name, doc.Version), Pipeline = doc.Name, Version = doc.Version, SpecJson = doc.SpecJson, Created = DateTime.UtcNow,
            Change = change, RestoredFrom = restoredFrom,
        });

    // Versions stored before the change was recorded (0.1.0): the first was a create, every later one an update.
    private static PipelineVersionInfo ToVersion(PipelineVersionDoc v) => new(v.Pipeline, v.Version,
        v.Change ?? (v.Version == 1 ? PipelineChange.Create : PipelineChange.Update), v.RestoredFrom, StoredTime.Utc(v.Created), PipelineSpec.Parse(v.SpecJson));

    private static PipelineInfo ToPipeline(PipelineDoc doc) => new(doc.Name, doc.Version, doc.State,
        PipelineSpec.Parse(doc.SpecJson), StoredTime.Utc(doc.Created), StoredTime.Utc(doc.Updated));
}
