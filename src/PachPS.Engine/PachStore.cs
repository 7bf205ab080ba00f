using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine;

/// <summary>An open store: LiteDB metadata plus a content-addressed object store, and the services over them.</summary>
public sealed class PachStore : IDisposable
{
    private PachStore(string path, IObjectStore objects, bool temporary)
    {
        Path = path;
        Temporary = temporary;
        Meta = new MetadataStore(path);
        Content = new ContentStore(objects);
        Pfs = new PfsService(Meta, Content);
        Pps = new Pps.PpsService(this);
    }

    public string Path { get; }
    public bool Temporary { get; }
    internal MetadataStore Meta { get; }
    internal ContentStore Content { get; }
    public PfsService Pfs { get; }
    public Pps.PpsService Pps { get; }

    /// <summary>Opens (creating if needed) the embedded store at a folder: metadata.db plus objects/.</summary>
    public static PachStore Open(string path, bool temporary = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
            throw PachException.Invalid("StorePathIsFile", $"'{full}' is a file; a store is a folder.", full);
        Directory.CreateDirectory(full);
        return Open(full, new LocalObjectStore(System.IO.Path.Combine(full, "objects")), temporary);
    }

    /// <summary>Opens a store over any object store (S3, or a faulty one in tests).</summary>
    internal static PachStore Open(string folder, IObjectStore objects, bool temporary = false)
    {
        var store = new PachStore(folder, objects, temporary);
        store.Pps.ResumeOrphans();
        return store;
    }

    /// <summary>The default store folder: $PACHPS_STORE, else ~/.pachps.</summary>
    public static string DefaultPath()
    {
        var env = Environment.GetEnvironmentVariable("PACHPS_STORE");
        return string.IsNullOrWhiteSpace(env)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pachps")
            : env;
    }

    /// <summary>Removes a repo and its commits.</summary>
    public void RemoveRepo(string name) => Pfs.DeleteRepo(name, db => Pps.GuardRepoDeletion(db, name));

    public StoreInfo Info()
    {
        var (bytes, count) = Content.Objects.Usage();
        var (repos, commits) = Meta.Read(db => (db.GetCollection("repos").Count(), db.GetCollection("commits").Count()));
        var metaBytes = Directory.EnumerateFiles(Path, "metadata*.db").Sum(f => new FileInfo(f).Length);
        return new StoreInfo(Path, "Local", bytes, count, metaBytes, repos, commits, Temporary);
    }

    /// <summary>Checks that every finished commit's tree nodes and chunks exist and match their hashes.</summary>
    public IReadOnlyList<IntegrityFinding> Check(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
        new IntegrityCheck(this).Run(progress, cancel);

    public void Dispose()
    {
        Pps.Dispose();
        Meta.Dispose();
        if (Temporary)
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}
