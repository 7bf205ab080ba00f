using PachPS.Engine.Storage;

namespace PachPS.Engine.Pfs;

/// <summary>
/// The files a list of URLs names, each with the path it takes in the repo, found before anything is read: an http(s)
/// URL or an s3:// object is one file; an s3:// prefix (ending in '/', or the bucket alone) is every object under it;
/// an s3:// key with glob characters is every object it matches (Pachyderm's globs: '*' within a folder, '**' across).
/// One URL that is one file goes to <c>path</c> unless that ends in '/'; otherwise files go under <c>path</c> (the
/// root when none): a file by its name, the objects of a prefix or glob by their keys below the folder it starts in.
/// Holds the S3 clients the files are read through until disposed.
/// </summary>
public sealed class UriImport : IDisposable
{
    private readonly List<S3ObjectStore> _buckets = [];

    /// <summary>One file: its path in the repo, its URL, and for an S3 object where it is and the version listed.</summary>
    public sealed record Item(string Path, string Uri, S3Location? Location, S3Entry? Entry, S3ObjectStore? Bucket);

    /// <param name="storeObjects">The store's own objects: an s3:// URL naming no server of its own reads from the store's S3 server with its credentials.</param>
    /// <param name="credentials">Credentials for s3:// URLs (else the store's, the URL's profile or the AWS default chain).</param>
    public UriImport(IReadOnlyList<string> uris, string? path, IObjectStore? storeObjects, S3Credentials? credentials = null)
    {
        var folder = (path ?? "/").TrimEnd('/');
        var toPath = uris.Count == 1 && path is not null && !path.EndsWith('/') ? path : null;
        var items = new List<Item>();
        try
        {
            foreach (var uri in uris)
            {
                if (!UriSource.IsS3(uri))
                {
                    UriSource.Parse(uri);
                    items.Add(new Item(toPath ?? folder + "/" + UriSource.FileName(uri), uri, null, null, null));
                    continue;
                }
                var location = UriSource.ParseS3(uri);
                var bucket = S3ObjectStore.Open(location with { Key = "" }, storeObjects, credentials);
                _buckets.Add(bucket);
                items.AddRange(Expand(uri, location, bucket, toPath, folder));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Items = items;
    }

    public IReadOnlyList<Item> Items { get; }

    /// <summary>Every file as a source the ingest reads (and copies in).</summary>
    public IReadOnlyList<FileSource> Sources(TimeSpan? firstPause = null) => Items.Select(i => i.Entry is null
        ? UriSource.Http(i.Uri, i.Path, firstPause: firstPause)
        : UriSource.S3(i.Bucket!, i.Location!, i.Entry, i.Path, firstPause)).ToList();

    private static IEnumerable<Item> Expand(string uri, S3Location location, S3ObjectStore bucket, string? toPath, string folder)
    {
        var key = location.Key;
        var wildcard = Glob.HasWildcards(key);
        if (!wildcard && key.Length > 0 && !key.EndsWith('/'))
        {
            S3Entry entry;
            try { entry = bucket.Head(key); }
            catch (PachException ex) when (ex.ErrorId == "ObjectMissing")
            {
                throw PachException.NotFound("UriNotFound", $"'{uri}' is no object of its bucket (to take every object under it, end the URL with '/').", uri);
            }
            yield return new Item(toPath ?? folder + "/" + UriSource.FileName(uri), uri, location, entry, bucket);
            yield break;
        }
        // The folder the listing starts in: all of a prefix, or a glob's part before its first wildcard's folder.
        var start = wildcard ? key[..(key[..Glob.FirstWildcard(key)].LastIndexOf('/') + 1)] : key;
        var glob = wildcard ? new Glob("/" + key) : null;
        var found = 0;
        foreach (var entry in bucket.ListEntries(start))
        {
            // Folder markers (keys ending in '/', as consoles make them) hold no file.
            if (entry.Key.EndsWith('/') || glob is not null && !glob.IsMatch("/" + entry.Key)) continue;
            found++;
            yield return new Item(folder + "/" + entry.Key[start.Length..], location.At(entry.Key).ToString(), location, entry, bucket);
        }
        if (found == 0) throw PachException.NotFound("UriNotFound", $"'{uri}' matches no object of its bucket.", uri);
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets) bucket.Dispose();
        _buckets.Clear();
    }
}
