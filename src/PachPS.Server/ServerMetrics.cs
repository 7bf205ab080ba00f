using PachPS.Engine;
using PachPS.Engine.Pps;
using Prometheus;

namespace PachPS.Server;

/// <summary>
/// What /metrics shows besides prometheus-net's HTTP request counts and latencies: jobs by state and datums by
/// outcome (read from the store when scraped), and content bytes in (uploads) and out (downloads).
/// </summary>
public static class ServerMetrics
{
    public static readonly Counter BytesIn = Metrics.CreateCounter("pachps_content_bytes_in_total", "File content bytes received in uploads.");
    public static readonly Counter BytesOut = Metrics.CreateCounter("pachps_content_bytes_out_total", "File content bytes sent in downloads.");
    private static readonly Gauge Jobs = Metrics.CreateGauge("pachps_jobs", "Jobs by state.", "state");
    private static readonly Gauge Datums = Metrics.CreateGauge("pachps_datums", "Datums of all jobs by outcome (processed, skipped, failed, recovered).", "outcome");

    public static void Observe(PachStore store) => Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
    {
        IReadOnlyList<JobInfo> jobs;
        try { jobs = store.Pps.ListJobs(); }
        catch (Exception ex) when (ex is PachException or ObjectDisposedException) { return; }
        foreach (var state in Enum.GetValues<JobState>()) Jobs.WithLabels(state.ToString()).Set(jobs.Count(j => j.State == state));
        Datums.WithLabels("processed").Set(jobs.Sum(j => (long)j.Processed));
        Datums.WithLabels("skipped").Set(jobs.Sum(j => (long)j.Skipped));
        Datums.WithLabels("failed").Set(jobs.Sum(j => (long)j.Failed));
        Datums.WithLabels("recovered").Set(jobs.Sum(j => (long)j.Recovered));
    });
}
