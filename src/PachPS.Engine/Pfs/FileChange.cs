using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// One change to a commit's tree: a file written (<see cref="Content"/> set) or a path removed (null).
/// <see cref="Writer"/> names who wrote it when that matters to an error (a job's datum).
/// </summary>
internal readonly record struct FileChange(string Path, FileContent? Content, string? Writer = null)
{
    public bool IsRemoval => Content is null;

    public static FileChange Write(string path, FileContent content, string? writer = null) => new(path, content, writer);

    public static FileChange Remove(string path) => new(path, null);
}
