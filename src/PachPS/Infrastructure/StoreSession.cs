using PachPS.Engine;
using PachPS.Engine.Storage;

namespace PachPS.Infrastructure;

/// <summary>
/// The store the cmdlets of this process work on; opened on first use when nobody connected explicitly.
/// Public so scripts and tests can reach the engine object (<c>[PachPS.Infrastructure.StoreSession]::Current</c>).
/// </summary>
public static class StoreSession
{
    private static readonly object Gate = new();
    private static PachStore? _current;

    public static PachStore Current
    {
        get
        {
            lock (Gate) return _current ??= PachStore.Open(PachStore.DefaultPath());
        }
    }

    /// <summary>The connected store as the cmdlets, the drive and the completers see it: its service interfaces.</summary>
    internal static IPachClient Client => Current;

    internal static PachStore Connect(string path, bool temporary, S3Settings? s3 = null, S3Credentials? credentials = null,
        Engine.Execution.Kubernetes.KubernetesSettings? kubernetes = null)
    {
        lock (Gate)
        {
            var store = PachStore.Open(path, temporary, s3, credentials, kubernetes);
            var previous = _current;
            _current = store;
            if (previous is not null)
            {
                // The old instance stops its jobs; if it was the same store, the new one carries them on.
                previous.Dispose();
                store.ResumeWork();
            }
            return store;
        }
    }

    internal static void Disconnect()
    {
        lock (Gate)
        {
            _current?.Dispose();
            _current = null;
        }
    }
}
