using System.Globalization;
using LiteDB;
using PachPS.Engine.Metadata;

namespace PachPS.Engine.Pfs;

/// <summary>
/// Pages of commit listings: a history from a reference back through first parents (the cursor is the last commit's
/// id, and the next page starts at its parent), or every commit of a repo newest first, read from an index on the repo
/// and start time (the cursor is the last commit's key in it), so a page costs what it holds, not the repo's size.
/// </summary>
internal static class CommitPages
{
    /// <summary>
    /// The index of a repo's commits in listing order: repo, start time (UTC, to the millisecond a date is stored with)
    /// and id, each after a '|' (no repo name holds one). Newest first is this key descending: commits started in the
    /// same millisecond come by id, descending.
    /// </summary>
    public const string IndexName = "RepoStarted", KeyExpression = "$.Repo + '|' + FORMAT(TO_UTC($.Started), 'yyyyMMddHHmmssfff') + '|' + $._id";

    private static string Key(CommitDoc c) =>
        c.Repo + "|" + c.Started.ToUniversalTime().ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture) + "|" + c.Id;

    public static Page<CommitInfo> Read(LiteDatabase db, string repo, string? reference, string? after, int max)
    {
        CommitResolver.RequireRepo(db, repo);
        if (reference is not null)
        {
            CommitDoc? start;
            if (after is null) start = CommitResolver.Resolve(db, repo, reference);
            else
            {
                var last = db.Commits().Get(after);
                if (last is null || last.Repo != repo)
                    throw PachException.Invalid("PageCursorInvalid", $"'{after}' is not a cursor of a history of '{repo}' (its commit is gone, or of another repo).", after);
                start = last.Parent is null ? null : db.Commits().Get(last.Parent);
            }
            var history = start is null ? Listing.Take(Array.Empty<CommitDoc>(), max, c => c.Id) : Listing.Take(CommitResolver.Ancestry(db, start), max, c => c.Id);
            return new Page<CommitInfo>(PfsRecords.ToCommits(db, repo, history.Items), history.Next);
        }
        var prefix = repo + "|";
        if (after is not null && !after.StartsWith(prefix, StringComparison.Ordinal))
            throw PachException.Invalid("PageCursorInvalid", $"'{after}' is not a cursor of a listing of the commits of '{repo}'.", after);
        // Newest first from the cursor (or the newest) down to the repo's oldest; the cursor's own commit is not repeated.
        var upper = after ?? prefix + "~";
        var newestFirst = db.Commits().Query()
            .Where(KeyExpression + " BETWEEN @0 AND @1", new BsonValue(prefix), new BsonValue(upper))
            .OrderByDescending(KeyExpression)
            .ToEnumerable()
            .Where(c => after is null || string.CompareOrdinal(Key(c), after) < 0);
        var page = Listing.Take(newestFirst, max, Key);
        return new Page<CommitInfo>(PfsRecords.ToCommits(db, repo, page.Items), page.Next);
    }
}
