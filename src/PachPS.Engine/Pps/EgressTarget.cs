using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>
/// Where an egress writes: files put and deleted by their path in a commit ("/dir/file"), under an S3 prefix or in a
/// local folder. A failure is a <see cref="PachException"/> that names the target.
/// </summary>
internal abstract class EgressTarget : IDisposable
{
    /// <summary>Writes one file (replacing what the path held); <paramref name="scratch"/> is a folder for spooling large content.</summary>
    public abstract void Put(string path, Stream content, long length, string scratch);
    /// <summary>Deletes files; one already gone is not an error.</summary>
    public abstract void Delete(IReadOnlyCollection<string> paths);
    public virtual void Dispose() { }

    /// <summary>
    /// Opens an egress's target. An s3:// URL without endpoint, region or profile of its own (or with the store's)
    /// goes to the server the store keeps its content on, with the store's credentials, when its content is in S3;
    /// otherwise to the URL's endpoint (AWS when none) with the AWS default credential chain or the URL's profile.
    /// </summary>
    public static EgressTarget Open(EgressSpec spec, IObjectStore? storeObjects) => spec.Kind switch
    {
        EgressKind.Folder => new FolderTarget(spec.Folder),
        _ => new S3Target(storeObjects is S3ObjectStore own && spec.Profile is null
                && (spec.Endpoint is null || string.Equals(spec.Endpoint, own.Settings.Endpoint?.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
                && (spec.Region is null || spec.Region == own.Settings.Region)
            ? own.At(spec.Bucket, spec.Prefix)
            : new S3ObjectStore(new S3Settings(spec.Bucket, spec.Endpoint, spec.Region, spec.Prefix, spec.Profile), null, createBucket: false)),
    };

    /// <summary>Files of one commit as keys: no leading slash.</summary>
    private static string Key(string path) => path.TrimStart('/');

    private sealed class S3Target(S3ObjectStore objects) : EgressTarget
    {
        /// <summary>Files up to this size are read into memory and put in one request; larger ones are spooled to disk first.</summary>
        private const long InMemory = 16L * 1024 * 1024;

        public override void Put(string path, Stream content, long length, string scratch)
        {
            if (length <= InMemory)
            {
                using var buffer = new MemoryStream((int)Math.Max(0, length));
                content.CopyTo(buffer);
                objects.Put(Key(path), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                return;
            }
            Directory.CreateDirectory(scratch);
            var spool = Path.Combine(scratch, Guid.NewGuid().ToString("N"));
            try
            {
                using (var file = new FileStream(spool, FileMode.CreateNew, FileAccess.Write)) content.CopyTo(file);
                objects.PutFile(Key(path), spool);
            }
            finally { File.Delete(spool); }
        }

        public override void Delete(IReadOnlyCollection<string> paths) => objects.DeleteMany(paths.Select(Key).ToList());

        public override void Dispose() => objects.Dispose();
    }

    /// <summary>A local folder: each file written beside its place and moved there, so a reader never sees half of one.</summary>
    private sealed class FolderTarget(string root) : EgressTarget
    {
        private string PathOf(string path) => Path.Combine(root, Key(path));

        public override void Put(string path, Stream content, long length, string scratch) => Local(path, () =>
        {
            var target = PathOf(path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var tmp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
            try
            {
                using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write)) content.CopyTo(file);
                File.Move(tmp, target, overwrite: true);
            }
            finally { File.Delete(tmp); }
        });

        public override void Delete(IReadOnlyCollection<string> paths)
        {
            foreach (var path in paths)
            {
                Local(path, () =>
                {
                    var target = PathOf(path);
                    File.Delete(target);
                    // Folders the deletions left empty go too, up to the egress folder itself.
                    for (var dir = Path.GetDirectoryName(target); dir is not null && dir.Length > root.Length && Directory.Exists(dir)
                        && !Directory.EnumerateFileSystemEntries(dir).Any(); dir = Path.GetDirectoryName(dir))
                        Directory.Delete(dir);
                });
            }
        }

        private void Local(string path, Action work)
        {
            try { work(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new PachException("EgressTargetUnavailable", PachErrorKind.ResourceUnavailable,
                    $"Could not write {path} under '{root}': {ex.Message}", root, ex);
            }
        }
    }
}
