using System.Collections.Concurrent;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Runs the spouts of a store while it is open: each running (not paused) spout pipeline's command runs in one process
/// at a time (the one recorded as its owner, while it lives), in a <see cref="SpoutLoop"/>, in the folder
/// work/spouts/&lt;pipeline&gt;. Changes to pipelines (create, update, pause, resume, remove) reconcile at once, and every
/// <see cref="ReconcileInterval"/> too, so that a spout another process left (it closed its store or died) is taken over
/// and changes made by other processes are followed. Closing the store stops them; what their commands wrote and was not
/// yet committed stays in their folders and is committed when they next run.
/// </summary>
internal sealed class SpoutRunner(MetadataStore meta, PfsService pfs, IDatumExecutor executor, string workRoot, CancellationToken closing) : IDisposable
{
    /// <summary>How often spouts are looked for (to take over those a closed or dead process ran, and follow other processes' changes).</summary>
    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(2);
    /// <summary>How long stopping a spout waits for its loop to end (its command is killed at once).</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    // Spouts this process runs, by store folder and pipeline: two stores open on one folder in a process run each once.
    private static readonly ConcurrentDictionary<string, byte> Active = new(StringComparer.Ordinal);

    private sealed record Running(int Version, CancellationTokenSource Stop, Task Loop);

    private readonly Dictionary<string, Running> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _told = new(StringComparer.Ordinal);
    private Timer? _timer;

    /// <summary>Whether an executor can run spouts (the local and the Kubernetes ones can).</summary>
    public static bool Supported(IDatumExecutor executor) => executor is ISpoutExecutor;

    /// <summary>The folder a spout's command runs in: its /pfs/out is pfs/out there.</summary>
    public static string Folder(string workRoot, string pipeline) => Path.Combine(workRoot, "spouts", pipeline);

    /// <summary>Starts or stops spouts to match the store, and keeps doing so, if the store has any spout.</summary>
    public void Ensure()
    {
        if (closing.IsCancellationRequested) return;
        if (_timer is null && meta.Read(db => db.Pipelines().Exists(p => p.Spout == true)))
            _timer = new Timer(_ => Reconcile(wait: false), null, ReconcileInterval, ReconcileInterval);
        if (_timer is not null) Reconcile(wait: true);
    }

    /// <summary>Stops a spout (killing its command) and runs <paramref name="remove"/> before any reconcile can start it again.</summary>
    public void Removing(string pipeline, Action remove)
    {
        _gate.Wait();
        try
        {
            StopOne(pipeline, release: false);
            remove();
            WorkFolders.TryDelete(Folder(workRoot, pipeline));
        }
        finally { _gate.Release(); }
    }

    /// <param name="wait">A reconcile a change asks for waits for one in progress; the timer's skips its turn.</param>
    private void Reconcile(bool wait)
    {
        if (closing.IsCancellationRequested || !_gate.Wait(wait ? Timeout.InfiniteTimeSpan : TimeSpan.Zero)) return;
        try
        {
            var spouts = meta.Read(db => db.Pipelines().Find(p => p.Spout == true).Select(p => (p.Name, p.Version, p.State)).ToList());
            var wanted = spouts.Where(s => s.State == PipelineState.Running).ToDictionary(s => s.Name, s => s.Version, StringComparer.Ordinal);
            foreach (var (name, running) in _running.ToList())
                if (!wanted.TryGetValue(name, out var version) || version != running.Version) StopOne(name, release: true);
            foreach (var (name, version) in wanted)
                if (!_running.ContainsKey(name) && !closing.IsCancellationRequested) TryStart(name, version);
        }
        catch (Exception ex) when (ex is PachException or LiteDB.LiteException or ObjectDisposedException) { /* a busy or closing store: the next round tries again */ }
        finally { _gate.Release(); }
    }

    private void TryStart(string name, int version)
    {
        if (executor is not ISpoutExecutor spouts)
        {
            if (_told.Add(name)) meta.Write(db => db.Logs().Insert(new LogDoc
            {
                Job = "", Pipeline = name, Datum = "", Time = DateTime.UtcNow, Stream = "spout",
                Message = $"not started: {executor.Description} cannot run spouts (open the store with the local or the Kubernetes executor to run it)",
            }));
            return;
        }
        var key = workRoot + "|" + name;
        if (!Active.TryAdd(key, 0)) return;
        PipelineSpec? spec;
        try { spec = Claim(name, version); }
        catch
        {
            Active.TryRemove(key, out _);
            throw;
        }
        if (spec is null)
        {
            Active.TryRemove(key, out _);
            return;
        }
        var stop = CancellationTokenSource.CreateLinkedTokenSource(closing);
        var loop = new SpoutLoop(meta, pfs, spouts, Folder(workRoot, name), spec);
        _running[name] = new Running(version, stop, Task.Run(async () =>
        {
            try { await loop.RunAsync(stop.Token); }
            finally { Active.TryRemove(key, out _); }
        }, CancellationToken.None));
    }

    /// <summary>Makes this process the spout's owner unless another live process is; returns its spec, or null.</summary>
    private PipelineSpec? Claim(string name, int version) => meta.Write(db =>
    {
        var doc = db.Pipelines().Get(name);
        if (doc is null || !doc.Spout || doc.State != PipelineState.Running || doc.Version != version) return null;
        if (doc.SpoutOwner is { } owner && owner != JobScheduler.ThisProcess && JobScheduler.OwnerAlive(owner)) return null;
        doc.SpoutOwner = JobScheduler.ThisProcess;
        db.Pipelines().Update(doc);
        return PipelineSpec.Load(doc.SpecJson, doc.SpecText);
    });

    /// <summary>Stops a spout this process runs (its command's process group is killed) and, unless it is being removed, gives up owning it.</summary>
    private void StopOne(string name, bool release)
    {
        if (!_running.Remove(name, out var running)) return;
        running.Stop.Cancel();
        try { running.Loop.Wait(StopTimeout); }
        catch (AggregateException) { }
        running.Stop.Dispose();
        if (release) Release([name]);
    }

    private void Release(IReadOnlyList<string> names)
    {
        try
        {
            meta.Write(db =>
            {
                foreach (var name in names)
                    if (db.Pipelines().Get(name) is { } doc && doc.SpoutOwner == JobScheduler.ThisProcess)
                    {
                        doc.SpoutOwner = null;
                        db.Pipelines().Update(doc);
                    }
            });
        }
        catch (Exception ex) when (ex is PachException or LiteDB.LiteException or ObjectDisposedException) { /* the owner is then found dead, or this process again */ }
    }

    /// <summary>Stops every spout of this store in this process (the caller has cancelled the closing token).</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        _gate.Wait();
        try
        {
            var all = _running.ToList();
            _running.Clear();
            foreach (var (_, running) in all) running.Stop.Cancel();
            try { Task.WaitAll(all.Select(r => r.Value.Loop).ToArray(), StopTimeout); }
            catch (AggregateException) { }
            foreach (var (_, running) in all) running.Stop.Dispose();
            if (all.Count > 0) Release(all.Select(r => r.Key).ToList());
        }
        finally { _gate.Release(); }
    }
}
