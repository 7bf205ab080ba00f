using PachPS.Engine;
using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Tests.Unit;

/// <summary>
/// s3:// sources (Add-PachFile -Uri: objects, prefixes, globs, copied in) and objects imported by reference
/// (Import-PachObject -Reference / -Materialize), against the test S3 server. The store keeps its content in the same
/// server, so URLs that name no endpoint are read with the store's own credentials.
/// </summary>
public sealed class S3ImportTests : IDisposable
{
    private TempStore _t = null!;
    private S3ObjectStore? _bucket;
    private readonly string _prefix = "sources/" + Guid.NewGuid().ToString("N")[..12] + "/";

    /// <summary>Each test starts here: skipped (not failed) without the test S3 server.</summary>
    private void Open()
    {
        _t = new TempStore(TempStore.S3);
        _bucket = new S3ObjectStore(new S3Settings(S3Server.Bucket, S3Server.Endpoint), S3Server.Credentials, createBucket: false);
    }

    private string Url(string key) => $"s3://{S3Server.Bucket}/{_prefix}{key}";

    private void PutSource(string key, byte[] data) => _bucket!.Put(_prefix + key, data);

    private byte[] Read(string path, string reference = "master")
    {
        using var stream = _t.Pfs.OpenFile("lake", reference, path).Content;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private CommitInfo Add(IReadOnlyList<string> uris, string? path)
    {
        using var import = new UriImport(uris, path, _t.Store.Objects);
        return _t.Pfs.PutFiles("lake", "master", import.Sources());
    }

    [SkippableFact]
    public void ObjectsPrefixesAndGlobsAreCopiedInUnderTheirKeys()
    {
        Open();
        var big = TempStore.RandomBytes(3 * 1024 * 1024 + 17, 1);
        PutSource("2026/11/a.csv", "a,1\n"u8.ToArray());
        PutSource("2026/11/b.csv", "b,2\n"u8.ToArray());
        PutSource("2026/11/notes.txt", "not a csv"u8.ToArray());
        PutSource("2026/12/deep/c.csv", big);
        PutSource("2026/12/", []); // a folder marker, as consoles make them
        _t.Pfs.CreateRepo("lake");

        Add([Url("2026/11/*.csv")], "/raw/");
        Assert.Equal(["/raw/a.csv", "/raw/b.csv"], _t.Pfs.ListFiles("lake", "master", "/raw", recurse: true).Select(f => f.Path));
        Add([Url("2026/")], "/all");
        Assert.Equal(["/all/11/a.csv", "/all/11/b.csv", "/all/11/notes.txt", "/all/12/deep/c.csv"],
            _t.Pfs.ListFiles("lake", "master", "/all", recurse: true).Select(f => f.Path));
        Add([Url("2026/**/c.csv"), Url("2026/11/a.csv")], null);
        Add([Url("2026/11/b.csv")], "/one.csv");

        Assert.Equal(big, Read("/all/12/deep/c.csv"));
        Assert.Equal(big, Read("/12/deep/c.csv"));
        Assert.Equal("a,1\n"u8.ToArray(), Read("/a.csv"));
        Assert.Equal("b,2\n"u8.ToArray(), Read("/one.csv"));
        // Copied in: nothing refers to the bucket any more.
        Assert.All(_t.Pfs.ListFiles("lake", "master", "/", recurse: true), f => Assert.Null(f.Reference));
    }

    [SkippableFact]
    public void AMissingObjectOrAnEmptyGlobAddsNothing()
    {
        Open();
        PutSource("x/a.csv", "a"u8.ToArray());
        _t.Pfs.CreateRepo("lake");
        var before = _t.Put("lake", "/keep.txt", "kept");

        Assert.Equal("UriNotFound", Assert.Throws<PachException>(() => Add([Url("x/a.csv"), Url("x/missing.csv")], "/in/")).ErrorId);
        Assert.Equal("UriNotFound", Assert.Throws<PachException>(() => Add([Url("x/*.parquet")], "/in/")).ErrorId);
        Assert.Equal("UriNotFound", Assert.Throws<PachException>(() => _t.Pfs.ImportReferences("lake", "master", [Url("nothing/")])).ErrorId);
        Assert.Equal("UriInvalid", Assert.Throws<PachException>(() => Add(["s3://Bad_Bucket/x"], "/in/")).ErrorId);
        Assert.Equal("UriInvalid", Assert.Throws<PachException>(() => Add([Url("x/a.csv") + "?color=red"], "/in/")).ErrorId);
        Assert.Equal("ReferenceNeedsS3", Assert.Throws<PachException>(() => _t.Pfs.ImportReferences("lake", "master", ["https://example.org/a.csv"])).ErrorId);

        Assert.Equal(before.Commit, _t.Pfs.GetCommit("lake", "master").Commit);
    }

    [SkippableFact]
    public void AReferenceIsReadFromItsSourceChecksTheVersionAndCanBeMaterialized()
    {
        Open();
        var big = TempStore.RandomBytes(ObjectReferences.PieceSize * 2 + 4321, 2);
        PutSource("ref/big.bin", big);
        PutSource("ref/small.csv", "s,1\n"u8.ToArray());
        _t.Pfs.CreateRepo("lake");
        var stored = _t.Store.Objects.List("").Count();

        var commit = _t.Pfs.ImportReferences("lake", "master", [Url("ref/")], "/in/");

        // Nothing was copied: the store holds no new object, only metadata.
        Assert.Equal(stored, _t.Store.Objects.List("").Count());
        Assert.Equal(big.Length + 4, commit.Size);
        Assert.Equal(big, Read("/in/big.bin"));
        var file = _t.Pfs.ListFiles("lake", "master", "/in/big.bin").Single();
        Assert.Equal(Url("ref/big.bin"), file.Reference);
        Assert.Empty(_t.Store.Check());
        // A collection leaves referenced files alone (their objects are not the store's).
        _t.Store.Collect(whatIf: false);
        Assert.Equal(big, Read("/in/big.bin"));

        // The same version imported again is the same content; the source overwritten is a new one, refused on read.
        var again = _t.Pfs.ImportReferences("lake", "master", [Url("ref/small.csv")], "/in/small.csv");
        Assert.Equal(file.Hash, _t.Pfs.ListFiles("lake", again.Commit, "/in/big.bin").Single().Hash);
        PutSource("ref/big.bin", TempStore.RandomBytes(100, 3));
        Assert.Equal("ReferencedObjectChanged", Assert.Throws<PachException>(() => Read("/in/big.bin")).ErrorId);
        var finding = Assert.Single(_t.Store.Check());
        Assert.Equal(("ReferencedObjectChanged", "/in/big.bin"), (finding.Kind, finding.Path));
        Assert.Equal("ReferencedObjectChanged", Assert.Throws<PachException>(() => _t.Pfs.MaterializeReferences("lake", "master")).ErrorId);
        Assert.Equal(again.Commit, _t.Pfs.GetCommit("lake", "master").Commit);

        // Imported again, it is the new version (a new hash: datums over it rerun); materialized, it outlives its source.
        _t.Pfs.ImportReferences("lake", "master", [Url("ref/big.bin")], "/in/big.bin");
        Assert.NotEqual(file.Hash, _t.Pfs.ListFiles("lake", "master", "/in/big.bin").Single().Hash);
        var copied = _t.Pfs.MaterializeReferences("lake", "master", "/in");
        _bucket!.DeleteMany([_prefix + "ref/big.bin", _prefix + "ref/small.csv"]);
        Assert.Equal(TempStore.RandomBytes(100, 3), Read("/in/big.bin"));
        Assert.Equal("s,1\n"u8.ToArray(), Read("/in/small.csv"));
        Assert.All(_t.Pfs.ListFiles("lake", "master", "/", recurse: true), f => Assert.Null(f.Reference));
        // The older commits still refer to the objects, which are gone: that is what a check says, of them only.
        Assert.All(_t.Store.Check(), f => Assert.True(f.Kind == "ReferencedObjectChanged" && f.Commit != copied.Commit, f.Message));
        // Nothing left to copy: no commit.
        Assert.Equal(copied.Commit, _t.Pfs.MaterializeReferences("lake", "master").Commit);
    }

    public void Dispose()
    {
        if (_bucket is null) return;
        try { _bucket.DeleteMany(_bucket.List(_prefix).ToList()); }
        finally
        {
            _bucket.Dispose();
            _t.Dispose();
        }
    }
}
