using System.Management.Automation;
using PachPS.Engine.Pps;
using PachPS.Completion;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Lines the datums' processes wrote (stdout and stderr), by pipeline, job or datum; -Follow streams them until the job ends.</summary>
[Cmdlet(VerbsCommon.Get, "PachLog")]
[OutputType(typeof(LogLine))]
public sealed class GetPachLogCommand : PachCmdlet
{
    /// <summary>How long one wait for new lines lasts (one request to a server) before it asks again.</summary>
    private static readonly TimeSpan FollowWait = TimeSpan.FromSeconds(20);

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PipelineCompleter))]
    public string? Pipeline { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("JobId")]
    [ArgumentCompleter(typeof(JobCompleter))]
    public string? Job { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DatumId")]
    public string? Datum { get; set; }

    /// <summary>Only the last N lines (with -Follow: the last N so far, then new ones).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Tail { get; set; }

    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Keep writing new lines until the job (the pipeline's newest job without -Job) ends; Ctrl+C stops.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        DateTimeOffset? since = Since is null ? null : new DateTimeOffset(Since.Value.ToUniversalTime());
        var job = Job ?? (Follow && Pipeline is not null ? Pipelines.ListJobsPage(Pipeline, max: 1).Items.FirstOrDefault()?.JobId : null);
        if (Follow && job is null)
            ThrowTerminatingError(Error("FollowNeedsJob", ErrorCategory.InvalidArgument, "-Follow needs -Job, or -Pipeline with at least one job.", Pipeline));
        // A page at a time, each line written as it comes (-Tail keeps only the last N while the rest is read).
        var lines = Pipelines.StreamLogs(job is null ? Pipeline : null, job, Datum, since, CancelToken);
        string? last = null;
        foreach (var line in Tail > 0 ? lines.TakeLast(Tail) : lines)
        {
            WriteObject(line);
            last = line.LineId;
        }
        if (!Follow) return;
        while (true)
        {
            LogBatch batch;
            try { batch = Pipelines.FollowLogsAsync(job!, Datum, since, last, FollowWait, CancelToken).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { return; } // Ctrl+C
            WriteObject(batch.Lines, enumerateCollection: true);
            if (batch.Lines.Count > 0) last = batch.Lines[^1].LineId;
            if (batch.JobFinished) return;
        }
    });
}
