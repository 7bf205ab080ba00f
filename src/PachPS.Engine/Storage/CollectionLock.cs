namespace PachPS.Engine.Storage;

/// <summary>
/// Orders content writers and the garbage collector across processes with two lock files in the store folder. A
/// writer holds the lock shared from the first content it writes or finds until metadata names that content; the
/// collector holds it exclusively while it decides what to delete and deletes it. So no object the collector deletes
/// can be one a writer has found or written and not yet recorded (see the DESIGN note in GarbageCollector).
/// </summary>
/// <remarks>
/// A second file, the turnstile, keeps a stream of writers from starving the collector: the collector takes it
/// exclusively before it waits for the writers in progress, and a writer passes through it (shared, momentarily) before
/// it takes the main lock. The kernel drops both locks of a process that dies, so a kill -9 never leaves one held.
/// </remarks>
public sealed class CollectionLock
{
    /// <summary>Waits between tries to take a lock another holder has: from 1 ms, doubling, at most this many ms.</summary>
    private const int MaxRetryMilliseconds = 50;
    /// <summary>How long a writer waits for a collection's sweep before it gives up.</summary>
    public static readonly TimeSpan WriterTimeout = TimeSpan.FromMinutes(10);

    private readonly string _main;
    private readonly string _turnstile;
    private readonly string _collector;

    public CollectionLock(string folder)
    {
        Directory.CreateDirectory(folder);
        _main = Path.Combine(folder, "collection.lock");
        _turnstile = Path.Combine(folder, "collection.turnstile");
        _collector = Path.Combine(folder, "collection.run");
        Create(_main);
        Create(_turnstile);
        Create(_collector);
    }

    private static void Create(string path)
    {
        if (File.Exists(path)) return;
        try { using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite)) { } }
        catch (IOException) when (File.Exists(path)) { /* a holder made it first */ }
    }

    /// <summary>Held by a writer while it has content metadata does not yet name; waits while a collection sweeps.</summary>
    public IDisposable EnterWriter(CancellationToken cancel = default)
    {
        var deadline = DateTime.UtcNow + WriterTimeout;
        using (Take(_turnstile, exclusive: false, deadline, cancel)) { }
        return Take(_main, exclusive: false, deadline, cancel);
    }

    /// <summary>Held by the collector while it decides and deletes: waits until no writer has unrecorded content.</summary>
    public IDisposable EnterCollector(CancellationToken cancel = default)
    {
        var deadline = DateTime.MaxValue;
        var turnstile = Take(_turnstile, exclusive: true, deadline, cancel);
        try { return new Both(Take(_main, exclusive: true, deadline, cancel), turnstile); }
        catch
        {
            turnstile.Dispose();
            throw;
        }
    }

    /// <summary>Held for a whole collection so two never run at once; null when another collection holds it.</summary>
    public IDisposable? TryStartCollection()
    {
        try { return new FileStream(_collector, FileMode.Open, FileAccess.Read, FileShare.None); }
        catch (IOException) when (File.Exists(_collector)) { return null; }
    }

    /// <summary>Whether a writer holds the lock now (for tests and diagnostics; the answer may change at once).</summary>
    public bool WritersActive()
    {
        try
        {
            using var probe = new FileStream(_main, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
    }

    private static FileStream Take(string path, bool exclusive, DateTime deadline, CancellationToken cancel)
    {
        var delay = 1;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            try
            {
                // On Unix FileShare.None takes flock(LOCK_EX) and any other sharing flock(LOCK_SH); Windows share modes match.
                return new FileStream(path, FileMode.Open, FileAccess.Read, exclusive ? FileShare.None : FileShare.Read);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(path))
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, MaxRetryMilliseconds);
            }
            catch (IOException ex) when (File.Exists(path))
            {
                throw new PachException("StoreBusy", PachErrorKind.ResourceUnavailable,
                    $"A garbage collection of the store kept its content locked for more than {WriterTimeout.TotalMinutes} minutes.", path, ex);
            }
        }
    }

    private sealed class Both(IDisposable main, IDisposable turnstile) : IDisposable
    {
        public void Dispose()
        {
            main.Dispose();
            turnstile.Dispose();
        }
    }
}
