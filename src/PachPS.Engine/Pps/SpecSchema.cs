using System.Text.Json.Nodes;

namespace PachPS.Engine.Pps;

/// <summary>What PachPS does with a field of Pachyderm's pipeline spec.</summary>
internal enum SpecSupport
{
    /// <summary>Honoured as Pachyderm does.</summary>
    Implemented,
    /// <summary>Honoured in PachPS's own way (the note says how); no warning.</summary>
    Different,
    /// <summary>Kept in the stored spec but without effect; creating or updating a pipeline that sets it warns.</summary>
    NotImplemented,
    /// <summary>A spec that sets it is refused with an error that says what to write instead.</summary>
    Refused,
}

/// <summary>A field a spec sets that PachPS does not implement, as the spec wrote it, and what that means.</summary>
public sealed record SpecFieldNote(string Field, string Meaning)
{
    public override string ToString() => $"{Field} ({Meaning})";
}

/// <summary>
/// One field of a message of Pachyderm's pipeline spec, by its protobuf name (snake_case); <see cref="JsonName"/> is
/// the lowerCamelCase name protobuf's JSON mapping also accepts.
/// </summary>
internal sealed record SpecField(string Name, SpecSupport Support, string Note)
{
    public string JsonName { get; } = LowerCamel(Name);
    /// <summary>The message this field holds (or holds a list of); null for scalars, lists of scalars and maps.</summary>
    public SpecMessage? Message { get; init; }
    /// <summary>A value besides protobuf's zero values that means "not set" (a project named "default").</summary>
    public string? DefaultValue { get; init; }
    /// <summary>For a field refused when a spec is read: the error id.</summary>
    public string? ErrorId { get; init; }

    /// <summary>protobuf's JSON name: each letter after an underscore upper-cased, the underscores dropped.</summary>
    public static string LowerCamel(string name)
    {
        var result = new System.Text.StringBuilder(name.Length);
        var upper = false;
        foreach (var c in name)
        {
            if (c == '_') { upper = true; continue; }
            result.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return result.ToString();
    }
}

/// <summary>A message of Pachyderm's pipeline spec: its fields, found by either JSON name.</summary>
internal sealed class SpecMessage(string name)
{
    private readonly List<SpecField> _fields = [];
    private readonly Dictionary<string, SpecField> _byName = new(StringComparer.Ordinal);

    public string Name { get; } = name;
    public IReadOnlyList<SpecField> Fields => _fields;

    public SpecMessage Add(SpecField field)
    {
        _fields.Add(field);
        _byName[field.Name] = field;
        _byName[field.JsonName] = field;
        return this;
    }

    /// <summary>The field a key names, in snake_case or lowerCamelCase; null for a key Pachyderm does not define.</summary>
    public SpecField? Find(string key) => _byName.GetValueOrDefault(key);
}

/// <summary>
/// Pachyderm's pipeline spec (its CreatePipelineRequest and the messages under it, 2.x plus the 1.x fields 2.x
/// dropped) and what PachPS does with every field. The help topic about_PachPS_Spec lists the same table (a unit
/// test keeps the two equal).
/// </summary>
internal static class SpecSchema
{
    private const string OneX = "Pachyderm 1.x only; ";
    private const string OnKubernetes = "on Kubernetes (Connect-PachStore -Kubernetes) only; the local executor ignores it";

    public static readonly SpecMessage Request = Build();

    private static SpecMessage Build()
    {
        static SpecField Yes(string name, string note) => new(name, SpecSupport.Implemented, note);
        static SpecField Differs(string name, string note) => new(name, SpecSupport.Different, note);
        static SpecField No(string name, string note) => new(name, SpecSupport.NotImplemented, note);

        var pipeline = new SpecMessage("Pipeline")
            .Add(Yes("name", "the pipeline's name, also its output repo's"))
            .Add(No("project", "PachPS has no projects: the pipeline and its repos live in the store's one namespace") with { DefaultValue = "default" });

        var resources = new SpecMessage("ResourceSpec")
            .Add(Yes("cpu", "the pod's cpu quantity"))
            .Add(Yes("memory", "the pod's memory quantity"))
            .Add(Yes("disk", "the pod's ephemeral-storage quantity"))
            .Add(Yes("gpu", "the pod's quantity of the resource gpu.type") with
            {
                Message = new SpecMessage("GPUSpec")
                    .Add(Yes("type", "the resource name, such as nvidia.com/gpu"))
                    .Add(Yes("number", "how many (default 1)")),
            });

        var transform = new SpecMessage("Transform")
            .Add(Differs("image", "the datum pod's image on Kubernetes (Connect-PachStore -Kubernetes); with a container runtime (Connect-PachStore -ContainerRuntime, or transform.pachps_container_runtime) each worker's datums run in one warm container of it, taken from the runtime's local images (pulled only when missing and a registry answers); otherwise cmd runs on this machine"))
            .Add(Yes("pachps_container_runtime", "PachPS's own: podman, docker or none (local processes), over the store's -ContainerRuntime for this pipeline"))
            .Add(Yes("pachps_network", "PachPS's own: the container network datums may use (host, bridge, a named network); without it a container has none"))
            .Add(Yes("cmd", "the command, run as an argv array; /pfs is the datum's folder (a private mount, or /pfs/ rewritten where none can be made)"))
            .Add(Yes("stdin", "lines piped to the command"))
            .Add(Yes("err_cmd", "runs after a datum's last failed try; exit 0 marks the datum recovered"))
            .Add(Yes("err_stdin", "lines piped to err_cmd"))
            .Add(Yes("env", "variables set for the command"))
            .Add(Differs("secrets", "on Kubernetes, env_var from the secret's key (secretKeyRef) and mount_path as a secret volume; locally, env_var from the session's $env:PACHPS_SECRET_<NAME>_<KEY> (else the variable itself) and mount_path as files from $env:PACHPS_SECRET_<NAME> (a folder or a key=value file) or $env:PACHPS_SECRET_<NAME>_<KEY>; values are never stored") with
            {
                Message = new SpecMessage("SecretMount")
                    .Add(Yes("name", "the Kubernetes secret"))
                    .Add(Yes("key", "the key read into env_var"))
                    .Add(Differs("mount_path", "where the secret's keys are files: on Kubernetes a secret volume; locally, in memory, bound read-only there in the worker's mount namespace (the folder is made on this machine if missing, empty), or rewritten like /pfs/ without one"))
                    .Add(Yes("env_var", "the variable the key's value is put in")),
            })
            .Add(Differs("image_pull_secrets", "the datum pod's image pull secrets, " + OnKubernetes + " (a top-level image_pull_secrets is read too)"))
            .Add(Yes("accept_return_code", "exit codes besides 0 that count as success"))
            .Add(No("debug", "no extra debug logging is written"))
            .Add(Differs("user", "a numeric uid or uid:gid: on Kubernetes the transform container's securityContext; in a local container --user; locally otherwise (a root session on Linux, a uid this machine knows) the command runs as it, without root's groups and with the user's own gid unless given; otherwise creating the pipeline fails (TransformUserNeedsRoot, TransformUserNotFound)"))
            .Add(Yes("working_dir", "the command's working folder"))
            .Add(No("dockerfile", "no image is built"))
            .Add(No("memory_volume", "/pfs is on disk, not in memory"))
            .Add(Yes("datum_batching", "the command starts once per worker and asks for datums"))
            .Add(new SpecField("build", SpecSupport.Refused, OneX + "refused (PipelineSpecBuildUnsupported): put the code in a repo, add it as an input and run it from transform.cmd")
            {
                ErrorId = "PipelineSpecBuildUnsupported",
            });

        var trigger = "every finished commit on the input branch runs the pipeline";
        var pfs = new SpecMessage("PFSInput")
            .Add(Yes("name", "the input's name: /pfs/<name> and $<name> (default: the repo)"))
            .Add(Yes("repo", "the repo read"))
            .Add(Yes("branch", "the branch read (default master)"))
            .Add(Yes("glob", "what makes a datum"))
            .Add(Yes("join_on", "the join key, a template over the glob's capture groups"))
            .Add(Yes("outer_join", "keys this input has and the others lack still make datums"))
            .Add(Yes("group_by", "the group key, a template over the glob's capture groups"))
            .Add(No("project", "PachPS has no projects: the repo is looked up in the store") with { DefaultValue = "default" })
            .Add(No("repo_type", "only user repos exist; the input reads the repo of that name") with { DefaultValue = "user" })
            .Add(Yes("commit", "the input reads this commit (any reference in its repo) instead of its branch's head"))
            .Add(Differs("lazy", "locally, the input's files are hard links to a per-job cache of whole files (each read from the store once per job, not copied per datum; a copy where links cannot be made); a datum that writes to one spoils only the cached copy, which is read again for later datums; on Kubernetes the pod copies them"))
            .Add(Yes("empty_files", "the input's files are under /pfs, empty; the datum's hash still counts their content"))
            .Add(Differs("s3", "the input (glob \"/\": the whole commit) is bucket <name> of the job's S3 endpoint ($S3_ENDPOINT, with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for that datum), read-only, and not under /pfs; the endpoint is the session's own (or the server's) on loopback, not a sidecar"))
            .Add(No("trigger", trigger))
            .Add(No("propagation_spec", "output commits are always made and propagate downstream"))
            .Add(No("reference", "the input's files are copied into /pfs"));

        var cron = new SpecMessage("CronInput")
            .Add(Yes("name", "the input's name"))
            .Add(Yes("spec", "the schedule: cron syntax, @daily and friends, @every 30s"))
            .Add(Yes("repo", "the tick repo (default <pipeline>_<name>)"))
            .Add(Yes("overwrite", "each tick replaces the earlier tick files"))
            .Add(Yes("start", "the time of the first tick"))
            .Add(No("project", "PachPS has no projects") with { DefaultValue = "default" })
            .Add(No("commit", "no effect"));

        var input = new SpecMessage("Input");
        input.Add(Yes("pfs", "a repo's files, one datum per glob match") with { Message = pfs })
            .Add(Yes("atom", OneX + "read as pfs") with { Message = pfs })
            .Add(Yes("cross", "every combination of the inputs' datums") with { Message = input })
            .Add(Yes("union", "the datums of each input, one after another; its inputs may share a name") with { Message = input })
            .Add(Yes("join", "datums of pfs inputs whose join_on keys are equal") with { Message = input })
            .Add(Yes("group", "one datum per group_by key") with { Message = input })
            .Add(Yes("cron", "a tick file committed on a schedule") with { Message = cron })
            .Add(new SpecField("git", SpecSupport.Refused, OneX + "refused (PipelineSpecUnsupportedInput): commit the repository's files to a repo and read that")
            {
                ErrorId = "PipelineSpecUnsupportedInput",
            });

        var parallelism = new SpecMessage("ParallelismSpec")
            .Add(Yes("constant", "how many datums run at a time (a number or a numeric string)"))
            .Add(No("coefficient", OneX + "parallelism is parallelism_spec.constant, or 1"));

        var scheduling = new SpecMessage("SchedulingSpec")
            .Add(Differs("node_selector", "the datum pod's node selector, " + OnKubernetes))
            .Add(No("priority_class_name", "datum pods get no priority class; set one with pod_patch"));

        var spout = new SpecMessage("Spout")
            .Add(Yes("overwrite", "each commit replaces the output branch's content instead of adding to it"))
            .Add(No("service", "no service is exposed; the spout's command runs as for any spout"));

        var egress = new SpecMessage("Egress")
            .Add(Yes("URL", "s3://bucket/prefix/ (credentials and endpoint as the store's content in S3, or ?endpoint=, region=, profile= and the AWS default chain) or file:///absolute/folder"))
            .Add(Yes("object_storage", "the same as URL (Pachyderm 2.x)") with
            {
                Message = new SpecMessage("ObjectStorageEgress").Add(Yes("url", "as egress.URL")),
            })
            .Add(new SpecField("sql_database", SpecSupport.Refused, "refused (PipelineSpecUnsupportedEgress): egress to an object store or a folder, and load the files from there")
            {
                ErrorId = "PipelineSpecUnsupportedEgress",
            });

        var sidecar = "there is no storage sidecar container: nothing is applied";
        return new SpecMessage("CreatePipelineRequest")
            .Add(Yes("pipeline", "the pipeline") with { Message = pipeline })
            .Add(No("tf_job", "no Kubeflow TFJob is created; the spec still needs a transform"))
            .Add(Yes("transform", "what each datum runs") with { Message = transform })
            .Add(Yes("parallelism_spec", "datums at a time") with { Message = parallelism })
            .Add(No("hashtree_spec", OneX + "no effect on results"))
            .Add(Differs("egress", "after each successful job, the output commit's files that changed since the pipeline's last egress " +
                "are put under the URL (s3://bucket/prefix/, any S3 service with ?endpoint=, or file:///folder) and the files it removed " +
                "deleted there; retried with backoff; a last failure ends the job EgressFailed, its output commit kept") with { Message = egress })
            .Add(Differs("update", "New-PachPipeline creates and Update-PachPipeline replaces; the field chooses nothing"))
            .Add(Yes("output_branch", "the branch of the output repo that jobs commit to (default master)"))
            .Add(Differs("s3_out", "the datum writes its output to bucket out of the job's S3 endpoint ($S3_ENDPOINT); there is no /pfs/out; each datum's writes are its own output, as files under /pfs/out would be"))
            .Add(Differs("resource_requests", "the datum pod's resource requests, " + OnKubernetes) with { Message = resources })
            .Add(Differs("resource_limits", "the datum pod's resource limits on Kubernetes; in a local container cpu is --cpus, memory --memory and gpu a GPU device (docker --gpus, podman's CDI device), disk has no effect; otherwise ignored") with { Message = resources })
            .Add(No("sidecar_resource_limits", sidecar))
            .Add(No("sidecar_resource_requests", sidecar))
            .Add(Yes("input", "what the pipeline reads") with { Message = input })
            .Add(Yes("description", "shown by Get-PachPipeline"))
            .Add(No("cache_size", OneX + "no effect"))
            .Add(No("enable_stats", OneX + "no stats branch is written; Get-PachDatum and Get-PachLog always have each datum's details"))
            .Add(Yes("reprocess", "with Update-PachPipeline, true runs every datum again (as -Reprocess); a new pipeline has nothing to reprocess"))
            .Add(No("max_queue_size", OneX + "no effect"))
            .Add(No("service", "no service is exposed: the command runs once per datum like any pipeline's"))
            .Add(Differs("spout", "a spout: no input; cmd runs continuously (restarted with backoff when it exits) and what it writes to /pfs/out " +
                "is committed to the output branch when the folder goes quiet and when it exits (Pachyderm 2.x's spout calls put file " +
                "instead); on Kubernetes, a long-running Job per run whose pod ships /pfs/out back") with { Message = spout })
            .Add(No("chunk_spec", OneX + "datums go to workers one at a time; results are the same"))
            .Add(Yes("datum_set_spec", "datums go to a worker in sets, run one after another there, each set's results recorded together (a job resumed after a stop runs its unrecorded sets again whole); with datum_batching, a worker process takes a whole set and asks for its datums one at a time") with
            {
                Message = new SpecMessage("DatumSetSpec")
                    .Add(Yes("number", "datums per set (the last may hold fewer)"))
                    .Add(Yes("size_bytes", "a set closes once its datums' inputs reach this many bytes (with number: whichever comes first)"))
                    .Add(Yes("per_worker", "without number and size_bytes: the datums split evenly into this many sets per worker")),
            })
            .Add(Yes("datum_timeout", "a datum running longer is stopped and counts as a failed try"))
            .Add(Yes("job_timeout", "a job running longer is stopped and fails"))
            .Add(Yes("salt", "part of every datum's hash: a new salt runs every datum again"))
            .Add(Differs("standby", OneX + "workers exist only while a job runs, as with standby: true"))
            .Add(Yes("datum_tries", "tries per datum (default 3)"))
            .Add(Yes("scheduling_spec", "where datum pods run") with { Message = scheduling })
            .Add(No("pod_spec", "not merged into the datum pod; write pod_patch instead"))
            .Add(Differs("pod_patch", "a JSON Patch applied to the datum pod's spec, " + OnKubernetes))
            .Add(No("spec_commit", "set by Pachyderm itself; ignored"))
            .Add(Differs("metadata", "labels and annotations on the datum (and spout) Jobs and their pods, " + OnKubernetes))
            .Add(Yes("reprocess_spec", "until_success (default: unchanged datums are skipped) or every_job"))
            .Add(Differs("autoscaling", "workers exist only while a job runs, as with autoscaling: true"))
            .Add(Differs("tolerations", "the datum (and spout) pods' tolerations, " + OnKubernetes))
            // Refused when a pipeline is created or updated (PipelineRegistry), not when read: Get-PachDatum -Spec plans it.
            .Add(new SpecField("dry_run", SpecSupport.Refused, "New-/Update-PachPipeline refuse it (PipelineSpecDryRunUnsupported): use -WhatIf; Get-PachDatum -Spec plans it"))
            .Add(No("determined", "no Determined workspace is set up"))
            .Add(No("maximum_expected_uptime", "a spout's command is never restarted for running long; no effect"))
            // PachPS's own: not in Pachyderm's spec.
            .Add(Differs("image_pull_secrets", "PachPS's earlier place for transform.image_pull_secrets, read as that"))
            .Add(Yes("pachps_script", "PachPS's own: the script of a New-PachPipeline -ScriptBlock pipeline, kept to be read"));
    }

    /// <summary>Every field once, with its path from the spec's root (a message reached twice is listed where first met).</summary>
    public static IEnumerable<(string Path, SpecField Field)> AllFields()
    {
        var seen = new HashSet<SpecMessage>();
        var queue = new Queue<(string Prefix, SpecMessage Message)>([("", Request)]);
        seen.Add(Request);
        while (queue.TryDequeue(out var item))
        {
            foreach (var field in item.Message.Fields)
            {
                var path = item.Prefix + field.Name;
                yield return (path, field);
                if (field.Message is { } child && seen.Add(child)) queue.Enqueue((path + ".", child));
            }
        }
    }

    /// <summary>
    /// A value protobuf treats as unset (null, false, 0, "" or []), or the field's own default: setting a field PachPS
    /// does not implement to such a value loses nothing, so it is not warned about. An empty object is a message that
    /// is set ("spout": {} makes a spout).
    /// </summary>
    public static bool IsUnset(JsonNode? value, SpecField? field) => value switch
    {
        null => true,
        JsonArray a => a.Count == 0,
        JsonObject o => field?.DefaultValue is { } d && o.Count == 1 && o["name"] is JsonValue n && n.ToString() == d,
        JsonValue v when v.TryGetValue<bool>(out var b) => !b,
        JsonValue v when v.TryGetValue<double>(out var number) => number == 0,
        JsonValue v => v.ToString() is "" || v.ToString() == field?.DefaultValue,
        _ => false,
    };
}
