using System.Reflection;
using LiteDB;

namespace PachPS.Engine.Metadata;

/// <summary>
/// How much of a write transaction LiteDB keeps in memory. LiteDB holds every page a transaction changes in memory
/// until the pages of all its open transactions reach 100,000 (8 KB each: 800 MB); past that it writes them, still
/// uncommitted, to its log file (a "safepoint") and lets go of them. A commit of a million files changes about that
/// many pages, so it held them all. The budget is a private field of LiteDB's transaction monitor with no setting of
/// its own: <see cref="Cap"/> lowers it on each database this store opens, and a test fails if a LiteDB upgrade
/// renames it. Atomicity is unchanged: pages a safepoint wrote count only once their transaction commits, and a
/// rollback or a crash discards them.
/// <para>Why 128 MB: a page changed again after a safepoint is written again, and the random keys of chunk and tree
/// node indexes change pages all over. A million-file commit took 330 s with 32 MB, 204 s with 64 MB, 124-126 s with
/// 128 MB and 139-192 s with LiteDB's 800 MB (which also holds the most in memory, and makes the garbage collector
/// scan it).</para>
/// </summary>
internal static class TransactionMemory
{
    /// <summary>The pages (8 KB each) of open transactions held in memory before a safepoint: 128 MB.</summary>
    internal const int Pages = 16_000;

    /// <summary>
    /// The same for a database opened to read: 32 MB. A read changes nothing, so a safepoint only lets go of the clean
    /// pages it has read (read again if needed); with <see cref="Pages"/>, a read that walks an index out of step with
    /// its data (a job's datums in hash order: a page of 10,000 touches about as many data pages and index pages) held
    /// 128 MB of them. LiteDB gives each query 1,000 pages to start with, so this leaves four queries open at once
    /// (a lookup inside a listing's loop) their full start.
    /// </summary>
    internal const int ReadPages = 4_000;

    private static readonly FieldInfo? EngineField = typeof(LiteDatabase).GetField("_engine", BindingFlags.NonPublic | BindingFlags.Instance);
    private static readonly Type? EngineType = typeof(LiteDatabase).Assembly.GetType("LiteDB.Engine.LiteEngine");
    private static readonly FieldInfo? MonitorField = EngineType?.GetField("_monitor", BindingFlags.NonPublic | BindingFlags.Instance);
    private static readonly FieldInfo? FreePagesField = MonitorField?.FieldType.GetField("_freePages", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>
    /// Lowers a freshly opened database's budget to <paramref name="pages"/> (nothing when LiteDB has no such field): it
    /// must have no transaction yet, since the monitor counts down from it as transactions take pages.
    /// </summary>
    internal static void Cap(LiteDatabase db, int pages = Pages)
    {
        if (Monitor(db) is { } monitor) FreePagesField!.SetValue(monitor, pages);
    }

    /// <summary>
    /// Adds <paramref name="pages"/> to a database's budget (nothing when LiteDB has no such field): safe with transactions
    /// open, since the monitor only gives out and takes back what it holds.
    /// </summary>
    internal static void Widen(LiteDatabase db, int pages)
    {
        if (Monitor(db) is { } monitor) FreePagesField!.SetValue(monitor, (int)FreePagesField.GetValue(monitor)! + pages);
    }

    /// <summary>The budget left in a database's transaction monitor (pages); null when it cannot be read.</summary>
    internal static int? FreePages(LiteDatabase db) => Monitor(db) is { } monitor ? (int)FreePagesField!.GetValue(monitor)! : null;

    /// <summary>The database's transaction monitor, when this LiteDB has one with a <c>_freePages</c> field.</summary>
    private static object? Monitor(LiteDatabase db) =>
        FreePagesField is not null && EngineField?.GetValue(db) is { } engine && engine.GetType() == EngineType ? MonitorField!.GetValue(engine) : null;
}
