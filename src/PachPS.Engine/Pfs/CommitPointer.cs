namespace PachPS.Engine.Pfs;

/// <summary>
/// A commit as the layers above Pfs need it to plan and trace work: where it is, its tree root (for reading files)
/// and the commits it was derived from.
/// </summary>
internal sealed record CommitPointer(string Repo, string Branch, string Id, string? Root, IReadOnlyList<CommitProvenance> Provenance);
