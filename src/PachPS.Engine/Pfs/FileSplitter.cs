namespace PachPS.Engine.Pfs;

/// <summary>How <c>Add-PachFile -Split</c> cuts a file into records.</summary>
public enum SplitMode { Line, Json }

/// <summary>
/// Cuts a stream into pieces of whole records (lines, or top-level JSON values): at most <c>targetDatums</c> records
/// and about <c>targetBytes</c> bytes per piece (a record is never cut). Streams: one piece is in memory at a time.
/// </summary>
public static class FileSplitter
{
    /// <summary>The path of piece <paramref name="index"/> of a file split at <paramref name="folder"/>: 16 hex digits, so pieces sort in order.</summary>
    public static string PieceName(string folder, int index) => $"{folder}/{index:x16}";

    public static IEnumerable<byte[]> Split(Stream input, SplitMode mode, int targetDatums = 0, long targetBytes = 0)
    {
        if (targetDatums <= 0 && targetBytes <= 0) targetDatums = 1;
        using var piece = new MemoryStream();
        var records = 0;
        foreach (var record in mode == SplitMode.Line ? Lines(input) : JsonValues(input))
        {
            if (records > 0 && targetBytes > 0 && piece.Length + record.Length > targetBytes)
            {
                yield return piece.ToArray();
                piece.SetLength(0);
                records = 0;
            }
            piece.Write(record);
            records++;
            if ((targetDatums > 0 && records >= targetDatums) || (targetBytes > 0 && piece.Length >= targetBytes))
            {
                yield return piece.ToArray();
                piece.SetLength(0);
                records = 0;
            }
        }
        if (piece.Length > 0) yield return piece.ToArray();
    }

    private static IEnumerable<byte[]> Lines(Stream input)
    {
        using var record = new MemoryStream();
        int b;
        while ((b = input.ReadByte()) >= 0)
        {
            record.WriteByte((byte)b);
            if (b != '\n') continue;
            yield return record.ToArray();
            record.SetLength(0);
        }
        if (record.Length > 0) yield return record.ToArray();
    }

    /// <summary>Top-level JSON values (objects or arrays) of a stream such as newline-delimited JSON.</summary>
    private static IEnumerable<byte[]> JsonValues(Stream input)
    {
        using var record = new MemoryStream();
        int depth = 0, b;
        bool inString = false, escaped = false;
        while ((b = input.ReadByte()) >= 0)
        {
            if (depth == 0 && record.Length == 0)
            {
                if (char.IsWhiteSpace((char)b)) continue;
                if (b is not ('{' or '['))
                    throw PachException.Invalid("SplitInvalidJson", $"The input is not a stream of JSON objects or arrays (found '{(char)b}' between values).", null);
            }
            record.WriteByte((byte)b);
            if (inString)
            {
                if (escaped) escaped = false;
                else if (b == '\\') escaped = true;
                else if (b == '"') inString = false;
                continue;
            }
            switch (b)
            {
                case '"': inString = true; break;
                case '{' or '[': depth++; break;
                case '}' or ']':
                    if (--depth == 0)
                    {
                        record.WriteByte((byte)'\n');
                        yield return record.ToArray();
                        record.SetLength(0);
                    }
                    break;
            }
        }
        if (depth != 0 || inString)
            throw PachException.Invalid("SplitInvalidJson", "The JSON input ends inside a value.", null);
    }
}
