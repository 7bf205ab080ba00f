using LiteDB;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

// The LiteDB documents of pipelines, jobs, datums and logs. States are enums, stored by name (as the strings earlier
// versions wrote), and change only through StateMachines.

internal sealed class PipelineDoc
{
    [BsonId] public string Name { get; set; } = "";
    public int Version { get; set; }
    public string SpecJson { get; set; } = "";
    /// <summary>The spec's text as it was given (YAML stays YAML); empty in stores written before it was kept.</summary>
    public string SpecText { get; set; } = "";
    public PipelineState State { get; set; } = PipelineState.Running;
    /// <summary>The spec's salt plus a nonce added by -Reprocess: part of every datum hash.</summary>
    public string EffectiveSalt { get; set; } = "";
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    /// <summary>"repo@branch" of every input, to find the pipelines a commit triggers.</summary>
    public List<string> Inputs { get; set; } = [];
    /// <summary>The newest job, and the newest successful one: kept here so job cost does not grow with history.</summary>
    public string? LastJob { get; set; }
    public string? LastSuccess { get; set; }
    /// <summary>The last tick of each cron input (UTC), so every process that opens the store ticks each time once.</summary>
    public Dictionary<string, DateTime> CronLastTick { get; set; } = [];
    /// <summary>A spout pipeline (false in stores written before spouts existed, which had none).</summary>
    public bool Spout { get; set; }
    /// <summary>"pid:start-ticks" of the process running this spout's command, so one process runs it at a time.</summary>
    public string? SpoutOwner { get; set; }
    /// <summary>The URL and output commit of the last successful egress: the next egress to that URL sends what changed since.</summary>
    public EgressMarkDoc? LastEgress { get; set; }
}

internal sealed class EgressMarkDoc
{
    public string Url { get; set; } = "";
    public string Commit { get; set; } = "";
}

/// <summary>What a job's egress did (see <see cref="EgressInfo"/>).</summary>
internal sealed class EgressDoc
{
    public string Url { get; set; } = "";
    public string? Since { get; set; }
    public int FilesUploaded { get; set; }
    public int FilesDeleted { get; set; }
    public long BytesUploaded { get; set; }
    public int Tries { get; set; }
    public string Error { get; set; } = "";
}

internal sealed class PipelineVersionDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Pipeline { get; set; } = "";
    public int Version { get; set; }
    public string SpecJson { get; set; } = "";
    public string SpecText { get; set; } = "";
    public DateTime Created { get; set; }
    /// <summary>What made this version; absent in versions stored before it was recorded.</summary>
    public PipelineChange? Change { get; set; }
    /// <summary>For a rollback: the version whose spec this one restored.</summary>
    public int? RestoredFrom { get; set; }
    public static string Key(string pipeline, int version) => $"{pipeline}@{version}";
}

internal sealed class JobInputDoc
{
    public string Name { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string Commit { get; set; } = "";
}

internal sealed class JobDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Pipeline { get; set; } = "";
    public int PipelineVersion { get; set; }
    /// <summary>The pipeline's effective salt when the job was created (part of every datum hash).</summary>
    public string Salt { get; set; } = "";
    public string OutputCommit { get; set; } = "";
    public string OutputBranch { get; set; } = "";
    public List<JobInputDoc> Inputs { get; set; } = [];
    /// <summary>Every input commit, direct and transitive: what the output will be derived from.</summary>
    public List<ProvenanceDoc> Provenance { get; set; } = [];
    public JobState State { get; set; } = JobState.Created;
    public string Reason { get; set; } = "";
    public DateTime Created { get; set; }
    public DateTime? Started { get; set; }
    public DateTime? Finished { get; set; }
    public int Total { get; set; }
    public int Processed { get; set; }
    public int Skipped { get; set; }
    public int Failed { get; set; }
    public int Recovered { get; set; }
    public int Restarts { get; set; }
    public long BytesDownloaded { get; set; }
    public long BytesUploaded { get; set; }
    /// <summary>"pid:start-ticks" of the process running the job, to tell a live owner from a dead one.</summary>
    public string Owner { get; set; } = "";
    /// <summary>Why the job exists; jobs stored before it was recorded were all started by their pipeline.</summary>
    public JobTrigger Trigger { get; set; } = JobTrigger.Automatic;
    /// <summary>For a rerun: the finished job whose results it carries over, except those of <see cref="Redo"/>.</summary>
    public string? RerunOf { get; set; }
    /// <summary>For a rerun: the hashes of the datums it runs again whatever their earlier result.</summary>
    public List<string> Redo { get; set; } = [];
    /// <summary>What the pipeline's egress did with the output commit; null without egress (and in stores written before it).</summary>
    public EgressDoc? Egress { get; set; }
}

internal sealed class DatumInputDoc
{
    public string Name { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Commit { get; set; } = "";
    public string Path { get; set; } = "";
}

internal sealed class DatumDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Job { get; set; } = "";
    public string Pipeline { get; set; } = "";
    public string Hash { get; set; } = "";
    public DatumState State { get; set; } = DatumState.Pending;
    public int Attempts { get; set; }
    public List<DatumInputDoc> Inputs { get; set; } = [];
    /// <summary>The datum's output files, encoded as a tree leaf (paths, sizes and chunk locations).</summary>
    public byte[]? Outputs { get; set; }
    public DateTime? Started { get; set; }
    public DateTime? Finished { get; set; }
    public string Reason { get; set; } = "";
    /// <summary>The job in which this datum actually ran (an earlier one when it was skipped).</summary>
    public string SourceJob { get; set; } = "";
    public static string Key(string job, string hash) => job + ":" + hash;
}

internal sealed class LogDoc
{
    public ObjectId? Id { get; set; }
    public string Job { get; set; } = "";
    public string Pipeline { get; set; } = "";
    public string Datum { get; set; } = "";
    public DateTime Time { get; set; }
    public string Stream { get; set; } = "";
    public string Message { get; set; } = "";
}
