using System.Collections;
using System.Globalization;
using System.Management.Automation;
using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Infrastructure;

/// <summary>
/// -Message and -Metadata as the commit-making cmdlets take them, turned into the engine's <see cref="CommitNote"/>.
/// Keys and values are strings; numbers and booleans become their invariant text; anything else is InvalidMetadata.
/// The engine checks the rest (lengths, counts).
/// </summary>
internal static class CommitNoteArgument
{
    public static CommitNote? From(string? message, IDictionary? metadata)
    {
        if (message is null && metadata is null) return null;
        Dictionary<string, string>? pairs = null;
        if (metadata is not null)
        {
            pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in metadata)
            {
                var key = Text(entry.Key, "key", entry.Key);
                pairs[key] = Text(entry.Value, $"value of '{key}'", key);
            }
        }
        return new CommitNote(message, pairs);
    }

    private static string Text(object? value, string what, object? target) => (value is PSObject ps ? ps.BaseObject : value) switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal or System.Numerics.BigInteger =>
            Convert.ToString(value is PSObject p ? p.BaseObject : value, CultureInfo.InvariantCulture)!,
        null => throw Invalid($"Metadata {what} is null; keys and values are strings.", target),
        var other => throw Invalid($"Metadata {what} is a {other.GetType().Name}; keys and values are strings (or numbers and booleans, stored as text).", target),
    };

    private static PachException Invalid(string message, object? target) =>
        new("InvalidMetadata", PachErrorKind.InvalidArgument, message, target);
}
