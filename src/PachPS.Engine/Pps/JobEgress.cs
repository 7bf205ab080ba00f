using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// The egress of one job's output commit (the job is Egressing: its commit is written): the files that differ from
/// the commit the pipeline's last successful egress to the same URL sent (every file when there is none, or it is
/// gone) are put, those it had and this one lacks deleted, tried again with growing waits; then the job ends Success,
/// or EgressFailed with its commit kept, with what was done recorded on it.
/// </summary>
internal sealed class JobEgress(JobContext context, string jobId, EgressSpec egress)
{
    private string Scratch => Path.Combine(context.WorkRoot, jobId, "egress");

    public async Task RunAsync(CancellationToken cancel)
    {
        var start = context.Meta.Read<(JobDoc Job, string? Since)?>(db =>
        {
            var job = db.Jobs().Get(jobId);
            if (job is null || job.State != JobState.Egressing) return null;
            var mark = db.Pipelines().Get(job.Pipeline)?.LastEgress;
            return (Job: job, Since: mark is not null && mark.Url == egress.Url ? mark.Commit : null);
        });
        if (start is null) return;
        var (job, since) = start.Value;
        var record = new EgressDoc { Url = egress.Url };
        var output = context.Pfs.FindCommit(job.OutputCommit);
        if (output is null)
        {
            record.Error = $"CommitNotFound: the output commit {Ids.Short(job.OutputCommit)} is gone";
            Finish(record, job.OutputCommit);
            return;
        }
        // The commit the last egress sent may have been removed since (an undo, a squash): then everything is sent.
        var sinceCommit = since is null ? null : context.Pfs.FindCommit(since);
        var changes = context.Pfs.ReadTree(tree => TreeDiff.Changes(tree, sinceCommit?.Root, output.Root).ToList());
        var puts = changes.Where(c => c.New is not null).Select(c => c.New!).ToList();
        var deletes = changes.Where(c => c.New is null).Select(c => c.Path).ToList();
        record.Since = sinceCommit?.Id;

        var retry = context.EgressRetry;
        var delay = retry.FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            record.Tries = attempt;
            try
            {
                await Task.Run(() => Send(puts, deletes, record, cancel), cancel);
                record.Error = "";
                break;
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { throw; }
            // Whatever stops a try (the target refusing, a network failure, a file in the way) is retried, and named if it is the last.
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                record.Error = ex is PachException pe ? $"{pe.ErrorId}: {pe.Message}" : ex.Message;
                Log($"egress to {egress.Url}, try {attempt} of {retry.Tries}, failed: {record.Error}");
                if (attempt >= retry.Tries) break;
            }
            await Task.Delay(delay, cancel);
            delay *= 2;
        }
        Finish(record, output.Id);
        try { Directory.Delete(Scratch, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    /// <summary>One try: deletions first (a folder that became a file, or the reverse, then fits), then every file.</summary>
    private void Send(List<TreeEntry> puts, List<string> deletes, EgressDoc record, CancellationToken cancel)
    {
        record.FilesUploaded = 0;
        record.FilesDeleted = 0;
        record.BytesUploaded = 0;
        using var target = context.OpenEgress(egress);
        if (deletes.Count > 0) target.Delete(deletes);
        record.FilesDeleted = deletes.Count;
        foreach (var file in puts)
        {
            cancel.ThrowIfCancellationRequested();
            using (var content = context.Pfs.OpenContent(file.Content)) target.Put(file.Path, content, file.Content.Size, Scratch);
            record.FilesUploaded++;
            record.BytesUploaded += file.Content.Size;
        }
    }

    /// <summary>Ends the job (unless it was stopped meanwhile) and, on success, marks this commit as the pipeline's last egress.</summary>
    private void Finish(EgressDoc record, string commit)
    {
        var failed = record.Error.Length > 0;
        context.Meta.Write(db =>
        {
            var job = db.Jobs().Get(jobId);
            if (job is null || job.State != JobState.Egressing) return;
            job.Egress = record;
            if (failed)
            {
                StateMachines.MoveTo(job, JobState.EgressFailed,
                    $"EgressFailed: egress to {egress.Url} failed after {record.Tries} tries; the output commit {Ids.Short(commit)} stays. Last error: {record.Error}");
            }
            else
            {
                StateMachines.MoveTo(job, JobState.Success);
                if (db.Pipelines().Get(job.Pipeline) is { } pipeline)
                {
                    pipeline.LastEgress = new EgressMarkDoc { Url = egress.Url, Commit = commit };
                    db.Pipelines().Update(pipeline);
                }
            }
            db.Jobs().Update(job);
            db.Logs().Insert(new LogDoc
            {
                Job = jobId, Pipeline = job.Pipeline, Datum = "", Time = DateTime.UtcNow, Stream = LogStreams.Egress,
                Message = failed ? $"egress to {egress.Url} failed after {record.Tries} tries"
                    : $"egress to {egress.Url}: {record.FilesUploaded} file(s) put ({record.BytesUploaded} bytes), {record.FilesDeleted} deleted" +
                      (record.Since is null ? " (everything: no earlier egress to compare with)" : $" (changes since commit {Ids.Short(record.Since)})"),
            });
        });
    }

    private void Log(string message) => context.Meta.Write(db =>
    {
        var pipeline = db.Jobs().Get(jobId)?.Pipeline ?? "";
        db.Logs().Insert(new LogDoc { Job = jobId, Pipeline = pipeline, Datum = "", Time = DateTime.UtcNow, Stream = LogStreams.Egress, Message = message });
    });
}
