using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>The one commit writer: every kind of write is validated as a whole before anything changes.</summary>
public class CommitWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static PathTree EmptyTree() => new(new MemoryNodes());

    private static readonly PachPS.Engine.Storage.FileContent OneByte = new(1, new string('a', 64), []);

    private static FileChange Write(string path, string? writer = null) => FileChange.Write(path, OneByte, writer);

    [Theory]
    [InlineData("/x", "/x/y", "PathConflict")]
    [InlineData("/x/y", "/x", "PathConflict")]
    [InlineData("/a/b/c", "/a", "PathConflict")]
    [InlineData("/same", "/same", "DuplicatePath")]
    public void ConflictingWritesInOneChangeAreRefused(string first, string second, string id)
    {
        var ex = Assert.Throws<PachException>(() => CommitWriter.Validate(EmptyTree(), null, [Write(first), Write(second)]));
        Assert.Equal(id, ex.ErrorId);
    }

    [Fact]
    public void DatumConflictsNameBothDatumsAndThePaths()
    {
        var ex = Assert.Throws<PachException>(() => CommitWriter.Validate(EmptyTree(), null,
            [Write("/x", "aaaaaaaaaaaaaaaa1111"), Write("/x/y", "bbbbbbbbbbbbbbbb2222")]));
        Assert.Equal("PathConflict", ex.ErrorId);
        Assert.Contains("'/x/y' (written by datum bbbbbbbbbbbbbbbb)", ex.Message);
        Assert.Contains("'/x' (written by datum aaaaaaaaaaaaaaaa)", ex.Message);
        var twice = Assert.Throws<PachException>(() => CommitWriter.Validate(EmptyTree(), null, [Write("/s", "aaaaaaaaaaaaaaaa1"), Write("/s", "bbbbbbbbbbbbbbbb2")]));
        Assert.Equal("DuplicatePath", twice.ErrorId);
        Assert.Contains("datums aaaaaaaaaaaaaaaa and bbbbbbbbbbbbbbbb both write '/s'", twice.Message);
    }

    [Fact]
    public void APathWrittenAndRemovedIsRefused()
    {
        Assert.Equal("PathAddedAndRemoved", Assert.Throws<PachException>(() =>
            CommitWriter.Validate(EmptyTree(), null, [Write("/a"), FileChange.Remove("/a")])).ErrorId);
        Assert.Equal("PathAddedAndRemoved", Assert.Throws<PachException>(() =>
            CommitWriter.Validate(EmptyTree(), null, [FileChange.Remove("/a"), Write("/a")])).ErrorId);
    }

    [Fact]
    public void ExistingFilesAndFoldersCountUnlessRemovedInTheSameChange()
    {
        var tree = EmptyTree();
        var root = tree.Apply(null, [new("/dir/f", new TreeEntry("/dir/f", OneByte, "c")), new("/file", new TreeEntry("/file", OneByte, "c"))]);
        Assert.Equal("PathConflict", Assert.Throws<PachException>(() => CommitWriter.Validate(tree, root, [Write("/dir")])).ErrorId);
        Assert.Equal("PathConflict", Assert.Throws<PachException>(() => CommitWriter.Validate(tree, root, [Write("/file/x")])).ErrorId);
        // Replacing a folder by a file, or a file by a folder, in one change is fine.
        CommitWriter.Validate(tree, root, [FileChange.Remove("/dir/f"), Write("/dir")]);
        CommitWriter.Validate(tree, root, [FileChange.Remove("/file"), Write("/file/x")]);
        CommitWriter.Validate(tree, root, [Write("/dir/g"), Write("/file"), FileChange.Remove("/dir/f"), FileChange.Remove("/dir/f")]);
    }

    [Fact]
    public void AUserWriteIntoAnOpenCommitIsCheckedAgainstWhatTheCommitAlreadyHolds()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("in");
        var open = t.Pfs.StartCommit("in", "master");
        t.Put("in", "/x", "A");
        var ex = Assert.Throws<PachException>(() => t.Put("in", "/x/y", "B"));
        Assert.Equal("PathConflict", ex.ErrorId);
        var ex2 = Assert.Throws<PachException>(() => t.Pfs.CopyFile("in", open.Commit, "/x", "in", "master", "/x/z"));
        Assert.Equal("PathConflict", ex2.ErrorId);
        t.Pfs.FinishCommit("in", "master");
        Assert.Equal(["/x"], t.Pfs.ListFiles("in", "master", recurse: true).Select(f => f.Path));
    }

    [SkippableTheory]
    [MemberData(nameof(TempStore.Backends), MemberType = typeof(TempStore))]
    public async Task DatumsWritingAFileAndAFolderOfOneNameFailTheJob(string backend)
    {
        using var t = new TempStore(backend);
        t.Pfs.CreateRepo("in");
        t.Pfs.PutFiles("in", "master", [TempStore.Text("/a", "a"), TempStore.Text("/b", "b")]);
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse("""
            { "pipeline": { "name": "clash" }, "input": { "pfs": { "repo": "in", "glob": "/*" } },
              "transform": { "cmd": [ "sh", "-c", "if [ -e /pfs/in/a ]; then echo A > /pfs/out/x; else mkdir -p /pfs/out/x; echo B > /pfs/out/x/y; fi" ] } }
            """));
        var job = await t.Store.Pps.WaitJobAsync(t.Store.Pps.ListJobs("clash")[0].JobId, Timeout, CancellationToken.None);
        Assert.Equal(JobState.Failure, job.State);
        Assert.StartsWith("PathConflict: ", job.Reason);
        Assert.Contains("'/x/y'", job.Reason);
        var datums = t.Store.Pps.ListDatums(job.JobId).Select(d => Ids.Short(d.DatumId)).ToList();
        Assert.All(datums, d => Assert.Contains(d, job.Reason));
        Assert.Throws<PachException>(() => t.Pfs.GetCommit("clash", "master"));
        Assert.Empty(t.Store.Check());
    }

    /// <summary>Tree nodes kept in memory.</summary>
    private sealed class MemoryNodes : INodeSource
    {
        private readonly Dictionary<string, byte[]> _nodes = new(StringComparer.Ordinal);
        public byte[]? Load(string id) => _nodes.GetValueOrDefault(id);
        public void Save(string id, byte[] data) => _nodes[id] = data;
    }
}
