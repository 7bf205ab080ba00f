using System.Security.Cryptography;
using System.Text;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution;

/// <summary>
/// transform.secrets with mount_path on the local executor: the secret's keys as files, read from the session when a
/// worker's command starts. <c>$env:PACHPS_SECRET_&lt;NAME&gt;</c> names a folder (each file one key) or a file of
/// key=value lines; without it, a secret that names a key takes that key from <c>$env:PACHPS_SECRET_&lt;NAME&gt;_&lt;KEY&gt;</c>.
/// The files are written in memory (/dev/shm where there is one), never in the store, readable by the command's user only.
/// </summary>
internal static class LocalSecrets
{
    /// <summary>Where a worker's secret files are: mount_path i of the transform is the folder's i/.</summary>
    public static string FolderFor(string workFolder)
    {
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(workFolder))))[..16];
        return Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "pachps-secrets-" + id);
    }

    /// <summary>The mount paths the transform's secrets ask for, in order (none: nothing to write).</summary>
    public static IReadOnlyList<string> MountPaths(TransformSpec transform) =>
        transform.Secrets.Where(s => s.MountPath is { Length: > 0 }).Select(s => s.MountPath!.TrimEnd('/')).ToList();

    /// <summary>
    /// Writes each mount_path secret's keys into <paramref name="folder"/>/&lt;i&gt;/ (files replaced, folders kept: a
    /// worker's namespace binds them), owned by <paramref name="user"/> when set. Throws SecretNotFound.
    /// </summary>
    public static void Write(TransformSpec transform, string? pipeline, string folder, LocalUser? user)
    {
        var secrets = transform.Secrets.Where(s => s.MountPath is { Length: > 0 }).ToList();
        if (secrets.Count == 0) return;
        if (OperatingSystem.IsWindows())
            throw new PachException("SecretMountUnsupported", PachErrorKind.NotSupported, "transform.secrets with mount_path needs Linux or macOS on the local executor.", pipeline);
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        // Every value is read before anything is written: a secret the session lacks leaves nothing behind.
        var keys = secrets.Select(secret => Keys(secret, pipeline).ToList()).ToList();
        Directory.CreateDirectory(folder, Private);
        for (var i = 0; i < secrets.Count; i++)
        {
            var target = Directory.CreateDirectory(Path.Combine(folder, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Private).FullName;
            foreach (var (key, value) in keys[i])
            {
                var file = Path.Combine(target, key);
                File.WriteAllBytes(file, value);
                File.SetUnixFileMode(file, UnixFileMode.UserRead);
                user?.Own(file);
            }
            user?.Own(target);
        }
        user?.Own(folder);
    }

    private static IEnumerable<(string Key, byte[] Value)> Keys(SecretSpec secret, string? pipeline)
    {
        var named = $"{(pipeline is null ? "" : $"Pipeline '{pipeline}': ")}secret '{secret.Name}' (mount_path {secret.MountPath})";
        if (Environment.GetEnvironmentVariable(secret.LocalSource) is { Length: > 0 } source)
        {
            if (Directory.Exists(source))
                return new DirectoryInfo(source).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => (f.Name, File.ReadAllBytes(f.FullName))).ToList();
            if (File.Exists(source))
                return File.ReadAllLines(source).Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')).Select(line =>
                {
                    var at = line.IndexOf('=');
                    var key = at > 0 ? line[..at].Trim() : "";
                    if (key.Length == 0 || key.Contains('/') || key is "." or "..")
                        throw new PachException("SecretInvalid", PachErrorKind.InvalidData, $"{named}: a line of {secret.LocalSource}'s file is not key=value with a file name as key.", secret.Name);
                    return (key, Encoding.UTF8.GetBytes(line[(at + 1)..]));
                }).ToList();
            throw new PachException("SecretNotFound", PachErrorKind.NotFound, $"{named}: {secret.LocalSource} names no folder or file.", secret.Name);
        }
        if (secret.Key is { Length: > 0 } k && !k.Contains('/') && Environment.GetEnvironmentVariable(secret.LocalVariable) is { } v)
            return [(k, Encoding.UTF8.GetBytes(v))];
        throw new PachException("SecretNotFound", PachErrorKind.NotFound,
            $"{named}: set {secret.LocalSource} to a folder (each file a key) or a file of key=value lines" +
            (secret.Key is { Length: > 0 } ? $", or {secret.LocalVariable} to the value of key '{secret.Key}'" : "") + ".", secret.Name);
    }

    /// <summary>Rewrites each mount path (as "/pfs/" is rewritten where no namespace can be made) to its folder.</summary>
    public static string Rewrite(string s, IReadOnlyList<string> mountPaths, string folder)
    {
        for (var i = 0; i < mountPaths.Count; i++)
        {
            var local = Path.Combine(folder, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            s = s == mountPaths[i] ? local : s.Replace(mountPaths[i] + "/", local + "/", StringComparison.Ordinal);
        }
        return s;
    }
}
