using System.Text;
using System.Text.RegularExpressions;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Pachyderm's glob patterns over absolute paths: '*' and '?' stay inside one segment, '**' crosses segments,
/// '[..]' and '[!..]' classes, '{a,b}' alternatives, extglobs '!(..)', '@(..)', '+(..)', '*(..)', '?(..)' and
/// '(..)' capture groups (used by join_on and group_by).
/// </summary>
public sealed class Glob
{
    /// <summary>
    /// The longest one path may take to match. A repeated extglob whose alternatives overlap ('+(a|aa)b') can backtrack
    /// for minutes on a path of a few dozen characters; planning a job's datums or listing files must fail then
    /// (GlobTooComplex), not hang.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private readonly Regex _regex;

    public Glob(string pattern)
    {
        Pattern = Normalize(pattern);
        try
        {
            _regex = new Regex("^" + Translate(Pattern) + "$", RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new PachException("InvalidGlob", PachErrorKind.InvalidArgument, $"The glob '{pattern}' is not valid: {ex.Message}", pattern, ex);
        }
    }

    public string Pattern { get; }

    public bool IsMatch(string path) => Timed(path, () => _regex.IsMatch(path));

    public Match Match(string path) => Timed(path, () => _regex.Match(path));

    private T Timed<T>(string path, Func<T> match)
    {
        try { return match(); }
        catch (RegexMatchTimeoutException ex)
        {
            throw new PachException("GlobTooComplex", PachErrorKind.InvalidArgument,
                $"The glob '{Pattern}' took more than {MatchTimeout.TotalSeconds:0.#} s to match the path '{path}': its nested repeating groups " +
                "(such as '+(a|aa)', whose alternatives overlap) backtrack too much. Write it so that no repeated group's alternatives can match " +
                "the same text, or with fewer nested *(..), +(..) and ?(..) groups.", Pattern, ex);
        }
    }

    /// <summary>True when the pattern has glob characters; a plain path matches only itself.</summary>
    public static bool HasWildcards(string pattern) => FirstWildcard(pattern) >= 0;

    /// <summary>Where the pattern's first glob character is, or -1 when it has none.</summary>
    public static int FirstWildcard(string pattern) => pattern.IndexOfAny(['*', '?', '[', '{', '(']);

    private static string Normalize(string pattern)
    {
        var p = pattern.Trim().Replace('\\', '/');
        if (!p.StartsWith('/')) p = "/" + p;
        // A trailing '/' does not change what matches (Pachyderm treats "/*/" like "/*").
        while (p.Length > 1 && p.EndsWith('/')) p = p[..^1];
        return p;
    }

    private static string Translate(string glob)
    {
        var sb = new StringBuilder();
        var i = 0;
        TranslateInto(glob, ref i, sb, stopAt: null);
        if (i < glob.Length) throw new ArgumentException($"unexpected '{glob[i]}' at position {i + 1}");
        return sb.ToString();
    }

    // Translates until one of stopAt (for alternatives inside {..} and (..)) or the end.
    private static void TranslateInto(string g, ref int i, StringBuilder sb, string? stopAt)
    {
        while (i < g.Length)
        {
            var c = g[i];
            if (stopAt is not null && stopAt.Contains(c)) return;
            var next = i + 1 < g.Length ? g[i + 1] : '\0';
            if (c == '*' && next == '*')
            {
                i += 2;
                // "/**/" also matches a single "/" so "/a/**/b" matches "/a/b".
                if (sb.Length > 0 && sb[^1] == '/' && i < g.Length && g[i] == '/') { sb.Length--; sb.Append("(?:/.*)?"); }
                else sb.Append(".*");
                continue;
            }
            if ("!@+*?".Contains(c) && next == '(')
            {
                i += 2;
                var inner = new StringBuilder();
                Alternatives(g, ref i, inner, ')');
                sb.Append(c switch
                {
                    '!' => $"(?:(?!(?:{inner})(?:/|$))[^/]*)",
                    '@' => $"(?:{inner})",
                    '+' => $"(?:{inner})+",
                    '*' => $"(?:{inner})*",
                    _ => $"(?:{inner})?",
                });
                continue;
            }
            switch (c)
            {
                case '*': sb.Append("[^/]*"); i++; break;
                case '?': sb.Append("[^/]"); i++; break;
                case '(':
                    i++;
                    sb.Append('(');
                    Alternatives(g, ref i, sb, ')');
                    sb.Append(')');
                    break;
                case '{':
                    i++;
                    sb.Append("(?:");
                    Alternatives(g, ref i, sb, '}');
                    sb.Append(')');
                    break;
                case '[':
                    var close = g.IndexOf(']', i + 2);
                    if (close < 0) throw new ArgumentException($"unclosed '[' at position {i + 1}");
                    var body = g[(i + 1)..close];
                    if (body.StartsWith('!')) body = "^" + body[1..];
                    sb.Append('[').Append(body.Replace("\\", "\\\\")).Append(']');
                    i = close + 1;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    i++;
                    break;
            }
        }
    }

    private static void Alternatives(string g, ref int i, StringBuilder sb, char close)
    {
        var separators = close == '}' ? ",}" : "|)";
        while (true)
        {
            TranslateInto(g, ref i, sb, separators);
            if (i >= g.Length) throw new ArgumentException($"missing '{close}'");
            if (g[i] == close) { i++; return; }
            sb.Append('|');
            i++;
        }
    }
}
