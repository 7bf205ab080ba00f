using System.Text;

namespace PachPS.Engine.Pps;

public enum DagNodeKind { Repo, Pipeline }

/// <summary>A repo or a pipeline (whose output repo has its name), with its newest job's state.</summary>
public sealed record DagNode(string Name, DagNodeKind Kind, JobState? LatestJobState, string? Head);

/// <summary>Data flows from <see cref="From"/> into <see cref="To"/> (through input <see cref="Input"/>).</summary>
public sealed record DagEdge(string From, string To, string Input);

/// <summary>The graph of repos and pipelines, with renderings for the console and for documents.</summary>
public sealed record PachDag(IReadOnlyList<DagNode> Nodes, IReadOnlyList<DagEdge> Edges)
{
    /// <summary>Each node's depth: 0 for a source, else one more than its deepest input.</summary>
    public IReadOnlyDictionary<string, int> Layers()
    {
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        int Depth(string n, HashSet<string> seen)
        {
            if (depth.TryGetValue(n, out var d)) return d;
            if (!seen.Add(n)) return 0;
            var inputs = Edges.Where(e => e.To == n).Select(e => e.From).ToList();
            d = inputs.Count == 0 ? 0 : inputs.Max(i => Depth(i, seen)) + 1;
            depth[n] = d;
            return d;
        }
        foreach (var n in Nodes) Depth(n.Name, []);
        return depth;
    }

    /// <summary>Boxes layer by layer, each followed by the arrows out of it (like pachctl draw pipeline).</summary>
    public string ToText()
    {
        var layers = Layers();
        var sb = new StringBuilder();
        foreach (var layer in Nodes.GroupBy(n => layers[n.Name]).OrderBy(g => g.Key))
        {
            var boxes = layer.OrderBy(n => n.Name, StringComparer.Ordinal).Select(Box).ToList();
            for (var line = 0; line < 3; line++) sb.AppendLine(string.Join("   ", boxes.Select(b => b[line])).TrimEnd());
            foreach (var node in layer.OrderBy(n => n.Name, StringComparer.Ordinal))
                foreach (var edge in Edges.Where(e => e.From == node.Name).OrderBy(e => e.To, StringComparer.Ordinal))
                    sb.AppendLine($"  {edge.From} ──▶ {edge.To}" + (edge.Input == edge.From ? "" : $" (as {edge.Input})"));
            sb.AppendLine();
        }
        return sb.ToString().TrimEnd() + Environment.NewLine;
    }

    private static string[] Box(DagNode node)
    {
        var label = node.Kind == DagNodeKind.Repo ? node.Name : $"{node.Name} ⚙ {node.LatestJobState?.ToString() ?? "no job"}";
        var bar = new string('─', label.Length + 2);
        return [$"┌{bar}┐", $"│ {label} │", $"└{bar}┘"];
    }

    public string ToMermaid()
    {
        var sb = new StringBuilder("graph LR\n");
        foreach (var n in Nodes.OrderBy(n => n.Name, StringComparer.Ordinal))
            sb.AppendLine(n.Kind == DagNodeKind.Repo ? $"  {Id(n.Name)}[(\"{n.Name}\")]" : $"  {Id(n.Name)}[[\"{n.Name}: {n.LatestJobState?.ToString() ?? "no job"}\"]]");
        foreach (var e in Edges) sb.AppendLine($"  {Id(e.From)} --> {Id(e.To)}");
        return sb.ToString();
    }

    public string ToDot()
    {
        var sb = new StringBuilder("digraph pachps {\n  rankdir=LR;\n");
        foreach (var n in Nodes.OrderBy(n => n.Name, StringComparer.Ordinal))
            sb.AppendLine(n.Kind == DagNodeKind.Repo
                ? $"  \"{n.Name}\" [shape=cylinder];"
                : $"  \"{n.Name}\" [shape=box, label=\"{n.Name}\\n{n.LatestJobState?.ToString() ?? "no job"}\"];");
        foreach (var e in Edges) sb.AppendLine($"  \"{e.From}\" -> \"{e.To}\";");
        return sb.Append("}\n").ToString();
    }

    private static string Id(string name) => "n_" + name.Replace('-', '_');
}
