using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using PachPS.Engine.Execution;

namespace PachPS.Tests.Unit;

/// <summary>The local executor's child processes, through posix_spawn (Linux) and through System.Diagnostics.Process (elsewhere).</summary>
public class ChildProcessTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pachps-child-").FullName;

    public static TheoryData<bool> Spawners => new() { true, false };

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (int Code, List<(string Stream, string Line)> Lines) Run(bool posix, string script, byte[]? stdin = null,
        Dictionary<string, string>? env = null, string[]? args = null, CancellationToken cancel = default)
    {
        var lines = new List<(string, string)>();
        var command = new ChildCommand("/bin/sh", ["-c", script, "sh", .. args ?? []], env ?? [], _folder, stdin ?? []);
        var code = ChildProcess.Run(command, (stream, line) => { lock (lines) lines.Add((stream, line)); }, cancel, posix);
        return (code, lines);
    }

    private static List<string> Out(List<(string Stream, string Line)> lines, string stream = "stdout") =>
        lines.Where(l => l.Stream == stream).Select(l => l.Line).ToList();

    [Theory]
    [MemberData(nameof(Spawners))]
    public void ArgumentsAreAnArgvArrayNotAShellString(bool posix)
    {
        var (code, lines) = Run(posix, "printf '%s\\n' \"$@\"", args: ["a b", "$HOME", "c;d", "é"]);
        Assert.Equal(0, code);
        Assert.Equal(["a b", "$HOME", "c;d", "é"], Out(lines));
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void EnvironmentWorkingFolderAndStreams(bool posix)
    {
        var (code, lines) = Run(posix, "echo \"$PACH_X\"; pwd; echo \"${PATH:+has path}\"; echo oops >&2; exit 3",
            env: new() { ["PACH_X"] = "x y" });
        Assert.Equal(3, code);
        Assert.Equal(["x y", _folder, "has path"], Out(lines));
        Assert.Equal(["oops"], Out(lines, "stderr"));
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void ASnapshotReplacesTheSessionEnvironment(bool posix)
    {
        Environment.SetEnvironmentVariable("PACHPS_CHILD_TEST", "before");
        var command = new ChildCommand("/bin/sh", ["-c", "echo \"$PACHPS_CHILD_TEST\""], new Dictionary<string, string>(), _folder, [])
        {
            BaseEnvironment = EnvironmentSnapshot.Capture(),
        };
        Environment.SetEnvironmentVariable("PACHPS_CHILD_TEST", "after");
        var lines = new List<string>();
        ChildProcess.Run(command, (_, line) => lines.Add(line), CancellationToken.None, posix);
        Environment.SetEnvironmentVariable("PACHPS_CHILD_TEST", null);
        Assert.Equal(["before"], lines);
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void StdinLargerThanAPipeIsDeliveredAndIgnoredStdinDoesNotHang(bool posix)
    {
        var big = new byte[1 << 20];
        Array.Fill(big, (byte)'x');
        Assert.Equal(["1048576"], Out(Run(posix, "wc -c | tr -d ' '", big).Lines));
        Assert.Equal(0, Run(posix, "true", big).Code);
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void LinesSplitLikeReadLine(bool posix)
    {
        var (_, lines) = Run(posix, "printf 'a\\r\\nb\\rc\\n\\nlast'");
        Assert.Equal(["a", "b", "c", "", "last"], Out(lines));
        // 60,000 bytes of two-byte characters: reads end in the middle of one.
        var (_, wide) = Run(posix, $"i=0; while [ $i -lt 300 ]; do printf '{new string('é', 100)}'; i=$((i+1)); done; echo");
        Assert.Equal(new string('é', 30000), Assert.Single(Out(wide)));
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void ASignalEndsWith128PlusItsNumberAndSignalsAreAtTheirDefaults(bool posix)
    {
        Assert.Equal(143, Run(posix, "kill -TERM $$").Code);
        // The runtime ignores SIGPIPE; a child must not inherit that (yes would report a broken pipe instead of dying).
        // System.Diagnostics.Process leaves it ignored, which is one more reason to spawn children ourselves on Linux.
        var (code, lines) = Run(posix, "yes | head -n 1; sed -n 's/^SigIgn:\\t//p' /proc/self/status");
        Assert.Equal(0, code);
        Assert.Equal("y", Out(lines)[0]);
        if (!posix) return;
        Assert.Equal(0UL, Convert.ToUInt64(Out(lines)[1], 16) & (1UL << 12));
        Assert.Empty(Out(lines, "stderr"));
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void AMissingCommandCannotStart(bool posix)
    {
        var command = new ChildCommand(Path.Combine(_folder, "no-such-command"), [], new Dictionary<string, string>(), _folder, []);
        Assert.ThrowsAny<Win32Exception>(() => ChildProcess.Run(command, (_, _) => { }, CancellationToken.None, posix));
        Assert.Equal("started", Out(Run(posix, "echo started").Lines).Single());
    }

    [Theory]
    [MemberData(nameof(Spawners))]
    public void CancellingKillsTheCommandAndWhatItStarted(bool posix)
    {
        using var cancel = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var lines = new List<string>();
        // The background sleep holds stdout open: the run ends only if it is killed too.
        var command = new ChildCommand("/bin/sh", ["-c", "sleep 30 & echo started; wait"], new Dictionary<string, string>(), _folder, []);
        Assert.ThrowsAny<OperationCanceledException>(() => ChildProcess.Run(command, (_, line) =>
        {
            lines.Add(line);
            cancel.Cancel();
        }, cancel.Token, posix));
        Assert.Equal(["started"], lines);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public void AFailingLineHandlerKillsAndReapsTheCommand()
    {
        var watch = Stopwatch.StartNew();
        var command = new ChildCommand("/bin/sh", ["-c", "echo $$; sleep 30"], new Dictionary<string, string>(), _folder, []);
        var pid = 0;
        var ex = Assert.Throws<InvalidDataException>(() => ChildProcess.Run(command, (_, line) =>
        {
            pid = int.Parse(line);
            throw new InvalidDataException("handler failed");
        }, CancellationToken.None));
        Assert.Equal("handler failed", ex.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.False(Directory.Exists($"/proc/{pid}"), "the child is gone, not left a zombie");
    }
}
