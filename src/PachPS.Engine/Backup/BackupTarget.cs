using PachPS.Engine.Storage;

namespace PachPS.Engine.Backup;

/// <summary>
/// A destination of backups: a folder or an S3 prefix holding one folder per backup (manifest.json, metadata files,
/// objects.lst) and, for stores with local content, one content-addressed objects folder that all backups share
/// (so each backup copies only the objects the destination lacks).
/// </summary>
internal abstract class BackupTarget : IDisposable
{
    public const string ManifestFile = "manifest.json";
    public const string ObjectListFile = "objects.lst";

    /// <summary>The destination as the user wrote it, without a trailing slash.</summary>
    public abstract string Destination { get; }
    /// <summary>The content objects the backups of stores with local content share.</summary>
    public abstract IObjectStore Objects { get; }
    public abstract bool Exists(string name, string file);
    public abstract void Upload(string name, string file, string localPath);
    public abstract void Download(string name, string file, string localPath);
    /// <summary>Names of the backups here (those whose manifest was written).</summary>
    public abstract IEnumerable<string> Names();
    /// <summary>Deletes a backup's own files (not the shared objects).</summary>
    public abstract void DeleteBackup(string name);
    public virtual void Dispose() { }

    public string BackupOf(string name) => Destination + "/" + name;

    public static BackupTarget Open(BackupLocation location) =>
        location.IsS3 ? new S3Target(location) : new FolderTarget(System.IO.Path.GetFullPath(location.Path));

    /// <summary>Splits a backup's location (destination/name) into its destination and its name.</summary>
    public static (BackupLocation Destination, string Name) Split(BackupLocation backup)
    {
        var trimmed = backup.Path.TrimEnd('/', '\\');
        var slash = trimmed.LastIndexOfAny(['/', '\\']);
        if (slash <= 0 || slash == trimmed.Length - 1 || (backup.IsS3 && slash < BackupLocation.S3Scheme.Length + 1))
            throw PachException.Invalid("BackupLocationInvalid", $"'{backup.Path}' does not name a backup (<destination>/<name>).", backup.Path);
        return (backup with { Path = trimmed[..slash] }, trimmed[(slash + 1)..]);
    }

    private sealed class FolderTarget(string root) : BackupTarget
    {
        private LocalObjectStore? _objects;
        public override string Destination { get; } = root.TrimEnd('/', '\\');
        public override IObjectStore Objects => _objects ??= new LocalObjectStore(System.IO.Path.Combine(root, "objects"));
        private string PathOf(string name, string file) => System.IO.Path.Combine(root, name, file);
        public override bool Exists(string name, string file) => File.Exists(PathOf(name, file));

        public override void Upload(string name, string file, string localPath)
        {
            var path = PathOf(name, file);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            var tmp = path + ".tmp";
            File.Copy(localPath, tmp, overwrite: true);
            using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite)) fs.Flush(flushToDisk: true);
            File.Move(tmp, path, overwrite: true);
        }

        public override void Download(string name, string file, string localPath)
        {
            var path = PathOf(name, file);
            if (!File.Exists(path)) throw Missing(BackupOf(name), file);
            File.Copy(path, localPath, overwrite: true);
        }

        public override IEnumerable<string> Names() => !Directory.Exists(root) ? []
            : Directory.EnumerateDirectories(root).Where(d => File.Exists(System.IO.Path.Combine(d, ManifestFile))).Select(System.IO.Path.GetFileName).OfType<string>();

        public override void DeleteBackup(string name)
        {
            var folder = System.IO.Path.Combine(root, name);
            // The manifest first: a backup without one is no backup, whatever else is left if deleting stops half-way.
            File.Delete(System.IO.Path.Combine(folder, ManifestFile));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class S3Target : BackupTarget
    {
        private readonly S3ObjectStore _files;
        private readonly S3ObjectStore _objects;

        public S3Target(BackupLocation location)
        {
            var rest = location.Path[BackupLocation.S3Scheme.Length..].TrimEnd('/');
            var slash = rest.IndexOf('/');
            var bucket = slash < 0 ? rest : rest[..slash];
            var prefix = slash < 0 ? "" : rest[(slash + 1)..];
            if (bucket.Length == 0) throw PachException.Invalid("BackupLocationInvalid", $"'{location.Path}' names no bucket (s3://bucket/prefix).", location.Path);
            Destination = BackupLocation.S3Scheme + rest;
            _files = new S3ObjectStore(new S3Settings(bucket, location.S3Endpoint, location.S3Region, prefix, location.ProfileName), location.Credentials);
            _objects = new S3ObjectStore(new S3Settings(bucket, location.S3Endpoint, location.S3Region,
                prefix.Length == 0 ? "objects" : prefix + "/objects", location.ProfileName), location.Credentials);
        }

        public override string Destination { get; }
        public override IObjectStore Objects => _objects;
        public override bool Exists(string name, string file) => _files.Exists(name + "/" + file);
        public override void Upload(string name, string file, string localPath) => _files.Put(name + "/" + file, File.ReadAllBytes(localPath));

        public override void Download(string name, string file, string localPath)
        {
            byte[] data;
            try { data = _files.Get(name + "/" + file); }
            catch (PachException ex) when (ex.ErrorId == "ObjectMissing") { throw Missing(BackupOf(name), file); }
            File.WriteAllBytes(localPath, data);
        }

        public override IEnumerable<string> Names() => _files.List("").Where(k => k.EndsWith("/" + ManifestFile, StringComparison.Ordinal))
            .Select(k => k[..k.LastIndexOf('/')]).Where(n => !n.Contains('/'));

        public override void DeleteBackup(string name)
        {
            _files.Delete(name + "/" + ManifestFile);
            _files.DeleteMany(_files.List(name + "/").ToList());
        }

        public override void Dispose()
        {
            _files.Dispose();
            _objects.Dispose();
        }
    }

    private static PachException Missing(string backup, string file) => file == ManifestFile
        ? PachException.NotFound("BackupNotFound", $"There is no backup at '{backup}' (no {ManifestFile}).", backup)
        : new PachException("BackupCorrupt", PachErrorKind.InvalidData, $"The backup '{backup}' lacks its file {file}.", backup);
}
