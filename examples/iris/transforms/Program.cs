// The iris tutorial's transforms, run by the pipelines in ../*.json:
//   iris-model pre-process <iris.csv | folder> <out>   -> x_train.csv, y_train.csv (no header), scaling.csv
//   iris-model train <x_train.csv> <y_train.csv> <out> -> model (weights and the training min/max, JSON)
//   iris-model infer <model> <attributes file> <out>   -> <out>/<attributes file name>: one species per row
using System.Globalization;
using System.Text.Json;

var inv = CultureInfo.InvariantCulture;
string[] species = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]; // one-hot order: alphabetical

switch (args.FirstOrDefault())
{
    case "pre-process" when args.Length == 3: PreProcess(args[1], args[2]); break;
    case "train" when args.Length == 4: Train(args[1], args[2], args[3]); break;
    case "infer" when args.Length == 4: Infer(args[1], args[2], args[3]); break;
    default:
        Console.Error.WriteLine("usage: iris-model pre-process <in> <out> | train <x> <y> <out> | infer <model> <in> <out>");
        return 2;
}
return 0;

double[][] ReadRows(string path, int columns) => File.ReadAllLines(path).Where(l => l.Trim().Length > 0)
    .Select(l => l.Split(',').Take(columns).Select(v => double.Parse(v, inv)).ToArray()).ToArray();

void PreProcess(string input, string output)
{
    var file = Directory.Exists(input) ? Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).First() : input;
    var lines = File.ReadAllLines(file).Where(l => l.Trim().Length > 0).Select(l => l.Split(',')).ToArray();
    var features = lines.Select(f => f.Take(4).Select(v => double.Parse(v, inv)).ToArray()).ToArray();
    var (min, max) = MinMax(features);
    File.WriteAllLines(Path.Combine(output, "x_train.csv"), features.Select(r => string.Join(",", Scale(r, min, max).Select(v => v.ToString("R", inv)))));
    File.WriteAllLines(Path.Combine(output, "y_train.csv"), lines.Select(f =>
        string.Join(",", species.Select(s => s == f[4].Trim() ? "1" : "0"))));
    File.WriteAllLines(Path.Combine(output, "scaling.csv"), [string.Join(",", min.Select(v => v.ToString("R", inv))), string.Join(",", max.Select(v => v.ToString("R", inv)))]);
    Console.WriteLine($"pre-processed {features.Length} rows");
}

void Train(string xPath, string yPath, string output)
{
    var x = ReadRows(xPath, 4);
    var y = ReadRows(yPath, 3);
    var scaling = ReadRows(Path.Combine(Path.GetDirectoryName(xPath)!, "scaling.csv"), 4);
    var net = Network.Create(seed: 1234);
    var loss = 0.0;
    for (var epoch = 1; epoch <= 10_000; epoch++)
    {
        loss = net.Step(x, y, learningRate: 0.1);
        if (epoch % 2000 == 0) Console.WriteLine($"epoch {epoch}: loss {loss:F4}");
    }
    var correct = x.Where((row, i) => net.Predict(row) == Array.IndexOf(y[i], 1.0)).Count();
    Console.WriteLine($"training accuracy {correct}/{x.Length}");
    var model = new Model(net.W1, net.B1, net.W2, net.B2, scaling[0], scaling[1], species);
    File.WriteAllText(Path.Combine(output, "model"), JsonSerializer.Serialize(model, new JsonSerializerOptions { WriteIndented = true }));
}

void Infer(string modelPath, string input, string output)
{
    var model = JsonSerializer.Deserialize<Model>(File.ReadAllText(modelPath))!;
    var net = new Network(model.W1, model.B1, model.W2, model.B2);
    var files = Directory.Exists(input) ? Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).ToArray() : [input];
    foreach (var file in files)
    {
        var predictions = ReadRows(file, 4).Select(r => model.Species[net.Predict(Scale(r, model.Min, model.Max))]);
        File.WriteAllLines(Path.Combine(output, Path.GetFileName(file)), predictions);
    }
}

static (double[] Min, double[] Max) MinMax(double[][] rows) =>
    (Enumerable.Range(0, 4).Select(i => rows.Min(r => r[i])).ToArray(), Enumerable.Range(0, 4).Select(i => rows.Max(r => r[i])).ToArray());

static double[] Scale(double[] row, double[] min, double[] max) =>
    row.Select((v, i) => max[i] == min[i] ? 0 : (v - min[i]) / (max[i] - min[i])).ToArray();

/// <summary>The trained model as written to /pfs/out/model.</summary>
public sealed record Model(double[][] W1, double[] B1, double[][] W2, double[] B2, double[] Min, double[] Max, string[] Species);

/// <summary>4 inputs, 5 hidden units with ReLU, 3 outputs with sigmoid cross-entropy; plain full-batch gradient descent.</summary>
public sealed class Network(double[][] w1, double[] b1, double[][] w2, double[] b2)
{
    public double[][] W1 { get; } = w1;
    public double[] B1 { get; } = b1;
    public double[][] W2 { get; } = w2;
    public double[] B2 { get; } = b2;

    public static Network Create(int seed)
    {
        var rng = new Random(seed);
        double Init(int fanIn) => (rng.NextDouble() * 2 - 1) * Math.Sqrt(6.0 / fanIn); // He-uniform
        var w1 = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 4).Select(_ => Init(4)).ToArray()).ToArray();
        var w2 = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 5).Select(_ => Init(5)).ToArray()).ToArray();
        return new Network(w1, new double[5], w2, new double[3]);
    }

    private (double[] Hidden, double[] Logits) Forward(double[] x)
    {
        var h = new double[5];
        for (var j = 0; j < 5; j++)
        {
            var s = B1[j];
            for (var i = 0; i < 4; i++) s += W1[j][i] * x[i];
            h[j] = Math.Max(0, s);
        }
        var o = new double[3];
        for (var k = 0; k < 3; k++)
        {
            var s = B2[k];
            for (var j = 0; j < 5; j++) s += W2[k][j] * h[j];
            o[k] = s;
        }
        return (h, o);
    }

    public int Predict(double[] x)
    {
        var logits = Forward(x).Logits;
        return Array.IndexOf(logits, logits.Max());
    }

    /// <summary>One full-batch gradient step; returns the mean sigmoid cross-entropy before the step.</summary>
    public double Step(double[][] x, double[][] y, double learningRate)
    {
        var gW1 = new double[5, 4]; var gB1 = new double[5]; var gW2 = new double[3, 5]; var gB2 = new double[3];
        var loss = 0.0;
        for (var n = 0; n < x.Length; n++)
        {
            var (h, logits) = Forward(x[n]);
            var dLogit = new double[3];
            for (var k = 0; k < 3; k++)
            {
                var p = 1 / (1 + Math.Exp(-logits[k]));
                loss += -(y[n][k] * Math.Log(p + 1e-12) + (1 - y[n][k]) * Math.Log(1 - p + 1e-12));
                dLogit[k] = p - y[n][k];
                gB2[k] += dLogit[k];
                for (var j = 0; j < 5; j++) gW2[k, j] += dLogit[k] * h[j];
            }
            for (var j = 0; j < 5; j++)
            {
                if (h[j] <= 0) continue;
                var dh = 0.0;
                for (var k = 0; k < 3; k++) dh += dLogit[k] * W2[k][j];
                gB1[j] += dh;
                for (var i = 0; i < 4; i++) gW1[j, i] += dh * x[n][i];
            }
        }
        var scale = learningRate / x.Length;
        for (var k = 0; k < 3; k++) { B2[k] -= scale * gB2[k]; for (var j = 0; j < 5; j++) W2[k][j] -= scale * gW2[k, j]; }
        for (var j = 0; j < 5; j++) { B1[j] -= scale * gB1[j]; for (var i = 0; i < 4; i++) W1[j][i] -= scale * gW1[j, i]; }
        return loss / (x.Length * 3);
    }
}
