using System.Text.Json.Nodes;

namespace PachPS.Engine.Pps;

/// <summary>RFC 6902 JSON Patch (add, remove, replace, copy, move, test) applied to a JSON document: the work of a <see cref="PodPatch"/>.</summary>
/// <remarks>
/// Hand-written because Microsoft.AspNetCore.JsonPatch.SystemTextJson needs the ASP.NET Core shared framework
/// (its JsonPatchDocument implements an interface from Microsoft.AspNetCore.Http.Abstractions), which PowerShell does not load.
/// </remarks>
internal static class JsonPatch
{
    /// <summary>The document with the operations applied in order (changed in place unless the root itself is replaced).</summary>
    public static JsonNode? Apply(JsonNode? root, JsonArray operations, string pipeline)
    {
        foreach (var op in operations.OfType<JsonObject>())
        {
            var kind = op["op"]?.GetValue<string>();
            var path = op["path"]?.GetValue<string>() ?? throw Invalid(pipeline, "a pod_patch operation has no path");
            switch (kind)
            {
                case "add": root = Set(root, path, op["value"]?.DeepClone(), insert: true, pipeline); break;
                case "replace": Get(root, path, pipeline); root = Set(root, path, op["value"]?.DeepClone(), insert: false, pipeline); break;
                case "remove": root = Remove(root, path, pipeline); break;
                case "copy": root = Set(root, path, Get(root, From(op, pipeline), pipeline)?.DeepClone(), insert: true, pipeline); break;
                case "move":
                    var value = Get(root, From(op, pipeline), pipeline)?.DeepClone();
                    root = Remove(root, From(op, pipeline), pipeline);
                    root = Set(root, path, value, insert: true, pipeline);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(root, path, pipeline), op["value"])) throw Invalid(pipeline, $"pod_patch test failed at {path}");
                    break;
                default: throw Invalid(pipeline, $"pod_patch has an unknown op '{kind}'");
            }
        }
        return root;
    }

    private static string From(JsonObject op, string pipeline) => op["from"]?.GetValue<string>() ?? throw Invalid(pipeline, "a pod_patch copy/move has no from");

    private static string[] Tokens(string path) =>
        path.Length == 0 ? [] : path[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToArray();

    private static string Pointer(IEnumerable<string> tokens) => string.Concat(tokens.Select(t => "/" + t.Replace("~", "~0").Replace("/", "~1")));

    private static JsonNode? Get(JsonNode? root, string path, string pipeline)
    {
        var node = root;
        foreach (var token in Tokens(path))
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(token, out var child) => child,
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw Invalid(pipeline, $"pod_patch path {path} does not exist"),
            };
        }
        return node;
    }

    private static JsonNode? Set(JsonNode? root, string path, JsonNode? value, bool insert, string pipeline)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0) return value;
        var parent = Get(root, Pointer(tokens[..^1]), pipeline);
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when last == "-": a.Add(value); break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                if (insert) a.Insert(i, value);
                else a[i] = value;
                break;
            default: throw Invalid(pipeline, $"pod_patch cannot set {path}");
        }
        return root;
    }

    private static JsonNode? Remove(JsonNode? root, string path, string pipeline)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0) throw Invalid(pipeline, "pod_patch cannot remove the whole pod spec");
        var parent = Get(root, Pointer(tokens[..^1]), pipeline);
        var last = tokens[^1];
        var removed = parent switch
        {
            JsonObject o => o.Remove(last),
            JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count => RemoveAt(a, i),
            _ => false,
        };
        if (!removed) throw Invalid(pipeline, $"pod_patch path {path} does not exist");
        return root;
    }

    private static bool RemoveAt(JsonArray array, int index)
    {
        array.RemoveAt(index);
        return true;
    }

    private static PachException Invalid(string pipeline, string message) => PodPatch.Invalid(pipeline, message);
}
