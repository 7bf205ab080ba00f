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

    /// <summary>Normalizes a file path to "/a/b"; rejects "..", ".", empty segments and control characters.</summary>
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
        if (trimmed.Any(char.IsControl))
            throw PachException.Invalid("InvalidPath", $"The path '{path}' contains a control character.", path);
        return trimmed;
    }

    /// <summary>The parent folder of a normalized path ("/" for top-level entries).</summary>
    public static string Parent(string path)
    {
        var i = path.LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }
}
