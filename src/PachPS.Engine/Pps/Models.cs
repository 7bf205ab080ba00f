using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

public enum PipelineState { Running, Paused }

/// <summary>A pipeline and its current spec.</summary>
public sealed record PipelineInfo(string Pipeline, int Version, PipelineState State, PipelineSpec Spec, DateTimeOffset Created, DateTimeOffset Updated)
{
    public string Name => Pipeline;
    public string Repo => Pipeline;
    public string Description => Spec.Description;
    public string InputSummary => Spec.Spout is { } spout ? (spout.Overwrite ? "spout (overwrite)" : "spout") : DescribeInput(Spec.Input);
    /// <summary>A spout: its command runs continuously and commits what it writes; it has no input and no jobs.</summary>
    public bool IsSpout => Spec.Spout is not null;
    /// <summary>Where and how this store runs datums: the executor, and for local processes how they see /pfs.</summary>
    public string Executor { get; init; } = "";

    private static string DescribeInput(InputSpec input) => input switch
    {
        PfsInputSpec p => $"{p.Repo}:{p.Glob}",
        CrossInputSpec c => "(" + string.Join(" ⨯ ", c.Inputs.Select(DescribeInput)) + ")",
        UnionInputSpec u => "(" + string.Join(" ∪ ", u.Inputs.Select(DescribeInput)) + ")",
        JoinInputSpec j => "join(" + string.Join(", ", j.Inputs.Select(DescribeInput)) + ")",
        GroupInputSpec g => "group(" + string.Join(", ", g.Inputs.Select(DescribeInput)) + ")",
        _ => "?",
    };
}

/// <summary>What changed a pipeline's spec into a version: its creation, an update (with or without -Reprocess), or a rollback.</summary>
public enum PipelineChange { Create, Update, Reprocess, Rollback }

/// <summary>One version of a pipeline's spec, as it was stored when that version was made.</summary>
public sealed record PipelineVersionInfo(string Pipeline, int Version, PipelineChange Change, int? RestoredFrom, DateTimeOffset Created, PipelineSpec Spec)
{
    public string Name => Pipeline;
    public string Description => Spec.Description;
}

/// <summary>
/// One difference between two spec versions of a pipeline: a JSON path (transform.cmd[1], input.pfs.glob) and its value
/// in each, as JSON text (null where the path is absent).
/// </summary>
public sealed record PipelineDiffEntry(string Pipeline, string Path, DiffChange Change, string? Old, string? New, int OldVersion, int NewVersion);

/// <summary>
/// A job's state. Egressing: its output commit is written and being uploaded to the spec's egress URL; EgressFailed:
/// the upload failed after every try, the output commit stays. StorageFull: the store had no room for what the job
/// wrote (ErrorId StorageFull); the job is not finished: it keeps its finished datums and resumes by itself once a
/// probe write finds room (or at once with Resume-PachPipeline) (see <see cref="StateMachines"/> for the moves).
/// </summary>
public enum JobState { Created, Running, Success, Failure, Unrunnable, Killed, Egressing, EgressFailed, StorageFull }

/// <summary>
/// Why a job exists: started by the pipeline itself (a new input commit, a new spec version, resuming), by
/// Invoke-PachPipeline, or by Restart-PachDatum on a finished job (a rerun of some of its datums).
/// </summary>
public enum JobTrigger { Automatic, Manual, Rerun }

/// <summary>One input commit a job read.</summary>
public sealed record JobInput(string Name, string Repo, string Branch, string Commit);

/// <summary>A job: one run of a pipeline over its input commits.</summary>
public sealed record JobInfo(
    string JobId, string Pipeline, int PipelineVersion, string OutputCommit, string OutputBranch, JobState State, string Reason,
    DateTimeOffset Created, DateTimeOffset? Started, DateTimeOffset? Finished, int Total, int Processed, int Skipped, int Failed,
    int Recovered, int Restarts, long BytesDownloaded, long BytesUploaded, IReadOnlyList<JobInput> Inputs)
{
    public string Id => JobId;
    public string Repo => Pipeline;
    public string Commit => OutputCommit;
    public TimeSpan? Duration => Started is null ? null : (Finished ?? DateTimeOffset.UtcNow) - Started.Value;
    public string Progress => $"{Processed} + {Skipped} / {Total}";
    public bool IsFinished => State.IsTerminal();
    /// <summary>Stopped for want of room (StorageFull): not finished, it resumes when there is room again.</summary>
    public bool IsWaitingForRoom => State == JobState.StorageFull;
    public JobTrigger Trigger { get; init; } = JobTrigger.Automatic;
    /// <summary>For a rerun: the job whose results it carries over and whose input commits it reads.</summary>
    public string? RerunOf { get; init; }
    /// <summary>What the spec's egress uploaded (or, in EgressFailed, why it could not); null for a pipeline without egress.</summary>
    public EgressInfo? Egress { get; init; }
}

/// <summary>Every job in the store counted by state, and their datums summed by outcome (what /metrics shows).</summary>
public sealed record JobTotals(IReadOnlyDictionary<JobState, long> ByState, long Processed, long Skipped, long Failed, long Recovered);

/// <summary>
/// The egress of a job's output commit: where to (<see cref="Url"/>), the commit it compared with (the one the
/// pipeline's last successful egress to that URL uploaded; null: everything was uploaded), files and bytes put, files
/// deleted, tries, and the last try's error. Whether it succeeded is the job's state (Success, EgressFailed).
/// </summary>
public sealed record EgressInfo(string Url, string? Since, int FilesUploaded, int FilesDeleted, long BytesUploaded, int Tries, string Error)
{
    public override string ToString() =>
        $"{Url}: {FilesUploaded} put, {FilesDeleted} deleted" + (Tries > 1 ? $", {Tries} tries" : "") + (Error.Length > 0 ? $" ({Error})" : "");
}

public enum DatumState { Pending, Running, Success, Skipped, Failed, Recovered }

/// <summary>One input file set of a datum: repo@commit:/path.</summary>
public sealed record DatumInput(string Name, string Repo, string Commit, string Path)
{
    public override string ToString() => $"{Repo}@{Commit}:{Path}";
}

/// <summary>A datum of a job (or of a dry run, without job and state).</summary>
public sealed record DatumInfo(string DatumId, string? JobId, string Pipeline, DatumState State, int Attempts, IReadOnlyList<DatumInput> Inputs,
    DateTimeOffset? Started, DateTimeOffset? Finished, string Reason)
{
    public string Id => DatumId;
    public TimeSpan? Duration => Started is null || Finished is null ? null : Finished.Value - Started.Value;
    public string InputFiles => string.Join(", ", Inputs.Select(i => i.ToString()));
}

/// <summary>One line a datum's process wrote.</summary>
public sealed record LogLine(DateTimeOffset Time, string Pipeline, string JobId, string DatumId, string Stream, string Message)
{
    /// <summary>Increases with every line written; a follower asks for the lines after the last one it saw.</summary>
    public string LineId { get; init; } = "";
}

/// <summary>
/// Log lines that followed a job's earlier ones, and whether the job had finished (or stopped to wait for room) when
/// they were read: a follower stops then.
/// </summary>
public sealed record LogBatch(IReadOnlyList<LogLine> Lines, bool JobFinished);

public enum ProvenanceKind { Input, Spec }

/// <summary>One thing an output commit was derived from: an input commit, or the pipeline spec version.</summary>
public sealed record ProvenanceEntry(string Repo, string Branch, string Commit, ProvenanceKind Kind, int? SpecVersion)
{
    /// <summary>
    /// Input commits this entry stood for before they were squashed into <see cref="Commit"/> (which holds their
    /// changes now); empty unless a squash or retention re-pointed it.
    /// </summary>
    public IReadOnlyList<string> SquashedFrom { get; init; } = [];
}
