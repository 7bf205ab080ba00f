using PachPS.Engine;
using SharpFuzz;

namespace PachPS.Fuzz;

/// <summary>
/// <c>PachPS.Fuzz &lt;target&gt;</c> runs under afl-fuzz (build.ps1 Fuzz); <c>PachPS.Fuzz &lt;target&gt; &lt;file&gt;...</c>
/// runs the files once each and tells what each did (to sort a fuzzer's findings).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args is ["seeds", var corpus])
        {
            Seeds.Write(corpus);
            return 0;
        }
        if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
        {
            Console.Error.WriteLine($"usage: PachPS.Fuzz <target> [input-file...] | PachPS.Fuzz seeds <corpus-folder>; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
            return 2;
        }
        if (args.Length == 1)
        {
            // Out of process: a stack overflow (which no catch survives) is reported as a crash, not lost with the fork server.
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var input = new MemoryStream();
                stream.CopyTo(input);
                try { target(input.ToArray()); }
                catch (Exception ex) when (FuzzTargets.IsExpected(ex)) { }
            });
            return 0;
        }
        var failures = 0;
        foreach (var file in args.Skip(1))
        {
            try
            {
                target(File.ReadAllBytes(file));
                Console.WriteLine($"{file}: ok");
            }
            catch (PachException ex) when (FuzzTargets.IsExpected(ex)) { Console.WriteLine($"{file}: PachException {ex.ErrorId}: {ex.Message}"); }
            catch (Exception ex)
            {
                failures++;
                Console.WriteLine($"{file}: FINDING {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
