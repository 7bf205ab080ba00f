namespace PachPS.Engine.Pfs;

/// <summary>
/// The rules for a commit's message and metadata, and how a writer's <see cref="CommitNote"/> lands on a commit: the
/// message replaces the commit's, metadata keys are added (a key given again takes the new value).
/// </summary>
public static class CommitNotes
{
    /// <summary>Characters of a metadata key, at most.</summary>
    public const int MaxKeyLength = 128;

    /// <summary>Characters of a metadata value, at most.</summary>
    public const int MaxValueLength = 4096;

    /// <summary>Key/value pairs on one commit, at most.</summary>
    public const int MaxPairs = 64;

    /// <summary>Characters of all keys and values of one commit together, at most.</summary>
    public const int MaxTotalLength = 16384;

    /// <summary>Characters of a commit message, at most.</summary>
    public const int MaxMessageLength = 65536;

    /// <summary>Throws InvalidMetadata or MessageTooLong when a note breaks the rules; a null note is fine.</summary>
    public static void Validate(CommitNote? note)
    {
        if (note is null) return;
        if (note.Message is { Length: > MaxMessageLength } message)
            throw PachException.Invalid("MessageTooLong",
                $"A message has at most {MaxMessageLength} characters; this one has {message.Length}.", message[..40] + "...");
        if (note.Metadata is { } metadata) ValidateMetadata(metadata);
    }

    private static void ValidateMetadata(IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var count = 0;
        var total = 0;
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || key.Any(char.IsControl))
                throw PachException.Invalid("InvalidMetadata",
                    $"Metadata key '{key}' is not valid: use 1 to {MaxKeyLength} characters and no control characters.", key);
            if (value is null)
                throw PachException.Invalid("InvalidMetadata", $"Metadata '{key}' has no value: values are strings.", key);
            if (value.Length > MaxValueLength || value.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')))
                throw PachException.Invalid("InvalidMetadata",
                    $"Metadata '{key}' is not valid: a value has at most {MaxValueLength} characters and no control characters other than tab and line breaks.", key);
            count++;
            total += key.Length + value.Length;
        }
        if (count > MaxPairs)
            throw PachException.Invalid("InvalidMetadata", $"A commit has at most {MaxPairs} metadata pairs; this one would have {count}.", count);
        if (total > MaxTotalLength)
            throw PachException.Invalid("InvalidMetadata",
                $"A commit's metadata has at most {MaxTotalLength} characters of keys and values; this one would have {total}.", total);
    }

    /// <summary>Puts a note on a commit (in the caller's transaction): the message replaces, metadata keys are added.</summary>
    internal static void Apply(CommitDoc commit, CommitNote? note)
    {
        if (note is null) return;
        if (note.Message is not null) commit.Message = note.Message;
        if (note.Metadata is not { Count: > 0 } metadata) return;
        var merged = commit.Metadata.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        foreach (var (key, value) in metadata) merged[key] = value;
        ValidateMetadata(merged);
        commit.Metadata = merged.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new MetadataEntryDoc { Key = e.Key, Value = e.Value }).ToList();
    }

    /// <summary>A commit's metadata as handed out: read-only, keys in ordinal order.</summary>
    internal static IReadOnlyDictionary<string, string> ToDictionary(List<MetadataEntryDoc>? entries)
    {
        if (entries is not { Count: > 0 }) return CommitNote.NoMetadata;
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in entries) sorted[e.Key] = e.Value;
        return new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(sorted);
    }
}
