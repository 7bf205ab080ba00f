using System.Text.Json;
using PachPS.Engine.Backup;
using PachPS.Engine.Execution;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

using PachPS.Engine.Pps;

namespace PachPS.Engine;

/// <summary>An open store: LiteDB metadata plus a content-addressed object store, and the services over them.</summary>
public sealed class PachStore : IPachClient, IStoreAdmin
{
    private PachStore(string path, IObjectStore objects, bool temporary, IDatumExecutor? executor)
    {
        Path = path;
        Temporary = temporary;
        Meta = new MetadataStore(path, PfsCollections.EnsureIndexes, PpsCollections.EnsureIndexes);
        Content = new ContentStore(objects, collectionLock: new CollectionLock(path));
        Executor = executor ?? new LocalProcessExecutor();
        Pfs = new PfsService(Meta, Content);
        // Reads of a pack a collection rewrote find its chunks through the chunk index, which Pfs owns.
        Content.Relocate = Pfs.FindPacked;
        if (Executor is Execution.Kubernetes.KubernetesExecutor pods)
        {
            pods.Relocate = Pfs.FindPacked;
            pods.RepackedPacks = Pfs.RepackedPacks;
            pods.References = Content.References;
        }
        var workRoot = System.IO.Path.Combine(path, "work");
        Pps = new Pps.PpsService(Meta, Pfs, Executor, workRoot, spec => EgressTarget.Open(spec, objects), () => StorageProbe.HasRoom(objects, workRoot));
        // Pfs tells whoever listens that a commit finished, or asks before repos and commits go; it never calls into Pps.
        Pfs.CommitFinished += _ => Pps.TriggerJobs();
        Pfs.RepoRemoving = PpsService.GuardRepoRemoval;
        Pfs.CommitsRemoving = PpsService.ForgetOutputs;
        Pfs.CommitSquashing = PpsService.GuardSquash;
        Provenance = new Provenance.ProvenanceService(Meta, Pfs);
        Pfs.LoadTriggers();
        _triggerTimer = new Timer(_ => FireBranchTriggers(), null, TriggerInterval, TriggerInterval);
    }

    /// <summary>How often cron conditions of branch triggers are checked while the store is open (and, every <see cref="JobScheduler.OrphanSweep"/>, jobs whose session ended).</summary>
    private static readonly TimeSpan TriggerInterval = TimeSpan.FromSeconds(1);
    private readonly Timer _triggerTimer;
    private int _firing;
    private volatile bool _closing;

    private DateTime _nextSweep = DateTime.UtcNow + JobScheduler.OrphanSweep;

    private void FireBranchTriggers()
    {
        if (_closing || Interlocked.Exchange(ref _firing, 1) == 1) return;
        try
        {
            Pfs.FireDueTriggers(DateTime.UtcNow);
            if (DateTime.UtcNow >= _nextSweep)
            {
                _nextSweep = DateTime.UtcNow + JobScheduler.OrphanSweep;
                Pps.ResumeOrphans();
            }
        }
        catch (PachException) { /* a busy or closing store: the next second tries again */ }
        catch (ObjectDisposedException) when (_closing) { }
        finally { Interlocked.Exchange(ref _firing, 0); }
    }

    public string Path { get; }
    public bool Temporary { get; }
    internal MetadataStore Meta { get; }
    internal ContentStore Content { get; }

    IObjectStore? IPachClient.LocalObjects => Content.Objects;

    /// <summary>What runs datums: local processes unless the store was opened with another (Kubernetes).</summary>
    internal IDatumExecutor Executor { get; }
    /// <summary>Where datums run, in words (Info says the same, after counting the store's objects).</summary>
    public string ExecutorDescription => Executor.Description;
    /// <summary>The object store holding the content (a folder or an S3 bucket).</summary>
    public IObjectStore Objects => Content.Objects;
    public PfsService Pfs { get; }
    public Pps.PpsService Pps { get; }
    public Provenance.ProvenanceService Provenance { get; }

    IFileService IPachClient.Files => Pfs;
    Pps.IPipelineService IPachClient.Pipelines => Pps;
    Provenance.IProvenanceService IPachClient.Provenance => Provenance;
    IStoreAdmin IPachClient.Admin => this;

    /// <summary>
    /// Opens (creating if needed) a store: metadata.db in the folder, content in objects/ or, with
    /// <paramref name="s3"/>, in a bucket. A store remembers its bucket (never credentials) in store.json, so later
    /// opens need only the folder and, where the default AWS chain does not apply, credentials again.
    /// </summary>
    /// <remarks>
    /// <paramref name="containers"/> runs transform.image in a container runtime (its <see cref="PachPS.Engine.Pps.ContainerRuntime.None"/>
    /// forgets a runtime the store remembers); store.json remembers it. Not with Kubernetes (ContainerRuntimeConflict).
    /// </remarks>
    public static PachStore Open(string path, bool temporary = false, S3Settings? s3 = null, S3Credentials? credentials = null,
        Execution.Kubernetes.KubernetesSettings? kubernetes = null, Execution.Containers.ContainerSettings? containers = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
            throw PachException.Invalid("StorePathIsFile", $"'{full}' is a file; a store is a folder.", full);
        var configFile = System.IO.Path.Combine(full, ConfigFileName);
        var saved = File.Exists(configFile) ? JsonSerializer.Deserialize<StoreConfig>(File.ReadAllText(configFile)) : null;
        if (kubernetes is not null && (s3 ?? saved?.S3) is null)
            throw PachException.Invalid("KubernetesNeedsS3",
                "The Kubernetes executor needs the content in S3 (pods cannot read a local folder): connect with -S3Bucket as well.", full);
        // The cluster's configuration is read before anything is created, so a bad one leaves no trace.
        kubernetes ??= saved?.Kubernetes;
        // A runtime asked for now must be here; one the store remembers is not needed to open it (its datums fail saying so).
        if (containers is { Runtime: not PachPS.Engine.Pps.ContainerRuntime.None } asked) Execution.Containers.ContainerCli.Locate(asked.Runtime, null);
        containers = (containers ?? saved?.Containers) is { Runtime: not PachPS.Engine.Pps.ContainerRuntime.None } chosen ? chosen : null;
        if (containers is not null && kubernetes is not null)
            throw PachException.Invalid("ContainerRuntimeConflict",
                $"Datums of the store at '{full}' cannot run both on Kubernetes and in local {containers.Runtime} containers: choose one (-ContainerRuntime None forgets the runtime).", full);
        var ns = "";
        var cluster = kubernetes is null ? null : Execution.Kubernetes.KubernetesExecutor.Connect(kubernetes, out ns);
        IObjectStore? objects = null;
        IDatumExecutor? executor = null;
        try
        {
            Directory.CreateDirectory(full);
            var existing = saved is not null || File.Exists(System.IO.Path.Combine(full, "metadata.db"));
            if (s3 is not null && existing && (saved?.S3 is not { } old || old.Bucket != s3.Bucket || old.Prefix != s3.Prefix || old.Endpoint != s3.Endpoint))
                throw PachException.State("StoreBackendMismatch",
                    $"The store at '{full}' keeps its content in {(saved?.S3?.DisplayName ?? "its objects folder")}, not {s3.DisplayName}.", full);
            s3 ??= saved?.S3;
            objects = s3 is null ? new LocalObjectStore(System.IO.Path.Combine(full, "objects")) : new S3ObjectStore(s3, credentials);
            executor = cluster is not null ? new Execution.Kubernetes.KubernetesExecutor(cluster, ns, kubernetes!.Image, objects)
                : containers is not null ? new LocalProcessExecutor(containers) : null;
        }
        catch
        {
            (objects as IDisposable)?.Dispose();
            cluster?.Dispose();
            throw;
        }
        var config = new StoreConfig(s3 is null ? "Local" : "S3", s3, kubernetes, containers);
        if (saved is null || saved != config) WriteConfig(full, config);
        return Open(full, objects, temporary, executor);
    }

    private static void WriteConfig(string folder, StoreConfig config)
    {
        var configFile = System.IO.Path.Combine(folder, ConfigFileName);
        var tmp = configFile + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, configFile, overwrite: true);
    }

    /// <summary>Writes store.json for a store being made outside <see cref="Open(string, bool, S3Settings?, S3Credentials?, Execution.Kubernetes.KubernetesSettings?, Execution.Containers.ContainerSettings?)"/> (a restore).</summary>
    internal static void WriteConfig(string folder, S3Settings? s3) => WriteConfig(folder, new StoreConfig(s3 is null ? "Local" : "S3", s3));

    /// <summary>
    /// Makes a new store in <paramref name="path"/> (missing or empty) from a backup (see <see cref="StoreBackups"/>);
    /// open it with <see cref="Open(string, bool, S3Settings?, S3Credentials?, Execution.Kubernetes.KubernetesSettings?, Execution.Containers.ContainerSettings?)"/>.
    /// </summary>
    public static void Restore(BackupLocation backup, string path, S3Credentials? contentCredentials = null,
        IProgress<BackupProgress>? progress = null, CancellationToken cancel = default) =>
        StoreBackups.Restore(backup, path, contentCredentials, progress, cancel);

    private const string ConfigFileName = "store.json";

    /// <summary>What store.json holds: the backend and, for S3, where; the Kubernetes executor's or the container runtime's settings (no secrets).</summary>
    private sealed record StoreConfig(string Backend, S3Settings? S3, Execution.Kubernetes.KubernetesSettings? Kubernetes = null,
        Execution.Containers.ContainerSettings? Containers = null);

    /// <summary>Opens a store over any object store (S3, or a faulty one in tests) and, optionally, executor.</summary>
    internal static PachStore Open(string folder, IObjectStore objects, bool temporary = false, IDatumExecutor? executor = null)
    {
        var store = new PachStore(folder, objects, temporary, executor);
        store.Pps.Start();
        return store;
    }

    /// <summary>The default store folder: $PACHPS_STORE, else ~/.pachps.</summary>
    public static string DefaultPath()
    {
        var env = Environment.GetEnvironmentVariable("PACHPS_STORE");
        return string.IsNullOrWhiteSpace(env)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pachps")
            : env;
    }

    /// <summary>
    /// Resumes jobs that no live store instance runs (for example those a just-closed instance of this process
    /// stopped) and restarts cron ticking. Opening a store does this; call it again after closing another instance.
    /// </summary>
    public void ResumeWork() => Pps.Start();

    public StoreInfo Info()
    {
        var (bytes, count) = Content.Objects.Usage();
        var (repos, commits, logical, reclaimable, collected) = Meta.Read(db =>
        {
            var heads = db.Branches().FindAll().Select(b => b.Head).Where(h => h is not null).Distinct(StringComparer.Ordinal);
            var logical = heads.Sum(h => db.Commits().Get(h)?.Size ?? 0);
            var last = db.CollectionSummaries().Get(CollectionSummaryDoc.Last);
            // Counted from the last mark: what it left, and what repos removed since then held alone.
            long? reclaimable = last is null ? null
                : last.ReclaimableBytes + last.RepoExclusiveBytes.Where(r => db.Repos().Get(r.Key) is null).Sum(r => r.Value);
            return (db.Repos().Count(), db.Commits().Count(), logical, reclaimable, last?.Finished);
        });
        var metaBytes = Directory.EnumerateFiles(Path, "metadata*.db").Sum(f => new FileInfo(f).Length);
        return new StoreInfo(Path, Content.Objects.IsRemote ? "S3" : "Local", Content.Objects.Description, bytes, count,
            Content.Objects.Requests, metaBytes, repos, commits, Temporary)
        {
            Executor = Executor.Description, LogicalBytes = logical, ReclaimableBytes = reclaimable,
            LastCollection = collected is { } finished ? Metadata.StoredTime.Utc(finished) : null,
        };
    }

    /// <summary>Checks that every finished commit's tree nodes and chunks exist and match their hashes.</summary>
    public IReadOnlyList<IntegrityFinding> Check(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
        new IntegrityCheck(Meta, Content).Run(progress, cancel);

    public IReadOnlyList<IntegrityFinding> Repair(string? from = null, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        using var source = from is null ? null : OpenRepairSource(from);
        return new StoreRepair(Meta, Content, Path).Run(source, progress, cancel);
    }

    /// <summary>
    /// A backup, or another store's folder, opened only to read lost objects and tree nodes from: its metadata, and its
    /// objects where its store.json says (S3 credentials from the default AWS chain). No job starts and nothing is created there.
    /// </summary>
    private RepairSource OpenRepairSource(string from)
    {
        if (from.StartsWith(BackupLocation.S3Scheme, StringComparison.OrdinalIgnoreCase) ||
            File.Exists(System.IO.Path.Combine(System.IO.Path.GetFullPath(from), BackupTarget.ManifestFile)))
            return StoreBackups.OpenRepairSource(new BackupLocation(from));
        var full = System.IO.Path.GetFullPath(from);
        if (!File.Exists(System.IO.Path.Combine(full, "metadata.db")))
            throw PachException.NotFound("RepairSourceNotFound", $"'{full}' is not a PachPS store or backup folder (it has no metadata.db).", full);
        if (string.Equals(full.TrimEnd(System.IO.Path.DirectorySeparatorChar), Path.TrimEnd(System.IO.Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw PachException.Invalid("RepairSourceIsStore", $"'{full}' is the store being repaired; give a backup or another store.", full);
        var configFile = System.IO.Path.Combine(full, ConfigFileName);
        var saved = File.Exists(configFile) ? JsonSerializer.Deserialize<StoreConfig>(File.ReadAllText(configFile)) : null;
        IObjectStore objects = saved?.S3 is { } s3 ? new S3ObjectStore(s3, null) : new LocalObjectStore(System.IO.Path.Combine(full, "objects"));
        return new RepairSource(full, new MetadataStore(full), objects);
    }

    /// <summary>Frees every chunk, pack and tree node nothing names (see <see cref="Collection.GarbageCollector"/>).</summary>
    /// <remarks>Retention policies are applied first (<see cref="ApplyRetention"/>), so what they squash away is freed by the same run.</remarks>
    public Collection.CollectionReport Collect(bool whatIf, IProgress<Collection.CollectionProgress>? progress = null, CancellationToken cancel = default) =>
        new Collection.GarbageCollector(Meta, Content, Path) { BeforeMark = dryRun => ApplyRetention(dryRun, cancel).Count }.Run(whatIf, progress, cancel);

    /// <summary>
    /// Applies every branch's retention policy now: expired commits are squashed into their children, oldest first
    /// (the rule is in the Retention class of PachPS.Engine.Pfs); returns what was (with <paramref name="dryRun"/>: would be) squashed.
    /// Optimize-PachStore applies it before marking; the server applies it periodically too.
    /// </summary>
    public IReadOnlyList<SquashResult> ApplyRetention(bool dryRun = false, CancellationToken cancel = default) =>
        Pfs.ApplyRetention(DateTime.UtcNow, dryRun, cancel);

    private StoreBackups Backups => new(Meta, Content, Path);

    /// <summary>Writes a consistent backup of the store to a folder or an S3 prefix (see <see cref="StoreBackups"/>).</summary>
    public BackupInfo Backup(BackupLocation destination, string? name = null, IProgress<BackupProgress>? progress = null,
        CancellationToken cancel = default) => Backups.Backup(destination, name, progress, cancel);

    /// <summary>The backups this store pins and, with a destination, the backups there.</summary>
    public IReadOnlyList<BackupInfo> ListBackups(BackupLocation? destination = null) => Backups.List(destination);

    /// <summary>Deletes a backup and this store's pin of it.</summary>
    public BackupInfo RemoveBackup(BackupLocation backup, IProgress<BackupProgress>? progress = null,
        CancellationToken cancel = default) => Backups.Remove(backup, progress, cancel);

    public void Dispose()
    {
        _closing = true;
        using (var stopped = new ManualResetEvent(false))
            if (_triggerTimer.Dispose(stopped)) stopped.WaitOne(TimeSpan.FromSeconds(10));
        Pps.Dispose();
        Meta.Dispose();
        if (Temporary)
        {
            if (Content.Objects.IsRemote)
            {
                // A temporary store's objects go with it; objects outside its prefix are never touched.
                try { foreach (var key in Content.Objects.List("").ToList()) Content.Objects.Delete(key); }
                catch (PachException) { }
            }
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
        (Executor as IDisposable)?.Dispose();
        Content.References.Dispose();
        (Content.Objects as IDisposable)?.Dispose();
    }
}
