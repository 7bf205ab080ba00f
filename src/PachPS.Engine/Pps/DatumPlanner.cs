using System.Security.Cryptography;
using System.Text;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>One input of a planned datum: the matched path and every file under it.</summary>
internal sealed record PlannedInput(string Name, string Repo, string Branch, string Commit, string Path, IReadOnlyList<TreeEntry> Files, string Hash);

/// <summary>A datum to run: its inputs and the hash that decides whether an earlier result can be reused.</summary>
internal sealed record PlannedDatum(string Hash, IReadOnlyList<PlannedInput> Inputs)
{
    public long InputBytes => Inputs.Sum(i => i.Files.Sum(f => f.Content.Size));
}

/// <summary>The head commit (and its tree root) an input reads.</summary>
internal sealed record InputHead(string Commit, string? Root);

/// <summary>
/// Turns a pipeline's input into datums: each pfs glob match (file or directory, with its whole subtree) is one
/// datum; cross multiplies, union concatenates. A datum's hash covers the input names, paths and content hashes,
/// the transform and the salt, so an unchanged datum is recognised in the next job.
/// </summary>
internal static class DatumPlanner
{
    public static List<PlannedDatum> Plan(PipelineSpec spec, string salt, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        var transformKey = string.Join("\u0001", spec.Transform.Cmd) + "\u0002" + string.Join("\u0001", spec.Transform.Stdin) + "\u0002" +
            string.Join("\u0001", spec.Transform.Env.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + "=" + e.Value)) + "\u0002" +
            spec.Transform.Image + "\u0002" + spec.Transform.WorkingDir;
        return Expand(spec.Input, tree, heads)
            .Select(inputs => new PlannedDatum(DatumHash(salt, transformKey, inputs), inputs))
            .ToList();
    }

    private static List<List<PlannedInput>> Expand(InputSpec input, PathTree tree, Func<PfsInputSpec, InputHead> heads)
    {
        switch (input)
        {
            case PfsInputSpec pfs:
                return Matches(pfs, tree, heads(pfs)).Select(m => new List<PlannedInput> { m }).ToList();
            case UnionInputSpec union:
                return union.Inputs.SelectMany(i => Expand(i, tree, heads)).ToList();
            case CrossInputSpec cross:
                var result = new List<List<PlannedInput>> { new() };
                foreach (var child in cross.Inputs)
                {
                    var options = Expand(child, tree, heads);
                    result = result.SelectMany(prefix => options.Select(o => prefix.Concat(o).ToList())).ToList();
                }
                return result;
            default:
                throw new InvalidOperationException("Unknown input type " + input.GetType().Name);
        }
    }

    private static IEnumerable<PlannedInput> Matches(PfsInputSpec pfs, PathTree tree, InputHead head)
    {
        var glob = new Glob(pfs.Glob);
        if (glob.Pattern == "/")
        {
            var all = tree.All(head.Root).ToList();
            if (all.Count > 0) yield return Input(pfs, head, "/", all);
            yield break;
        }
        // Files first, then each directory's subtree from the same ordered walk.
        var files = tree.All(head.Root).ToList();
        var dirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
            for (var p = Names.Parent(f.Path); p.Length > 1; p = Names.Parent(p)) dirs.Add(p);
        var matches = files.Select(f => f.Path).Concat(dirs).Where(glob.IsMatch).OrderBy(p => p, StringComparer.Ordinal);
        foreach (var path in matches) yield return Input(pfs, head, path, Subtree(files, path, dirs.Contains(path)));
    }

    // files is in ordinal path order, so a path's subtree is one contiguous run found by binary search.
    private static List<TreeEntry> Subtree(List<TreeEntry> files, string path, bool isDir)
    {
        var prefix = isDir ? path + "/" : path;
        int lo = 0, hi = files.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (string.CompareOrdinal(files[mid].Path, prefix) < 0) lo = mid + 1; else hi = mid;
        }
        var result = new List<TreeEntry>();
        for (var i = lo; i < files.Count && (isDir ? files[i].Path.StartsWith(prefix, StringComparison.Ordinal) : files[i].Path == path); i++)
            result.Add(files[i]);
        return result;
    }

    private static PlannedInput Input(PfsInputSpec pfs, InputHead head, string path, List<TreeEntry> files)
    {
        var sb = new StringBuilder().Append(pfs.Name).Append('\0').Append(path).Append('\0');
        foreach (var f in files) sb.Append(f.Path).Append('\0').Append(f.Content.Hash).Append('\0');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
        return new PlannedInput(pfs.Name, pfs.Repo, pfs.Branch, head.Commit, path, files, hash);
    }

    private static string DatumHash(string salt, string transformKey, IReadOnlyList<PlannedInput> inputs)
    {
        var sb = new StringBuilder().Append(salt).Append('\0').Append(transformKey).Append('\0');
        foreach (var i in inputs) sb.Append(i.Hash).Append('\0');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
