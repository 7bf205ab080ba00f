namespace PachPS.Engine.Pps;

/// <summary>
/// Runs one datum of a job to its outcome: up to datum_tries tries (unless the executor retries itself), each within
/// datum_timeout, then err_cmd on failure; a success's output files are ingested and its folder readied for the next.
/// </summary>
internal sealed class DatumAttempt(JobContext context, ResultFlusher results, JobDoc job, PipelineSpec spec)
{
    public async Task<DatumOutcome> RunAsync(PlannedDatum datum, string folder, CancellationToken cancel)
    {
        var doc = NewRecord(job, datum);
        var request = Request(context, job, spec, datum, folder) with
        {
            OnLog = line => results.Log(new LogDoc { Job = job.Id, Pipeline = job.Pipeline, Datum = datum.Hash, Time = line.Time, Stream = line.Stream, Message = line.Message }),
        };
        using var grant = spec.UsesS3Endpoint ? Grant(context, spec, datum, folder) : null;
        if (grant is not null) request = request with { Env = new Dictionary<string, string>(request.Env.Concat(grant.Environment), StringComparer.Ordinal) };
        DatumResult? result = null;
        if (context.Executor.RetriesItself)
        {
            result = await context.Executor.RunAsync(request, cancel);
            doc.Attempts = result.Attempts;
        }
        else
        {
            for (var attempt = 1; attempt <= spec.DatumTries; attempt++)
            {
                doc.Attempts = attempt;
                // A try starts from an empty bucket out, as it does from an empty /pfs/out.
                if (attempt > 1) grant?.ClearOut();
                result = await RunWithTimeoutAsync(request, spec.DatumTimeout, cancel);
                if (result.Success) break;
            }
        }
        if (!result!.Success && spec.Transform.ErrCmd.Count > 0)
        {
            // err_cmd decides whether the failure is acceptable: exit 0 marks the datum recovered (no output; it is
            // tried again in the next job).
            var recovery = await RunWithTimeoutAsync(request with { Transform = spec.Transform with { Cmd = spec.Transform.ErrCmd, Stdin = spec.Transform.ErrStdin }, Tries = 1 },
                spec.DatumTimeout, cancel);
            if (recovery.Success)
            {
                StateMachines.MoveTo(doc, DatumState.Recovered, "recovered by err_cmd after: " + result.Reason);
                WorkFolders.TryDelete(request.WorkFolder);
                return new DatumOutcome(doc, [], result.BytesDownloaded, 0);
            }
        }
        if (!result.Success)
        {
            StateMachines.MoveTo(doc, DatumState.Failed, result.Reason);
            WorkFolders.TryDelete(request.WorkFolder);
            return new DatumOutcome(doc, [], result.BytesDownloaded, 0);
        }
        // With s3_out the datum's output is what it wrote to bucket out.
        if (grant?.OutFolder is { } written) result = result with { OutputFolder = written };
        List<Pfs.TreeEntry> outputs;
        try { outputs = results.Ingest(result.OutputFolder); }
        catch (PachException ex) when (ex.ErrorId == "DatumOutputInvalid")
        {
            StateMachines.MoveTo(doc, DatumState.Failed, ex.Message);
            WorkFolders.TryDelete(request.WorkFolder);
            return new DatumOutcome(doc, [], result.BytesDownloaded, 0);
        }
        WorkFolders.ClearDatumFolder(request, result.OutputFolder, outputs);
        StateMachines.MoveTo(doc, DatumState.Success);
        return new DatumOutcome(doc, outputs, result.BytesDownloaded, outputs.Sum(o => o.Content.Size));
    }

    /// <summary>The record of a datum this run starts.</summary>
    public static DatumDoc NewRecord(JobDoc job, PlannedDatum datum) => new()
    {
        Id = DatumDoc.Key(job.Id, datum.Hash), Job = job.Id, Pipeline = job.Pipeline, Hash = datum.Hash, Inputs = InputDocs(datum),
        Started = DateTime.UtcNow, SourceJob = job.Id,
    };

    public static List<DatumInputDoc> InputDocs(PlannedDatum d) =>
        d.Inputs.Select(i => new DatumInputDoc { Name = i.Name, Repo = i.Repo, Commit = i.Commit, Path = i.Path }).ToList();

    /// <summary>What an empty_files input's files hold for the command (their hashes still count in the datum's).</summary>
    private static readonly Storage.FileContent EmptyContent = new(0, Storage.ContentHash.Of([]), []);

    /// <summary>
    /// The executor's view of a datum: its inputs as content it reads through the store's reader. S3 inputs are not
    /// among them (the datum reads those through its endpoint); their commits are still in the environment.
    /// </summary>
    public static DatumRequest Request(JobContext context, JobDoc job, PipelineSpec spec, PlannedDatum datum, string workFolder)
    {
        var env = datum.Env;
        if (datum.Inputs.Any(i => i.S3))
        {
            var withCommits = new Dictionary<string, string>(env, StringComparer.Ordinal);
            foreach (var input in datum.Inputs.Where(i => i.S3)) withCommits[input.Name + "_COMMIT"] = input.Commit;
            env = withCommits;
        }
        return new(job.Id, datum.Hash, job.Pipeline, job.OutputCommit, spec.Transform,
            datum.Inputs.Where(i => !i.S3).Select(Mount).ToList(), workFolder)
        {
            Reader = context.Pfs.Reader, Env = env, Tries = spec.DatumTries, Timeout = spec.DatumTimeout, Pod = spec.Pod, Closing = context.Closing,
            S3Out = spec.S3Out,
        };
    }

    private static DatumMount Mount(PlannedInput i) => new(i.Name, i.Repo, i.Commit, i.Path,
        i.Files.Select(f => new DatumFile(f.Path, i.EmptyFiles ? EmptyContent : f.Content)).ToList()) { Lazy = i.Lazy };

    /// <summary>
    /// The datum's buckets on the job S3 endpoint: its s3 inputs and, with s3_out, "out" in a folder beside its /pfs
    /// (so not under it), which becomes its output.
    /// </summary>
    private static S3Api.DatumGrant Grant(JobContext context, PipelineSpec spec, PlannedDatum datum, string workFolder) =>
        context.S3Endpoint.Grant(datum.Inputs.Where(i => i.S3).Select(Mount).ToList(), context.Pfs.Reader,
            spec.S3Out ? FreshFolder(Path.Combine(workFolder, "s3out")) : null);

    /// <summary>An empty folder at <paramref name="path"/> (a worker's folder is reused from datum to datum).</summary>
    private static string FreshFolder(string path)
    {
        WorkFolders.TryDelete(path);
        return Directory.CreateDirectory(path).FullName;
    }

    /// <summary>A timeout as specs write it: 90s, 5m, 2h.</summary>
    public static string Describe(TimeSpan span) =>
        span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{span.TotalHours}h"
        : span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes) ? $"{span.TotalMinutes}m"
        : $"{span.TotalSeconds}s";

    /// <summary>Runs one try; past <paramref name="timeout"/> the process tree is killed and the try fails saying so.</summary>
    private async Task<DatumResult> RunWithTimeoutAsync(DatumRequest request, TimeSpan? timeout, CancellationToken cancel)
    {
        if (timeout is null) return await context.Executor.RunAsync(request, cancel);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timer.CancelAfter(timeout.Value);
        try { return await context.Executor.RunAsync(request, timer.Token); }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new DatumResult(false, -1, $"datum_timeout {Describe(timeout.Value)} exceeded: the process was killed",
                Path.Combine(request.WorkFolder, "pfs", "out"), 0);
        }
    }
}
