using PachPS.Engine.Metadata;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>
/// What a running job works with, handed down by the pipeline system: the metadata it records progress in, Pfs (which
/// it reads inputs from and writes its output commit through), the executor that runs its datums, the folder its
/// workers use and the signal that this process is closing the store.
/// </summary>
internal sealed record JobContext(MetadataStore Meta, PfsService Pfs, IDatumExecutor Executor, string WorkRoot, CancellationToken Closing);
