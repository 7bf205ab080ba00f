namespace PachPS.Engine.Provenance;

public enum LineageDirection { Input, Output }

/// <summary>
/// One file in a file's lineage: an input file a datum read (Input) or an output file it wrote (Output), with the
/// pipeline, job and datum that connect them. <c>RanInJob</c> differs from <c>JobId</c> when the datum was skipped and
/// its result carried over from an earlier job.
/// </summary>
public sealed record LineageEntry(LineageDirection Direction, string Repo, string Branch, string Commit, string Path, string Pipeline,
    string JobId, string DatumId, string RanInJob, string InputName)
{
    public override string ToString() => $"{Repo}@{Ids.Short(Commit)}:{Path}";
}
