using System.Collections;
using System.Management.Automation;
using System.Text.Json.Nodes;
using PachPS.Engine;
using PachPS.Engine.Pps;

namespace PachPS.Infrastructure;

/// <summary>Turns -Path or -Spec (JSON text, hashtable or PSObject) into a parsed pipeline spec.</summary>
internal static class SpecReader
{
    public static PipelineSpec Read(PSCmdlet cmdlet, string? path, object? spec)
    {
        string json;
        if (path is not null)
        {
            var file = cmdlet.GetUnresolvedProviderPathFromPSPath(path);
            if (!File.Exists(file))
                throw new PachException("PipelineSpecNotFound", PachErrorKind.NotFound, $"The spec file '{file}' does not exist.", file);
            json = File.ReadAllText(file);
        }
        else
        {
            var value = spec is PSObject ps && ps.BaseObject is not PSCustomObject ? ps.BaseObject : spec;
            json = value is string s ? s : ToJson(value)?.ToJsonString() ?? "null";
        }
        var parsed = PipelineSpec.Parse(json);
        foreach (var field in parsed.UnknownFields)
            cmdlet.WriteVerbose($"Pipeline '{parsed.Name}': field '{field}' is not used by PachPS; it is kept in the stored spec.");
        if (parsed.Transform.Image is not null)
            cmdlet.WriteVerbose($"Pipeline '{parsed.Name}': transform.image '{parsed.Transform.Image}' is recorded; the local executor runs the command on this machine.");
        return parsed;
    }

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
