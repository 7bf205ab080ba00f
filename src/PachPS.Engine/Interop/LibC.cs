using System.Runtime.InteropServices;

namespace PachPS.Engine.Interop;

/// <summary>The libc functions PachPS calls (on Linux), with the constants they take.</summary>
/// <remarks>
/// Values are Linux's. Most are the same on every architecture .NET runs on (the kernel's asm-generic headers, and
/// glibc's for posix_spawn); those that are not are chosen from <see cref="RuntimeInformation.ProcessArchitecture"/>
/// when this class is first used, never written into a call site.
/// </remarks>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    // open(2) flags.
    public const int O_RDONLY = 0;
    /// <summary>02000000 octal on x86-64 and arm64 alike.</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>O_DIRECTORY for this process's architecture, or null where PachPS does not know it.</summary>
    public static int? O_DIRECTORY { get; } = OpenDirectoryFlag(RuntimeInformation.ProcessArchitecture);

    /// <summary>
    /// O_DIRECTORY on <paramref name="architecture"/>: asm-generic's 0200000 octal on x86, x86-64, riscv64, loongarch64
    /// and s390x; 040000 on arm, arm64 and powerpc, whose own headers move it (on arm and arm64, 0200000 is O_DIRECT).
    /// </summary>
    internal static int? OpenDirectoryFlag(Architecture architecture) => architecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => 0x10000,
        Architecture.Arm64 or Architecture.Arm or Architecture.Armv6 or Architecture.Ppc64le => 0x4000,
        _ => null,
    };

    // poll(2) events.
    public const short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

    // errno values.
    public const int EINTR = 4, EAGAIN = 11;

    // posix_spawnattr_setflags(3) flags (glibc's spawn.h).
    public const short POSIX_SPAWN_SETPGROUP = 0x2, POSIX_SPAWN_SETSIGDEF = 0x4, POSIX_SPAWN_SETSIGMASK = 0x8;

    // waitid(2): idtype P_PID and options.
    public const int P_PID = 1, WEXITED = 4, WNOWAIT = 0x01000000;

    public const int SIGKILL = 9;

    /// <summary>A write of at most PIPE_BUF bytes to a pipe is atomic, and never blocks once poll reports the pipe writable.</summary>
    public const int PIPE_BUF = 4096;

    /// <summary>
    /// Bytes to set aside for each opaque libc structure (posix_spawn_file_actions_t, posix_spawnattr_t, sigset_t):
    /// generous, glibc needs 80, 336 and 128 on 64-bit architectures.
    /// </summary>
    public const int OpaqueSize = 1024;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // Files and pipes.
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int open(string path, int flags);
    [LibraryImport(Library, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Library, SetLastError = true)] public static partial nint read(int fd, byte* buffer, nint count);
    [LibraryImport(Library, SetLastError = true)] public static partial nint write(int fd, byte* buffer, nint count);
    [LibraryImport(Library, SetLastError = true)] public static partial int pipe2(int* fds, int flags);
    [LibraryImport(Library, SetLastError = true)] public static partial int poll(PollFd* fds, nuint count, int timeout);
    [LibraryImport(Library, SetLastError = true)] public static partial int syncfs(int fd);
    /// <summary>sync_file_range(2)'s SYNC_FILE_RANGE_WRITE: start writing the range's dirty pages back, without waiting.</summary>
    public const uint SYNC_FILE_RANGE_WRITE = 2;
    [LibraryImport(Library, SetLastError = true)] public static partial int sync_file_range(int fd, long offset, long count, uint flags);
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int mkfifo(string path, uint mode);
    [LibraryImport(Library)] public static partial uint geteuid();
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int link(string existing, string created);
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int chown(string path, uint owner, uint group);
    // unshare(2)/setns(2) flags: a thread with its own filesystem attributes may join another mount namespace.
    public const int CLONE_FS = 0x200, CLONE_NEWNS = 0x20000;
    [LibraryImport(Library, SetLastError = true)] public static partial int unshare(int flags);
    [LibraryImport(Library, SetLastError = true)] public static partial int setns(int fd, int nstype);
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>What kind of entry a path is (not following a last link); Unknown where statx is missing or fails.</summary>
    public enum FileKind { Unknown, Regular, Directory, Link, Fifo, Socket, Device }

    // statx(2): its struct has the same layout on every architecture; stx_mode is the 16-bit field at offset 28.
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, StatxSize = 256, StatxModeOffset = 28;
    private const uint STATX_TYPE = 0x1;

    public static FileKind FileType(string path)
    {
        if (!OperatingSystem.IsLinux()) return FileKind.Unknown;
        var buffer = stackalloc byte[StatxSize];
        try
        {
            if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, buffer) != 0) return FileKind.Unknown;
        }
        catch (EntryPointNotFoundException) { return FileKind.Unknown; }
        var mode = *(ushort*)(buffer + StatxModeOffset);
        return (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Link,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            0x2000 or 0x6000 => FileKind.Device,
            _ => FileKind.Unknown,
        };
    }

    // Processes.
    [LibraryImport(Library, SetLastError = true)] public static partial int kill(int pid, int signal);
    [LibraryImport(Library, SetLastError = true)] public static partial int waitid(int idType, int id, byte* info, int options);
    [LibraryImport(Library, SetLastError = true)] public static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(Library)] public static partial int posix_spawn(int* pid, byte* path, byte* actions, byte* attributes, byte** argv, byte** envp);
    [LibraryImport(Library)] public static partial int posix_spawn_file_actions_init(byte* actions);
    [LibraryImport(Library)] public static partial int posix_spawn_file_actions_destroy(byte* actions);
    [LibraryImport(Library)] public static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);
    [LibraryImport(Library)] public static partial int posix_spawn_file_actions_addchdir_np(byte* actions, byte* path);
    [LibraryImport(Library)] public static partial int posix_spawnattr_init(byte* attributes);
    [LibraryImport(Library)] public static partial int posix_spawnattr_destroy(byte* attributes);
    [LibraryImport(Library)] public static partial int posix_spawnattr_setflags(byte* attributes, short flags);
    [LibraryImport(Library)] public static partial int posix_spawnattr_setsigdefault(byte* attributes, byte* signals);
    [LibraryImport(Library)] public static partial int posix_spawnattr_setsigmask(byte* attributes, byte* signals);
    [LibraryImport(Library)] public static partial int posix_spawnattr_setpgroup(byte* attributes, int group);
    [LibraryImport(Library)] public static partial int sigfillset(byte* signals);
    [LibraryImport(Library)] public static partial int sigemptyset(byte* signals);
}
