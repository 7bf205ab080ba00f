using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Backup;

/// <summary>
/// Backups of a store: a consistent snapshot of its metadata plus a manifest, written to a folder or an S3 prefix,
/// taken beside running jobs and writers in other processes; and restoring a new store from one.
/// </summary>
/// <remarks>
/// <para><b>DESIGN: consistency.</b> The snapshot is a copy of metadata.db and metadata-log.db taken under the lock
/// file every unit of work of every process holds while the database is open (<see cref="MetadataStore.Snapshot"/>):
/// each transaction is in it whole or not at all, and LiteDB replays the log when the copy is opened. Other processes
/// wait for the copy (a local file copy: about a second per few hundred MB), never for the upload.</para>
/// <para><b>DESIGN: what the backup needs, and pins.</b> The snapshot names content objects (tree leaves, datum results,
/// packs a collection rewrote through the snapshot's own chunk index). The backup marks them from the snapshot with the
/// garbage collector's own mark (<see cref="Collection.GarbageCollector.NamedObjects"/>), so it names exactly the
/// objects a read of the restored store would fetch, and records them as a pin in the store's metadata. A collection
/// keeps every pinned object and rewrites (repacks) none: the backup's metadata names the old pack locations. The
/// snapshot, the mark and the pin all happen while the backup holds the collection lock as a writer does, so the
/// collection argument in GarbageCollector covers it: a collection that decided before the snapshot deleted only
/// objects the snapshot no longer names, and one that decides after it reads the pin in its deciding transaction.
/// With content in S3 the pin stays until Remove-PachBackup; with local content the backup copies the objects to its
/// destination (content-addressed and shared by the destination's backups, so only what it lacks) and drops the pin
/// once they are copied, because it must survive the loss of the store's disk.</para>
/// <para><b>DESIGN: a restored store that shares S3 content.</b> A store restored from a backup of S3 content reads
/// the same bucket and prefix as the store it came from, and the two write there independently. Neither's metadata
/// names the other's new objects, so a collection by either could delete what the other needs (the original's pins
/// cover only what the backup named). Restoring therefore writes a claim object for both stores (stores/&lt;id&gt;
/// under the content prefix), and a collection of S3 content refuses (ContentShared) while the prefix holds a claim by
/// another store. Refusing is the safe choice: sharing only costs space, a wrong deletion loses data. When one of the
/// stores is gone for good, deleting its claim object lets the other collect again.</para>
/// <para><b>A server.</b> Backups run where the store is: through pachps-server a folder destination is a folder on the
/// server's machine, and an s3:// destination is reached from the server with the credentials the call sends.</para>
/// </remarks>
internal sealed class StoreBackups(MetadataStore meta, ContentStore content, string storePath)
{
    public const string ClaimPrefix = "stores/";
    private static readonly Regex ValidName = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", RegexOptions.CultureInvariant);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private const string Complete = "Complete";
    private const string Writing = "Writing";

    private CollectionLock Lock => content.Lock ?? throw new InvalidOperationException("A backup needs the store's collection lock.");

    // ---------------------------------------------------------------- backup

    public BackupInfo Backup(BackupLocation destination, string? name, IProgress<BackupProgress>? progress, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var created = DateTime.UtcNow;
        if (string.IsNullOrEmpty(name)) name = created.ToString("yyyy-MM-dd'T'HHmm'Z'", CultureInfo.InvariantCulture);
        if (!ValidName.IsMatch(name) || name == "objects")
            throw PachException.Invalid("BackupNameInvalid", $"'{name}' is no backup name: letters, digits, '.', '-' and '_', not 'objects'.", name);
        using var target = BackupTarget.Open(destination);
        var backup = target.BackupOf(name);
        if (target.Exists(name, BackupTarget.ManifestFile) || meta.Read(db => db.BackupPins().Get(backup)) is not null)
            throw new PachException("BackupExists", PachErrorKind.AlreadyExists, $"There is a backup at '{backup}' already.", backup);
        var s3 = (content.Objects as S3ObjectStore)?.Settings;
        // Content in a remote store (S3) survives the loss of this machine: it is pinned, not copied.
        var copies = !content.Objects.IsRemote;
        var staging = Path.Combine(storePath, "backup-staging", Guid.NewGuid().ToString("N"));
        var pinned = false;
        var uploading = false;
        try
        {
            var storeId = meta.Write(db => db.EnsureStoreId());
            List<string> objects;
            using (Lock.EnterWriter(cancel))
            {
                progress?.Report(new(BackupStage.Snapshot, 0, 0));
                meta.Snapshot(staging);
                progress?.Report(new(BackupStage.Marking, 0, 0));
                objects = NamedBy(staging, cancel);
                progress?.Report(new(BackupStage.Pinning, 0, objects.Count));
                Pin(backup, name, target.Destination, created, objects, whileCopying: copies);
                pinned = true;
            }
            // From here the pin keeps every object the snapshot names, whatever collections run meanwhile.
            long copied = 0, copiedBytes = 0;
            if (copies) (copied, copiedBytes) = CopyObjects(objects, content.Objects, target.Objects, progress, cancel);
            File.WriteAllLines(Path.Combine(staging, BackupTarget.ObjectListFile), objects);
            var files = MetadataStore.FileNames.Append(BackupTarget.ObjectListFile).Where(f => File.Exists(Path.Combine(staging, f)))
                .Select(f => Describe(Path.Combine(staging, f))).ToList();
            var manifest = new BackupManifest
            {
                Name = name, StoreId = storeId, SchemaVersion = MetadataStore.SchemaVersion, Created = created,
                PachPSVersion = typeof(StoreBackups).Assembly.GetName().Version?.ToString(3) ?? "",
                Backend = copies ? "Local" : "S3", S3 = s3, ContentCopied = copies, Objects = objects.Count, Files = files,
            };
            File.WriteAllText(Path.Combine(staging, BackupTarget.ManifestFile), JsonSerializer.Serialize(manifest, Json));
            uploading = true;
            var metadataBytes = files.Where(f => f.Name != BackupTarget.ObjectListFile).Sum(f => f.Bytes);
            var done = 0;
            foreach (var file in files)
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Report(new(BackupStage.WritingMetadata, done++, files.Count + 1));
                target.Upload(name, file.Name, Path.Combine(staging, file.Name));
            }
            // The manifest last: a backup is there once its manifest is.
            target.Upload(name, BackupTarget.ManifestFile, Path.Combine(staging, BackupTarget.ManifestFile));
            progress?.Report(new(BackupStage.WritingMetadata, files.Count + 1, files.Count + 1));
            meta.Write(db =>
            {
                if (copies) db.Unpin(backup);
                else if (db.BackupPins().Get(backup) is { } pin)
                {
                    pin.State = Complete;
                    db.BackupPins().Update(pin);
                }
            });
            return Info(manifest, backup, target.Destination, pinned: !copies) with
            {
                ObjectsCopied = copied, BytesCopied = copiedBytes, MetadataBytes = metadataBytes, Duration = clock.Elapsed,
            };
        }
        catch
        {
            // Nothing of a failed backup stays: not its pin, not its files (objects copied to a destination are shared
            // by content address and harmless; the next backup there uses them).
            if (uploading)
                try { target.DeleteBackup(name); }
                catch (Exception) { }
            if (pinned)
                try { meta.Write(db => db.Unpin(backup)); }
                catch (Exception) { }
            throw;
        }
        finally
        {
            try { Directory.Delete(staging, recursive: true); }
            catch (IOException) { }
            try { Directory.Delete(Path.GetDirectoryName(staging)!); }
            catch (IOException) { }
        }
    }

    /// <summary>The content objects the metadata snapshot in <paramref name="folder"/> names, by the collector's own mark.</summary>
    private List<string> NamedBy(string folder, CancellationToken cancel)
    {
        using var snapshot = new MetadataStore(folder, PfsCollections.EnsureIndexes, PpsCollections.EnsureIndexes);
        var named = Collection.GarbageCollector.NamedObjects(snapshot, content, storePath, cancel);
        named.Sort(StringComparer.Ordinal);
        return named;
    }

    private void Pin(string backup, string name, string destination, DateTime created, List<string> objects, bool whileCopying) => meta.Write(db =>
    {
        db.BackupPins().Insert(new BackupPinDoc
        {
            Id = backup, Name = name, Destination = destination, Created = created, State = Writing, Objects = objects.Count,
            WhileCopying = whileCopying,
        });
        var part = 0;
        foreach (var keys in objects.Chunk(BackupPinKeysDoc.PartSize))
            db.BackupPinKeys().Insert(new BackupPinKeysDoc { Id = $"{backup}#{part++:D6}", Keys = [.. keys] });
    });

    /// <summary>Copies the objects the destination lacks, verifying each against its content address.</summary>
    private static (long Objects, long Bytes) CopyObjects(IReadOnlyList<string> keys, IObjectStore from, IObjectStore to,
        IProgress<BackupProgress>? progress, CancellationToken cancel)
    {
        long copied = 0, bytes = 0, done = 0;
        var report = new object();
        var parallel = new ParallelOptions { CancellationToken = cancel, MaxDegreeOfParallelism = from.IsRemote || to.IsRemote ? 8 : 2 };
        progress?.Report(new(BackupStage.CopyingObjects, 0, keys.Count));
        Parallel.ForEach(keys, parallel, key =>
        {
            if (!to.Exists(key))
            {
                var data = from.Get(key);
                Verify(key, data);
                to.Put(key, data);
                to.Sync([(key, data.Length)]);
                Interlocked.Increment(ref copied);
                Interlocked.Add(ref bytes, data.Length);
            }
            if (Interlocked.Increment(ref done) % 500 == 0)
                lock (report) progress?.Report(new(BackupStage.CopyingObjects, Interlocked.Read(ref done), keys.Count));
        });
        progress?.Report(new(BackupStage.CopyingObjects, keys.Count, keys.Count));
        return (copied, bytes);
    }

    private static void Verify(string key, byte[] data)
    {
        if (ContentHash.Of(data) != key[(key.IndexOf('/') + 1)..])
            throw new PachException("ObjectCorrupt", PachErrorKind.InvalidData, $"Content object '{key}' does not match its hash; run Test-PachStore.", key);
    }

    private static BackupFile Describe(string path)
    {
        using var stream = File.OpenRead(path);
        return new BackupFile(Path.GetFileName(path), stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static BackupInfo Info(BackupManifest manifest, string backup, string destination, bool pinned) => new()
    {
        Name = manifest.Name, Backup = backup, Destination = destination, Created = StoredTime.Utc(manifest.Created), StoreId = manifest.StoreId,
        Backend = manifest.Backend, Content = manifest.S3?.DisplayName, Objects = manifest.Objects, Pinned = pinned,
        MetadataBytes = manifest.Files.Where(f => f.Name != BackupTarget.ObjectListFile).Sum(f => f.Bytes),
    };

    // ---------------------------------------------------------------- list and remove

    /// <summary>The backups this store pins, and with <paramref name="destination"/> every backup there.</summary>
    public IReadOnlyList<BackupInfo> List(BackupLocation? destination)
    {
        var pins = meta.Read(db => db.BackupPins().FindAll().ToList()).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var found = new Dictionary<string, BackupInfo>(StringComparer.Ordinal);
        foreach (var pin in pins.Values)
            found[pin.Id] = new BackupInfo
            {
                Name = pin.Name, Backup = pin.Id, Destination = pin.Destination, Created = StoredTime.Utc(pin.Created), Backend = "S3",
                Content = content.Objects.Description, Objects = pin.Objects, Pinned = !pin.WhileCopying,
                State = pin.State == Complete ? Complete : "Incomplete",
            };
        if (destination is not null)
        {
            using var target = BackupTarget.Open(destination);
            foreach (var name in target.Names())
            {
                var backup = target.BackupOf(name);
                found[backup] = Info(ReadManifest(target, name, Path.GetTempPath()), backup, target.Destination, pins.ContainsKey(backup));
            }
        }
        return found.Values.OrderBy(b => b.Created).ThenBy(b => b.Backup, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Deletes a backup: its files at its destination (and, for copied content, the objects no other backup there
    /// needs) and this store's pin, so the next collection frees what only the backup needed.
    /// </summary>
    public BackupInfo Remove(BackupLocation backupLocation, IProgress<BackupProgress>? progress, CancellationToken cancel)
    {
        var (destination, name) = BackupTarget.Split(backupLocation);
        using var target = BackupTarget.Open(destination);
        var backup = target.BackupOf(name);
        var pin = meta.Read(db => db.BackupPins().Get(backup));
        var temp = Path.Combine(Path.GetTempPath(), "pachps-backup-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            BackupInfo? info = null;
            if (target.Exists(name, BackupTarget.ManifestFile))
            {
                var manifest = ReadManifest(target, name, temp);
                info = Info(manifest, backup, target.Destination, pin is not null);
                progress?.Report(new(BackupStage.Removing, 0, 0));
                if (manifest.ContentCopied)
                {
                    // Objects are shared by the destination's backups: only those no other backup lists go.
                    var own = ObjectList(target, name, manifest, temp);
                    foreach (var other in target.Names().Where(n => n != name))
                    {
                        cancel.ThrowIfCancellationRequested();
                        own.ExceptWith(ObjectList(target, other, ReadManifest(target, other, temp), temp));
                    }
                    target.DeleteBackup(name);
                    target.Objects.DeleteMany(own.ToList());
                }
                else target.DeleteBackup(name);
            }
            else if (pin is null) throw PachException.NotFound("BackupNotFound", $"There is no backup at '{backup}', and this store pins none by that name.", backup);
            if (pin is not null) meta.Write(db => db.Unpin(backup));
            return info ?? new BackupInfo
            {
                Name = pin!.Name, Backup = backup, Destination = pin.Destination, Created = StoredTime.Utc(pin.Created), Backend = "S3",
                Objects = pin.Objects, State = pin.State == Complete ? Complete : "Incomplete",
            };
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>
    /// A backup opened as a source for Test-PachStore -Repair -From: its metadata files, checked against the manifest,
    /// in a temporary folder (the backup itself is never opened, so its checksums stay true), and its objects (the
    /// destination's copy of local content, or the bucket of S3 content).
    /// </summary>
    public static RepairSource OpenRepairSource(BackupLocation backupLocation)
    {
        var (destination, name) = BackupTarget.Split(backupLocation);
        var target = BackupTarget.Open(destination);
        var temp = Path.Combine(Path.GetTempPath(), "pachps-repair-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(temp);
        void Cleanup()
        {
            target.Dispose();
            try { Directory.Delete(temp, recursive: true); }
            catch (IOException) { }
        }
        try
        {
            var manifest = ReadManifest(target, name, temp);
            foreach (var file in manifest.Files.Where(f => f.Name != BackupTarget.ObjectListFile))
                Fetch(target, name, manifest, file.Name, Path.Combine(temp, file.Name));
            var objects = manifest.ContentCopied ? target.Objects
                : manifest.S3 is { } s3 ? new S3ObjectStore(s3, null) : throw Corrupt(target.BackupOf(name), "its manifest names neither copied content nor a bucket");
            return new RepairSource(target.BackupOf(name), new MetadataStore(temp), objects, manifest.ContentCopied ? Cleanup : () => { (objects as IDisposable)?.Dispose(); Cleanup(); });
        }
        catch
        {
            Cleanup();
            throw;
        }
    }

    private static BackupManifest ReadManifest(BackupTarget target, string name, string temp)
    {
        var file = Path.Combine(temp, Guid.NewGuid().ToString("N") + ".json");
        target.Download(name, BackupTarget.ManifestFile, file);
        try
        {
            var manifest = JsonSerializer.Deserialize<BackupManifest>(File.ReadAllText(file));
            if (manifest is null || manifest.Format != BackupManifest.CurrentFormat || manifest.Files.Count == 0)
                throw Corrupt(target.BackupOf(name), $"its manifest is not a {BackupManifest.CurrentFormat} manifest");
            return manifest;
        }
        catch (JsonException ex) { throw Corrupt(target.BackupOf(name), $"its manifest is not valid JSON ({ex.Message})"); }
        finally { File.Delete(file); }
    }

    private static HashSet<string> ObjectList(BackupTarget target, string name, BackupManifest manifest, string temp)
    {
        var file = Path.Combine(temp, Guid.NewGuid().ToString("N") + ".lst");
        Fetch(target, name, manifest, BackupTarget.ObjectListFile, file);
        try { return File.ReadLines(file).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal); }
        finally { File.Delete(file); }
    }

    /// <summary>Downloads one of a backup's files and checks it against the manifest (BackupCorrupt if it differs).</summary>
    private static void Fetch(BackupTarget target, string name, BackupManifest manifest, string file, string localPath)
    {
        var expected = manifest.Files.FirstOrDefault(f => f.Name == file)
            ?? throw Corrupt(target.BackupOf(name), $"its manifest lists no {file}");
        target.Download(name, file, localPath);
        var actual = Describe(localPath);
        if (actual.Bytes != expected.Bytes || actual.Sha256 != expected.Sha256)
            throw Corrupt(target.BackupOf(name), $"{file} does not match the checksum in its manifest");
    }

    private static PachException Corrupt(string backup, string why) =>
        new("BackupCorrupt", PachErrorKind.InvalidData, $"The backup '{backup}' is damaged: {why}.", backup);

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// Makes a new store in <paramref name="path"/> (a missing or empty folder) from a backup: its metadata, checked
    /// against the manifest, and its content copied from the backup (local content) or, for S3 content, the same bucket
    /// and prefix (claimed for both stores, so neither collects what the other needs). Nothing is left on failure.
    /// </summary>
    public static void Restore(BackupLocation backupLocation, string path, S3Credentials? contentCredentials,
        IProgress<BackupProgress>? progress, CancellationToken cancel)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any()))
            throw PachException.State("RestoreTargetNotEmpty", $"'{full}' is not an empty folder; a store is restored into a new or empty one.", full);
        var (destination, name) = BackupTarget.Split(backupLocation);
        using var target = BackupTarget.Open(destination);
        var backup = target.BackupOf(name);
        var staging = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".restoring-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(staging);
        try
        {
            progress?.Report(new(BackupStage.Reading, 0, 0));
            var manifest = ReadManifest(target, name, staging);
            if (manifest.SchemaVersion > MetadataStore.SchemaVersion)
                throw new PachException("StoreSchemaTooNew", PachErrorKind.InvalidData,
                    $"The backup '{backup}' has schema version {manifest.SchemaVersion}; this PachPS understands up to {manifest.SchemaVersion}.", backup);
            var done = 0;
            foreach (var file in manifest.Files)
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Report(new(BackupStage.Verifying, done++, manifest.Files.Count));
                Fetch(target, name, manifest, file.Name, Path.Combine(staging, file.Name));
            }
            var objects = File.ReadLines(Path.Combine(staging, BackupTarget.ObjectListFile)).Where(l => l.Length > 0).ToList();
            File.Delete(Path.Combine(staging, BackupTarget.ObjectListFile));
            if (manifest.ContentCopied)
            {
                try { CopyObjects(objects, target.Objects, new LocalObjectStore(Path.Combine(staging, "objects")), progress, cancel); }
                catch (PachException ex) when (ex.ErrorId is "ObjectMissing" or "ObjectCorrupt")
                {
                    throw new PachException("BackupCorrupt", PachErrorKind.InvalidData, $"The backup '{backup}' is damaged: {ex.Message}", backup, ex);
                }
            }
            else if (manifest.S3 is null) throw Corrupt(backup, "its manifest names neither copied content nor a bucket");
            var storeId = Guid.NewGuid().ToString("N");
            using (var restored = new MetadataStore(staging, PfsCollections.EnsureIndexes, PpsCollections.EnsureIndexes))
                restored.Write(db =>
                {
                    db.StoreIdentity().Upsert(new StoreIdentityDoc { StoreId = storeId, RestoredFrom = manifest.StoreId, RestoredBackup = backup });
                    // The original's backups are the original's: their pins stay with it. A collection that was running is not.
                    db.BackupPins().DeleteAll();
                    db.BackupPinKeys().DeleteAll();
                    db.CollectionRuns().DeleteAll();
                    db.LiveObjects().DeleteAll();
                });
            File.Delete(Path.Combine(staging, "metadata.lock"));
            PachStore.WriteConfig(staging, manifest.S3);
            if (manifest.S3 is not null)
            {
                using var shared = new S3ObjectStore(manifest.S3, contentCredentials);
                var claim = JsonSerializer.SerializeToUtf8Bytes(new { Restored = storeId, From = manifest.StoreId, Backup = backup, Created = DateTime.UtcNow });
                shared.Put(ClaimPrefix + manifest.StoreId, claim);
                shared.Put(ClaimPrefix + storeId, claim);
            }
            if (Directory.Exists(full)) Directory.Delete(full);
            Directory.Move(staging, full);
        }
        catch
        {
            try { Directory.Delete(staging, recursive: true); }
            catch (IOException) { }
            throw;
        }
    }
}
