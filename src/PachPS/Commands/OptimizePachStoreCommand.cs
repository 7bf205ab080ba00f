using System.Management.Automation;
using PachPS.Engine.Collection;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Garbage collection: frees every chunk, pack and tree node nothing names (removed repos and commits, failed ingests,
/// superseded job outputs) and rewrites packs that are mostly garbage. Safe beside writers in other processes; Ctrl+C
/// leaves a consistent store. -WhatIf marks and reports what a collection would free, by reason, writing nothing.
/// </summary>
[Cmdlet(VerbsCommon.Optimize, "PachStore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CollectionReport))]
public sealed class OptimizePachStoreCommand : PachCmdlet
{
    private const int ActivityId = 1;
    private const string Activity = "Collecting garbage";

    protected override void EndProcessing() => Invoke(() =>
    {
        // Declining (-WhatIf, or No at -Confirm) still marks, so the report says what a collection would free.
        var apply = ShouldProcess(Admin.Path, "Delete every chunk, pack and tree node nothing references, and rewrite packs that are mostly garbage");
        var report = Admin.Collect(whatIf: !apply, new ProgressReporter(this), CancelToken);
        WriteProgress(new ProgressRecord(ActivityId, Activity, "Done") { RecordType = ProgressRecordType.Completed });
        WriteObject(report);
    });

    /// <summary>Progress from the engine, written on the pipeline thread (the collection reports synchronously on it).</summary>
    private sealed class ProgressReporter(Cmdlet cmdlet) : IProgress<CollectionProgress>
    {
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
        private DateTime _last = DateTime.MinValue;
        private CollectionStage? _stage;

        public void Report(CollectionProgress value)
        {
            if (value.Stage == _stage && DateTime.UtcNow - _last < Interval && value.Done != value.Total) return;
            _last = DateTime.UtcNow;
            _stage = value.Stage;
            var status = value.Stage switch
            {
                CollectionStage.Marking => $"Marking: {value.Done:N0} of {value.Total:N0} tree nodes",
                CollectionStage.MarkingDatums => $"Marking: {value.Done:N0} of {value.Total:N0} datum results",
                CollectionStage.Listing => $"Listing objects: {value.Done:N0}",
                CollectionStage.WaitingForWriters => "Waiting for writes in progress to be recorded",
                CollectionStage.Repacking => $"Rewriting mostly-garbage packs: {value.Done:N0} of {value.Total:N0}",
                CollectionStage.Deciding => $"Updating metadata: {value.Done:N0} of {value.Total:N0} freed packs forgotten",
                _ => $"Deleting: {value.Done:N0} of {value.Total:N0} objects",
            };
            cmdlet.WriteProgress(new ProgressRecord(ActivityId, Activity, status)
            {
                PercentComplete = value.Total > 0 ? (int)Math.Min(100, 100 * value.Done / value.Total) : -1,
            });
        }
    }
}
