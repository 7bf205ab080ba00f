using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// The Kubernetes Job that runs one run of a spout: a long-running pod whose containers share an emptyDir at /pfs.
/// Init container "fetch" lays out /pfs/out and fetches the run's list of upload URLs; container "transform" runs the
/// spout's command in the pipeline's image (and records its exit code when it ends); container "ship", beside it,
/// watches /pfs/out by the same rules as a local spout (<see cref="ShipScript"/>) and uploads what settles there as
/// numbered tar shipments through presigned PUT URLs. The executor delivers each shipment into the spout's local
/// /pfs/out, where the spout's committer picks it up as it does a local command's files. Like a datum's Job, no
/// credential reaches the cluster.
/// </summary>
public static class SpoutJob
{
    /// <summary>Label on a spout's Jobs: a hash of the pipeline's name, so a later run finds those an earlier one left.</summary>
    public const string SpoutLabel = "pachps.io/spout";
    public const string ShipContainer = "ship";

    /// <summary>
    /// Upload URLs a run is given. The last is kept for the shipment made when the pod is stopped; when the others are
    /// used up the executor replaces the run (its command is restarted), as it does when the URLs' lifetime nears its end.
    /// </summary>
    public const int Shipments = 500;

    /// <summary>Fetch: /pfs/out, the stdin lines, and the list of upload URLs (one per line).</summary>
    internal const string FetchScript = """
        set -eu
        mkdir -p /pfs/out /pfs/.pachps/ship
        if [ -n "${PACH_STDIN+x}" ]; then printf '%s\n' "$PACH_STDIN" > /pfs/.pachps/stdin; fi
        curl -fsS -o /pfs/.pachps/urls "$PACH_URLS_URL"
        """;

    /// <summary>
    /// Transform: runs its arguments (the spec's cmd) with the stdin lines as input, passes SIGTERM on to it, and writes
    /// its exit code to /pfs/.pachps/exit when it ends, which tells the ship container to make its last shipment.
    /// </summary>
    internal const string TransformScript = """
        input=/dev/null; [ -f /pfs/.pachps/stdin ] && input=/pfs/.pachps/stdin
        "$@" < "$input" &
        child=$!
        trap 'kill -TERM "$child" 2>/dev/null' TERM
        wait "$child"; rc=$?
        while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
        echo "$rc" > /pfs/.pachps/exit.new && mv /pfs/.pachps/exit.new /pfs/.pachps/exit
        exit "$rc"
        """;

    /// <summary>
    /// Ship: every 0.2 s lists /pfs/out (size, modification second, path). A listing unchanged since the last look is
    /// shipped whole; files that keep coming for more than 2 s (10 looks) without a quiet moment ship those listed
    /// unchanged twice in a row; when the command has exited or the pod is stopping (SIGTERM), everything ships and the
    /// container ends. A shipment moves its files out of /pfs/out (so none ships twice and a name written again is a new
    /// version), tars them and PUTs the tar to the next URL; an upload is tried 5 times before the container fails.
    /// Shipments are numbered from 0; the last URL is kept for the stopping shipment.
    /// </summary>
    internal const string ShipScript = """
        set -u
        P=/pfs/.pachps; S=$P/ship
        total=$(wc -l < "$P/urls")
        n=0; polls=0; stopping=0; : > "$S/prev"
        trap 'stopping=1' TERM
        listing() { (cd /pfs/out && find . -type f -exec stat -c '%s %Y %n' {} + 2>/dev/null) | sort > "$S/cur"; }
        ship() {
          d="$S/$n"; mkdir -p "$d"
          while IFS= read -r line; do
            f=${line#* }; f=${f#* }
            mkdir -p "$d/$(dirname "$f")" && mv "/pfs/out/$f" "$d/$f"
          done < "$1"
          if [ -z "$(ls -A "$d")" ]; then rmdir "$d"; return 0; fi
          name=$(printf '%06d' "$n")
          tar -cf "$S/$name.tar" -C "$d" . || return 1
          url=$(sed -n "$((n + 1))p" "$P/urls")
          tries=0
          until curl -fsS -X PUT -T "$S/$name.tar" "$url"; do
            tries=$((tries + 1)); [ "$tries" -ge 5 ] && return 1; sleep 1
          done
          rm -rf "$d" "$S/$name.tar"
          echo "shipment $name: $(wc -l < "$1") file(s)"
          n=$((n + 1))
        }
        while :; do
          final=0; { [ -f "$P/exit" ] || [ "$stopping" = 1 ]; } && final=1
          listing
          if [ -s "$S/cur" ]; then
            if [ "$final" = 1 ]; then
              ship "$S/cur" || exit 1
            elif [ "$n" -lt "$((total - 1))" ] && cmp -s "$S/cur" "$S/prev"; then
              ship "$S/cur" || exit 1; polls=0; listing
            elif [ "$n" -lt "$((total - 1))" ] && [ "$polls" -ge 10 ]; then
              grep -Fx -f "$S/prev" "$S/cur" > "$S/settled"
              ship "$S/settled" || exit 1; polls=0; listing
            else
              polls=$((polls + 1))
            fi
          else
            polls=0
          fi
          [ "$final" = 1 ] && exit 0
          mv "$S/cur" "$S/prev"
          sleep 0.2
        done
        """;

    /// <summary>The hash of a pipeline's name in its spout Jobs' names and labels (names allow fewer characters than pipelines).</summary>
    public static string PipelineHash(string pipeline) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pipeline)))[..12];

    public static string Name(string pipeline, string runId) => $"pachps-spout-{PipelineHash(pipeline)}-{runId}";

    /// <summary>Where every run of a spout stages its objects in the content store.</summary>
    public static string PipelinePrefix(string pipeline) => $"k8s/spouts/{PipelineHash(pipeline)}/";

    /// <summary>Where one run stages its URL list and shipments.</summary>
    public static string RunPrefix(string pipeline, string runId) => $"{PipelinePrefix(pipeline)}{runId}/";

    public static string ShipmentKey(string runPrefix, int n) => runPrefix + n.ToString("D6", CultureInfo.InvariantCulture) + ".tar";

    public static string UrlsKey(string runPrefix) => runPrefix + "urls";

    /// <summary>The Job of one run; it lasts at most <paramref name="deadline"/> (the URLs' lifetime, less a margin).</summary>
    public static V1Job Build(SpoutRequest request, string image, Uri urlsUrl, string runId, TimeSpan deadline)
    {
        var t = request.Transform;
        var labels = DatumJob.Labels(request.Pipeline, request.Pod);
        labels[SpoutLabel] = PipelineHash(request.Pipeline);
        var fetchEnv = new List<V1EnvVar> { Env("PACH_URLS_URL", urlsUrl.AbsoluteUri) };
        if (t.Stdin.Count > 0) fetchEnv.Add(Env("PACH_STDIN", string.Join('\n', t.Stdin)));
        var transformEnv = t.Env.Select(kv => Env(kv.Key, kv.Value))
            .Append(Env("PACH_PIPELINE_NAME", request.Pipeline)).Append(Env("PACH_OUT", "/pfs/out"))
            .GroupBy(e => e.Name).Select(g => g.Last()).ToList();
        var pod = new V1PodSpec
        {
            RestartPolicy = "Never",
            TerminationGracePeriodSeconds = 30,
            Volumes = [DatumJob.PfsVolume],
            InitContainers = [new V1Container { Name = DatumJob.FetchContainer, Image = image, Command = ["sh", "-c", FetchScript], Env = fetchEnv, VolumeMounts = DatumJob.PfsMount }],
            Containers =
            [
                new V1Container
                {
                    Name = DatumJob.TransformContainer,
                    Image = t.Image ?? "busybox",
                    Command = ["sh", "-c", TransformScript, "pachps-spout", .. t.Cmd],
                    Env = transformEnv,
                    WorkingDir = t.WorkingDir,
                    VolumeMounts = DatumJob.PfsMount,
                },
                new V1Container { Name = ShipContainer, Image = image, Command = ["sh", "-c", ShipScript], VolumeMounts = DatumJob.PfsMount },
            ],
        };
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = Name(request.Pipeline, runId), Labels = labels, Annotations = DatumJob.Annotations(request.Pod) },
            Spec = new V1JobSpec
            {
                // A run is not retried by Kubernetes: the spout's loop starts the next one, with its backoff.
                BackoffLimit = 0,
                ActiveDeadlineSeconds = (long)deadline.TotalSeconds,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels, Annotations = DatumJob.Annotations(request.Pod) }, Spec = DatumJob.Shaped(pod, request.Pod, request.Pipeline, t),
                },
            },
        };
    }

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };
}
