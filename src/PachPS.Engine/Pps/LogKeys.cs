using LiteDB;

namespace PachPS.Engine.Pps;

/// <summary>
/// Where a listing of log lines stands: a line's id (LiteDB's ObjectId, which grows as lines are written) is its
/// cursor, and a job's lines are read from an index on the job and the line id.
/// </summary>
internal static class LogKeys
{
    /// <summary>
    /// The index of a job's lines in line order: the job id, '|', then the line id as LiteDB writes it in text
    /// (<c>{"$oid":"…"}</c>, hex that sorts as the id does).
    /// </summary>
    public const string JobLineIndex = "JobLine", JobLineExpression = "$.Job + '|' + STRING($._id)";

    /// <summary>A line's key in <see cref="JobLineIndex"/>; with no line, the key before the job's first.</summary>
    public static string JobLine(string job, ObjectId? line) => job + "|" + (line is null ? "" : new BsonValue(line).ToString());

    /// <summary>A cursor (a line id) as the id it names; PageCursorInvalid when it is none.</summary>
    public static ObjectId? Parse(string? cursor)
    {
        if (cursor is null) return null;
        if (cursor.Length == 24 && cursor.All(Uri.IsHexDigit)) return new ObjectId(cursor);
        throw PachException.Invalid("PageCursorInvalid", $"'{cursor}' is not a cursor of a listing of log lines (a line id).", cursor);
    }
}
