namespace PachPS.Engine.Storage;

/// <summary>
/// Writes stored files to local paths, several at once: for small files, creating, opening and closing them is most
/// of the cost, and that work is the kernel's, which runs on every core. Each target is reported in the order given,
/// once its bytes are written.
/// </summary>
public static class FileMaterializer
{
    /// <summary>Files written at a time: enough to keep every core busy in the kernel, few enough to bound memory.</summary>
    public static int DefaultParallelism => Math.Clamp(Environment.ProcessorCount * 2, 2, 8);

    /// <summary>
    /// Writes each file (creating its folder) and yields its target once written, in order. The source is read on the
    /// caller's thread, between the files it yields, so what it does (asking the user, reporting, stopping early) stays
    /// there. A write that fails is thrown, in order; no write goes on once the enumeration has ended.
    /// </summary>
    public static IEnumerable<string> Write(Func<FileContent, Stream> open, IEnumerable<(FileContent Content, string Target)> files, int parallelism)
    {
        var window = new Queue<(string Target, Task Write)>();
        try
        {
            foreach (var (content, target) in files)
            {
                window.Enqueue((target, Task.Run(() => WriteOne(open, content, target))));
                if (window.Count < parallelism) continue;
                var (done, write) = window.Dequeue();
                write.GetAwaiter().GetResult();
                yield return done;
            }
            while (window.Count > 0)
            {
                var (done, write) = window.Dequeue();
                write.GetAwaiter().GetResult();
                yield return done;
            }
        }
        finally
        {
            // Stopped early (a failure, the caller's break or Ctrl+C): no write may go on once this returns.
            if (window.Count > 0)
            {
                try { Task.WaitAll([.. window.Select(w => w.Write)]); }
                catch (AggregateException) { }
            }
        }
    }

    private static void WriteOne(Func<FileContent, Stream> open, FileContent content, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var source = open(content);
        using var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        source.CopyTo(output);
    }
}
