using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PachPS.Engine.Pps;

/// <summary>How a spec was written.</summary>
public enum SpecFormat { Json, Yaml }

/// <summary>Where a spec stood in the text it came from: the Nth of Count, starting on a line.</summary>
public sealed record SpecSource(int Number, int Count, int Line)
{
    /// <summary>A spec that was the only one in its text.</summary>
    public static readonly SpecSource Single = new(1, 1, 1);

    public override string ToString() => $"spec {Number} of {Count} (line {Line})";

    /// <summary>The same failure, its message starting with which spec of several it is about.</summary>
    internal PachException Name(PachException ex) => Count <= 1 ? ex
        : new PachException(ex.ErrorId, ex.Kind, $"{char.ToUpperInvariant(ToString()[0])}{ToString()[1..]}: {ex.Message}", ex.Target, ex);
}

/// <summary>One spec of a text: its place, its own text, and its content as JSON (YAML is converted).</summary>
internal sealed record SpecDocument(int Line, SpecFormat Format, string Text, JsonNode? Root);

/// <summary>
/// Splits a text into the pipeline specs it holds, the way pachctl reads a file: JSON (one object, objects back to
/// back, or a list of them) or YAML (one document, `---`-separated documents, or a list). Syntax errors name the line
/// and column.
/// </summary>
internal static partial class SpecDocuments
{
    public static IReadOnlyList<SpecDocument> Split(string text)
    {
        var documents = Detect(text) == SpecFormat.Json ? JsonOrYaml(text) : Yaml(text);
        if (documents.Count == 0) throw PachException.Invalid("PipelineSpecInvalid", "The text holds no pipeline spec.", null);
        return documents;
    }

    /// <summary>
    /// JSON, read as JSON (objects back to back, exact texts, JSON's own errors); pachctl reads every file as YAML,
    /// so JSON objects separated by `---` lines, which Pachyderm's examples hold, are read as YAML documents. Only
    /// such a text is: other invalid JSON gets JSON's error, not YAML's looser reading of it.
    /// </summary>
    private static List<SpecDocument> JsonOrYaml(string text)
    {
        try { return Json(text); }
        catch (PachException json) when (json.ErrorId == "PipelineSpecInvalidJson" && DocumentMarker().IsMatch(text))
        {
            try { return Yaml(text); }
            catch (PachException) { throw json; }
        }
    }

    /// <summary>JSON when the first thing after spaces and JSON comments is '{' or '['; YAML otherwise.</summary>
    public static SpecFormat Detect(string text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]) || text[i] == '\uFEFF') i++;
            else if (string.CompareOrdinal(text, i, "//", 0, 2) == 0) i = text.IndexOf('\n', i) is var n and >= 0 ? n + 1 : text.Length;
            else if (string.CompareOrdinal(text, i, "/*", 0, 2) == 0) i = text.IndexOf("*/", i + 2, StringComparison.Ordinal) is var e and >= 0 ? e + 2 : text.Length;
            else break;
        }
        return i < text.Length && text[i] is '{' or '[' ? SpecFormat.Json : SpecFormat.Yaml;
    }

    // ---------------------------------------------------------------- JSON

    private static List<SpecDocument> Json(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var options = new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, AllowMultipleValues = true };
        var reader = new Utf8JsonReader(bytes, options);
        var documents = new List<SpecDocument>();
        try
        {
            RefuseDuplicateKeys(bytes, options);
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    documents.Add(JsonItem(ref reader, bytes));
                    continue;
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) documents.Add(JsonItem(ref reader, bytes));
            }
        }
        catch (JsonException ex)
        {
            throw PachException.Invalid("PipelineSpecInvalidJson",
                $"The pipeline spec is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, column {(ex.BytePositionInLine ?? 0) + 1}): {FirstSentence(ex.Message)}", null);
        }
        return documents;
    }

    /// <summary>A key given twice in one object (JsonNode would fail on it later, with no position).</summary>
    private static void RefuseDuplicateKeys(byte[] bytes, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(bytes, options);
        var objects = new Stack<HashSet<string>>();
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.StartObject) objects.Push(new HashSet<string>(StringComparer.Ordinal));
            else if (reader.TokenType == JsonTokenType.EndObject) objects.Pop();
            else if (reader.TokenType == JsonTokenType.PropertyName && !objects.Peek().Add(reader.GetString()!))
            {
                var start = (int)reader.TokenStartIndex;
                var line = 1 + bytes.AsSpan(0, start).Count((byte)'\n');
                var column = start - bytes.AsSpan(0, start).LastIndexOf((byte)'\n');
                throw PachException.Invalid("PipelineSpecInvalidJson",
                    $"The pipeline spec is not valid JSON (line {line}, column {column}): the key '{reader.GetString()}' is given twice in one object.", null);
            }
        }
    }

    private static SpecDocument JsonItem(ref Utf8JsonReader reader, byte[] bytes)
    {
        var start = (int)reader.TokenStartIndex;
        var node = JsonNode.Parse(ref reader);
        var end = (int)reader.BytesConsumed;
        var line = 1 + bytes.AsSpan(0, start).Count((byte)'\n');
        return new SpecDocument(line, SpecFormat.Json, Encoding.UTF8.GetString(bytes, start, end - start), node);
    }

    /// <summary>System.Text.Json's message without the position and path it appends (the position is given our way).</summary>
    private static string FirstSentence(string message)
    {
        foreach (var tail in new[] { " LineNumber:", " Path:" })
        {
            var i = message.IndexOf(tail, StringComparison.Ordinal);
            if (i > 0) message = message[..i];
        }
        return message.Trim();
    }

    // ---------------------------------------------------------------- YAML

    private static List<SpecDocument> Yaml(string text)
    {
        var documents = new List<SpecDocument>();
        var reader = new YamlTree(new Parser(new StringReader(text)));
        try
        {
            reader.Take<StreamStart>();
            var previousEnd = 0;
            while (reader.Next is DocumentStart)
            {
                var start = reader.Take<DocumentStart>();
                if (reader.Next is SequenceStart)
                {
                    // A list of specs: each item is a spec of its own, with its own text.
                    reader.Take<SequenceStart>();
                    while (reader.Next is not SequenceEnd)
                    {
                        var from = reader.Next.Start;
                        var item = reader.Node();
                        if (item is not null)
                        {
                            var itemText = Slice(text, from, reader.LastEnd);
                            documents.Add(new SpecDocument((int)from.Line, Detect(itemText), itemText, item));
                        }
                    }
                    reader.Take<SequenceEnd>();
                    previousEnd = (int)reader.Take<DocumentEnd>().End.Index;
                    continue;
                }
                var line = (int)reader.Next.Start.Line;
                var root = reader.Node();
                var end = reader.Take<DocumentEnd>();
                var textStart = Math.Min(start.IsImplicit ? previousEnd : (int)start.End.Index, text.Length);
                var own = text[textStart..Math.Min(Math.Max(textStart, (int)end.Start.Index), text.Length)];
                previousEnd = (int)end.End.Index;
                // An empty document (a trailing `---`) holds no spec.
                if (root is not null) documents.Add(new SpecDocument(line, Detect(own), own.Trim(), root));
            }
            reader.Take<StreamEnd>();
        }
        catch (YamlException ex)
        {
            throw YamlInvalid(ex.Start, YamlMessage().Replace(ex.Message, "").Trim());
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some broken texts ("- {\n>") instead of with a YamlException.
            throw YamlInvalid(reader.LastEnd, "the text cannot be read as YAML past this point (look for an unclosed '{' or '[').");
        }
        catch (ArgumentException ex)
        {
            // And its parser this way on a tag that is no URI ("!!!!] !").
            throw YamlInvalid(reader.LastEnd, ex.Message.Replace($" (Parameter '{ex.ParamName}')", ""));
        }
        return documents;
    }

    /// <summary>An item of a block list, its first line indented as it stood, the whole dedented.</summary>
    private static string Slice(string text, Mark from, Mark to)
    {
        var start = Math.Min((int)from.Index, text.Length);
        var end = Math.Min(Math.Max((int)to.Index, start), text.Length);
        var lines = (new string(' ', (int)from.Column - 1) + text[start..end].TrimEnd()).Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    /// <summary>YAML events read into JSON nodes, with anchors, aliases and merge keys; remembers where the last event ended.</summary>
    private sealed class YamlTree(IParser parser)
    {
        private readonly Dictionary<string, JsonNode?> _anchors = new(StringComparer.Ordinal);

        public ParsingEvent Next => parser.Current ?? (parser.MoveNext() ? parser.Current! : throw new YamlException("unexpected end of the text"));
        public Mark LastEnd { get; private set; } = Mark.Empty;

        public T Take<T>() where T : ParsingEvent
        {
            var taken = Next as T ?? throw new YamlException(Next.Start, Next.End, $"expected {typeof(T).Name}, found {Next.GetType().Name}.");
            LastEnd = taken.End;
            parser.MoveNext();
            return taken;
        }

        public JsonNode? Node()
        {
            switch (Take<ParsingEvent>())
            {
                case AnchorAlias alias:
                    return _anchors.TryGetValue(alias.Value.Value, out var anchored)
                        ? anchored?.DeepClone() : throw YamlInvalid(alias.Start, $"the alias *{alias.Value.Value} names no anchor before it.");
                case Scalar scalar:
                    return Remember(scalar.Anchor, Typed(scalar));
                case SequenceStart sequence:
                    var list = new JsonArray();
                    while (Next is not SequenceEnd) list.Add(Node());
                    Take<SequenceEnd>();
                    return Remember(sequence.Anchor, list);
                case MappingStart mapping:
                    var map = new JsonObject();
                    while (Next is not MappingEnd)
                    {
                        var at = Next.Start;
                        if (Node() is not JsonValue keyNode) throw YamlInvalid(at, "a mapping key must be a plain value.");
                        var key = keyNode.ToString();
                        var value = Node();
                        if (key == "<<" && value is JsonObject or JsonArray) Merge(map, value, at);
                        else if (!map.TryAdd(key, value)) throw YamlInvalid(at, $"the key '{key}' is given twice.");
                    }
                    Take<MappingEnd>();
                    return Remember(mapping.Anchor, map);
                case var other:
                    throw YamlInvalid(other.Start, "unexpected " + other.GetType().Name + ".");
            }
        }

        private JsonNode? Remember(AnchorName anchor, JsonNode? node)
        {
            if (!anchor.IsEmpty) _anchors[anchor.Value] = node?.DeepClone();
            return node;
        }
    }

    /// <summary>A merge key (<c>&lt;&lt;: *defaults</c>): the anchored mapping's keys that this mapping lacks.</summary>
    private static void Merge(JsonObject into, JsonNode from, Mark at)
    {
        foreach (var source in from is JsonArray many ? many.ToList() : [from])
        {
            if (source is not JsonObject mapping) throw YamlInvalid(at, "a merge key (<<) takes a mapping or a list of mappings.");
            foreach (var (key, value) in mapping)
                if (!into.ContainsKey(key)) into[key] = value?.DeepClone();
        }
    }

    /// <summary>A scalar as YAML 1.2's core schema types it: quoted or tagged !!str is text; plain null, booleans and numbers are typed.</summary>
    private static JsonNode? Typed(Scalar scalar)
    {
        var tag = scalar.Tag.IsEmpty || scalar.Tag.IsNonSpecific ? null : scalar.Tag.Value;
        var text = scalar.Value;
        if (tag == "tag:yaml.org,2002:str" || (tag is null && scalar.Style != ScalarStyle.Plain)) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
            return JsonValue.Create(whole);
        // A number past double's range (1e999) parses as infinity, which JSON cannot hold: it stays text.
        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            return JsonValue.Create(real);
        return JsonValue.Create(text);
    }

    private static PachException YamlInvalid(Mark at, string message) =>
        PachException.Invalid("PipelineSpecInvalidYaml", $"The pipeline spec is not valid YAML (line {at.Line}, column {at.Column}): {message}", null);

    [GeneratedRegex(@"^---[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex DocumentMarker();

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    /// <summary>YamlDotNet's "(Line: 2, Col: 1, Idx: 9) - (Line: 2, Col: 5, Idx: 13): " prefix; the position is given our way.</summary>
    [GeneratedRegex(@"^\(Line: [^)]*\) - \(Line: [^)]*\):")]
    private static partial Regex YamlMessage();
}
