using System.Text.Json;
using ScottPlot;

// The scale bench's figures (out/bench/scale.json, written by build/Bench.ps1 -Only Scale) as a plot: per-item cost of
// each timed measure against the number of items, both axes logarithmic, one series per measure. A flat line is a cost
// that grows in proportion to the size; a rising one grows faster.
if (args is not [var jsonPath, var pngPath])
{
    Console.Error.WriteLine("usage: ScalePlot <scale.json> <scale.png>");
    return 2;
}
using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
var rows = json.RootElement.GetProperty("Rows").EnumerateArray()
    .Select(r => (Measure: r.GetProperty("Measure").GetString()!, N: r.GetProperty("N").GetDouble(), PerItem: r.GetProperty("PerItem").GetDouble(),
        Unit: r.GetProperty("PerItemUnit").GetString()!))
    .Where(r => r.Unit.StartsWith("µs", StringComparison.Ordinal) && r.PerItem > 0)
    .ToList();
var plot = new Plot();
var palette = new ScottPlot.Palettes.Category10();
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
plot.ShowLegend(Alignment.UpperLeft);
plot.SavePng(pngPath, 1000, 650);
Console.WriteLine($"wrote {pngPath}");
return 0;
