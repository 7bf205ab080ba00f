using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Where each branch head was when: every head move is recorded here, in the moving transaction, so
/// <c>branch@{time}</c> can name the head as it was. Stores made before head history was kept fall back, for the times
/// before their first recorded move, to the commit Finished times along the branch's ancestry.
/// </summary>
internal static class HeadHistory
{
    private const string Created = "created";
    private const string Baseline = "baseline";

    /// <summary>Records a new branch and its first head (null: none yet), at its creation time.</summary>
    public static void Start(LiteDatabase db, BranchDoc branch) =>
        db.HeadMoves().Insert(new HeadMoveDoc { Repo = branch.Repo, Branch = branch.Id, Commit = branch.Head, Time = branch.Created, Cause = Created });

    /// <summary>
    /// Moves a branch head (the caller updates the branch document) and records the move. The first move of a branch
    /// a store made before head history first records where the head was (the baseline).
    /// </summary>
    public static void Move(LiteDatabase db, BranchDoc branch, string? commit, string cause, DateTime time)
    {
        var moves = db.HeadMoves();
        if (!moves.Exists(m => m.Branch == branch.Id))
            moves.Insert(new HeadMoveDoc { Repo = branch.Repo, Branch = branch.Id, Commit = branch.Head, Time = time, Cause = Baseline });
        branch.Head = commit;
        moves.Insert(new HeadMoveDoc { Repo = branch.Repo, Branch = branch.Id, Commit = commit, Time = time, Cause = cause });
    }

    /// <summary>Forgets the moves of one branch (it is removed) or of every branch of a repo.</summary>
    public static void Forget(LiteDatabase db, string repo, string? branch = null)
    {
        if (branch is null) db.HeadMoves().DeleteMany(m => m.Repo == repo);
        else
        {
            var key = BranchDoc.Key(repo, branch);
            db.HeadMoves().DeleteMany(m => m.Branch == key);
        }
    }

    /// <summary>The head of <paramref name="branch"/> as it was at <paramref name="time"/>; CommitNotFound when it had none.</summary>
    public static CommitDoc At(LiteDatabase db, BranchDoc branch, DateTimeOffset time, string reference)
    {
        var at = time.UtcDateTime;
        var moves = db.HeadMoves().Find(m => m.Branch == branch.Id).OrderBy(m => m.Id).ToList();
        var target = $"{branch.Repo}@{reference}";
        string? head;
        if (moves.Count > 0 && Utc(moves[0].Time) <= at)
            head = moves.Last(m => Utc(m.Time) <= at).Commit;
        else if (moves.Count > 0 && moves[0].Cause == Created)
            throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' did not exist yet at {Show(time)}.", target);
        else
        {
            // Before the first recorded move of a branch from an older store: the newest commit of its ancestry (from
            // the head it had then) that had finished by that time.
            var from = moves.Count > 0 ? moves[0].Commit : branch.Head;
            var start = from is null ? null : db.Commits().FindById(from);
            var found = start is null ? null : CommitResolver.Ancestry(db, start).FirstOrDefault(c => c.Finished is { } f && Utc(f) <= at);
            return found ?? throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' had no commit at {Show(time)}.", target);
        }
        if (head is null)
            throw PachException.NotFound("CommitNotFound", $"Branch '{branch.Name}' of '{branch.Repo}' had no commit at {Show(time)}.", target);
        return db.Commits().FindById(head)
            ?? throw PachException.NotFound("CommitNotFound",
                $"The commit branch '{branch.Name}' of '{branch.Repo}' had at {Show(time)} ({Ids.Short(head)}) has since been removed.", target);
    }

    private static DateTime Utc(DateTime stored) => StoredTime.Utc(stored).UtcDateTime;

    private static string Show(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
}
