using System.Reflection;
using System.Text.RegularExpressions;
using PachPS.Engine;

namespace PachPS.Tests.Unit;

/// <summary>
/// The engine's structure (issue 13): data flows one way through its areas, no type holds its owner, and the cmdlets
/// reach the engine only through its service interfaces.
/// </summary>
public class ArchitectureTests
{
    private static readonly string Source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src"));

    /// <summary>Which areas each area may use: lower layers only (Interop and Storage at the bottom, Provenance and Collection on top).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Interop"] = [],
        ["Metadata"] = [],
        ["Storage"] = ["Interop"],
        ["Pfs"] = ["Storage", "Metadata", "Interop"],
        ["Pps"] = ["Pfs", "Storage", "Metadata", "Interop"],
        ["Execution"] = ["Pps", "Storage", "Metadata", "Interop"],
        ["Provenance"] = ["Pps", "Pfs", "Storage", "Metadata"],
        ["Collection"] = ["Pps", "Pfs", "Storage", "Metadata"],
    };

    [Fact]
    public void EachAreaUsesOnlyTheAreasBelowIt()
    {
        var areas = Allowed.Keys.ToArray();
        var reference = new Regex(@"using PachPS\.Engine\.(\w+)|PachPS\.Engine\.(\w+)\.|(?<![\w.])(" + string.Join('|', areas) + @")\.[A-Z]\w*");
        var found = new List<string>();
        foreach (var area in areas)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Source, "PachPS.Engine", area), "*.cs", SearchOption.AllDirectories))
            {
                var code = string.Join('\n', File.ReadLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
                foreach (Match m in reference.Matches(code))
                {
                    var used = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
                    if (used == area || !areas.Contains(used) || Allowed[area].Contains(used)) continue;
                    // "Provenance.X" inside Pfs or Pps is a commit's provenance list, not the area.
                    if (used == "Provenance" && m.Groups[3].Success && area is "Pfs" or "Pps") continue;
                    found.Add($"{Path.GetRelativePath(Source, file)} uses {used}: {m.Value}");
                }
            }
        }
        Assert.Empty(found);
    }

    [Fact]
    public void NoEngineTypeHoldsTheStoreOrAServiceThatOwnsIt()
    {
        var engine = typeof(PachStore).Assembly;
        var owners = new[] { typeof(PachStore), typeof(Engine.Pps.PpsService), typeof(Engine.Pfs.PfsService), typeof(Engine.Provenance.ProvenanceService) };
        var holders = new List<string>();
        // Closures the compiler makes capture their method's `this`; they live only as long as the call.
        foreach (var type in engine.GetTypes().Where(t => !t.Name.Contains('<') && !(t.DeclaringType?.Name.Contains('<') ?? false)))
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                foreach (var held in Unwrap(field.FieldType).Where(owners.Contains))
                {
                    // PachStore owns the services; the services below Pps may hold Pfs (they use it, it does not hold them).
                    if (type == typeof(PachStore)) continue;
                    if (held == typeof(Engine.Pfs.PfsService) && type.Namespace is "PachPS.Engine.Pps" or "PachPS.Engine.Provenance") continue;
                    holders.Add($"{type.FullName}.{field.Name} holds {held.Name}");
                }
            }
        }
        Assert.Empty(holders);
    }

    [Fact]
    public void CmdletsReachTheEngineOnlyThroughItsServiceInterfaces()
    {
        var concrete = new Regex(@"\b(PfsService|PpsService|ProvenanceService|JobScheduler|JobRunner|PipelineRegistry|ContentStore|MetadataStore)\b");
        var found = Directory.EnumerateFiles(Path.Combine(Source, "PachPS"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => concrete.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(Source, x.f)}:{x.i + 1}: {x.line.Trim()}").ToList();
        Assert.Empty(found);
    }

    private static IEnumerable<Type> Unwrap(Type type)
    {
        yield return type;
        if (type.HasElementType) foreach (var t in Unwrap(type.GetElementType()!)) yield return t;
        foreach (var arg in type.IsGenericType ? type.GetGenericArguments() : []) foreach (var t in Unwrap(arg)) yield return t;
    }
}
