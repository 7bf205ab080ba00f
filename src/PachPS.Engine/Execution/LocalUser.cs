namespace PachPS.Engine.Execution;

/// <summary>
/// transform.user on the local executor: the uid (and gid: the spec's, else the user's own) a datum's process runs as.
/// Only a root session can start processes as another user, and only as one this machine knows (/etc/passwd).
/// </summary>
internal sealed record LocalUser(uint Uid, uint Gid)
{
    /// <summary>What the process is started through: setpriv changes the ids (and drops root's groups), then execs the command.</summary>
    public IReadOnlyList<string> Prefix => [$"--reuid={Uid}", $"--regid={Gid}", "--clear-groups", "--"];

    /// <summary>
    /// The user "uid" or "uid:gid" names; throws TransformUserNeedsRoot (this session cannot switch users) or
    /// TransformUserNotFound (no such uid here).
    /// </summary>
    public static LocalUser Resolve(string user, string? pipeline, Func<uint> euid, string passwd = "/etc/passwd")
    {
        var sets = pipeline is null ? $"transform.user is '{user}'" : $"Pipeline '{pipeline}' sets transform.user '{user}'";
        if (!OperatingSystem.IsLinux() || euid() != 0)
            throw new PachException("TransformUserNeedsRoot", PachErrorKind.NotSupported,
                $"{sets}, and this session runs as {(OperatingSystem.IsLinux() ? $"uid {euid()}" : "a user of " + Environment.OSVersion.Platform)}: " +
                "only a root session on Linux can run datums as another user. Run PachPS as root, or remove transform.user to run them as this session's user.", pipeline);
        var parts = user.Split(':');
        var uid = uint.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        var entry = File.Exists(passwd) ? File.ReadLines(passwd).Select(l => l.Split(':')).FirstOrDefault(f => f.Length >= 4 && f[2] == parts[0]) : null;
        if (entry is null)
            throw new PachException("TransformUserNotFound", PachErrorKind.NotFound,
                $"{sets}, and this machine has no user with uid {uid} ({passwd}): create the user, or change transform.user.", pipeline);
        var gid = parts.Length > 1 ? uint.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : uint.Parse(entry[3], System.Globalization.CultureInfo.InvariantCulture);
        return new LocalUser(uid, gid);
    }

    /// <summary>Makes a folder the datum writes in (its /pfs/out, a batch worker's FIFOs) the user's.</summary>
    public void Own(string path)
    {
        if (Interop.LibC.chown(path, Uid, Gid) != 0)
            throw new IOException($"chown {path} to {Uid}:{Gid} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
    }
}
