using System.Text;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// What the fetch container (<see cref="DatumJob.FetchScript"/>) lays out under /pfs before the transform runs: one
/// tab-separated line per item, "d &lt;folder&gt;", "f &lt;empty file&gt;", "c &lt;file&gt; &lt;first-last byte&gt; &lt;URL&gt;"
/// (append a byte range fetched through a presigned GET URL) or "t &lt;file&gt; &lt;text&gt;" (append a line). The executor
/// passes it inline, or by URL when longer than <see cref="KubernetesExecutor.InlineManifestLimit"/>.
/// </summary>
internal static class DatumManifest
{
    /// <summary>
    /// The manifest of a datum's inputs: one line per folder, file and chunk, tab-separated, with a presigned URL and a
    /// byte range for every chunk (small chunks are ranges of a pack object).
    /// </summary>
    /// <param name="locate">Where a chunk lives now (a pack a garbage collection rewrote is gone; its chunks moved).</param>
    public static string For(DatumRequest request, Func<string, Uri> presignGet, Func<ChunkRef, ChunkRef>? locate = null)
    {
        var text = new StringBuilder();
        AppendInputs(text, request, "", new Dictionary<string, Uri>(StringComparer.Ordinal), presignGet, locate ?? (c => c));
        return text.ToString();
    }

    /// <summary>
    /// The manifest of a batch: each datum's inputs under .pachps/datums/&lt;n&gt;/, its id in .pachps/ids/&lt;n&gt; and its
    /// variables (KEY='value' lines, as the batching protocol's env file) in .pachps/envs/&lt;n&gt;.
    /// </summary>
    public static string ForBatch(IReadOnlyList<DatumRequest> batch, Func<string, Uri> presignGet, Func<ChunkRef, ChunkRef>? locate = null)
    {
        var text = new StringBuilder();
        var urls = new Dictionary<string, Uri>(StringComparer.Ordinal);
        for (var n = 0; n < batch.Count; n++)
        {
            text.Append("t\t.pachps/ids/").Append(n).Append('\t').Append(batch[n].DatumId).Append('\n');
            foreach (var (key, value) in LocalProcessExecutor.DatumEnvironment(batch[n], "/pfs"))
                text.Append("t\t.pachps/envs/").Append(n).Append('\t').Append(key).Append("='").Append(value.Replace("'", "'\\''")).Append("'\n");
            AppendInputs(text, batch[n], $".pachps/datums/{n}/", urls, presignGet, locate ?? (c => c));
        }
        return text.ToString();
    }

    private static void AppendInputs(StringBuilder text, DatumRequest request, string prefix, Dictionary<string, Uri> urls, Func<string, Uri> presignGet,
        Func<ChunkRef, ChunkRef> locate)
    {
        foreach (var input in request.Inputs)
        {
            text.Append("d\t").Append(prefix).Append(input.Name).Append('\n');
            foreach (var file in input.Files)
            {
                var path = prefix + input.Name + file.Path;
                text.Append("f\t").Append(path).Append('\n');
                var content = file.Content;
                foreach (var named in content.Chunks)
                {
                    var chunk = locate(named);
                    if (!urls.TryGetValue(chunk.Object, out var url)) urls[chunk.Object] = url = presignGet(chunk.Object);
                    text.Append("c\t").Append(path).Append('\t').Append(chunk.Offset).Append('-').Append(chunk.Offset + chunk.Length - 1)
                        .Append('\t').Append(url.AbsoluteUri).Append('\n');
                }
            }
        }
    }
}
