using System.Globalization;
using System.Text.RegularExpressions;

namespace PachPS.Engine.Pfs;

/// <summary>
/// A parsed commit reference: a branch, tag or (prefix of a) commit id, optionally <c>@{time}</c> after a branch (its
/// head as it was then), then ancestry: '^' (parent, repeatable), '~N' (N-th ancestor) or '.N' (the N-th commit of the
/// branch counting from its oldest, 1-based).
/// </summary>
public sealed partial record CommitRef(string Base, int Ancestors, int? FromOldest)
{
    /// <summary>With <c>branch@{time}</c>: the time (UTC unless the text gave an offset).</summary>
    public DateTimeOffset? At { get; init; }

    [GeneratedRegex(@"^(?<base>[A-Za-z0-9_-]+)(@\{(?<time>[^{}]*)\})?(?<suffix>(\^|~\d+)*)(\.(?<nth>\d+))?$")]
    private static partial Regex Syntax();

    private const string Usage = "use a branch, tag or commit id, optionally followed by @{time} (after a branch), ^, ~N or .N";

    public static CommitRef Parse(string text)
    {
        var m = Syntax().Match(text ?? "");
        if (!m.Success)
            throw PachException.Invalid("InvalidCommitReference", $"'{text}' is not a commit reference: {Usage}.", text);
        long ancestors = 0;
        foreach (Match part in Regex.Matches(m.Groups["suffix"].Value, @"\^|~(\d+)"))
            ancestors += part.Value == "^" ? 1 : Count(part.Groups[1].Value, text!);
        if (ancestors > int.MaxValue) throw TooLarge(text!);
        int? nth = m.Groups["nth"].Success ? Count(m.Groups["nth"].Value, text!) : null;
        if (nth == 0) throw PachException.Invalid("InvalidCommitReference", $"'{text}': '.N' counts from 1 (the oldest commit).", text);
        return new CommitRef(m.Groups["base"].Value, (int)ancestors, nth) { At = m.Groups["time"].Success ? ParseTime(m.Groups["time"].Value, text!) : null };
    }

    // A count of commits ('~N', '.N') is an int; the digits of a longer one are refused, not overflowed.
    private static int Count(string digits, string text) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw TooLarge(text);

    private static PachException TooLarge(string text) =>
        PachException.Invalid("InvalidCommitReference", $"'{MessageText.Abbreviate(text)}' counts more commits than there can be (at most {int.MaxValue}).", text);

    /// <summary>
    /// A time as people write it (2026-11-01, 2026-11-01 14:30, 2026-11-01T14:30:00+02:00, ...), read with the
    /// invariant culture; UTC unless it carries an offset or Z.
    /// </summary>
    private static DateTimeOffset ParseTime(string time, string text)
    {
        if (!Regex.IsMatch(time, @"^\d{4}-") ||
            !DateTimeOffset.TryParse(time.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var at))
            throw PachException.Invalid("InvalidCommitReference",
                $"'{text}': '{time}' is not a time; write it as yyyy-MM-dd, yyyy-MM-dd HH:mm[:ss] or an ISO 8601 time with an offset (UTC unless one is given).", text);
        return at;
    }
}
