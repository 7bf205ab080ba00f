using PachPS.Engine;
using PachPS.Engine.Pfs;

namespace PachPS.Tests.Unit;

/// <summary>Branch triggers (issue 17 item 8): a branch that follows another once its conditions hold.</summary>
public class BranchTriggerTests
{
    private static TempStore Repo()
    {
        var t = new TempStore();
        t.Pfs.CreateRepo("r");
        t.Pfs.CreateBranch("r", "master");
        return t;
    }

    private static string? Head(TempStore t, string branch) => t.Pfs.GetBranch("r", branch).Head;

    [Fact]
    public void CommitsConditionMovesTheBranchOnTheNthCommit()
    {
        using var t = Repo();
        t.Pfs.CreateBranch("r", "batch", trigger: new BranchTrigger("master", Commits: 3));
        t.Put("r", "/a", "1");
        t.Put("r", "/b", "2");
        Assert.Null(Head(t, "batch"));
        var third = t.Put("r", "/c", "3");
        Assert.Equal(third.Commit, Head(t, "batch"));
        // Counting starts again from the branch's new head.
        t.Put("r", "/d", "4");
        t.Put("r", "/e", "5");
        Assert.Equal(third.Commit, Head(t, "batch"));
        var sixth = t.Put("r", "/f", "6");
        Assert.Equal(sixth.Commit, Head(t, "batch"));
        Assert.Equal("/a /b /c /d /e /f", string.Join(" ", t.Pfs.ListFiles("r", "batch").Select(f => f.Path)));
    }

    [Fact]
    public void SizeConditionCountsTheBytesAddedSinceTheBranchHead()
    {
        using var t = Repo();
        t.Pfs.CreateBranch("r", "big", trigger: new BranchTrigger("master", Size: 10));
        t.Put("r", "/a", "123456");
        Assert.Null(Head(t, "big"));
        var second = t.Put("r", "/b", "123456");
        Assert.Equal(second.Commit, Head(t, "big"));
        // Overwriting with the same size adds nothing.
        t.Put("r", "/a", "abcdef");
        Assert.Equal(second.Commit, Head(t, "big"));
    }

    [Fact]
    public void AnyConditionSufficesUnlessAllIsGiven()
    {
        using var t = Repo();
        t.Pfs.CreateBranch("r", "any", trigger: new BranchTrigger("master", Size: 1000, Commits: 2));
        t.Pfs.CreateBranch("r", "all", trigger: new BranchTrigger("master", Size: 1000, Commits: 2, All: true));
        t.Put("r", "/a", "1");
        var second = t.Put("r", "/b", "2");
        Assert.Equal(second.Commit, Head(t, "any"));
        Assert.Null(Head(t, "all"));
        var big = t.Put("r", "/c", new string('x', 1000));
        Assert.Equal(big.Commit, Head(t, "all"));
        Assert.Equal("master (size>=1000 and commits>=2)", t.Pfs.GetBranch("r", "all").Trigger!.ToString());
    }

    [Fact]
    public void ATriggerWithoutConditionsFollowsEveryMoveAndTriggersChain()
    {
        using var t = Repo();
        t.Pfs.CreateBranch("r", "staging", trigger: new BranchTrigger("master", Commits: 2));
        t.Pfs.CreateBranch("r", "prod", trigger: new BranchTrigger("staging"));
        var first = t.Put("r", "/a", "1");
        Assert.Null(Head(t, "prod"));
        var second = t.Put("r", "/b", "2");
        Assert.Equal(second.Commit, Head(t, "staging"));
        Assert.Equal(second.Commit, Head(t, "prod"));
        Thread.Sleep(20);
        var between = DateTimeOffset.UtcNow;
        Thread.Sleep(20);
        // Set-PachBranch moves fire triggers too (no condition: prod follows staging at once).
        t.Pfs.SetBranchHead("r", "staging", first.Commit);
        Assert.Equal(first.Commit, Head(t, "prod"));
        // The trigger's moves are in the head history: prod@{time} names the head as it was.
        Assert.Equal(second.Commit, t.Pfs.GetCommit("r", $"prod@{{{between:o}}}").Commit);
    }

    [Fact]
    public void CronConditionMovesTheBranchAtTheNextTickIfTheSourceMoved()
    {
        using var t = Repo();
        var set = DateTime.UtcNow;
        t.Pfs.CreateBranch("r", "hourly", trigger: new BranchTrigger("master", CronSpec: "@every 1h"));
        // Nothing due: no tick yet, and a tick with nothing new on master moves nothing.
        Assert.Empty(t.Pfs.FireDueTriggers(set.AddHours(2)));
        var commit = t.Put("r", "/a", "1");
        Assert.Null(Head(t, "hourly"));
        Assert.Empty(t.Pfs.FireDueTriggers(set.AddMinutes(30)));
        var moved = Assert.Single(t.Pfs.FireDueTriggers(set.AddHours(1).AddMinutes(1)));
        Assert.Equal(commit.Commit, moved.Head);
        Assert.Equal(commit.Commit, Head(t, "hourly"));
        // The next commit waits for the next tick after this firing.
        var next = t.Put("r", "/b", "2");
        Assert.Equal(commit.Commit, Head(t, "hourly"));
        Assert.Empty(t.Pfs.FireDueTriggers(set.AddHours(1).AddMinutes(30)));
        Assert.Single(t.Pfs.FireDueTriggers(set.AddHours(3)));
        Assert.Equal(next.Commit, Head(t, "hourly"));
    }

    [Fact]
    public void CronAndCommitsWithAllWaitForBoth()
    {
        using var t = Repo();
        var set = DateTime.UtcNow;
        t.Pfs.CreateBranch("r", "b", trigger: new BranchTrigger("master", Commits: 2, CronSpec: "@every 1h", All: true));
        t.Put("r", "/a", "1");
        Assert.Empty(t.Pfs.FireDueTriggers(set.AddHours(2)));
        var second = t.Put("r", "/b", "2");
        Assert.Null(Head(t, "b"));
        Assert.Single(t.Pfs.FireDueTriggers(set.AddHours(2)));
        Assert.Equal(second.Commit, Head(t, "b"));
    }

    [Fact]
    public void BadTriggersAreRefusedWithTheStoreUnchanged()
    {
        using var t = Repo();
        t.Put("r", "/a", "1");
        t.Pfs.CreateBranch("r", "b", trigger: new BranchTrigger("master"));
        t.Pfs.CreateBranch("r", "c", trigger: new BranchTrigger("b"));
        string Snapshot() => string.Join("|", t.Pfs.ListBranches("r").Select(b => $"{b.Branch}={b.Head}:{b.Trigger}"));
        var before = Snapshot();
        PachException Fails(Action a) => Assert.Throws<PachException>(a);
        Assert.Equal("BranchTriggerInvalid", Fails(() => t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("b"))).ErrorId);
        Assert.Equal("BranchNotFound", Fails(() => t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("nope"))).ErrorId);
        Assert.Equal("BranchTriggerCycle", Fails(() => t.Pfs.SetBranchTrigger("r", "master", new BranchTrigger("c"))).ErrorId);
        Assert.Equal("BranchTriggerInvalid", Fails(() => t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("master", CronSpec: "every now and then"))).ErrorId);
        Assert.Equal("BranchTriggerInvalid", Fails(() => t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("master", CronSpec: "@every soon"))).ErrorId);
        Assert.Equal("BranchTriggerInvalid", Fails(() => t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("master", Commits: 0))).ErrorId);
        Assert.Equal("BranchTriggerInvalid", Fails(() => t.Pfs.CreateBranch("r", "d", trigger: new BranchTrigger("d"))).ErrorId);
        Assert.Equal("BranchNotFound", Fails(() => t.Pfs.CreateBranch("r", "d", trigger: new BranchTrigger("nope"))).ErrorId);
        Assert.Equal("BranchHasFollowers", Fails(() => t.Pfs.DeleteBranch("r", "b")).ErrorId);
        Assert.Equal(before, Snapshot());
        Assert.Equal("BranchTriggerInvalid", Fails(() => BranchTrigger.ParseSize("lots")).ErrorId);
        Assert.Equal("BranchTriggerInvalid", Fails(() => BranchTrigger.ParseSize("0")).ErrorId);
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("100MB", 100L * 1024 * 1024)]
    [InlineData("1.5GB", 1536L * 1024 * 1024)]
    [InlineData("2 kib", 2048L)]
    [InlineData("10b", 10L)]
    public void SizesParseInPowersOf1024(string text, long bytes) => Assert.Equal(bytes, BranchTrigger.ParseSize(text));

    [Fact]
    public void TriggersAreStoredAndCanBeRemoved()
    {
        using var t = Repo();
        t.Pfs.CreateBranch("r", "b");
        var set = t.Pfs.SetBranchTrigger("r", "b", new BranchTrigger("master", Size: 5, CronSpec: "@every 1h"));
        Assert.Equal(new BranchTrigger("master", 5, null, "@every 1h", false), set.Trigger);
        t.Reopen();
        Assert.Equal(set.Trigger, t.Pfs.GetBranch("r", "b").Trigger);
        var commit = t.Put("r", "/a", "1");
        // After a reopen the cron check still knows there are cron triggers.
        Assert.Single(t.Pfs.FireDueTriggers(DateTime.UtcNow.AddHours(2)));
        Assert.Equal(commit.Commit, Head(t, "b"));
        Assert.Null(t.Pfs.SetBranchTrigger("r", "b", null).Trigger);
        var later = t.Put("r", "/b", "123456789");
        Assert.Equal(commit.Commit, Head(t, "b"));
        Assert.Empty(t.Pfs.FireDueTriggers(DateTime.UtcNow.AddHours(5)));
        t.Pfs.DeleteBranch("r", "b");
        Assert.Equal(later.Commit, Head(t, "master"));
    }
}
