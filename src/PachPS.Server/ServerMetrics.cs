using PachPS.Engine;
using PachPS.Engine.Pps;
using Prometheus;

namespace PachPS.Server;

/// <summary>
/// What /metrics shows besides prometheus-net's HTTP request counts and latencies: jobs by state and datums by
/// outcome (read from the store when scraped), and content bytes in (uploads) and out (downloads). One registry per
/// server, so servers in one process (tests) do not mix their figures.
/// </summary>
public sealed class ServerMetrics
{
    public ServerMetrics(PachStore store)
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        BytesIn = factory.CreateCounter("pachps_content_bytes_in_total", "File content bytes received in uploads.");
        BytesOut = factory.CreateCounter("pachps_content_bytes_out_total", "File content bytes sent in downloads.");
        var jobs = factory.CreateGauge("pachps_jobs", "Jobs by state.", "state");
        var datums = factory.CreateGauge("pachps_datums", "Datums of all jobs by outcome (processed, skipped, failed, recovered).", "outcome");
        Registry.AddBeforeCollectCallback(() =>
        {
            JobTotals totals;
            try { totals = store.Pps.CountJobs(); }
            catch (Exception ex) when (ex is PachException or ObjectDisposedException) { return; }
            foreach (var (state, count) in totals.ByState) jobs.WithLabels(state.ToString()).Set(count);
            datums.WithLabels("processed").Set(totals.Processed);
            datums.WithLabels("skipped").Set(totals.Skipped);
            datums.WithLabels("failed").Set(totals.Failed);
            datums.WithLabels("recovered").Set(totals.Recovered);
        });
    }

    public CollectorRegistry Registry { get; }
    public Counter BytesIn { get; }
    public Counter BytesOut { get; }
}
