using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Where each branch head was when: every head move is recorded here, in the moving transaction, so
/// <c>branch@{time}</c> can name the head as it was (<see cref="CommitResolver"/> reads it). A branch of a store made
/// before head history gets its first record, the head it had then, at its first move.
/// </summary>
internal static class HeadHistory
{
    private const string Created = "created";
    private const string Baseline = "baseline";
    /// <summary>Test-PachStore -Repair moved the head back off a commit that is gone.</summary>
    public const string Repair = "repair";

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

    /// <summary>The recorded moves of a branch, oldest first (none for a branch of a store made before head history).</summary>
    public static IReadOnlyList<HeadMoveDoc> Moves(LiteDatabase db, BranchDoc branch) =>
        db.HeadMoves().Find(m => m.Branch == branch.Id).OrderBy(m => m.Id).ToList();

    /// <summary>Whether a move is the branch's creation (before it, the branch did not exist).</summary>
    public static bool IsCreation(HeadMoveDoc move) => move.Cause == Created;

    /// <summary>A move's time in UTC (LiteDB hands stored times back as local times).</summary>
    public static DateTime Time(HeadMoveDoc move) => StoredTime.Utc(move.Time).UtcDateTime;
}
