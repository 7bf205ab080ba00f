namespace PachPS.Engine.Pps;

/// <summary>The folders a job's workers run datums in, under the store's work/ folder, and their cleaning.</summary>
internal static class WorkFolders
{
    /// <summary>
    /// Readies a worker's folder for its next datum by deleting exactly the files the finished datum is known to hold
    /// (its inputs and the outputs just ingested) and the folders under them, keeping pfs/out and pfs/&lt;input&gt;:
    /// far cheaper than recreating the folder at thousands of datums. Anything unexpected left behind deletes the
    /// whole folder.
    /// </summary>
    public static void ClearDatumFolder(DatumRequest request, string outFolder, IReadOnlyList<Pfs.TreeEntry> outputs)
    {
        var pfs = Path.Combine(request.WorkFolder, "pfs");
        var kept = new HashSet<string>(StringComparer.Ordinal) { request.WorkFolder, pfs, outFolder };
        foreach (var input in request.Inputs) kept.Add(Path.Combine(pfs, input.Name));
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var files = request.Inputs.SelectMany(i => i.Files.Select(f => Path.Combine(pfs, i.Name, f.Path.TrimStart('/'))))
            .Concat(outputs.Select(o => Path.Combine(outFolder, o.Path.TrimStart('/'))));
        try
        {
            foreach (var file in files)
            {
                File.Delete(file);
                for (var dir = Path.GetDirectoryName(file); dir is not null && !kept.Contains(dir) && dir.Length > request.WorkFolder.Length; dir = Path.GetDirectoryName(dir))
                    if (!removed.Add(dir)) break;
            }
            foreach (var dir in removed.OrderByDescending(d => d.Length)) Directory.Delete(dir, recursive: false);
        }
        catch (IOException) { TryDelete(request.WorkFolder); }
        catch (UnauthorizedAccessException) { TryDelete(request.WorkFolder); }
    }

    public static void TryDelete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
