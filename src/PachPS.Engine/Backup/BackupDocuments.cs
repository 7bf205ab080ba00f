using PachPS.Engine.Metadata;
using LiteDB;

namespace PachPS.Engine.Backup;

/// <summary>The LiteDB collections of backups and the store's identity, by name.</summary>
internal static class BackupCollections
{
    public static ILiteCollection<StoreIdentityDoc> StoreIdentity(this LiteDatabase db) => db.GetCollection<StoreIdentityDoc>("store_identity");
    public static ILiteCollection<BackupPinDoc> BackupPins(this LiteDatabase db) => db.GetCollection<BackupPinDoc>("backup_pins");
    public static ILiteCollection<BackupPinKeysDoc> BackupPinKeys(this LiteDatabase db) => db.GetCollection<BackupPinKeysDoc>("backup_pin_keys");

    /// <summary>The store's id, made on first use (a backup's manifest names it; a restored store gets a new one).</summary>
    public static string EnsureStoreId(this LiteDatabase db)
    {
        var identity = db.StoreIdentity().Get(StoreIdentityDoc.Current);
        if (identity is not null) return identity.StoreId;
        identity = new StoreIdentityDoc { StoreId = Guid.NewGuid().ToString("N") };
        db.StoreIdentity().Insert(identity);
        return identity.StoreId;
    }

    /// <summary>Every object some backup pins (what a collection must keep, whatever the store's own metadata says).</summary>
    public static HashSet<string> PinnedObjects(this LiteDatabase db)
    {
        var pinned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in db.BackupPinKeys().FindAll())
            foreach (var key in part.Keys) pinned.Add(key);
        return pinned;
    }

    /// <summary>Drops a backup's pin and its lists of pinned objects.</summary>
    public static void Unpin(this LiteDatabase db, string backup)
    {
        db.BackupPins().Delete(backup);
        db.BackupPinKeys().DeleteMany(Query.StartsWith("_id", backup + "#"));
    }
}

/// <summary>Who the store is (id "store"): a backup's manifest names it, and shared S3 content is claimed by it.</summary>
internal sealed class StoreIdentityDoc
{
    public const string Current = "store";
    [BsonId] public string Id { get; set; } = Current;
    public string StoreId { get; set; } = "";
    /// <summary>For a restored store: the store its backup was taken from.</summary>
    public string? RestoredFrom { get; set; }
    /// <summary>For a restored store: the backup it was restored from.</summary>
    public string? RestoredBackup { get; set; }
}

/// <summary>
/// A backup that needs this store's content objects (id: the backup's location): while it exists, a collection keeps
/// every object the backup's metadata names, listed in <see cref="BackupPinKeysDoc"/>s, and rewrites none of them.
/// </summary>
internal sealed class BackupPinDoc
{
    [BsonId] public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Destination { get; set; } = "";
    public DateTime Created { get; set; }
    /// <summary>"Writing" while the backup is being written (a crash leaves it so), then "Complete".</summary>
    public string State { get; set; } = "";
    public long Objects { get; set; }
    /// <summary>Temporary: the backup copies the content and needs the pin only while it copies.</summary>
    public bool WhileCopying { get; set; }
}

/// <summary>Part of a backup pin's object list (id "&lt;backup&gt;#&lt;n&gt;"): keys of content objects.</summary>
internal sealed class BackupPinKeysDoc
{
    /// <summary>Keys per document: a store with millions of objects still makes documents far below LiteDB's limit.</summary>
    public const int PartSize = 10_000;
    [BsonId] public string Id { get; set; } = "";
    public List<string> Keys { get; set; } = [];
}
