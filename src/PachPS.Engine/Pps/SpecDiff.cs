using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The differences between two spec documents, one entry per changed JSON path: objects are compared key by key,
/// arrays index by index, anything else by value. A path whose kind of value changed (an object that became a string)
/// is one entry holding both whole values. Values are JSON text, so "3" and 3 differ as they do in the spec.
/// </summary>
internal static partial class SpecDiff
{
    internal sealed record Entry(string Path, DiffChange Change, string? Old, string? New);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainName();

    public static List<Entry> Compare(string oldJson, string newJson)
    {
        var result = new List<Entry>();
        Walk(JsonNode.Parse(oldJson), JsonNode.Parse(newJson), "", result);
        return result;
    }

    private static void Walk(JsonNode? a, JsonNode? b, string path, List<Entry> result)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var (key, value) in oa)
            {
                if (ob.TryGetPropertyValue(key, out var other)) Walk(value, other, Member(path, key), result);
                else result.Add(new Entry(Member(path, key), DiffChange.Removed, Text(value), null));
            }
            foreach (var (key, value) in ob.Where(p => !oa.ContainsKey(p.Key)))
                result.Add(new Entry(Member(path, key), DiffChange.Added, null, Text(value)));
            return;
        }
        if (a is JsonArray aa && b is JsonArray ab)
        {
            for (var i = 0; i < Math.Max(aa.Count, ab.Count); i++)
            {
                var at = $"{path}[{i}]";
                if (i >= ab.Count) result.Add(new Entry(at, DiffChange.Removed, Text(aa[i]), null));
                else if (i >= aa.Count) result.Add(new Entry(at, DiffChange.Added, null, Text(ab[i])));
                else Walk(aa[i], ab[i], at, result);
            }
            return;
        }
        if (!JsonNode.DeepEquals(a, b)) result.Add(new Entry(path.Length == 0 ? "$" : path, DiffChange.Modified, Text(a), Text(b)));
    }

    /// <summary>transform.cmd, or transform.env["MY.VAR"] for a key that is not a plain name.</summary>
    private static string Member(string path, string key) =>
        PlainName().IsMatch(key) ? (path.Length == 0 ? key : $"{path}.{key}") : $"{path}[{JsonSerializer.Serialize(key)}]";

    private static string Text(JsonNode? node) => node is null ? "null" : node.ToJsonString();
}
