using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// Ticks cron inputs: while the store is open, once a second it commits a tick file to each due cron input's repo
/// (which triggers the pipeline like any commit); Invoke-PachCron ticks one now.
/// </summary>
internal sealed class CronTicker(MetadataStore meta, PfsService pfs, CancellationToken closing) : IDisposable
{
    /// <summary>How often due ticks are looked for.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    private Timer? _timer;
    private int _ticking;

    public static IEnumerable<CronInput> CronInputs(PipelineSpec spec) => spec.Input.Leaves().Select(l => l.Cron).OfType<CronInput>();

    /// <summary>Creates the tick repo of each cron input that has none yet (in the caller's transaction).</summary>
    public static void CreateRepos(PfsService pfs, PipelineSpec spec)
    {
        foreach (var leaf in spec.Input.Leaves().Where(l => l.Cron is not null))
            pfs.EnsureRepo(leaf.Repo, $"Ticks of cron input '{leaf.Name}' of pipeline {spec.Name}.");
    }

    /// <summary>Starts ticking, if any pipeline has a cron input and it is not ticking already.</summary>
    public void Ensure()
    {
        if (_timer is not null || closing.IsCancellationRequested) return;
        if (!meta.Read(db => db.Pipelines().FindAll().Any(p => p.CronLastTick.Count > 0))) return;
        _timer = new Timer(_ => TickDue(), null, TickInterval, TickInterval);
    }

    /// <summary>Ticks a cron input now (Invoke-PachCron), whatever its schedule says.</summary>
    public CommitInfo TickNow(string pipeline, string? input)
    {
        var spec = meta.Read(db => PipelineSpec.Load(PipelineRegistry.RequirePipeline(db, pipeline).SpecJson));
        var cron = CronInputs(spec).FirstOrDefault(c => input is null || c.Name == input)
            ?? throw PachException.NotFound("CronInputNotFound", $"Pipeline '{pipeline}' has no cron input{(input is null ? "" : $" named '{input}'")}.", pipeline);
        return Tick(pipeline, cron.Name, DateTime.UtcNow, force: true)!;
    }

    private void TickDue()
    {
        if (Interlocked.Exchange(ref _ticking, 1) == 1) return;
        try
        {
            var now = DateTime.UtcNow;
            var due = meta.Read(db => db.Pipelines().FindAll()
                .Where(p => p.CronLastTick.Count > 0 && p.State == PipelineState.Running).ToList())
                .SelectMany(p => CronInputs(PipelineSpec.Load(p.SpecJson))
                    .Select(c => (Pipeline: p.Name, Input: c, Tick: c.Schedule.Due(p.CronLastTick.GetValueOrDefault(c.Name, now), now))))
                .Where(d => d.Tick is not null).ToList();
            foreach (var (pipeline, input, tick) in due) Tick(pipeline, input.Name, tick!.Value, force: false);
        }
        catch (Exception) when (closing.IsCancellationRequested) { }
        catch (PachException) { /* a busy or closing store: the next second tries again */ }
        finally { Interlocked.Exchange(ref _ticking, 0); }
    }

    /// <summary>
    /// Commits one tick file to the cron repo, unless another process already ticked this time; the check, the
    /// commit and the new last-tick time are one transaction. The finished commit triggers the pipeline.
    /// </summary>
    private CommitInfo? Tick(string pipeline, string inputName, DateTime tick, bool force)
    {
        var name = "/" + CronSchedule.FileName(tick);
        return pfs.Ingest(writer =>
        {
            var content = writer.Write(System.Text.Encoding.UTF8.GetBytes(CronSchedule.FileName(tick) + "\n"));
            writer.Flush();
            var committed = meta.Write(db =>
            {
                var doc = db.Pipelines().Get(pipeline);
                if (doc is null || (!force && doc.CronLastTick.GetValueOrDefault(inputName) >= tick)) return null;
                var leaf = PipelineSpec.Load(doc.SpecJson).Input.Leaves().First(l => l.Cron?.Name == inputName);
                doc.CronLastTick[inputName] = tick;
                db.Pipelines().Update(doc);
                return pfs.Commit(leaf.Repo, Names.DefaultBranch, writer, (_, tree, c) =>
                {
                    var changes = leaf.Cron!.Overwrite ? tree.All(c.Root).Where(e => e.Path != name).Select(e => FileChange.Remove(e.Path)).ToList() : [];
                    changes.Add(FileChange.Write(name, writer.Resolve(content)));
                    return changes;
                });
            });
            // Another process ticked this time first: its file is the one committed.
            if (committed is null) writer.Abandon();
            return committed;
        });
    }

    public void Dispose() => _timer?.Dispose();
}
