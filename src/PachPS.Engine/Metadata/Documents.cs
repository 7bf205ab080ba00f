using LiteDB;

namespace PachPS.Engine.Metadata;

// The LiteDB documents. Mutable POCOs because that is what BsonMapper maps; the engine hands out records instead.

internal sealed class SchemaDoc
{
    [BsonId] public string Id { get; set; } = "schema";
    public int Version { get; set; }
}

internal sealed class RepoDoc
{
    [BsonId] public string Name { get; set; } = "";
    public DateTime Created { get; set; }
    public string Description { get; set; } = "";
}

internal sealed class BranchDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Name { get; set; } = "";
    public string? Head { get; set; }
    public string? OpenCommit { get; set; }
    public DateTime Created { get; set; }
    public static string Key(string repo, string branch) => repo + "@" + branch;
}

internal sealed class ProvenanceDoc
{
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string Commit { get; set; } = "";
}

internal sealed class CommitDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Repo { get; set; } = "";
    public string Branch { get; set; } = "";
    public string? Parent { get; set; }
    public DateTime Started { get; set; }
    public DateTime? Finished { get; set; }
    public string? Root { get; set; }
    public long Size { get; set; }
    public long FileCount { get; set; }
    public string Message { get; set; } = "";
    /// <summary>Bytes of metadata (tree nodes) this commit added to the store.</summary>
    public long MetadataBytes { get; set; }
    public string Origin { get; set; } = "User";
    public string? Job { get; set; }
    public string? Pipeline { get; set; }
    public int PipelineVersion { get; set; }
    public List<ProvenanceDoc> Provenance { get; set; } = [];
}

internal sealed class NodeDoc
{
    [BsonId] public string Id { get; set; } = "";
    public byte[] Data { get; set; } = [];
}

internal sealed class ChunkDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Object { get; set; } = "";
    public long Offset { get; set; }
    public int Length { get; set; }
}

internal sealed class PipelineDoc
{
    [BsonId] public string Name { get; set; } = "";
    public int Version { get; set; }
    public string SpecJson { get; set; } = "";
    public string State { get; set; } = "Running";
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
}

internal sealed class PipelineVersionDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Pipeline { get; set; } = "";
    public int Version { get; set; }
    public string SpecJson { get; set; } = "";
    public DateTime Created { get; set; }
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
    public string State { get; set; } = "Created";
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
    public string State { get; set; } = "";
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
