using System.Collections;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using PachPS.Engine;
using PachPS.Engine.Pps;

namespace PachPS.Infrastructure;

/// <summary>
/// Turns -Path or -Spec (text in JSON or YAML, a hashtable or object, or a list of them) into parsed pipeline specs, in
/// the order given, and warns about the fields a spec sets that PachPS does not implement.
/// </summary>
internal static class SpecReader
{
    public static IReadOnlyList<PipelineSpec> Read(PSCmdlet cmdlet, string? path, object? spec)
    {
        string text;
        if (path is not null)
        {
            var file = cmdlet.GetUnresolvedProviderPathFromPSPath(path);
            if (!File.Exists(file))
                throw new PachException("PipelineSpecNotFound", PachErrorKind.NotFound, $"The spec file '{file}' does not exist.", file);
            text = File.ReadAllText(file);
        }
        else
        {
            var value = spec is PSObject ps && ps.BaseObject is not PSCustomObject ? ps.BaseObject : spec;
            text = value is string s ? s : ToJson(value)?.ToJsonString(Indented) ?? "null";
        }
        var parsed = PipelineSpec.ParseAll(text);
        foreach (var one in parsed.Where(p => p.Transform.Image is not null))
            cmdlet.WriteVerbose($"Pipeline '{one.Name}': transform.image '{one.Transform.Image}' is recorded; the local executor runs the command on this machine.");
        return parsed;
    }

    /// <summary>One warning for a pipeline created, updated or planned: the fields it sets that have no effect, and what that means.</summary>
    public static void WarnNotImplemented(PSCmdlet cmdlet, PipelineSpec spec)
    {
        var notes = spec.NotImplemented;
        if (notes.Count == 0) return;
        var one = notes.Count == 1;
        cmdlet.WriteWarning($"Pipeline '{spec.Name}': PachPS does not implement {(one ? "this field" : "these fields")} of the spec, so " +
            $"{(one ? "it has" : "they have")} no effect: {string.Join("; ", notes)}. {(one ? "It stays" : "They stay")} in the stored spec; " +
            "Get-Help about_PachPS_Spec lists every field.");
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static JsonNode? ToJson(object? value)
    {
        switch (value)
        {
            case null: return null;
            case PSObject { BaseObject: PSCustomObject } pso:
                var fromObject = new JsonObject();
                foreach (var p in pso.Properties) fromObject[p.Name] = ToJson(p.Value);
                return fromObject;
            case PSObject pso: return ToJson(pso.BaseObject);
            case IDictionary dict:
                var obj = new JsonObject();
                foreach (DictionaryEntry e in dict) obj[e.Key.ToString()!] = ToJson(e.Value);
                return obj;
            case string s: return JsonValue.Create(s);
            case bool b: return JsonValue.Create(b);
            case int or long or short or byte: return JsonValue.Create(Convert.ToInt64(value));
            case double or float or decimal: return JsonValue.Create(Convert.ToDouble(value));
            case IEnumerable items:
                var array = new JsonArray();
                foreach (var item in items) array.Add(ToJson(item));
                return array;
            default: return JsonValue.Create(value.ToString());
        }
    }
}
