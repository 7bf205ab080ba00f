using System.Text.RegularExpressions;

namespace PachPS.Engine.Pfs;

/// <summary>Validation of repo, branch and pipeline names and of file paths.</summary>
public static partial class Names
{
    /// <summary>The branch a reference or a write means when none is named (Pachyderm's default).</summary>
    public const string DefaultBranch = "master";

    [GeneratedRegex("^[a-zA-Z0-9_-]+$")]
    private static partial Regex NamePattern();

    /// <summary>Pachyderm's rule for repo, branch and pipeline names: letters, digits, '_' and '-'.</summary>
    public static void ValidateName(string? name, string what)
    {
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name) || name.Length > 63)
            throw PachException.Invalid($"Invalid{what}Name",
                $"'{name}' is not a valid {what.ToLowerInvariant()} name: use 1 to 63 letters, digits, '_' or '-'.", name);
    }

    /// <summary>
    /// Normalizes a file path to "/a/b"; rejects "..", ".", empty segments and control characters. Lengths are checked
    /// only for paths being written (<see cref="RequireStorable"/>), so a path stored before that rule stays readable.
    /// </summary>
    public static string NormalizePath(string? path, bool allowRoot = false)
    {
        path ??= "";
        var trimmed = path.Replace('\\', '/');
        if (trimmed.Length == 0 || trimmed == "/")
        {
            if (allowRoot) return "/";
            throw PachException.Invalid("InvalidPath", "A file path is required.", path);
        }
        if (!trimmed.StartsWith('/')) trimmed = "/" + trimmed;
        if (trimmed.Length > 1 && trimmed.EndsWith('/')) trimmed = trimmed[..^1];
        foreach (var segment in trimmed[1..].Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
                throw PachException.Invalid("InvalidPath", $"The path '{path}' has an empty, '.' or '..' segment.", path);
        }
        if (ControlCharacterAt(trimmed) is { } at)
            throw InvalidPath(path, ControlCharacterRule(trimmed, at));
        return trimmed;
    }

    /// <summary>
    /// Longest path component, in bytes of UTF-8, that ext4, XFS, btrfs, APFS, NTFS and tmpfs all accept (NAME_MAX);
    /// a longer one can be stored but never written out as a file (datum inputs, Save-PachFile).
    /// </summary>
    public const int MaxComponentBytes = 255;

    /// <summary>Longest whole path, in bytes of UTF-8 (Linux's PATH_MAX, NUL included there, so one less here).</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>
    /// The one rule for a path a commit may hold, checked for every file written (CommitWriter, whoever writes) and
    /// before content is stored at ingest: no control characters, no component over <see cref="MaxComponentBytes"/>
    /// bytes, the whole path at most <see cref="MaxPathBytes"/> bytes. Throws <c>InvalidPath</c> naming the rule broken.
    /// </summary>
    public static void RequireStorable(string path)
    {
        if (ControlCharacterAt(path) is { } at)
            throw InvalidPath(path, ControlCharacterRule(path, at));
        var total = System.Text.Encoding.UTF8.GetByteCount(path);
        if (total > MaxPathBytes)
            throw InvalidPath(path, $"it is {total} bytes of UTF-8 long; a path may be at most {MaxPathBytes}");
        var start = 1;
        while (start <= path.Length)
        {
            var end = path.IndexOf('/', start);
            if (end < 0) end = path.Length;
            var bytes = System.Text.Encoding.UTF8.GetByteCount(path.AsSpan(start, end - start));
            if (bytes > MaxComponentBytes)
                throw InvalidPath(path, $"its component '{MessageText.Abbreviate(path[start..end])}' is {bytes} bytes of UTF-8 long; a file or folder name may be at most {MaxComponentBytes}");
            start = end + 1;
        }
    }

    private static int? ControlCharacterAt(string path)
    {
        for (var i = 0; i < path.Length; i++)
            if (char.IsControl(path[i])) return i;
        return null;
    }

    private static string ControlCharacterRule(string path, int at) =>
        $"it holds control character U+{(int)path[at]:X4} at position {at + 1} (NUL and control characters cannot be in a file name)";

    private static PachException InvalidPath(string path, string rule) =>
        PachException.Invalid("InvalidPath", $"The path '{MessageText.Abbreviate(path)}' is refused: {rule}.", path);

    /// <summary>The parent folder of a normalized path ("/" for top-level entries).</summary>
    public static string Parent(string path)
    {
        var i = path.LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }
}
