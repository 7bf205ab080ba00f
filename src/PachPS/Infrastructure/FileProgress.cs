using System.Management.Automation;

namespace PachPS.Infrastructure;

/// <summary>
/// A file-by-file progress bar for engine work that reports (files done, files in all, path) on the pipeline thread
/// (PutFiles reports synchronously on it), at most every 200 ms.
/// </summary>
internal sealed class FileProgress(Cmdlet cmdlet, ProgressRecord record) : IProgress<(int Done, int Total, string Path)>
{
    private readonly ProgressClock _clock = new();

    public void Report((int Done, int Total, string Path) value)
    {
        if (!_clock.Due(last: value.Done == value.Total)) return;
        // A new record each time: hosts and runspaces may keep the objects they were given.
        cmdlet.WriteProgress(new ProgressRecord(record.ActivityId, record.Activity, $"{value.Done} of {value.Total} files: {value.Path}")
        {
            PercentComplete = (int)(100L * value.Done / Math.Max(1, value.Total)),
        });
    }

    /// <summary>Takes the bar away.</summary>
    public void Complete() =>
        cmdlet.WriteProgress(new ProgressRecord(record.ActivityId, record.Activity, "Done") { RecordType = ProgressRecordType.Completed });
}
