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

    /// <summary>Opens an egress's target; an s3:// one with the store's S3 server and credentials where it names no other (<see cref="S3ObjectStore.Open"/>).</summary>
    public static EgressTarget Open(EgressSpec spec, IObjectStore? storeObjects) => spec.Kind switch
    {
        EgressKind.Folder => new FolderTarget(spec.Folder),
        _ => new S3Target(S3ObjectStore.Open(new S3Location(spec.Bucket, "", spec.Endpoint, spec.Region, spec.Profile), storeObjects, prefix: spec.Prefix)),
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
