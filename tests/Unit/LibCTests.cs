using System.Runtime.InteropServices;
using PachPS.Engine.Interop;

namespace PachPS.Tests.Unit;

/// <summary>The libc constants: the per-architecture table, and what this machine's kernel makes of the values chosen.</summary>
public class LibCTests : IDisposable
{
    private const int ENOTDIR = 20;
    private readonly string _folder = Directory.CreateTempSubdirectory("pachps-libc-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(Architecture.X64, 0x10000)]
    [InlineData(Architecture.X86, 0x10000)]
    [InlineData(Architecture.RiscV64, 0x10000)]
    [InlineData(Architecture.Arm64, 0x4000)]
    [InlineData(Architecture.Arm, 0x4000)]
    [InlineData(Architecture.Ppc64le, 0x4000)]
    [InlineData(Architecture.Wasm, null)]
    public void ODirectoryIsChosenPerArchitecture(Architecture architecture, int? expected) =>
        Assert.Equal(expected, LibC.OpenDirectoryFlag(architecture));

    [Fact]
    public void ThisProcessUsesItsOwnArchitecturesValue() =>
        Assert.Equal(LibC.OpenDirectoryFlag(RuntimeInformation.ProcessArchitecture), LibC.O_DIRECTORY);

    [SkippableFact]
    public void TheKernelReadsTheChosenFlagsAsODirectoryAndOCloexec()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "libc's open and /proc are Linux's");
        var directory = Assert.NotNull(LibC.O_DIRECTORY);
        var flags = LibC.O_RDONLY | directory | LibC.O_CLOEXEC;

        // O_DIRECTORY refuses a regular file (O_DIRECT, its value on other architectures, would not).
        var file = Path.Combine(_folder, "file");
        File.WriteAllText(file, "x");
        Assert.Equal(-1, LibC.open(file, flags));
        Assert.Equal(ENOTDIR, Marshal.GetLastPInvokeError());

        var fd = LibC.open(_folder, flags);
        Assert.True(fd >= 0, $"open failed (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            // The kernel reports the descriptor's flags in octal, close-on-exec included.
            var line = File.ReadLines($"/proc/self/fdinfo/{fd}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
            var reported = Convert.ToInt32(line["flags:".Length..].Trim(), 8);
            Assert.Equal(LibC.O_CLOEXEC, reported & LibC.O_CLOEXEC);
            Assert.Equal(directory, reported & directory);
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
