using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// The last few lines of a datum's stderr (or, with <c>anyStream</c>, of all it wrote), for the reason a failed datum
/// gives. It is all an executor keeps of a datum's output: every line goes to the job's log as it is written.
/// </summary>
internal sealed class LogTail(bool anyStream = false)
{
    /// <summary>Lines a failure reason quotes.</summary>
    public const int Lines = 5;

    private readonly Queue<string> _lines = new();

    public void Add(ExecutionLog line)
    {
        if (!anyStream && line.Stream != "stderr") return;
        lock (_lines)
        {
            _lines.Enqueue(line.Message);
            if (_lines.Count > Lines) _lines.Dequeue();
        }
    }

    public void Clear()
    {
        lock (_lines) _lines.Clear();
    }

    /// <summary>": line | line | ..." to append to a reason, or "" when nothing was written.</summary>
    public override string ToString()
    {
        lock (_lines) return _lines.Count == 0 ? "" : ": " + string.Join(" | ", _lines);
    }

    /// <summary>The tail of lines already gathered.</summary>
    public static string Of(IEnumerable<ExecutionLog> logs, bool anyStream = false)
    {
        var tail = new LogTail(anyStream);
        foreach (var line in logs) tail.Add(line);
        return tail.ToString();
    }
}
