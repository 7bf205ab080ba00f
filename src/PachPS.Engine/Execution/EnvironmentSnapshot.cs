using System.Collections;
using System.Text;

namespace PachPS.Engine.Execution;

/// <summary>The session's environment variables taken once, to start many children with (reading it costs more than starting sh).</summary>
internal sealed class EnvironmentSnapshot
{
    private EnvironmentSnapshot(List<(string Key, string Value, byte[] Entry)> entries) => Entries = entries;

    /// <summary>Each variable with its KEY=value entry as NUL-terminated UTF-8.</summary>
    public IReadOnlyList<(string Key, string Value, byte[] Entry)> Entries { get; }

    public static EnvironmentSnapshot Capture()
    {
        var entries = new List<(string, string, byte[])>();
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            var (key, value) = ((string)e.Key, (string?)e.Value ?? "");
            entries.Add((key, value, Encoding.UTF8.GetBytes($"{key}={value}\0")));
        }
        return new EnvironmentSnapshot(entries);
    }
}
