namespace PachPS.Infrastructure;

/// <summary>
/// When a cmdlet working through many items writes progress: at most every 200 ms, and always for the last item.
/// Hosts render every record they get, so one per item would cost more than the work itself for small files.
/// </summary>
internal sealed class ProgressClock
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private DateTime _last = DateTime.MinValue;

    public bool Due(bool last = false)
    {
        var now = DateTime.UtcNow;
        if (!last && now - _last < Interval) return false;
        _last = now;
        return true;
    }
}
