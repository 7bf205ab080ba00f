using System.Diagnostics;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// A job's owner is the process running it, named so that every other process reads the same name for it: a sweep
/// that misread a live session as ended would take over its running jobs and run them twice.
/// </summary>
public class JobOwnerTests
{
    [SkippableFact]
    public void AnotherLiveProcessIsAliveByTheKernelsStartTimeAndEndedOnceItExits()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The kernel's start ticks are Linux's.");
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            // What any process reads for the child, independently of .NET's clocks (field 22 of /proc/pid/stat).
            var stat = File.ReadAllText($"/proc/{child.Id}/stat");
            var start = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
            var owner = $"{child.Id}:k{start}";
            Assert.True(JobScheduler.OwnerAlive(owner));
            Assert.False(JobScheduler.OwnerAlive($"{child.Id}:k{long.Parse(start) + 1}"));
            // Process.StartTime as another process computes it differs in its last digits: it names nobody.
            Assert.False(JobScheduler.OwnerAlive($"{child.Id}:{child.StartTime.ToUniversalTime().Ticks}"));
            child.Kill();
            child.WaitForExit();
            Assert.False(JobScheduler.OwnerAlive(owner));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }
    }

    [Fact]
    public void ThisProcessIsAlive() => Assert.True(JobScheduler.OwnerAlive(JobScheduler.ThisProcess));
}
