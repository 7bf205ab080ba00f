using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pps;

/// <summary>
/// The one place where job, datum and pipeline states change: each kind has a table of legal moves and one
/// function that applies a move (with what goes with it, such as a job's finish time) or refuses an illegal one.
/// </summary>
public static class StateMachines
{
    /// <summary>True for the states a job never leaves.</summary>
    public static bool IsTerminal(this JobState state) =>
        state is JobState.Success or JobState.Failure or JobState.Unrunnable or JobState.Killed or JobState.EgressFailed;

    /// <summary>The states a job has not left yet (created, running, egressing, waiting for room), by name as they are stored.</summary>
    public static readonly IReadOnlyList<string> Unfinished = Enum.GetValues<JobState>().Where(s => !s.IsTerminal()).Select(s => s.ToString()).ToList();

    /// <summary>
    /// True for the states in which a job's output commit is written: its datums' results count for later jobs, and
    /// jobs downstream read it (egressing, egress failed or not, and success).
    /// </summary>
    public static bool HasOutput(this JobState state) => state is JobState.Success or JobState.Egressing or JobState.EgressFailed;

    /// <summary>True for the states in which a datum has a result (it is not waiting or running).</summary>
    public static bool IsDone(this DatumState state) => state is DatumState.Success or DatumState.Skipped or DatumState.Failed or DatumState.Recovered;

    /// <summary>Whether a job may go from one state to another. Running to Running is a resumed job.</summary>
    public static bool CanMove(JobState from, JobState to) => from switch
    {
        // Created to StorageFull: a newer job waits behind an older one of its pipeline that waits for room.
        JobState.Created => to is JobState.Running or JobState.Failure or JobState.Killed or JobState.Unrunnable or JobState.StorageFull,
        JobState.Running => to is JobState.Running or JobState.Success or JobState.Failure or JobState.Killed or JobState.Egressing or JobState.StorageFull,
        // A job waiting for room resumes (Running, as after a crash), is stopped, or fails when it cannot start again.
        JobState.StorageFull => to is JobState.Running or JobState.Killed or JobState.Failure or JobState.Unrunnable,
        // Egressing to Egressing is a resumed egress; the output commit stays whatever comes next.
        JobState.Egressing => to is JobState.Egressing or JobState.Success or JobState.EgressFailed or JobState.Killed,
        _ => false,
    };

    /// <summary>Whether a datum may go from one state to another: a datum with a result goes back to Pending only to run again.</summary>
    public static bool CanMove(DatumState from, DatumState to) => from switch
    {
        DatumState.Pending => to is not DatumState.Pending,
        DatumState.Running => to is not DatumState.Running and not DatumState.Skipped,
        _ => to is DatumState.Pending,
    };

    /// <summary>Pipelines are paused and resumed at will; asking for the state a pipeline is in changes nothing.</summary>
    public static bool CanMove(PipelineState from, PipelineState to) => true;

    internal static void MoveTo(JobDoc job, JobState to, string? reason = null)
    {
        if (!CanMove(job.State, to)) throw Illegal("Job", job.Id, job.State.ToString(), to.ToString());
        var now = DateTime.UtcNow;
        if (to == JobState.Running)
        {
            if (job.Started is not null) job.Restarts++;
            job.Started ??= now;
        }
        job.State = to;
        if (reason is not null) job.Reason = reason;
        if (to.IsTerminal()) job.Finished = now;
    }

    internal static void MoveTo(DatumDoc datum, DatumState to, string? reason = null)
    {
        if (!CanMove(datum.State, to)) throw Illegal("Datum", datum.Hash, datum.State.ToString(), to.ToString());
        datum.State = to;
        if (reason is not null) datum.Reason = reason;
        if (to.IsDone()) datum.Finished = DateTime.UtcNow;
    }

    internal static void MoveTo(PipelineDoc pipeline, PipelineState to)
    {
        if (!CanMove(pipeline.State, to)) throw Illegal("Pipeline", pipeline.Name, pipeline.State.ToString(), to.ToString());
        pipeline.State = to;
    }

    private static PachException Illegal(string kind, string id, string from, string to) =>
        PachException.State($"{kind}StateTransitionInvalid", $"{kind} {Ids.Short(id)} cannot go from {from} to {to}.", id);
}
