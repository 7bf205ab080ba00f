using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Tests.Unit;

/// <summary>
/// A write transaction keeps at most <see cref="TransactionMemory.Pages"/> changed pages in memory: past them LiteDB
/// writes them, uncommitted, to its log file, and the transaction is still all or nothing. A read keeps at most
/// <see cref="TransactionMemory.ReadPages"/> of the pages it has read.
/// </summary>
public class TransactionMemoryTests
{
    // About 175 MB of documents: well past the 128 MB a transaction may keep in memory.
    private const int Documents = 25_000;
    private static readonly string Filler = new('x', 7_000);

    [Fact]
    public void EveryDatabaseTheStoreOpensHasTheLowerBudget()
    {
        using var t = new TempStore();
        // Null when a LiteDB upgrade renamed the field: then the cap is gone and this fails.
        var free = t.Store.Meta.Write(db => TransactionMemory.FreePages(db));
        Assert.NotNull(free);
        Assert.InRange(free.Value, 0, TransactionMemory.Pages);
    }

    [Fact]
    public void AReadKeepsAtMostItsBudgetOfThePagesItRead()
    {
        using var t = new TempStore();
        var meta = t.Store.Meta;
        meta.Write(db =>
        {
            for (var i = 0; i < Documents; i++) Big(db).Insert(Document(i));
        });
        // A page a document: reading them all passes 25,000 pages. LiteDB counts the pages a transaction holds in
        // $transactions (the listing's query, and this look at it).
        var (read, most) = meta.Read(db =>
        {
            int read = 0, most = 0;
            foreach (var _ in Big(db).FindAll())
            {
                if (++read % 500 != 0) continue;
                most = Math.Max(most, db.GetCollection("$transactions").FindAll().Max(x => x["transactionSize"].AsInt32));
            }
            return (read, most);
        });
        Assert.Equal(Documents, read);
        // With a write's budget the listing held up to 16,000 pages (128 MB) before letting go of them.
        Assert.InRange(most, 500, TransactionMemory.ReadPages);
    }

    [Fact]
    public void AWriteInsideAReadHasAWritesBudget()
    {
        using var t = new TempStore();
        var meta = t.Store.Meta;
        Assert.InRange(meta.Read(db => TransactionMemory.FreePages(db))!.Value, 0, TransactionMemory.ReadPages);
        // The write's transaction has taken its first 1,000 pages: what is left is more than a read's whole budget.
        var free = meta.Read(_ => meta.Write(db => TransactionMemory.FreePages(db)))!.Value;
        Assert.InRange(free, TransactionMemory.ReadPages + 1, TransactionMemory.Pages);
    }

    [Fact]
    public void AWriteLargerThanTheBudgetSpillsToTheLogAndCommitsWhole()
    {
        using var t = new TempStore();
        var meta = t.Store.Meta;
        var log = LogFile(t);
        long spilled = 0;
        meta.Write(db =>
        {
            for (var i = 0; i < Documents; i++) Big(db).Insert(Document(i));
            spilled = File.Exists(log) ? new FileInfo(log).Length : 0;
        });
        // Written to the log before the commit: the pages were let go of while the transaction ran (with LiteDB's own
        // budget nothing is, and the log is written only at the commit).
        Assert.True(spilled > TransactionMemory.Pages * 8192L / 2, $"only {spilled} bytes reached the log before the commit");
        Assert.Equal(Documents, meta.Read(db => Big(db).Count()));
        Assert.Equal(Filler + "24999", meta.Read(db => Big(db).FindById(24_999)["text"].AsString));
    }

    [Fact]
    public void AWriteLargerThanTheBudgetThatFailsLeavesNothing()
    {
        using var t = new TempStore();
        var meta = t.Store.Meta;
        meta.Write(db => Big(db).Insert(Document(-1)));
        Assert.Throws<InvalidOperationException>(() => meta.Write(db =>
        {
            for (var i = 0; i < Documents; i++) Big(db).Insert(Document(i));
            throw new InvalidOperationException("failed after the pages spilled");
        }));
        Assert.Equal([-1], meta.Read(db => Big(db).FindAll().Select(d => d["_id"].AsInt32).ToList()));
        // Still true once the log is folded into the data file, and in a store opened afresh.
        meta.Write(db => db.Checkpoint());
        t.Reopen();
        Assert.Equal([-1], t.Store.Meta.Read(db => Big(db).FindAll().Select(d => d["_id"].AsInt32).ToList()));
        Assert.Empty(t.Store.Check());
    }

    private static BsonDocument Document(int i) => new() { ["_id"] = i, ["text"] = Filler + i };

    private static ILiteCollection<BsonDocument> Big(LiteDatabase db) => db.GetCollection("test_big");

    private static string LogFile(TempStore t) => Path.Combine(t.Folder, "metadata-log.db");
}
