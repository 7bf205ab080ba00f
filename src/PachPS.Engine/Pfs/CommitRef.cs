using System.Text.RegularExpressions;

namespace PachPS.Engine.Pfs;

/// <summary>
/// A parsed commit reference: a branch or (prefix of a) commit id, then ancestry: '^' (parent, repeatable),
/// '~N' (N-th ancestor) or '.N' (the N-th commit of the branch counting from its oldest, 1-based).
/// </summary>
public sealed partial record CommitRef(string Base, int Ancestors, int? FromOldest)
{
    [GeneratedRegex(@"^(?<base>[A-Za-z0-9_-]+)(?<suffix>(\^|~\d+)*)(\.(?<nth>\d+))?$")]
    private static partial Regex Syntax();

    public static CommitRef Parse(string text)
    {
        var m = Syntax().Match(text ?? "");
        if (!m.Success)
            throw PachException.Invalid("InvalidCommitReference",
                $"'{text}' is not a commit reference: use a branch or commit id, optionally followed by ^, ~N or .N.", text);
        var ancestors = 0;
        foreach (Match part in Regex.Matches(m.Groups["suffix"].Value, @"\^|~(\d+)"))
            ancestors += part.Value == "^" ? 1 : int.Parse(part.Groups[1].Value);
        int? nth = m.Groups["nth"].Success ? int.Parse(m.Groups["nth"].Value) : null;
        if (nth == 0) throw PachException.Invalid("InvalidCommitReference", $"'{text}': '.N' counts from 1 (the oldest commit).", text);
        return new CommitRef(m.Groups["base"].Value, ancestors, nth);
    }
}
