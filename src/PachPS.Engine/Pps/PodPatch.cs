using System.Text.Json;
using System.Text.Json.Nodes;

namespace PachPS.Engine.Pps;

/// <summary>A pipeline's pod_patch: an RFC 6902 JSON Patch, checked when the spec is read and applied to the pod spec's JSON.</summary>
public sealed class PodPatch
{
    // A JsonElement, not a JsonArray: JsonNodes fill themselves in lazily and are not safe to read from several
    // threads, and one pipeline's patch is applied to many datums' pods at once.
    private readonly JsonElement _operations;

    private PodPatch(string text, JsonElement operations)
    {
        Text = text;
        _operations = operations;
    }

    /// <summary>The patch as the spec gave it.</summary>
    public string Text { get; }

    /// <summary>Reads a pod_patch: a JSON array of operations, each with a known op and a path.</summary>
    public static PodPatch Parse(string text, string pipeline)
    {
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(text); }
        catch (JsonException ex) { throw Invalid(pipeline, $"pod_patch is not a JSON Patch array: {ex.Message}"); }
        if (parsed is not JsonArray operations) throw Invalid(pipeline, "pod_patch must be a JSON Patch array");
        foreach (var op in operations)
        {
            if (op is not JsonObject o || o["op"]?.GetValueKind() != JsonValueKind.String || o["path"]?.GetValueKind() != JsonValueKind.String)
                throw Invalid(pipeline, "every pod_patch operation needs an op and a path");
            if (o["op"]!.GetValue<string>() is not ("add" or "remove" or "replace" or "copy" or "move" or "test"))
                throw Invalid(pipeline, $"pod_patch has an unknown op '{o["op"]}'");
        }
        return new PodPatch(text, JsonElement.Parse(text));
    }

    /// <summary>The pod spec's JSON with the operations applied in order; <paramref name="pod"/> may be changed in place.</summary>
    public JsonObject ApplyTo(JsonObject pod, string pipeline) =>
        JsonPatch.Apply(pod, JsonArray.Create(_operations)!, pipeline) as JsonObject ?? throw Invalid(pipeline, "pod_patch must leave the pod spec an object");

    public override string ToString() => Text;

    internal static PachException Invalid(string pipeline, string message) =>
        PachException.Invalid("PipelineSpecInvalidPodPatch", $"Pipeline '{pipeline}': {message}.", pipeline);
}
