using System.Text.Json;
using ScottPlot;

// The scale bench's figures (out/bench/scale.json, written by build/Bench.ps1 -Only Scale) as a plot: per-item cost of
// each timed measure against the number of items, both axes logarithmic, one series per measure. A flat line is a cost
// that grows in proportion to the size; a rising one grows faster.
// With a third argument, also the figures as a markdown table (the one docs/scale.md shows).
if (args is not [var jsonPath, var pngPath, ..] || args.Length > 3)
{
    Console.Error.WriteLine("usage: ScalePlot <scale.json> <scale.png> [scale-table.md]");
    return 2;
}
using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
var all = json.RootElement.GetProperty("Rows").EnumerateArray()
    .Select(r => (Measure: r.GetProperty("Measure").GetString()!, N: r.GetProperty("N").GetDouble(), Value: r.GetProperty("Value").GetDouble(),
        Unit: r.GetProperty("Unit").GetString()!, PerItem: r.GetProperty("PerItem").GetDouble(), PerItemUnit: r.GetProperty("PerItemUnit").GetString()!,
        PeakRss: r.GetProperty("PeakRss").GetDouble(), Load: r.GetProperty("Load").GetString()!))
    .ToList();
if (args.Length == 3) File.WriteAllText(args[2], Table());
var rows = all.Where(r => r.PerItemUnit.StartsWith("µs", StringComparison.Ordinal) && r.PerItem > 0).ToList();
var plot = new Plot();
var palette = new ScottPlot.Palettes.Category20();
var index = 0;
foreach (var measure in rows.GroupBy(r => r.Measure))
{
    var points = measure.OrderBy(r => r.N).ToArray();
    var line = plot.Add.Scatter(points.Select(p => Math.Log10(p.N)).ToArray(), points.Select(p => Math.Log10(p.PerItem)).ToArray());
    line.LegendText = measure.Key;
    line.Color = palette.GetColor(index++);
    line.LineWidth = 2;
    line.MarkerSize = 7;
}
// Log scales: the data are plotted as log10, the ticks are labelled with the real values.
static string Label(double log) => Math.Pow(10, log) switch
{
    >= 1e6 and var v => $"{v / 1e6:0.#}M",
    >= 1e3 and var v => $"{v / 1e3:0.#}k",
    >= 1 and var v => $"{v:0.#}",
    var v => $"{v:0.###}",
};
var minorTicks = new ScottPlot.TickGenerators.LogMinorTickGenerator();
plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { MinorTickGenerator = minorTicks, IntegerTicksOnly = true, LabelFormatter = Label };
plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { MinorTickGenerator = minorTicks, IntegerTicksOnly = true, LabelFormatter = Label };
plot.Title("PachPS: cost per item as the size grows");
plot.XLabel("items (files, datums, commits, jobs)");
plot.YLabel("µs per item");
plot.ShowLegend(Edge.Right);
plot.SavePng(pngPath, 1400, 700);
Console.WriteLine($"wrote {pngPath}");
return 0;

// One line per measure and size: the figure, the cost per item, its ratio to the smallest size's, the peak memory of
// the process that measured it and the load average (1, 5, 15 minutes) when it was taken.
string Table()
{
    var text = new System.Text.StringBuilder();
    text.AppendLine("| Measure | N | Figure | Per item | Per item vs smallest N | Peak RSS | Load |");
    text.AppendLine("|---|--:|--:|--:|--:|--:|---|");
    foreach (var measure in all.GroupBy(r => r.Measure))
    {
        var smallest = measure.MinBy(r => r.N);
        foreach (var r in measure.OrderBy(r => r.N))
        {
            var figure = r.Unit == "bytes" ? $"{r.Value / 1048576:N1} MiB" : $"{r.Value:N3} {r.Unit}";
            var ratio = r.N == smallest.N || smallest.PerItem <= 0 ? "1" : $"{r.PerItem / smallest.PerItem:N2}x";
            var peak = r.PeakRss > 0 ? $"{r.PeakRss / 1048576:N0} MiB" : "-";
            text.AppendLine($"| {measure.Key} | {r.N:N0} | {figure} | {r.PerItem:N1} {r.PerItemUnit} | {ratio} | {peak} | {r.Load} |");
        }
    }
    return text.ToString();
}
