using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using PachPS.Engine.Pps;

namespace PachPS.Engine.Execution.Kubernetes;

/// <summary>
/// The Kubernetes Job that runs one datum. Its pod shares an emptyDir at /pfs between three containers:
/// init container "fetch" downloads the inputs through presigned GET URLs (listed in a <see cref="DatumManifest"/>),
/// init container "transform" runs the pipeline's image and command, and container "upload" tars /pfs/out and PUTs it
/// through a presigned URL. The scripts are fixed text: user values reach them only as environment variables and
/// arguments.
/// </summary>
public static class DatumJob
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string PipelineLabel = "pachps.io/pipeline";
    public const string JobLabel = "pachps.io/job";
    public const string DatumLabel = "pachps.io/datum";
    public const string BatchLabel = "pachps.io/batch";
    public const string FetchContainer = "fetch";
    public const string TransformContainer = "transform";
    public const string UploadContainer = "upload";

    /// <summary>
    /// Fetch: the manifest (inline or from a URL), then each of its lines (see <see cref="DatumManifest"/>). A folder or
    /// file the pod's file system refuses (a name too long for it, a character it does not allow) ends the container
    /// with a <see cref="UnwritableMarker"/> line naming the path and the error, which the executor makes the datum's
    /// reason (<see cref="UnwritableReason"/>).
    /// </summary>
    internal const string FetchScript = """
        set -eu
        mkdir -p /pfs/.pachps
        if [ -z "${PACH_S3_OUT:-}" ]; then mkdir -p /pfs/out; fi
        if [ -n "${PACH_MANIFEST_URL:-}" ]; then curl -fsS -o /pfs/.pachps/manifest "$PACH_MANIFEST_URL"; else printf '%s\n' "${PACH_MANIFEST:-}" > /pfs/.pachps/manifest; fi
        if [ -n "${PACH_STDIN+x}" ]; then printf '%s\n' "$PACH_STDIN" > /pfs/.pachps/stdin; fi
        tab=$(printf '\t')
        E=/pfs/.pachps/fetch-error
        unwritable() { printf 'pachps-unwritable\t%s\t%s\n' "${path#.pachps/datums/*/}" "$(tr '\n' ' ' < "$E")"; exit 1; }
        while IFS="$tab" read -r kind path range url; do
          case "$kind" in
            d) mkdir -p "/pfs/$path" 2> "$E" || unwritable ;;
            f) { mkdir -p "$(dirname "/pfs/$path")" && true > "/pfs/$path"; } 2> "$E" || unwritable ;;
            c) curl -fsS -r "$range" "$url" >> "/pfs/$path" ;;
            t) { mkdir -p "$(dirname "/pfs/$path")" && printf '%s\n' "$range" >> "/pfs/$path"; } 2> "$E" || unwritable ;;
          esac
        done < /pfs/.pachps/manifest
        """;

    /// <summary>What the fetch container writes, then a tab, the path under /pfs, a tab and the error, for an input it cannot write.</summary>
    internal const string UnwritableMarker = "pachps-unwritable\t";

    /// <summary>
    /// A datum's reason for an input the pod could not write, from the fetch container's log line (null for any other
    /// line), worded as the local executor words it.
    /// </summary>
    public static string? UnwritableReason(string line)
    {
        if (!line.StartsWith(UnwritableMarker, StringComparison.Ordinal)) return null;
        var parts = line[UnwritableMarker.Length..].Split('\t', 2);
        var error = parts.Length > 1 ? parts[1].Trim() : "";
        return $"input file '/pfs/{MessageText.Abbreviate(parts[0])}' cannot be written in the datum's folder" +
            (error.Length > 0 ? $" ({MessageText.Abbreviate(error)})" : "");
    }

    /// <summary>Transform: runs its arguments (the spec's cmd) with the stdin lines as input; accept_return_code counts as success.</summary>
    internal const string TransformScript = """
        if [ -f /pfs/.pachps/stdin ]; then "$@" < /pfs/.pachps/stdin; else "$@" < /dev/null; fi
        rc=$?
        for code in ${PACH_ACCEPT_RETURN_CODE:-}; do [ "$rc" = "$code" ] && rc=0; done
        exit $rc
        """;

    /// <summary>
    /// Transform of a batch (datum_batching): serves the batching protocol to the spec's command, which it starts once.
    /// Each "next" finishes the datum in hand and moves the next datum's inputs into /pfs; the worker's exit ends the
    /// batch (non-zero fails the datum in hand). A finished datum's /pfs/out is checked by <see cref="OutputRules"/> while
    /// its inputs are still there, and copied to result/outs/&lt;n&gt; with links inside /pfs resolved to what they point
    /// to. result/status lists each datum started: "&lt;n&gt; ok", "&lt;n&gt; failed &lt;code&gt;" or "&lt;n&gt; invalid" (what
    /// broke the rules in result/invalid-&lt;n&gt;); datums never started are not listed.
    /// </summary>
    internal const string BatchScript = OutputRules + """
        set -u
        P=/pfs/.pachps; R=$P/result
        finish() {
          bad=$(cd /pfs/out && broken_outputs)
          if [ -n "$bad" ]; then printf '%s\n' "$bad" > "$R/invalid-$1"; echo "$1 invalid" >> "$R/status"
          else cp -RL /pfs/out "$R/outs/$1" && echo "$1 ok" >> "$R/status"; fi
        }
        mkdir -p "$R/outs" /pfs/out; : > "$R/status"
        n=$(ls "$P/ids" | wc -l)
        mkfifo "$P/req" "$P/resp"
        export PACH_DATUM_REQUEST="$P/req" PACH_DATUM_RESPONSE="$P/resp" PACH_DATUM_ENV="$P/env" PACH_DATUM_BATCH=1
        exec 3<>"$P/req" 4<>"$P/resp"
        input=/dev/null; [ -f "$P/stdin" ] && input="$P/stdin"
        ( "$@" < "$input"; echo "exit $?" >&3 ) &
        i=-1
        while read -r word code <&3; do
          if [ "$word" = exit ]; then
            for c in ${PACH_ACCEPT_RETURN_CODE:-}; do [ "$code" = "$c" ] && code=0; done
            if [ "$i" -ge 0 ] && [ "$i" -lt "$n" ]; then
              if [ "$code" = 0 ]; then finish "$i"; else echo "$i failed $code" >> "$R/status"; fi
            fi
            exit 0
          fi
          if [ "$i" -ge 0 ] && [ "$i" -lt "$n" ]; then
            finish "$i"
            for d in /pfs/*; do rm -rf "$d"; done
            mkdir -p /pfs/out
          fi
          i=$((i+1))
          if [ "$i" -lt "$n" ]; then
            for d in "$P/datums/$i"/*; do [ -e "$d" ] && mv "$d" /pfs/; done
            cp "$P/envs/$i" "$P/env"
            id=$(cat "$P/ids/$i")
            echo "pachps-datum $id"
            echo "datum $id" >&4
          else
            echo done >&4
          fi
        done
        """;

    /// <summary>The line the batch transform writes before each datum's output, so logs are attributed to datums.</summary>
    internal const string DatumMarker = "pachps-datum ";

    /// <summary>
    /// The output rules every executor keeps (DatumOutputs), as a shell function run in a datum's /pfs/out: it prints one
    /// line for each link that leads outside /pfs, nowhere or round in a loop, and each FIFO, socket or device. Links
    /// inside /pfs are fine: they are stored as what they point to (tar -h, cp -L).
    /// </summary>
    private const string OutputRules = """
        broken_outputs() {
          find . -type l | while IFS= read -r l; do
            name="/pfs/out/${l#./}"; t=$(readlink "$l"); r=$(readlink -f "$l" || true)
            if [ -z "$r" ]; then echo "$name is a link that goes through too many links (a loop?)"
            else case "$r" in
              /pfs|/pfs/*)
                if [ ! -e "$l" ]; then echo "$name is a link to $t, which does not exist"
                else case "$name/" in "$r"/*) echo "$name is a link to $r, which holds it: a loop" ;; esac; fi ;;
              *) echo "$name is a link to $t, outside the datum's /pfs; only links inside it are stored (as what they point to)" ;;
            esac; fi
          done
          find . ! -type f ! -type d ! -type l | while IFS= read -r s; do
            echo "/pfs/out/${s#./} is a FIFO, socket or device; only files, folders and links to them inside the datum's /pfs are kept"
          done
        }

        """;

    /// <summary>
    /// Upload: /pfs/out (a batch: its result folder) as a tar, PUT through the presigned URL. A datum's /pfs/out is
    /// checked first by <see cref="OutputRules"/>: what breaks them is PUT through the "invalid" URL instead (the
    /// executor fails the datum with that list). A batch's outputs were checked and resolved as each datum finished.
    /// </summary>
    internal const string UploadScript = OutputRules + """
        set -eu
        P=/pfs/.pachps
        if [ -n "${PACH_UPLOAD_DIR:-}" ]; then
          cd "$PACH_UPLOAD_DIR"; tar -cf "$P/out.tar" .
        else
          mkdir -p /pfs/out; cd /pfs/out
          broken_outputs > "$P/invalid"
          if [ -s "$P/invalid" ]; then curl -fsS -X PUT -T "$P/invalid" "$PACH_INVALID_URL"; exit 0; fi
          tar -chf "$P/out.tar" .
        fi
        curl -fsS -X PUT -T "$P/out.tar" "$PACH_UPLOAD_URL"
        """;

    /// <summary>The staging object that lists what breaks the output rules, when the upload container found any.</summary>
    public static string InvalidKey(string staging) => staging + "invalid";

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };

    /// <summary>
    /// Characters of the job and datum ids in a Job name: "pachps-" plus two of these and a dash stay well inside
    /// Kubernetes' 63-character limit for names used as labels. Part of the names of Jobs already submitted, so fixed.
    /// </summary>
    private const int NameIdLength = 16;

    /// <summary>A Job name that is the same every time the datum is submitted, so a resubmission finds the first one.</summary>
    public static string Name(string jobId, string datumId) => $"pachps-{Head(jobId, NameIdLength)}-{Head(datumId, NameIdLength)}".ToLowerInvariant();

    /// <summary>The Job of a batch: named after its first datum ('b' and one character fewer keep it as long as a datum's).</summary>
    public static string BatchName(string jobId, string firstDatumId) => $"pachps-{Head(jobId, NameIdLength)}-b{Head(firstDatumId, NameIdLength - 1)}".ToLowerInvariant();

    private static string Head(string id, int length) => id[..Math.Min(length, id.Length)];

    /// <summary>Where the datum's staging objects live in the content store.</summary>
    public static string StagingPrefix(string jobId, string datumId) => $"k8s/{jobId}/{datumId}/";

    /// <summary>
    /// The Job for a datum, or with <paramref name="batch"/> for a batch of datums (one worker serving them in turn;
    /// <paramref name="request"/> is then the batch's first datum). <paramref name="manifest"/> is inline text, or null
    /// with <paramref name="manifestUrl"/>.
    /// </summary>
    public static V1Job Build(DatumRequest request, string image, string? manifest, Uri? manifestUrl, Uri uploadUrl, IReadOnlyList<DatumRequest>? batch = null, Uri? invalidUrl = null)
    {
        var t = request.Transform;
        var labels = Labels(request.Pipeline, request.Pod);
        labels[JobLabel] = request.JobId;
        labels[DatumLabel] = request.DatumId[..Math.Min(63, request.DatumId.Length)];
        if (batch is not null) labels[BatchLabel] = "true";
        var fetchEnv = new List<V1EnvVar>();
        if (manifestUrl is not null) fetchEnv.Add(Env("PACH_MANIFEST_URL", manifestUrl.AbsoluteUri));
        else fetchEnv.Add(Env("PACH_MANIFEST", manifest ?? ""));
        if (t.Stdin.Count > 0) fetchEnv.Add(Env("PACH_STDIN", string.Join('\n', t.Stdin)));
        // s3_out: the datum writes its output through its S3 endpoint; like Pachyderm, it has no /pfs/out.
        if (request.S3Out) fetchEnv.Add(Env("PACH_S3_OUT", "1"));

        // A batch's datum variables come one datum at a time through the protocol's env file.
        var datumEnv = batch is null ? LocalProcessExecutor.DatumEnvironment(request, "/pfs") : [];
        var transformEnv = t.Env.Select(kv => Env(kv.Key, kv.Value))
            .Concat(datumEnv.Select(kv => Env(kv.Key, kv.Value)))
            .GroupBy(e => e.Name).Select(g => g.Last()).ToList();
        if (t.AcceptReturnCode.Count > 0) transformEnv.Add(Env("PACH_ACCEPT_RETURN_CODE", string.Join(' ', t.AcceptReturnCode)));

        var mount = PfsMount;
        var pod = new V1PodSpec
        {
            RestartPolicy = "Never",
            Volumes = [PfsVolume],
            InitContainers =
            [
                new V1Container { Name = FetchContainer, Image = image, Command = ["sh", "-c", FetchScript], Env = fetchEnv, VolumeMounts = mount },
                new V1Container
                {
                    Name = TransformContainer,
                    Image = t.Image ?? "busybox",
                    Command = batch is null ? ["sh", "-c", TransformScript, "pachps-transform", .. t.Cmd] : ["sh", "-c", BatchScript, "pachps-batch", .. t.Cmd],
                    Env = transformEnv,
                    WorkingDir = t.WorkingDir,
                    VolumeMounts = mount,
                },
            ],
            Containers =
            [
                new V1Container
                {
                    Name = UploadContainer, Image = image, Command = ["sh", "-c", UploadScript], VolumeMounts = mount,
                    Env = batch is null
                        ? [Env("PACH_UPLOAD_URL", uploadUrl.AbsoluteUri), Env("PACH_INVALID_URL", invalidUrl?.AbsoluteUri ?? "")]
                        : [Env("PACH_UPLOAD_URL", uploadUrl.AbsoluteUri), Env("PACH_UPLOAD_DIR", "/pfs/.pachps/result")],
                },
            ],
        };
        pod = Shaped(pod, request.Pod, request.Pipeline, t);
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = batch is null ? Name(request.JobId, request.DatumId) : BatchName(request.JobId, request.DatumId), Labels = labels, Annotations = Annotations(request.Pod),
            },
            Spec = new V1JobSpec
            {
                // A batch is not retried as a whole: its failed datums go back to the queue for a later batch.
                BackoffLimit = batch is null ? Math.Max(0, request.Tries - 1) : 0,
                ActiveDeadlineSeconds = request.Timeout is { } timeout ? Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds * (batch?.Count ?? 1))) : null,
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = labels, Annotations = Annotations(request.Pod) }, Spec = pod },
            },
        };
    }

    /// <summary>The emptyDir every container of a PachPS pod shares, mounted at /pfs.</summary>
    internal static V1Volume PfsVolume => new() { Name = "pfs", EmptyDir = new V1EmptyDirVolumeSource() };

    internal static List<V1VolumeMount> PfsMount => [new() { MountPath = "/pfs", Name = "pfs" }];

    /// <summary>
    /// The labels every PachPS Job and its pods carry: who manages them (what the executor watches) and the pipeline (a
    /// label value starts and ends alphanumeric).
    /// </summary>
    internal static Dictionary<string, string> Labels(string pipeline, PodSettings? settings = null)
    {
        var labels = new Dictionary<string, string>(settings?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ManagedBy] = "pachps",
            [PipelineLabel] = pipeline.Trim('_', '-') is { Length: > 0 } trimmed ? trimmed : "pipeline",
        };
        return labels;
    }

    /// <summary>The spec's metadata.annotations, for the Job and its pods (null when there are none).</summary>
    internal static Dictionary<string, string>? Annotations(PodSettings settings) =>
        settings.Annotations.Count == 0 ? null : new Dictionary<string, string>(settings.Annotations, StringComparer.Ordinal);

    /// <summary>
    /// The pod with the pipeline's pod-shaping fields: transform.secrets and transform.user, resource requests and
    /// limits on the transform container, the node selector, image pull secrets, tolerations, and then pod_patch applied
    /// to the pod's JSON form.
    /// </summary>
    internal static V1PodSpec Shaped(V1PodSpec pod, PodSettings settings, string pipeline, TransformSpec transformSpec)
    {
        var container = (pod.InitContainers ?? []).Concat(pod.Containers).First(c => c.Name == TransformContainer);
        // transform.secrets: a key into a variable (secretKeyRef), a whole secret as files; only names are in the pod.
        foreach (var secret in transformSpec.Secrets)
        {
            if (secret.EnvVar is { } variable)
                (container.Env ??= []).Add(new V1EnvVar { Name = variable, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret.Name, Key = secret.Key } } });
            if (secret.MountPath is not { } path) continue;
            var volume = "secret-" + (pod.Volumes.Count - 1);
            pod.Volumes.Add(new V1Volume { Name = volume, Secret = new V1SecretVolumeSource { SecretName = secret.Name } });
            (container.VolumeMounts ??= []).Add(new V1VolumeMount { Name = volume, MountPath = path, ReadOnlyProperty = true });
        }
        if (transformSpec.User is { } user)
        {
            var ids = user.Split(':');
            container.SecurityContext = new V1SecurityContext
            {
                RunAsUser = long.Parse(ids[0], System.Globalization.CultureInfo.InvariantCulture),
                RunAsGroup = ids.Length > 1 ? long.Parse(ids[1], System.Globalization.CultureInfo.InvariantCulture) : null,
            };
        }
        if (settings.Requests.Count + settings.Limits.Count > 0)
        {
            container.Resources = new V1ResourceRequirements
            {
                Requests = settings.Requests.Count == 0 ? null : settings.Requests.ToDictionary(kv => kv.Key, kv => new ResourceQuantity(kv.Value)),
                Limits = settings.Limits.Count == 0 ? null : settings.Limits.ToDictionary(kv => kv.Key, kv => new ResourceQuantity(kv.Value)),
            };
        }
        if (settings.NodeSelector.Count > 0) pod.NodeSelector = settings.NodeSelector.ToDictionary(kv => kv.Key, kv => kv.Value);
        if (settings.ImagePullSecrets.Count > 0) pod.ImagePullSecrets = settings.ImagePullSecrets.Select(n => new V1LocalObjectReference { Name = n }).ToList();
        if (settings.Tolerations.Count > 0)
            pod.Tolerations = settings.Tolerations.Select(t => new V1Toleration
            {
                Key = t.Key.Length > 0 ? t.Key : null, OperatorProperty = t.Operator.Length > 0 ? t.Operator : null, Value = t.Value.Length > 0 ? t.Value : null,
                Effect = t.Effect.Length > 0 ? t.Effect : null, TolerationSeconds = t.Seconds,
            }).ToList();
        if (settings.PodPatch is not { } patch) return pod;
        var json = patch.ApplyTo(JsonNode.Parse(KubernetesJson.Serialize(pod))!.AsObject(), pipeline);
        return KubernetesJson.Deserialize<V1PodSpec>(json.ToJsonString());
    }
}
