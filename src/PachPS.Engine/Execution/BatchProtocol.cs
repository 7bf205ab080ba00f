using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// The datum_batching protocol in one place: the worker writes "next" to $PACH_DATUM_REQUEST and reads one line from
/// $PACH_DATUM_RESPONSE ("datum &lt;id&gt;" or "done"); the datum's variables are in $PACH_DATUM_ENV as KEY='value' lines.
/// </summary>
public static class BatchProtocol
{
    public const string RequestVariable = "PACH_DATUM_REQUEST";
    public const string ResponseVariable = "PACH_DATUM_RESPONSE";
    public const string EnvironmentVariable = "PACH_DATUM_ENV";

    /// <summary>Writes a datum's variables so that sh can source them.</summary>
    public static void WriteEnvironment(string path, IReadOnlyDictionary<string, string> env) =>
        File.WriteAllLines(path, env.Select(kv => $"{kv.Key}='{kv.Value.Replace("'", "'\\''")}'"));

    /// <summary>Reads what <see cref="WriteEnvironment"/> wrote.</summary>
    public static Dictionary<string, string> ReadEnvironment(string path)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') value = value[1..^1].Replace("'\\''", "'");
            env[line[..eq]] = value;
        }
        return env;
    }

    /// <summary>
    /// The worker's side: finishes the current datum and asks for the next one; returns its id and variables, or null
    /// when none is left. Uses the protocol's environment variables of this process.
    /// </summary>
    public static (string DatumId, Dictionary<string, string> Variables)? RequestNext()
    {
        var request = Environment.GetEnvironmentVariable(RequestVariable);
        var response = Environment.GetEnvironmentVariable(ResponseVariable);
        var envFile = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (request is null || response is null || envFile is null)
            throw PachException.State("NotInBatchTransform", "This works only inside a transform of a pipeline with datum_batching: true.", null);
        File.AppendAllText(request, "next\n");
        string reply;
        using (var reader = new StreamReader(response)) reply = reader.ReadLine()?.Trim() ?? "done";
        if (reply == "done" || !reply.StartsWith("datum ", StringComparison.Ordinal)) return null;
        return (reply["datum ".Length..], ReadEnvironment(envFile));
    }
}
