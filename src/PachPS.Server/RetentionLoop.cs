using PachPS.Engine;

namespace PachPS.Server;

/// <summary>
/// Applies the store's retention policies (Set-PachRetention) every interval while the server runs, the first time
/// one interval after the start. It only squashes (metadata); the content squashed away is freed by the next
/// collection (Optimize-PachStore), which applies the policies itself first too.
/// </summary>
internal sealed class RetentionLoop : IDisposable
{
    private readonly PachStore _store;
    private readonly TextWriter _log;
    private readonly Timer _timer;
    private int _running;
    private volatile bool _stopped;

    public RetentionLoop(PachStore store, TimeSpan interval, TextWriter log)
    {
        _store = store;
        _log = log;
        _timer = new Timer(_ => Apply(), null, interval, interval);
    }

    private void Apply()
    {
        if (_stopped || Interlocked.Exchange(ref _running, 1) == 1) return;
        try
        {
            var squashed = _store.ApplyRetention();
            if (squashed.Count > 0)
                lock (_log) _log.WriteLine($"retention squashed {squashed.Count} commit(s): {string.Join(", ", squashed.Select(s => $"{s.Repo}@{Ids.Short(s.Squashed)}"))}");
        }
        // A busy or closing store: the next interval tries again.
        catch (PachException ex) { if (!_stopped) lock (_log) _log.WriteLine($"retention: {ex.ErrorId}: {ex.Message}"); }
        catch (ObjectDisposedException) when (_stopped) { }
        finally { Interlocked.Exchange(ref _running, 0); }
    }

    public void Dispose()
    {
        _stopped = true;
        using var done = new ManualResetEvent(false);
        if (_timer.Dispose(done)) done.WaitOne(TimeSpan.FromSeconds(30));
    }
}
