using System.Globalization;
using LiteDB;

namespace PachPS.Engine.Metadata;

/// <summary>
/// The LiteDB file, shared safely between processes: every unit of work takes an exclusive lock file, opens the
/// database, runs in one transaction and closes it again, so no process ever works from a stale page cache.
/// </summary>
public sealed class MetadataStore : IDisposable
{
    public const int SchemaVersion = 1;
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Waits between tries to open a database another process holds: from 1 ms, doubling, at most this many ms.</summary>
    private const int MaxLockRetryMilliseconds = 50;
    // LiteDB's global mapper trims strings and stores "" as null; PachPS wants values back exactly as written.
    // One mapper per store: a BsonMapper builds its type maps lazily and is not safe to share between threads,
    // while everything this store does with the database runs under _gate.
    private readonly BsonMapper _mapper = new() { EmptyStringToNull = false, TrimWhitespace = false };

    private readonly string _dbPath;
    private readonly string _lockPath;
    private readonly object _gate = new();
    private int _depth;
    private LiteDatabase? _db;
    private FileStream? _lock;
    private bool _inWrite;
    /// <summary>Whether the open database has a write's transaction memory (<see cref="TransactionMemory"/>), not a read's.</summary>
    private bool _openedToWrite;

    /// <summary>Opens (creating if needed) the database in <paramref name="folder"/>; each area ensures its own indexes.</summary>
    internal MetadataStore(string folder, params Action<LiteDatabase>[] ensureIndexes)
    {
        Directory.CreateDirectory(folder);
        _dbPath = Path.Combine(folder, "metadata.db");
        _lockPath = Path.Combine(folder, "metadata.lock");
        Write(db =>
        {
            var schema = db.GetCollection<SchemaDoc>("schema");
            var current = schema.Get("schema");
            if (current is null) schema.Insert(new SchemaDoc { Version = SchemaVersion });
            else if (current.Version > SchemaVersion)
                throw new PachException("StoreSchemaTooNew", PachErrorKind.InvalidData,
                    $"The store at '{folder}' has schema version {current.Version}; this PachPS understands up to {SchemaVersion}.", folder);
            foreach (var ensure in ensureIndexes) ensure(db);
            return 0;
        });
    }

    internal T Read<T>(Func<LiteDatabase, T> work) => Run(work, write: false);

    internal T Write<T>(Func<LiteDatabase, T> work) => Run(work, write: true);

    internal void Write(Action<LiteDatabase> work) => Run(db => { work(db); return 0; }, write: true);

    private readonly List<Action> _afterCommit = [];

    /// <summary>
    /// Runs <paramref name="action"/> once the current write transaction has committed (not if it rolls back), before
    /// the database is closed: what it writes is a transaction of its own. Lets one area tell another that something
    /// happened without the listener working inside the teller's transaction.
    /// </summary>
    internal void AfterCommit(Action action)
    {
        lock (_gate)
        {
            if (!_inWrite) throw new InvalidOperationException("AfterCommit is only meaningful inside a write.");
            _afterCommit.Add(action);
        }
    }

    /// <summary>
    /// Inside a write that is a unit of work of its own (not nested in another read or write), commits what it wrote so
    /// far and goes on in a new transaction, still under the store's lock: no other process or thread sees the parts
    /// apart, but a crash or a failure after this keeps the parts before it. A transaction's changed pages beyond
    /// <see cref="TransactionMemory.Pages"/> go to LiteDB's log file, and a page changed again after that (an index
    /// page, say) is written there again; a write of 100,000 records whose every prefix leaves the store valid commits
    /// in parts instead, and the records of a crashed run are not lost. Anywhere else it does nothing.
    /// </summary>
    internal void CommitPart(LiteDatabase db)
    {
        lock (_gate)
        {
            if (!_inWrite || _depth != 1 || !ReferenceEquals(db, _db)) return;
            _db.Commit();
            _db.BeginTrans();
        }
    }

    private T Run<T>(Func<LiteDatabase, T> work, bool write)
    {
        lock (_gate)
        {
            if (_depth == 0) Open(write);
            _depth++;
            var ownsTransaction = write && !_inWrite;
            var committed = false;
            try
            {
                if (ownsTransaction)
                {
                    if (!_openedToWrite)
                    {
                        // A write inside a read: its transaction gets a write's memory, not the read's.
                        TransactionMemory.Widen(_db!, TransactionMemory.Pages - TransactionMemory.ReadPages);
                        _openedToWrite = true;
                    }
                    _db!.BeginTrans();
                    _inWrite = true;
                }
                var result = work(_db!);
                if (ownsTransaction)
                {
                    _db!.Commit();
                    committed = true;
                    _inWrite = false;
                    while (_afterCommit.Count > 0)
                    {
                        var actions = _afterCommit.ToArray();
                        _afterCommit.Clear();
                        foreach (var action in actions) action();
                    }
                }
                return result;
            }
            catch (Exception ex) when (StorageFull.IsOutOfSpace(ex) || StorageFull.IsOutOfSpace(ex.InnerException ?? ex))
            {
                // Nothing of an uncommitted transaction counts; rolling it back may need room too, and may fail as well.
                try { RollBack(ownsTransaction && !committed); }
                catch (Exception) { }
                throw StorageFull.Error($"the metadata of the store '{Path.GetDirectoryName(_dbPath)}'", ex.Message, ex);
            }
            catch (LiteException ex) when (IsDamage(ex))
            {
                // A damaged file fails the rollback too; the damage is what the caller needs to hear about.
                try { RollBack(ownsTransaction && !committed); }
                catch (Exception) { }
                throw Corrupt(ex.Message, ex);
            }
            catch (LiteException ex)
            {
                RollBack(ownsTransaction && !committed);
                throw new PachException("MetadataStoreError", PachErrorKind.InvalidData,
                    $"The metadata of the store '{Path.GetDirectoryName(_dbPath)}' could not be {(write ? "written" : "read")}: {ex.Message}", _dbPath, ex);
            }
            catch
            {
                RollBack(ownsTransaction && !committed);
                throw;
            }
            finally
            {
                if (ownsTransaction) _inWrite = false;
                _depth--;
                if (_depth == 0) Close();
            }
        }
    }

    private void RollBack(bool owned)
    {
        if (!owned) return;
        _db!.Rollback();
        _afterCommit.Clear();
    }

    private void Open(bool write)
    {
        AcquireLock();
        OpenDatabase(write);
    }

    private void AcquireLock()
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        var delay = 1;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive advisory lock between .NET processes; the kernel drops it if we die.
                _lock = new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                break;
            }
            catch (DirectoryNotFoundException ex)
            {
                // Not a lock another process holds: the store's folder is gone (deleted under an open session).
                throw new PachException("StoreFolderMissing", PachErrorKind.NotFound,
                    $"The store's folder '{Path.GetDirectoryName(_dbPath)}' no longer exists.", _dbPath, ex);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, MaxLockRetryMilliseconds);
            }
            catch (IOException ex)
            {
                throw new PachException("StoreBusy", PachErrorKind.ResourceUnavailable,
                    $"The store '{Path.GetDirectoryName(_dbPath)}' stayed locked by another process for {LockTimeout.TotalSeconds} s.", _dbPath, ex);
            }
        }
    }

    /// <summary>Opens the database with the transaction memory of a write, or the smaller one of a read.</summary>
    private void OpenDatabase(bool write)
    {
        try
        {
            var cs = new ConnectionString
            {
                Filename = _dbPath,
                Connection = ConnectionType.Direct,
                Collation = new Collation(CultureInfo.InvariantCulture.LCID, CompareOptions.Ordinal),
            };
            // LiteDB takes a file shorter than its header page for a new database and would start over on it.
            if (File.Exists(_dbPath) && new FileInfo(_dbPath).Length is > 0 and < PageSize and var length)
                throw Corrupt($"it is {length} bytes long, shorter than its first page", null);
            _db = new LiteDatabase(cs, _mapper) { CheckpointSize = 4000 };
            TransactionMemory.Cap(_db, write ? TransactionMemory.Pages : TransactionMemory.ReadPages);
            _openedToWrite = write;
        }
        catch (Exception ex) when (ex is LiteException lite ? IsDamage(lite) : ex is not (IOException or UnauthorizedAccessException or PachException))
        {
            // Opening reads only the file's header and collections: whatever else fails there is the file's bytes
            // (a header with an impossible date fails with ArgumentOutOfRangeException, say).
            _lock!.Dispose();
            _lock = null;
            throw Corrupt(ex.Message, ex);
        }
        catch
        {
            _lock!.Dispose();
            _lock = null;
            throw;
        }
    }

    // LiteDB's page size: its data file is whole pages, the first of them the header.
    private const int PageSize = 8192;

    /// <summary>LiteDB's errors for a data file that is not a sound database (cut short, overwritten, not LiteDB at all).</summary>
    private static bool IsDamage(LiteException ex) => ex.ErrorCode is LiteException.INVALID_DATABASE or LiteException.INVALID_DATAFILE_STATE
        or LiteException.INVALID_FREE_SPACE_PAGE or LiteException.NOT_ENCRYPTED or LiteException.INVALID_PASSWORD;

    private PachException Corrupt(string damage, Exception? inner) => new("MetadataCorrupt", PachErrorKind.InvalidData,
        $"The metadata file '{_dbPath}' is damaged ({damage.TrimEnd('.')}). Restore the store's folder from a backup (metadata.db " +
        "with its metadata-log.db), then run Test-PachStore to check it against its objects.", _dbPath, inner);

    /// <summary>The files that make up the database: the data file and LiteDB's write-ahead log beside it.</summary>
    internal static readonly string[] FileNames = ["metadata.db", "metadata-log.db"];

    /// <summary>
    /// Copies the database files into <paramref name="folder"/> as one consistent snapshot, beside other processes: it
    /// takes the same lock file every unit of work in any process holds while the database is open, so no transaction
    /// is half-written and no process has the files open when they are copied (each closes them before letting go).
    /// The copy may include LiteDB's log (metadata-log.db); opening the copy replays it. Returns the files copied.
    /// </summary>
    internal IReadOnlyList<string> Snapshot(string folder)
    {
        lock (_gate)
        {
            if (_depth != 0) throw new InvalidOperationException("A snapshot cannot be taken inside a unit of work.");
            Directory.CreateDirectory(folder);
            AcquireLock();
            try
            {
                var copied = new List<string>();
                var source = Path.GetDirectoryName(_dbPath)!;
                foreach (var name in FileNames)
                {
                    var from = Path.Combine(source, name);
                    if (!File.Exists(from)) continue;
                    File.Copy(from, Path.Combine(folder, name), overwrite: true);
                    copied.Add(name);
                }
                return copied;
            }
            finally
            {
                _lock?.Dispose();
                _lock = null;
            }
        }
    }

    private void Close()
    {
        _db?.Dispose();
        _db = null;
        _lock?.Dispose();
        _lock = null;
    }


    public void Dispose()
    {
        lock (_gate) Close();
    }
}
