namespace PachPS.Engine;

/// <summary>How values too long to read whole (a 4,000-byte path, say) appear in messages and reasons.</summary>
public static class MessageText
{
    /// <summary>Longest text shown whole; longer text keeps its first two thirds and last third of this.</summary>
    private const int ShownChars = 120;

    /// <summary>The text as is when short; else its start and end around how long it is, so both ends stay recognizable.</summary>
    public static string Abbreviate(string text) =>
        text.Length <= ShownChars ? text : $"{text[..(ShownChars * 2 / 3)]}…({text.Length} characters)…{text[^(ShownChars / 3)..]}";
}
