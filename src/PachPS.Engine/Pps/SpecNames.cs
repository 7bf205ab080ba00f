using System.Text.Json.Nodes;

namespace PachPS.Engine.Pps;

/// <summary>
/// Reads a spec written in either of protobuf's JSON name styles (<c>parallelism_spec</c> or <c>parallelismSpec</c>,
/// at every level) into one: snake_case, as <see cref="SpecSchema"/> names the fields. Map keys (env,
/// node_selector) are data and stay as written. Fields PachPS does not implement are noted as written, each with what
/// that means; refused fields stop the spec with their own error.
/// </summary>
internal static class SpecNames
{
    /// <param name="lenient">For a spec read back from a store: a field given in both styles keeps the first, and nothing is refused.</param>
    public static JsonObject Normalize(JsonObject root, string pipeline, List<SpecFieldNote> notImplemented, bool lenient) =>
        Walk(root, SpecSchema.Request, "", pipeline, notImplemented, lenient);

    private static JsonObject Walk(JsonObject given, SpecMessage message, string path, string pipeline, List<SpecFieldNote> notes, bool lenient)
    {
        var result = new JsonObject();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in given)
        {
            var written = path + key;
            var field = message.Find(key);
            if (field is null)
            {
                if (!SpecSchema.IsUnset(value, null)) notes.Add(new SpecFieldNote(written, "not a field of Pachyderm's pipeline spec"));
                result[key] = value?.DeepClone();
                continue;
            }
            if (keys.TryGetValue(field.Name, out var first))
            {
                if (lenient) continue;
                throw PachException.Invalid("PipelineSpecInvalid",
                    $"Pipeline '{pipeline}': {path}{first} and {written} are the same field, written in both name styles; give it once.", pipeline);
            }
            keys[field.Name] = key;
            var unset = SpecSchema.IsUnset(value, field);
            if (field.Support == SpecSupport.NotImplemented && !unset) notes.Add(new SpecFieldNote(written, field.Note));
            if (field.Support == SpecSupport.Refused && field.ErrorId is { } id && !unset && !lenient) throw Refusal(id, written, pipeline);
            result[field.Name] = field.Message is { } child && field.Support != SpecSupport.NotImplemented
                ? Child(value, child, written, pipeline, notes, lenient)
                : value?.DeepClone();
        }
        return result;
    }

    private static JsonNode? Child(JsonNode? value, SpecMessage message, string path, string pipeline, List<SpecFieldNote> notes, bool lenient) => value switch
    {
        JsonObject o => Walk(o, message, path + ".", pipeline, notes, lenient),
        JsonArray items => new JsonArray(items.Select((item, i) => item is JsonObject o
            ? Walk(o, message, $"{path}[{i}].", pipeline, notes, lenient)
            : item?.DeepClone()).ToArray()),
        _ => value?.DeepClone(),
    };

    /// <summary>What a refused field means, and what to write instead.</summary>
    private static PachException Refusal(string id, string field, string pipeline) => new(id, PachErrorKind.NotSupported, id switch
    {
        "PipelineSpecBuildUnsupported" =>
            $"Pipeline '{pipeline}': {field} (Pachyderm 1.x build pipelines) is not supported. Put the code in a repo of its own " +
            "(New-PachRepo, Add-PachFile -Source <folder> -Recurse), add that repo as an input (cross it with the data input), and " +
            "write transform.cmd to run it, for example [\"python3\", \"/pfs/source/main.py\"], with transform.image an image that " +
            "has its dependencies; then remove transform.build.",
        "PipelineSpecUnsupportedInput" =>
            $"Pipeline '{pipeline}': {field}: git inputs (Pachyderm 1.x) are not supported; commit the repository's files to a repo " +
            "(Add-PachFile -Source <folder> -Recurse) and read that repo with a pfs input.",
        "PipelineSpecUnsupportedEgress" =>
            $"Pipeline '{pipeline}': {field}: egress to a SQL database is not supported; egress to an object store prefix " +
            "(\"egress\": {\"URL\": \"s3://bucket/prefix/\"}) or a folder (file:///folder) and load the files into the database from there.",
        _ => throw new InvalidOperationException($"No refusal message for {id}."),
    }, pipeline);
}
