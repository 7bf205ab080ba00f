namespace PachPS.Engine.Storage;

/// <summary>
/// Whether a store has room again for jobs that stopped with StorageFull: a small object put to the object store
/// (a full disk, a bucket over its quota) and a small file written in the datums' work folder, both removed at once.
/// It cannot promise that a job's whole output fits; a job that runs out of room again waits again.
/// </summary>
internal static class StorageProbe
{
    /// <summary>Where probe objects go: no prefix the content store, its check or the collector reads.</summary>
    public const string Prefix = "probe/";
    private const int Size = 64 * 1024;

    public static bool HasRoom(IObjectStore objects, string workRoot)
    {
        var data = new byte[Size];
        var key = Prefix + Guid.NewGuid().ToString("N");
        try { objects.Put(key, data); }
        // Whatever else goes wrong (an unreachable S3 endpoint) is no room either: the next probe tries again.
        catch (PachException) { return false; }
        catch (IOException) { return false; }
        finally
        {
            try { objects.Delete(key); }
            catch (Exception) { /* a probe left behind is 64 KiB that nothing reads */ }
        }
        var file = Path.Combine(workRoot, $"probe-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(workRoot);
            File.WriteAllBytes(file, data);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
        finally
        {
            try { File.Delete(file); }
            catch (IOException) { }
        }
    }
}
