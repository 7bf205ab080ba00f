using PachPS.Fuzz;

namespace PachPS.Tests.Unit;

/// <summary>
/// Inputs the fuzzer (build.ps1 Fuzz) found, under tests/Fuzz/regressions/&lt;target&gt;/, run through the same target
/// code: each must succeed or throw PachException with an ErrorId, within a time budget.
/// </summary>
public class FuzzRegressionTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Inputs(string target)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Regressions, target)).Order()) data.Add(Path.GetFileName(file));
        return data;
    }

    private static string Regressions
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "tests", "Fuzz", "regressions"))) return Path.Combine(dir.FullName, "tests", "Fuzz", "regressions");
            throw new DirectoryNotFoundException("tests/Fuzz/regressions not found above " + AppContext.BaseDirectory);
        }
    }

    private static void Check(string target, string input)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Regressions, target, input));
        var run = Task.Run(() =>
        {
            try { FuzzTargets.All[target](bytes); }
            catch (Exception ex) when (FuzzTargets.IsExpected(ex)) { }
        });
        Assert.True(run.Wait(Budget), $"{target}/{input} ran longer than {Budget.TotalSeconds} s");
    }

    [Theory]
    [MemberData(nameof(Inputs), "commitref")]
    public void CommitRef(string input) => Check("commitref", input);

    [Theory]
    [MemberData(nameof(Inputs), "spec")]
    public void Spec(string input) => Check("spec", input);

    [Theory]
    [MemberData(nameof(Inputs), "tree")]
    public void TreeNode(string input) => Check("tree", input);

    [Theory]
    [MemberData(nameof(Inputs), "pack")]
    public void PackRead(string input) => Check("pack", input);

    [Theory]
    [MemberData(nameof(Inputs), "frames")]
    public void ContentFrames(string input) => Check("frames", input);
}
