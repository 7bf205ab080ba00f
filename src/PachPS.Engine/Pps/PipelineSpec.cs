using System.Text.Json;
using System.Text.Json.Nodes;
using PachPS.Engine.Pfs;

namespace PachPS.Engine.Pps;

/// <summary>What a datum runs: Pachyderm's transform block.</summary>
public sealed record TransformSpec(
    string? Image, IReadOnlyList<string> Cmd, IReadOnlyList<string> Stdin, IReadOnlyDictionary<string, string> Env,
    string? WorkingDir, IReadOnlyList<int> AcceptReturnCode)
{
    /// <summary>Runs after a datum's last failed try; exit 0 marks the datum recovered.</summary>
    public IReadOnlyList<string> ErrCmd { get; init; } = [];
    public IReadOnlyList<string> ErrStdin { get; init; } = [];
    /// <summary>datum_batching: the command starts once per worker and asks for datums (see LocalBatchWorker).</summary>
    public bool DatumBatching { get; init; }
    /// <summary>transform.secrets: Kubernetes secrets put in the command's environment or mounted as files.</summary>
    public IReadOnlyList<SecretSpec> Secrets { get; init; } = [];
    /// <summary>transform.user: "uid" or "uid:gid" the command runs as (numeric; on Kubernetes).</summary>
    public string? User { get; init; }
    /// <summary>transform.pachps_container_runtime: the container runtime this pipeline's image runs in, over the store's (None: local processes).</summary>
    public ContainerRuntime? ContainerRuntime { get; init; }
    /// <summary>transform.pachps_network: the container network a datum may use (none when unset).</summary>
    public string? Network { get; init; }
}

/// <summary>
/// One of transform.secrets: Kubernetes secret <see cref="Name"/>, whose <see cref="Key"/> goes into environment
/// variable <see cref="EnvVar"/>, and/or which is mounted whole at <see cref="MountPath"/>. Only the names are in the
/// spec: the values stay in the cluster (or, locally, in the session's environment).
/// </summary>
public sealed record SecretSpec(string Name, string? Key, string? EnvVar, string? MountPath)
{
    /// <summary>Where a local datum's value of an env_var secret is read: this session variable, or else the variable itself.</summary>
    public string LocalVariable => "PACHPS_SECRET_" + System.Text.RegularExpressions.Regex.Replace($"{Name}_{Key}", "[^A-Za-z0-9]", "_").ToUpperInvariant();

    /// <summary>Where a local datum's mount_path secret is read: this session variable names a folder (a file per key) or a key=value file.</summary>
    public string LocalSource => "PACHPS_SECRET_" + System.Text.RegularExpressions.Regex.Replace(Name, "[^A-Za-z0-9]", "_").ToUpperInvariant();
}

/// <summary>
/// Pachyderm's pod-shaping fields: resource_requests/resource_limits (as Kubernetes quantities),
/// scheduling_spec.node_selector, image_pull_secrets and pod_patch (a JSON Patch applied to the pod spec).
/// </summary>
public sealed record PodSettings
{
    public static readonly PodSettings None = new();
    public IReadOnlyDictionary<string, string> Requests { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Limits { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> NodeSelector { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> ImagePullSecrets { get; init; } = [];
    public PodPatch? PodPatch { get; init; }
    /// <summary>tolerations, in Kubernetes' words (operator Exists/Equal, effect NoSchedule/PreferNoSchedule/NoExecute).</summary>
    public IReadOnlyList<PodToleration> Tolerations { get; init; } = [];
    /// <summary>metadata.labels: put on the datum Jobs and their pods (PachPS's own labels win a clash).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>metadata.annotations: put on the datum Jobs and their pods.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();
}

/// <summary>One of a pipeline's tolerations: empty strings and a null time mean "not set".</summary>
public sealed record PodToleration(string Key, string Operator, string Value, string Effect, long? Seconds);

/// <summary>A pipeline input: a pfs (or 1.x atom) input, or a cross/union of inputs.</summary>
public abstract record InputSpec
{
    /// <summary>Every pfs input in this tree, depth first.</summary>
    public abstract IEnumerable<PfsInputSpec> Leaves();
}

public sealed record PfsInputSpec(string Name, string Repo, string Branch, string Glob) : InputSpec
{
    /// <summary>Set for a cron input: this pfs input reads the cron repo, where each tick commits one file.</summary>
    public CronInput? Cron { get; init; }

    /// <summary>join_on: a template over the glob's capture groups ("$1", "$2$1") giving each match its join key.</summary>
    public string? JoinOn { get; init; }
    /// <summary>outer_join: keys of this input that other inputs lack still give datums.</summary>
    public bool OuterJoin { get; init; }
    /// <summary>group_by: a template over the glob's capture groups giving each match its group key.</summary>
    public string? GroupBy { get; init; }
    /// <summary>commit: the input reads this commit (any reference in its repo) instead of its branch's head.</summary>
    public string? Commit { get; init; }
    /// <summary>empty_files: the datum's files of this input are there, but empty (for code that needs only their names).</summary>
    public bool EmptyFiles { get; init; }
    /// <summary>lazy: the input's files appear without being copied (locally, hard links to a job's content cache).</summary>
    public bool Lazy { get; init; }
    /// <summary>s3: the datum reads this input through the job's S3 endpoint (bucket = the input's name), not under /pfs.</summary>
    public bool S3 { get; init; }

    public override IEnumerable<PfsInputSpec> Leaves() => [this];
}

/// <summary>A cron input's schedule: each tick commits a file named by its time to the cron repo.</summary>
public sealed record CronInput(string Name, CronSchedule Schedule, DateTime? Start, bool Overwrite);

/// <summary>Datums pairing the nodes of several inputs whose join_on keys are equal.</summary>
public sealed record JoinInputSpec(IReadOnlyList<InputSpec> Inputs) : InputSpec
{
    public override IEnumerable<PfsInputSpec> Leaves() => Inputs.SelectMany(i => i.Leaves());
}

/// <summary>One datum per group_by key, holding every node of every input with that key.</summary>
public sealed record GroupInputSpec(IReadOnlyList<InputSpec> Inputs) : InputSpec
{
    public override IEnumerable<PfsInputSpec> Leaves() => Inputs.SelectMany(i => i.Leaves());
}

public sealed record CrossInputSpec(IReadOnlyList<InputSpec> Inputs) : InputSpec
{
    public override IEnumerable<PfsInputSpec> Leaves() => Inputs.SelectMany(i => i.Leaves());
}

public sealed record UnionInputSpec(IReadOnlyList<InputSpec> Inputs) : InputSpec
{
    public override IEnumerable<PfsInputSpec> Leaves() => Inputs.SelectMany(i => i.Leaves());
}

/// <summary>A spout's input: none. Its command runs continuously and what it writes to /pfs/out is committed.</summary>
public sealed record NoInputSpec : InputSpec
{
    public static readonly NoInputSpec Instance = new();
    public override IEnumerable<PfsInputSpec> Leaves() => [];
}

/// <summary>
/// datum_set_spec: how datums are handed to a worker in sets, whose results are recorded together. A set closes at
/// <see cref="Number"/> datums or once its inputs reach <see cref="SizeBytes"/>, whichever comes first; with neither,
/// <see cref="PerWorker"/> sets per worker (the job's datums split evenly). Zero is "not set", as in Pachyderm.
/// </summary>
public sealed record DatumSetSpec(long Number, long SizeBytes, long PerWorker)
{
    /// <summary>
    /// Splits <paramref name="datums"/> (in order) into sets: a datum joins the current set, which closes once it holds
    /// <see cref="Number"/> datums or <see cref="SizeBytes"/> of input (Pachyderm's shouldCreateSet).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<T>> Split<T>(IReadOnlyList<T> datums, Func<T, long> size, int workers)
    {
        var number = Number;
        if (number == 0 && SizeBytes == 0)
        {
            // per_worker alone: the datums split evenly into that many sets per worker (one set per worker without it).
            var sets = Math.Max(1, workers) * Math.Max(1, PerWorker);
            number = Math.Max(1, (datums.Count + sets - 1) / sets);
        }
        var result = new List<IReadOnlyList<T>>();
        var current = new List<T>();
        long bytes = 0;
        foreach (var datum in datums)
        {
            current.Add(datum);
            bytes += size(datum);
            if ((number > 0 && current.Count >= number) || (SizeBytes > 0 && bytes >= SizeBytes))
            {
                result.Add(current);
                current = [];
                bytes = 0;
            }
        }
        if (current.Count > 0) result.Add(current);
        return result;
    }
}

/// <summary>
/// A spout pipeline's settings: with <see cref="Overwrite"/>, each commit of what the command wrote replaces the output
/// branch's content; otherwise it adds to it.
/// </summary>
public sealed record SpoutSpec(bool Overwrite);

/// <summary>
/// A parsed pipeline spec (Pachyderm 1.x and 2.x, JSON or YAML, either of protobuf's JSON name styles). The spec is
/// kept as given: <see cref="Text"/> exactly, <see cref="Json"/> as JSON with the names as written, unknown fields
/// included.
/// </summary>
public sealed record PipelineSpec(
    string Name, string Description, TransformSpec Transform, int Parallelism, InputSpec Input, string OutputBranch,
    int DatumTries, string Salt, string Json, IReadOnlyList<string> UnknownFields)
{
    /// <summary>A datum running longer is stopped (process tree killed) and counts as a failed try.</summary>
    public TimeSpan? DatumTimeout { get; init; }
    /// <summary>A job running longer is stopped and fails with a reason that says so.</summary>
    public TimeSpan? JobTimeout { get; init; }
    /// <summary>"until_success" (default: unchanged datums are skipped) or "every_job" (never skipped).</summary>
    public string ReprocessSpec { get; init; } = "until_success";
    /// <summary>How a datum's pod is shaped on Kubernetes; the local executor ignores it.</summary>
    public PodSettings Pod { get; init; } = PodSettings.None;
    /// <summary>The spec's text as it was given (YAML stays YAML); the JSON for a spec given as an object.</summary>
    public string Text { get; init; } = "";
    public SpecFormat Format { get; init; } = SpecFormat.Json;
    /// <summary>Which spec of its text this was, and on which line it started.</summary>
    public SpecSource Source { get; init; } = SpecSource.Single;
    /// <summary>
    /// Fields the spec sets that PachPS does not implement (Pachyderm's that it lacks, and names Pachyderm does not
    /// define), as written, with what that means; <see cref="UnknownFields"/> lists the same fields' names.
    /// </summary>
    public IReadOnlyList<SpecFieldNote> NotImplemented { get; init; } = [];
    /// <summary>reprocess: true: an update runs every datum again, as Update-PachPipeline -Reprocess does.</summary>
    public bool Reprocess { get; init; }
    /// <summary>dry_run: true, which a pipeline cannot be created or updated with (Get-PachDatum -Spec plans it).</summary>
    public bool DryRun { get; init; }
    /// <summary>Set for a spout: no input; the command runs continuously (see SpoutRunner). <see cref="Input"/> is then <see cref="NoInputSpec"/>.</summary>
    public SpoutSpec? Spout { get; init; }
    /// <summary>egress: where each successful job's output commit is uploaded (its changes since the last egress); null for none.</summary>
    public EgressSpec? Egress { get; init; }
    /// <summary>datum_set_spec: datums go to workers in sets whose results are recorded together; null: one at a time.</summary>
    public DatumSetSpec? DatumSets { get; init; }
    /// <summary>s3_out: the datum writes its output through the job's S3 endpoint (bucket "out"); there is no /pfs/out.</summary>
    public bool S3Out { get; init; }

    /// <summary>Whether datums get a job S3 endpoint: an input with s3, or s3_out.</summary>
    public bool UsesS3Endpoint => S3Out || Input.Leaves().Any(i => i.S3);

    /// <summary>Parses a text holding exactly one spec and validates its own rules (names, globs, duplicate inputs); repos are checked by the service.</summary>
    public static PipelineSpec Parse(string text)
    {
        var specs = ParseAll(text);
        if (specs.Count != 1)
            throw Invalid("PipelineSpecInvalid", $"The text holds {specs.Count} pipeline specs where one was expected.", specs[0].Name);
        return specs[0];
    }

    /// <summary>
    /// Parses every spec a text holds (JSON: one object, objects back to back or a list; YAML: documents separated by
    /// `---`, or a list), in order. A failure names the spec (its number and line) when there are several.
    /// </summary>
    public static IReadOnlyList<PipelineSpec> ParseAll(string text)
    {
        var documents = SpecDocuments.Split(text);
        var specs = new List<PipelineSpec>(documents.Count);
        foreach (var document in documents)
        {
            var source = new SpecSource(specs.Count + 1, documents.Count, document.Line);
            try { specs.Add(FromDocument(document.Root, document.Text, document.Format, source, lenient: false)); }
            catch (PachException ex) { throw source.Name(ex); }
        }
        return specs;
    }

    /// <summary>A spec as a store keeps it: its JSON and the text it was given as (empty in stores written before texts were kept).</summary>
    internal static PipelineSpec Load(string json, string? text = null)
    {
        var root = SpecDocuments.Split(json)[0];
        var given = string.IsNullOrEmpty(text) ? json : text;
        return FromDocument(root.Root, given, SpecDocuments.Detect(given), SpecSource.Single, lenient: true);
    }

    /// <summary>
    /// A spec as it crossed the network: its JSON and given text, parsed again (<paramref name="strict"/> as a new spec
    /// is, else as a stored one is read back).
    /// </summary>
    internal static PipelineSpec FromWire(string json, string text, SpecSource source, bool strict)
    {
        var root = SpecDocuments.Split(json)[0];
        var given = string.IsNullOrEmpty(text) ? json : text;
        return FromDocument(root.Root, given, SpecDocuments.Detect(given), source, lenient: !strict);
    }

    private static PipelineSpec FromDocument(JsonNode? document, string text, SpecFormat format, SpecSource source, bool lenient)
    {
        if (document is not JsonObject given)
            throw Invalid("PipelineSpecInvalid", $"A pipeline spec must be {(format == SpecFormat.Json ? "a JSON object" : "a YAML mapping")}.", null);
        var name = ((given["pipeline"] as JsonObject)?["name"] as JsonValue)?.ToString();
        if (name is null) throw Invalid("PipelineSpecMissingName", "The spec has no pipeline.name.", null);
        Names.ValidateName(name, "Pipeline");
        var notes = new List<SpecFieldNote>();
        var obj = SpecNames.Normalize(given, name, notes, lenient);

        if (obj["transform"] is not JsonObject t) throw Invalid("PipelineSpecMissingTransform", $"Pipeline '{name}' has no transform.", name);
        var cmd = Strings(t["cmd"], "transform.cmd", name);
        if (cmd.Count == 0) throw Invalid("PipelineSpecMissingCommand", $"Pipeline '{name}' has no transform.cmd.", name);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (t["env"] is JsonObject envObj)
            foreach (var (k, v) in envObj) env[k] = v is JsonValue jv ? jv.ToString() : v?.ToJsonString() ?? "";
        var accept = new List<int>();
        if (t["accept_return_code"] is JsonArray codes)
            foreach (var c in codes) accept.Add(Int(c ?? JsonValue.Create(""), "transform.accept_return_code", name));
        var transform = new TransformSpec(Str(t["image"]), cmd, Strings(t["stdin"], "transform.stdin", name), env, Str(t["working_dir"]), accept)
        {
            ErrCmd = Strings(t["err_cmd"], "transform.err_cmd", name),
            ErrStdin = Strings(t["err_stdin"], "transform.err_stdin", name),
            DatumBatching = Bool(t["datum_batching"]),
            Secrets = Secrets(t["secrets"], name),
            User = Str(t["user"]) is { Length: > 0 } user ? User(user, name) : null,
            ContainerRuntime = Str(t["pachps_container_runtime"]) is { Length: > 0 } runtime ? ContainerRuntimeOf(runtime, name) : null,
            Network = Str(t["pachps_network"]) is { Length: > 0 } network ? NetworkOf(network, name) : null,
        };
        var reprocess = Str(obj["reprocess_spec"]) ?? "until_success";
        if (reprocess is not ("until_success" or "every_job"))
            throw Invalid("PipelineSpecInvalid", $"Pipeline '{name}': reprocess_spec must be \"until_success\" or \"every_job\", not \"{reprocess}\".", name);

        var parallelism = 1;
        if (obj["parallelism_spec"] is JsonObject ps && ps["constant"] is { } constant)
        {
            parallelism = Int(constant, "parallelism_spec.constant", name);
            if (parallelism < 1) throw Invalid("PipelineSpecInvalid", $"Pipeline '{name}': parallelism_spec.constant must be at least 1.", name);
        }
        var tries = obj["datum_tries"] is { } dt ? Int(dt, "datum_tries", name) : 3;
        if (tries < 1) throw Invalid("PipelineSpecInvalid", $"Pipeline '{name}': datum_tries must be at least 1.", name);

        // "spout": {} is a spout (protobuf: a message that is present); "spout": null is none.
        var spout = obj["spout"] is JsonObject spoutObj ? new SpoutSpec(Bool(spoutObj["overwrite"])) : null;
        if (spout is not null && obj["input"] is not null && !lenient)
            throw Invalid("PipelineSpecSpoutHasInput",
                $"Pipeline '{name}' is a spout and has an input: a spout reads nothing from the store (its command brings data in from outside); " +
                "remove input, or remove spout to make a pipeline that runs on its input's commits.", name);
        InputSpec parsedInput;
        if (spout is not null) parsedInput = NoInputSpec.Instance;
        else if (obj["input"] is JsonObject input) parsedInput = ParseInput(input, name, "input");
        else throw Invalid("PipelineSpecMissingInput", $"Pipeline '{name}' has no input.", name);
        if (DuplicateName(parsedInput, []) is { } duplicate)
            throw Invalid("PipelineSpecDuplicateInput",
                $"Pipeline '{name}' has two inputs named '{duplicate}' that a datum would see together; give them distinct names (only the " +
                "inputs of one union may share a name: a datum comes from one of them).", name);

        var s3Out = Bool(obj["s3_out"]);
        if (!lenient) CheckS3(parsedInput, s3Out, spout is not null, transform.DatumBatching, name);
        // A container reaches the datum's S3 endpoint (127.0.0.1 of the process running the job) only on the host's
        // network; a spec that names no network gets that one.
        if ((s3Out || parsedInput.Leaves().Any(l => l.S3)) && transform.Network is null) transform = transform with { Network = "host" };

        var outputBranch = Str(obj["output_branch"]) ?? Names.DefaultBranch;
        Names.ValidateName(outputBranch, "Branch");
        // image_pull_secrets belongs under transform; PachPS read it at the top level before, and still does.
        var pullSecrets = Strings(t["image_pull_secrets"], "transform.image_pull_secrets", name)
            .Concat(Strings(obj["image_pull_secrets"], "image_pull_secrets", name)).Distinct(StringComparer.Ordinal).ToList();
        return new PipelineSpec(name, Str(obj["description"]) ?? "", transform, parallelism, parsedInput, outputBranch, tries,
            Str(obj["salt"]) ?? "", given.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), notes.Select(n => n.Field).ToList())
        {
            DatumTimeout = Duration(obj["datum_timeout"], "datum_timeout", name),
            JobTimeout = Duration(obj["job_timeout"], "job_timeout", name),
            ReprocessSpec = reprocess,
            Pod = new PodSettings
            {
                Requests = Resources(obj["resource_requests"]),
                Limits = Resources(obj["resource_limits"]),
                NodeSelector = (obj["scheduling_spec"] as JsonObject)?["node_selector"] is JsonObject selector
                    ? selector.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal) : PodSettings.None.NodeSelector,
                ImagePullSecrets = pullSecrets,
                PodPatch = Str(obj["pod_patch"]) is { } patch ? PodPatch.Parse(patch, name) : null,
                Tolerations = Tolerations(obj["tolerations"], name),
                Labels = StringMap((obj["metadata"] as JsonObject)?["labels"]),
                Annotations = StringMap((obj["metadata"] as JsonObject)?["annotations"]),
            },
            Text = text,
            Format = format,
            Source = source,
            NotImplemented = notes,
            Reprocess = Bool(obj["reprocess"]),
            DryRun = Bool(obj["dry_run"]),
            Spout = spout,
            Egress = ReadEgress(obj["egress"], name, lenient),
            DatumSets = ParseDatumSets(obj["datum_set_spec"], name, lenient),
            S3Out = s3Out,
        };
    }

    /// <summary>
    /// Pachyderm's rules for S3 inputs and output (PipelineSpecInvalidS3): an s3 input is the whole commit (glob "/"),
    /// read through the endpoint and so neither lazy nor empty_files, and only crossed (a join, group or union of them
    /// has no agreed meaning); a spout has no datums to give an endpoint to, nor (in PachPS) a datum_batching worker.
    /// </summary>
    private static void CheckS3(InputSpec input, bool s3Out, bool spout, bool batching, string pipeline)
    {
        if (s3Out && spout)
            throw Invalid("PipelineSpecInvalidS3", $"Pipeline '{pipeline}' is a spout and sets s3_out: a spout writes to /pfs/out (remove s3_out).", pipeline);
        if (batching && (s3Out || input.Leaves().Any(l => l.S3)))
            throw Invalid("PipelineSpecInvalidS3",
                $"Pipeline '{pipeline}' sets transform.datum_batching with s3 inputs or s3_out: PachPS gives each datum its own S3 buckets, which a batch worker's datums cannot switch between (remove datum_batching).", pipeline);
        foreach (var leaf in input.Leaves().Where(l => l.S3))
        {
            string? why = leaf switch
            {
                { Glob: not "/" } => $"sets s3 but its glob is '{leaf.Glob}': an S3 input is the whole commit as one bucket, so its glob must be '/'",
                { Lazy: true } => "sets both s3 and lazy: an S3 input is read through the job's S3 endpoint, not from files",
                { EmptyFiles: true } => "sets both s3 and empty_files: an S3 input is read through the job's S3 endpoint, not from files",
                { Name: S3Api.DatumGrant.OutBucket } when s3Out => "is named 'out' and s3_out is set: the output bucket is called out (give the input another name)",
                _ => null,
            };
            if (why is not null) throw Invalid("PipelineSpecInvalidS3", $"Pipeline '{pipeline}': input '{leaf.Name}' {why}.", pipeline);
        }
        if (FirstS3InCombination(input) is { } kind)
            throw Invalid("PipelineSpecInvalidS3", $"Pipeline '{pipeline}': S3 inputs in a {kind} are not supported (as in Pachyderm); cross them, or read them as files.", pipeline);
    }

    /// <summary>The kind of the first join, group or union that holds an s3 input, or null.</summary>
    private static string? FirstS3InCombination(InputSpec input) => input switch
    {
        JoinInputSpec j when j.Leaves().Any(l => l.S3) => "join",
        GroupInputSpec g when g.Leaves().Any(l => l.S3) => "group",
        UnionInputSpec u when u.Leaves().Any(l => l.S3) => "union",
        CrossInputSpec c => c.Inputs.Select(FirstS3InCombination).FirstOrDefault(k => k is not null),
        _ => null,
    };

    /// <summary>
    /// The egress object, or null when it sets nothing. A stored spec is read back leniently: one whose egress PachPS
    /// cannot use (stored when egress was not implemented) has none.
    /// </summary>
    private static EgressSpec? ReadEgress(JsonNode? node, string pipeline, bool lenient)
    {
        if (node is null || SpecSchema.IsUnset(node, null)) return null;
        if (node is not JsonObject egress || egress.All(p => SpecSchema.IsUnset(p.Value, null) || p.Value is JsonObject { Count: 0 }))
        {
            if (lenient) return null;
            throw PachException.Invalid("PipelineSpecInvalidEgress",
                $"Pipeline '{pipeline}': egress must be an object with URL, for example {{\"URL\": \"s3://bucket/prefix/\"}}.", pipeline);
        }
        try { return EgressSpec.Parse(egress, pipeline); }
        catch (PachException) when (lenient) { return null; }
    }

    /// <summary>
    /// datum_set_spec's number, size_bytes and per_worker: whole numbers, 0 meaning unset (all three 0 is no spec);
    /// a negative one is refused (PipelineSpecDatumSetInvalid), except in a spec read back from a store, where it counts as 0.
    /// </summary>
    private static DatumSetSpec? ParseDatumSets(JsonNode? node, string pipeline, bool lenient)
    {
        if (node is null) return null;
        if (node is not JsonObject spec) throw Invalid("PipelineSpecDatumSetInvalid", $"Pipeline '{pipeline}': datum_set_spec must be an object with number, size_bytes or per_worker.", pipeline);
        long Field(string field)
        {
            if (spec[field] is not { } value) return 0;
            if (value is not JsonValue v || !(v.TryGetValue<long>(out var n) || long.TryParse(v.ToString(), out n)))
                throw Invalid("PipelineSpecDatumSetInvalid", $"Pipeline '{pipeline}': datum_set_spec.{field} must be a whole number, not {value.ToJsonString()}.", pipeline);
            if (n >= 0) return n;
            if (lenient) return 0;
            throw Invalid("PipelineSpecDatumSetInvalid", $"Pipeline '{pipeline}': datum_set_spec.{field} is {n}; it must be 0 (not set) or more.", pipeline);
        }
        var sets = new DatumSetSpec(Field("number"), Field("size_bytes"), Field("per_worker"));
        return sets is { Number: 0, SizeBytes: 0, PerWorker: 0 } ? null : sets;
    }

    private static IReadOnlyList<SecretSpec> Secrets(JsonNode? node, string pipeline)
    {
        if (node is null) return [];
        if (node is not JsonArray list) throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': transform.secrets must be a list.", pipeline);
        return list.Select(item => item is JsonObject s && Str(s["name"]) is { Length: > 0 } secret
            ? new SecretSpec(secret, Str(s["key"]), Str(s["env_var"]), Str(s["mount_path"]))
            : throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': each of transform.secrets needs a name.", pipeline)).ToList() switch
        {
            var secrets when secrets.FirstOrDefault(s => s.EnvVar is not null && s.Key is null) is { } keyless =>
                throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': secret '{keyless.Name}' sets env_var '{keyless.EnvVar}' but no key to read into it.", pipeline),
            var secrets => secrets,
        };
    }

    /// <summary>transform.user as "uid" or "uid:gid": Kubernetes runs containers as numbers, not names.</summary>
    private static string User(string user, string pipeline) =>
        System.Text.RegularExpressions.Regex.IsMatch(user, @"^\d+(:\d+)?$") ? user
            : throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': transform.user '{user}' must be a numeric uid or uid:gid (as Kubernetes runs containers).", pipeline);

    private static IReadOnlyDictionary<string, string> StringMap(JsonNode? node) =>
        node is JsonObject map ? map.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal) : new Dictionary<string, string>();

    /// <summary>
    /// Pachyderm's tolerations (its enums EXISTS/EQUAL and NO_SCHEDULE/PREFER_NO_SCHEDULE/NO_EXECUTE, or Kubernetes'
    /// own spellings; toleration_seconds as {"value": N} or N) in Kubernetes' words.
    /// </summary>
    private static IReadOnlyList<PodToleration> Tolerations(JsonNode? node, string pipeline)
    {
        if (node is null) return [];
        if (node is not JsonArray list) throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': tolerations must be a list.", pipeline);
        var result = new List<PodToleration>();
        foreach (var item in list)
        {
            if (item is not JsonObject t) throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': each toleration must be an object.", pipeline);
            var op = (Str(t["operator"]) ?? "").Replace("_", "").ToUpperInvariant() switch
            {
                "" or "EMPTY" => "",
                "EXISTS" => "Exists",
                "EQUAL" => "Equal",
                var other => throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': toleration operator '{other}' is not Exists or Equal.", pipeline),
            };
            var effect = (Str(t["effect"]) ?? "").Replace("_", "").ToUpperInvariant() switch
            {
                "" or "ALLEFFECTS" => "",
                "NOSCHEDULE" => "NoSchedule",
                "PREFERNOSCHEDULE" => "PreferNoSchedule",
                "NOEXECUTE" => "NoExecute",
                var other => throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': toleration effect '{other}' is not NoSchedule, PreferNoSchedule or NoExecute.", pipeline),
            };
            var seconds = t["toleration_seconds"] switch
            {
                JsonObject wrapped when wrapped["value"] is { } v => long.Parse(v.ToString(), System.Globalization.CultureInfo.InvariantCulture),
                JsonValue plain => long.Parse(plain.ToString(), System.Globalization.CultureInfo.InvariantCulture),
                _ => (long?)null,
            };
            result.Add(new PodToleration(Str(t["key"]) ?? "", op, Str(t["value"]) ?? "", effect, seconds));
        }
        return result;
    }

    private static ContainerRuntime ContainerRuntimeOf(string value, string pipeline) =>
        ContainerRuntimes.Parse(value) ?? throw Invalid("PipelineSpecInvalid",
            $"Pipeline '{pipeline}': transform.pachps_container_runtime must be \"podman\", \"docker\" or \"none\", not \"{value}\".", pipeline);

    /// <summary>A container network's name as the runtime's --network takes it (none, host, bridge, a named network).</summary>
    private static string NetworkOf(string value, string pipeline) =>
        System.Text.RegularExpressions.Regex.IsMatch(value, "^[A-Za-z0-9][A-Za-z0-9_.-]*$") ? value : throw Invalid("PipelineSpecInvalid",
            $"Pipeline '{pipeline}': transform.pachps_network '{value}' is not a network name (such as host, bridge or a network made with 'podman network create').", pipeline);

    /// <summary>Pachyderm's resource block ({cpu, memory, disk, gpu: {type, number}}) as Kubernetes quantities.</summary>
    private static IReadOnlyDictionary<string, string> Resources(JsonNode? node)
    {
        var resources = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is not JsonObject r) return resources;
        if (r["cpu"] is { } cpu) resources["cpu"] = cpu.ToString();
        if (r["memory"] is { } memory) resources["memory"] = memory.ToString();
        if (r["disk"] is { } disk) resources["ephemeral-storage"] = disk.ToString();
        if (r["gpu"] is JsonObject gpu && Str(gpu["type"]) is { } type) resources[type] = gpu["number"]?.ToString() ?? "1";
        return resources;
    }

    private static TimeSpan? Duration(JsonNode? node, string field, string pipeline) =>
        Str(node) is { } text ? DurationParser.Parse(text, field, pipeline) : null;

    private static InputSpec ParseInput(JsonObject input, string pipeline, string where)
    {
        var kinds = input.Where(p => p.Value is not null).Select(p => p.Key).ToList();
        if (kinds.Count != 1)
            throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where} must have exactly one of pfs, atom, cross, union, join or group (found: {string.Join(", ", kinds)}).", pipeline);
        var kind = kinds[0];
        switch (kind)
        {
            case "pfs":
            case "atom":
                if (input[kind] is not JsonObject pfs) throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.{kind} must be an object.", pipeline);
                var repo = Str(pfs["repo"]) ?? throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.{kind} has no repo.", pipeline);
                Names.ValidateName(repo, "Repo");
                var glob = Str(pfs["glob"]) ?? throw Invalid("PipelineSpecMissingGlob", $"Pipeline '{pipeline}': the input from repo '{repo}' has no glob.", pipeline);
                _ = new Glob(glob);
                var inputName = Str(pfs["name"]) ?? repo;
                Names.ValidateName(inputName, "Input");
                var branch = Str(pfs["branch"]) ?? Names.DefaultBranch;
                Names.ValidateName(branch, "Branch");
                return new PfsInputSpec(inputName, repo, branch, glob)
                {
                    JoinOn = Str(pfs["join_on"]), OuterJoin = Bool(pfs["outer_join"]), GroupBy = Str(pfs["group_by"]),
                    Commit = Str(pfs["commit"]) is { Length: > 0 } pinned ? pinned : null, EmptyFiles = Bool(pfs["empty_files"]), Lazy = Bool(pfs["lazy"]),
                    S3 = Bool(pfs["s3"]),
                };
            case "cron":
                if (input["cron"] is not JsonObject cron) throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.cron must be an object.", pipeline);
                var cronName = Str(cron["name"]) ?? throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.cron has no name.", pipeline);
                Names.ValidateName(cronName, "Input");
                var schedule = CronSchedule.Parse(Str(cron["spec"]) ?? throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': cron input '{cronName}' has no spec.", pipeline), pipeline);
                var cronRepo = Str(cron["repo"]) ?? $"{pipeline}_{cronName}";
                Names.ValidateName(cronRepo, "Repo");
                DateTime? start = Str(cron["start"]) is { } startText
                    ? DateTime.TryParse(startText, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
                        ? parsed : throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': cron input '{cronName}' start '{startText}' is not a time.", pipeline)
                    : null;
                return new PfsInputSpec(cronName, cronRepo, Names.DefaultBranch, "/*") { Cron = new CronInput(cronName, schedule, start, Bool(cron["overwrite"])) };
            case "cross":
            case "union":
            case "join":
            case "group":
                if (input[kind] is not JsonArray items || items.Count == 0)
                    throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.{kind} must be a non-empty array of inputs.", pipeline);
                var children = items.Select((item, i) => item is JsonObject o
                    ? ParseInput(o, pipeline, $"{where}.{kind}[{i}]")
                    : throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': {where}.{kind}[{i}] must be an object.", pipeline)).ToList();
                if (kind is "join" or "group")
                {
                    var field = kind == "join" ? "join_on" : "group_by";
                    foreach (var leaf in children.Select(c => c as PfsInputSpec))
                    {
                        if (leaf is null)
                            throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': the inputs of a {kind} must be pfs inputs.", pipeline);
                        if ((kind == "join" ? leaf.JoinOn : leaf.GroupBy) is null)
                            throw Invalid("PipelineSpecInvalidInput", $"Pipeline '{pipeline}': input '{leaf.Name}' of a {kind} needs {field}.", pipeline);
                    }
                    return kind == "join" ? new JoinInputSpec(children) : new GroupInputSpec(children);
                }
                return kind == "cross" ? new CrossInputSpec(children) : new UnionInputSpec(children);
            default:
                throw Invalid("PipelineSpecUnsupportedInput", $"Pipeline '{pipeline}': input type '{kind}' is not supported here.", pipeline);
        }
    }

    private static string? Str(JsonNode? node) => node is JsonValue v ? v.ToString() : null;

    /// <summary>true, or "true" as 1.x specs sometimes write it.</summary>
    /// <summary>
    /// A name two inputs of one datum would share, by Pachyderm's rule: every input's name differs from those beside it
    /// in a cross, join or group, except that the inputs of a union may share a name with each other (a datum comes from
    /// one of them), though not with what the union is crossed, joined or grouped with. <paramref name="names"/> holds
    /// the names taken so far and gains this input's.
    /// </summary>
    private static string? DuplicateName(InputSpec input, HashSet<string> names)
    {
        switch (input)
        {
            case PfsInputSpec pfs:
                return names.Add(pfs.Name) ? null : pfs.Name;
            case UnionInputSpec union:
                var presented = new HashSet<string>(StringComparer.Ordinal);
                foreach (var side in union.Inputs)
                {
                    var mine = new HashSet<string>(names, StringComparer.Ordinal);
                    if (DuplicateName(side, mine) is { } duplicate) return duplicate;
                    presented.UnionWith(mine);
                }
                names.UnionWith(presented);
                return null;
            default:
                foreach (var child in input switch { CrossInputSpec c => c.Inputs, JoinInputSpec j => j.Inputs, GroupInputSpec g => g.Inputs, _ => [] })
                    if (DuplicateName(child, names) is { } duplicate) return duplicate;
                return null;
        }
    }

    private static bool Bool(JsonNode? node) =>
        node is JsonValue v && (v.TryGetValue<bool>(out var b) ? b : bool.TryParse(v.ToString(), out b) && b);

    private static int Int(JsonNode node, string field, string pipeline)
    {
        // Pachyderm 1.x specs write numbers as strings ("constant": "1"); both forms are accepted.
        if (node is JsonValue v && (v.TryGetValue<int>(out var i) || int.TryParse(v.ToString(), out i))) return i;
        throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': {field} must be a whole number, not {node.ToJsonString()}.", pipeline);
    }

    private static List<string> Strings(JsonNode? node, string field, string pipeline) => node switch
    {
        null => [],
        JsonArray a => a.Select(x => x is JsonValue v ? v.ToString() : throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': {field} must hold strings.", pipeline)).ToList(),
        JsonValue v => [v.ToString()],
        _ => throw Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': {field} must be an array of strings.", pipeline),
    };

    private static PachException Invalid(string id, string message, object? target) => PachException.Invalid(id, message, target);
}
