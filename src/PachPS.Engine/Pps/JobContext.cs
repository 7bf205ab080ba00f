using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// What a running job works with, handed down by the pipeline system: the metadata it records progress in, Pfs (which
/// it reads inputs from and writes its output commit through), the executor that runs its datums, the folder its
/// workers use, the signal that this process is closing the store, and how to reach an egress's target.
/// </summary>
internal sealed record JobContext(MetadataStore Meta, PfsService Pfs, IDatumExecutor Executor, string WorkRoot, CancellationToken Closing,
    Func<EgressSpec, EgressTarget> OpenEgress)
{
    /// <summary>How often, and how patiently, an egress is tried before the job ends EgressFailed.</summary>
    public EgressRetry EgressRetry { get; } = new();

    // Made when first asked for, so a bad PACHPS_DATUM_S3_ADDRESS fails the jobs that need the endpoint, not the store.
    private readonly Lazy<S3Api.DatumEndpoint> _s3Endpoint = new(S3Api.DatumEndpoint.FromEnvironment);

    /// <summary>The S3 endpoint of datums with s3 inputs or s3_out (listening from the first such datum on).</summary>
    public S3Api.DatumEndpoint S3Endpoint => _s3Endpoint.Value;

    /// <summary>Stops the S3 endpoint, if it was made.</summary>
    public void CloseS3Endpoint()
    {
        if (_s3Endpoint.IsValueCreated) _s3Endpoint.Value.Dispose();
    }
}

/// <summary>An egress is tried <see cref="Tries"/> times, waiting <see cref="FirstDelay"/> after the first failure and twice as long after each next.</summary>
internal sealed class EgressRetry
{
    public int Tries { get; set; } = 4;
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// When jobs that stopped with StorageFull are tried again: a probe write at the first sweep after <see cref="FirstDelay"/>,
/// then each probe that finds no room (or each job that runs out of room again) doubles the wait, up to
/// <see cref="MaxDelay"/>; a job that ends normally sets it back (tests shorten the waits).
/// </summary>
internal sealed class RoomRetry
{
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);
}
