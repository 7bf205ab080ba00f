using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace PachPS.Tests.Unit;

/// <summary>
/// examples/server: the Kubernetes manifests of pachps-server (every document parses strictly, one replica with the
/// Recreate strategy, probes on /healthz, a Role that grants exactly what the Kubernetes executor calls), its systemd
/// unit and Containerfile, and (with PACHPS_TEST_KUBECONFIG, as build.ps1 Test sets) the manifests created on a real
/// API server, which validates them, keeps every field and authorizes the executor's calls through the RoleBinding.
/// </summary>
public sealed class ServerManifestTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
    private static readonly string Examples = Path.Combine(Root, "examples", "server");
    private static readonly string ExecutorSource = Path.Combine(Root, "src", "PachPS.Engine", "Execution", "Kubernetes");

    /// <summary>
    /// What the Kubernetes executor asks of the API server, read once from src/PachPS.Engine/Execution/Kubernetes:
    /// (API group, resource, verb), with the client methods that need it. The Role must grant these and nothing else.
    /// </summary>
    private static readonly (string Group, string Resource, string Verb, string[] Methods)[] ExecutorNeeds =
    [
        // KubernetesExecutor.SubmitAsync (a datum, a batch), SpoutRun.RunAsync (a spout's run)
        ("batch", "jobs", "create", ["CreateNamespacedJob"]),
        // JobWatcher (its list before each watch), SpoutRun.RemoveEarlierRunsAsync (Jobs an earlier run left)
        ("batch", "jobs", "list", ["ListNamespacedJob"]),
        // JobWatcher: the watch from the list's resourceVersion
        ("batch", "jobs", "watch", ["WatchListNamespacedJob"]),
        // ApiCalls.DeleteJobAsync (finished, stopped or left-over Jobs; their pods go by propagation)
        ("batch", "jobs", "delete", ["DeleteNamespacedJob"]),
        // ApiCalls.TransformStatusAsync, PodLogFollower, SpoutRun.StopAsync: a Job's pods by job-name=
        ("", "pods", "list", ["ListNamespacedPod"]),
        // PodLogFollower: the transform container's log, followed and read in full
        ("", "pods/log", "get", ["ReadNamespacedPodLog"]),
    ];

    /// <summary>Calls the server must not be able to make (least privilege): no secret, no config map, no pod changes.</summary>
    private static readonly (string Group, string Resource, string Verb)[] ExecutorMustNot =
    [
        ("", "secrets", "get"), ("", "secrets", "list"), ("", "configmaps", "get"), ("", "pods", "create"), ("", "pods", "delete"),
        ("batch", "jobs", "update"), ("batch", "jobs", "patch"), ("apps", "deployments", "get"), ("rbac.authorization.k8s.io", "roles", "create"),
    ];

    private static async Task<List<object>> LoadAllAsync()
    {
        var files = Directory.EnumerateFiles(Examples, "*.yaml").Concat(Directory.EnumerateFiles(Examples, "*.yml")).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var all = new List<object>();
        foreach (var file in files)
        {
            // strict: a misspelt or misplaced field is an error here, not silently dropped. (LoadAllFromFileAsync takes
            // strict too, but KubernetesClient 21 does not pass it on; LoadAllFromString does.)
            List<object> documents;
            try { documents = KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(file), strict: true); }
            catch (YamlDotNet.Core.YamlException ex) { throw new Xunit.Sdk.XunitException($"{file} (line {ex.Start.Line}): {ex.Message}"); }
            Assert.NotEmpty(documents);
            all.AddRange(documents);
        }
        return all;
    }

    private static T Single<T>(List<object> objects) => Assert.Single(objects.OfType<T>());

    private static V1Container Server(V1Deployment deployment) => Assert.Single(deployment.Spec.Template.Spec.Containers);

    [Fact]
    public async Task EveryDocumentParsesAndBelongsToThePachpsNamespace()
    {
        var objects = await LoadAllAsync();
        Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(o));
        var kinds = objects.Cast<IKubernetesObject<V1ObjectMeta>>().Select(o => o.Kind).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["Deployment", "Namespace", "PersistentVolumeClaim", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"], kinds);
        Assert.Equal("pachps", Single<V1Namespace>(objects).Metadata.Name);
        Assert.All(objects.Cast<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace),
            o => Assert.Equal("pachps", o.Metadata.NamespaceProperty));
        // Every object can be created by the real-API-server test below.
        Assert.All(objects, o => Assert.True(Creatable(o), $"{o.GetType().Name} has no create call in {nameof(CreateAsync)}"));
    }

    [Fact]
    public async Task TheDeploymentRunsOneReplicaAndIsRecreated()
    {
        var objects = await LoadAllAsync();
        var deployment = Single<V1Deployment>(objects);
        Assert.Equal(1, deployment.Spec.Replicas);
        Assert.Equal("Recreate", deployment.Spec.Strategy?.Type);
        Assert.Null(deployment.Spec.Strategy?.RollingUpdate);
        var pod = deployment.Spec.Template.Spec;
        Assert.Equal(Single<V1ServiceAccount>(objects).Metadata.Name, pod.ServiceAccountName);
        var container = Server(deployment);
        Assert.StartsWith("pachps-server:", container.Image);
        Assert.Null(container.Command); // the image's entrypoint: dotnet /app/pachps-server.dll

        // The store folder is the PersistentVolumeClaim, mounted where --store says.
        var args = container.Args.ToList();
        var store = args[args.IndexOf("--store") + 1];
        var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == store);
        var volume = Assert.Single(pod.Volumes, v => v.Name == mount.Name);
        Assert.Equal(Single<V1PersistentVolumeClaim>(objects).Metadata.Name, volume.PersistentVolumeClaim?.ClaimName);
        Assert.Equal(["ReadWriteOnce"], Single<V1PersistentVolumeClaim>(objects).Spec.AccessModes);
    }

    [Fact]
    public async Task TheArgumentsAreTheServersOwn()
    {
        var objects = await LoadAllAsync();
        var args = Server(Single<V1Deployment>(objects)).Args.ToList();
        AssertServerArguments(args);
        Assert.Contains("--kubernetes", args);
        Assert.Equal("https://0.0.0.0:7443", args[args.IndexOf("--listen") + 1]);
        Assert.False(string.IsNullOrWhiteSpace(args[args.IndexOf("--s3-bucket") + 1]));
        Assert.Equal("pachps", args[args.IndexOf("--namespace") + 1]);
        Assert.DoesNotContain("--kubeconfig", args); // in a pod: its service account
    }

    /// <summary>
    /// Each --option is one pachps-server knows, and each that takes a value has one: the options are read from
    /// src/PachPS.Server/ServerOptions.cs (its switches and valued arrays), so the manifests and the unit cannot drift.
    /// </summary>
    private static void AssertServerArguments(IReadOnlyList<string> args)
    {
        var source = File.ReadAllText(Path.Combine(Root, "src", "PachPS.Server", "ServerOptions.cs"));
        string[] Named(string array) =>
            Regex.Matches(Regex.Match(source, @"string\[\] " + array + @" = \[(?<list>[^\]]*)\]").Groups["list"].Value, "\"(--[a-z0-9-]+)\"")
                .Select(m => m.Groups[1].Value).ToArray();
        var switches = Named("switches");
        var valued = Named("valued");
        Assert.Contains("--kubernetes", switches);
        Assert.Contains("--listen", valued);
        for (var i = 0; i < args.Count; i++)
        {
            if (switches.Contains(args[i])) continue;
            Assert.True(valued.Contains(args[i]), $"'{args[i]}' is not an option of pachps-server ({string.Join(' ', switches.Concat(valued))})");
            Assert.True(i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal), $"{args[i]} needs a value");
            i++;
        }
    }

    [Fact]
    public async Task EveryProbeIsOnHealthz()
    {
        var objects = await LoadAllAsync();
        var container = Server(Single<V1Deployment>(objects));
        var port = Assert.Single(container.Ports);
        Assert.Equal(7443, port.ContainerPort);
        Assert.NotNull(container.LivenessProbe);
        Assert.NotNull(container.ReadinessProbe);
        // /healthz is the only endpoint that answers without a bearer token.
        foreach (var probe in new[] { container.StartupProbe, container.LivenessProbe, container.ReadinessProbe }.OfType<V1Probe>())
        {
            Assert.Equal("/healthz", probe.HttpGet?.Path);
            Assert.Equal("HTTPS", probe.HttpGet?.Scheme);
            Assert.True(probe.HttpGet!.Port.Value == port.Name || probe.HttpGet.Port.Value == "7443", $"probe port {probe.HttpGet.Port.Value}");
        }
        var service = Single<V1Service>(objects);
        var servicePort = Assert.Single(service.Spec.Ports);
        Assert.Equal(7443, servicePort.Port);
        Assert.True(servicePort.TargetPort.Value == port.Name || servicePort.TargetPort.Value == "7443");
        Assert.Equal(Single<V1Deployment>(objects).Spec.Selector.MatchLabels, service.Spec.Selector);
    }

    [Fact]
    public async Task TheRoleGrantsExactlyWhatTheExecutorCalls()
    {
        var objects = await LoadAllAsync();
        var role = Single<V1Role>(objects);
        var granted = role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => (g, res, v)))))
            .ToHashSet();
        Assert.DoesNotContain(granted, g => g.g == "*" || g.res == "*" || g.v == "*");
        Assert.All(role.Rules, r => Assert.True(r.ResourceNames is null or { Count: 0 }, "the Job names are not known in advance"));
        var needed = ExecutorNeeds.Select(n => (n.Group, n.Resource, n.Verb)).ToHashSet();
        Assert.Empty(needed.Except(granted));
        Assert.Empty(granted.Except(needed));

        var binding = Single<V1RoleBinding>(objects);
        Assert.Equal(("Role", role.Metadata.Name), (binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", Single<V1ServiceAccount>(objects).Metadata.Name, "pachps"), (subject.Kind, subject.Name, subject.NamespaceProperty));
    }

    /// <summary>
    /// The executor's list above is complete: every call its code makes through the client's API groups is one of the
    /// listed methods. A new call (reading a Secret, patching a Job) fails here until the Role and the list have it.
    /// </summary>
    [Fact]
    public void TheExecutorCallsNothingTheListLeavesOut()
    {
        var call = new Regex(@"\.(?<api>[A-Z]\w*V\d\w*)\.(?<method>\w+?)(?:WithHttpMessages)?Async\(");
        var known = ExecutorNeeds.SelectMany(n => n.Methods).ToHashSet(StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(ExecutorSource, "*.cs"))
            foreach (Match m in call.Matches(File.ReadAllText(file)))
                found.Add(m.Groups["method"].Value);
        Assert.NotEmpty(found);
        Assert.Empty(found.Except(known));
        Assert.Empty(known.Except(found)); // and the list names no call the code no longer makes
    }

    [Fact]
    public async Task TheSecretIsATemplateWithTheKeysTheDeploymentReads()
    {
        var objects = await LoadAllAsync();
        var secret = Single<V1Secret>(objects);
        Assert.Null(secret.Data);
        Assert.Equal(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], secret.StringData.Keys.Order(StringComparer.Ordinal));
        Assert.All(secret.StringData.Values, v => Assert.StartsWith("REPLACE-", v));
        var fromSecret = Server(Single<V1Deployment>(objects)).Env.Where(e => e.ValueFrom?.SecretKeyRef is not null).ToList();
        Assert.Equal(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], fromSecret.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.All(fromSecret, e => Assert.Equal((secret.Metadata.Name, e.Name), (e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)));
        Assert.DoesNotContain(Server(Single<V1Deployment>(objects)).Env, e => e.Value is not null && e.Name.StartsWith("AWS_", StringComparison.Ordinal));
    }

    [Fact]
    public void TheContainerfileBuildsTheServerFromTheRepository()
    {
        var text = File.ReadAllText(Path.Combine(Examples, "Containerfile"));
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build$", text);
        Assert.Contains("dotnet publish src/PachPS.Server -c Release -o /app", text);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0$", text);
        Assert.Matches(@"(?m)^ENTRYPOINT \[""dotnet"", ""/app/pachps-server\.dll""\]$", text);
        Assert.Matches(@"(?m)^USER ", text);
    }

    [Fact]
    public void TheSystemdUnitIsHardenedAndKeepsWhatLocalDatumsNeed()
    {
        var lines = File.ReadAllLines(Path.Combine(Examples, "pachps-server.service"))
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('[')).Select(l => l.Split('=', 2))
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        Assert.Equal("pachps", lines["User"]);
        Assert.Equal("pachps-server", lines["StateDirectory"]);
        Assert.StartsWith("-", lines["EnvironmentFile"]);
        Assert.Equal("on-failure", lines["Restart"]);
        Assert.Equal("SIGTERM", lines.GetValueOrDefault("KillSignal", "SIGTERM"));
        Assert.Equal("yes", lines["NoNewPrivileges"]);
        Assert.Equal("strict", lines["ProtectSystem"]);
        // Local datums' /pfs: rootless user and mount namespaces, and mount(2) inside them (PfsNamespaces).
        Assert.Equal(["mnt", "user"], lines["RestrictNamespaces"].Split(' ').Order(StringComparer.Ordinal));
        Assert.Contains("@mount", lines["SystemCallFilter"].Split(' '));
        // The JIT writes code and runs it.
        Assert.False(lines.ContainsKey("MemoryDenyWriteExecute"));

        var exec = lines["ExecStart"].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("/pachps-server", exec[0]);
        var args = exec.Skip(1).Select(a => a.Replace("%S", "/var/lib")).ToList();
        AssertServerArguments(args);
        Assert.Equal("/var/lib/pachps-server", args[args.IndexOf("--store") + 1]);
    }

    // ---- The real API server (build.ps1 Test starts one; PACHPS_TEST_KUBECONFIG names its kubeconfig) ----

    [SkippableFact]
    public async Task TheManifestsAreAcceptedByARealApiServer()
    {
        var kubeconfig = Environment.GetEnvironmentVariable("PACHPS_TEST_KUBECONFIG");
        Skip.If(string.IsNullOrEmpty(kubeconfig), "no test Kubernetes API server (PACHPS_TEST_KUBECONFIG; build.ps1 Test starts one)");
        var objects = await LoadAllAsync();
        var ns = Single<V1Namespace>(objects).Metadata.Name;
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        // A namespace an earlier, interrupted run left goes first.
        await DeleteNamespaceAsync(client, ns, mustBeGone: true);
        try
        {
            // The namespace first, then the rest in the file's order (as kubectl apply does).
            foreach (var sent in objects.OrderBy(o => o is V1Namespace ? 0 : 1).Cast<IKubernetesObject<V1ObjectMeta>>())
            {
                var kept = await CreateAsync(client, sent);
                Assert.Equal(sent.Metadata.Name, kept.Metadata.Name);
                Assert.False(string.IsNullOrEmpty(kept.Metadata.Uid));
                AssertKept(sent, kept);
                var read = await ReadAsync(client, sent);
                Assert.Equal(kept.Metadata.Uid, read.Metadata.Uid);
            }

            // The RoleBinding lets the server's service account make each call the executor makes, and no other.
            var account = Single<V1ServiceAccount>(objects).Metadata.Name;
            foreach (var (group, resource, verb, _) in ExecutorNeeds)
                Assert.True(await AllowedAsync(client, ns, account, ns, group, resource, verb), $"{account} may not {verb} {resource} ({group})");
            foreach (var (group, resource, verb) in ExecutorMustNot)
                Assert.False(await AllowedAsync(client, ns, account, ns, group, resource, verb), $"{account} may {verb} {resource} ({group})");
            // Only in its own namespace.
            Assert.False(await AllowedAsync(client, ns, account, "default", "batch", "jobs", "create"));
        }
        finally { await DeleteNamespaceAsync(client, ns, mustBeGone: false); }
    }

    private static bool Creatable(object o) => o is V1Namespace or V1ServiceAccount or V1Role or V1RoleBinding or V1Secret
        or V1PersistentVolumeClaim or V1Deployment or V1Service;

    private static async Task<IKubernetesObject<V1ObjectMeta>> CreateAsync(IKubernetes k, IKubernetesObject<V1ObjectMeta> o) => o switch
    {
        V1Namespace x => await k.CoreV1.CreateNamespaceAsync(x),
        V1ServiceAccount x => await k.CoreV1.CreateNamespacedServiceAccountAsync(x, x.Namespace()),
        V1Role x => await k.RbacAuthorizationV1.CreateNamespacedRoleAsync(x, x.Namespace()),
        V1RoleBinding x => await k.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(x, x.Namespace()),
        V1Secret x => await k.CoreV1.CreateNamespacedSecretAsync(x, x.Namespace()),
        V1PersistentVolumeClaim x => await k.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(x, x.Namespace()),
        V1Deployment x => await k.AppsV1.CreateNamespacedDeploymentAsync(x, x.Namespace()),
        V1Service x => await k.CoreV1.CreateNamespacedServiceAsync(x, x.Namespace()),
        _ => throw new InvalidOperationException($"no create call for {o.Kind}"),
    };

    private static async Task<IKubernetesObject<V1ObjectMeta>> ReadAsync(IKubernetes k, IKubernetesObject<V1ObjectMeta> o) => o switch
    {
        V1Namespace x => await k.CoreV1.ReadNamespaceAsync(x.Name()),
        V1ServiceAccount x => await k.CoreV1.ReadNamespacedServiceAccountAsync(x.Name(), x.Namespace()),
        V1Role x => await k.RbacAuthorizationV1.ReadNamespacedRoleAsync(x.Name(), x.Namespace()),
        V1RoleBinding x => await k.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync(x.Name(), x.Namespace()),
        V1Secret x => await k.CoreV1.ReadNamespacedSecretAsync(x.Name(), x.Namespace()),
        V1PersistentVolumeClaim x => await k.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(x.Name(), x.Namespace()),
        V1Deployment x => await k.AppsV1.ReadNamespacedDeploymentAsync(x.Name(), x.Namespace()),
        V1Service x => await k.CoreV1.ReadNamespacedServiceAsync(x.Name(), x.Namespace()),
        _ => throw new InvalidOperationException($"no read call for {o.Kind}"),
    };

    /// <summary>
    /// The API server kept every field that was sent (it drops the fields its version does not know without a word):
    /// what was sent is a part of what it returned. A Secret's stringData comes back as data.
    /// </summary>
    private static void AssertKept(IKubernetesObject<V1ObjectMeta> sent, IKubernetesObject<V1ObjectMeta> kept)
    {
        var sentJson = JsonNode.Parse(KubernetesJson.Serialize(sent))!.AsObject();
        var keptJson = JsonNode.Parse(KubernetesJson.Serialize(kept))!.AsObject();
        if (sent is V1Secret secret)
        {
            sentJson.Remove("stringData");
            var data = ((V1Secret)kept).Data;
            Assert.Equal(secret.StringData, data.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value)));
        }
        var missing = new List<string>();
        Compare(sentJson, keptJson, sent.Kind, missing);
        Assert.True(missing.Count == 0, $"{sent.Kind} {sent.Metadata.Name}: the API server did not keep {string.Join("; ", missing)}");
    }

    private static void Compare(JsonNode? sent, JsonNode? kept, string path, List<string> missing)
    {
        switch (sent)
        {
            case null:
                return;
            case JsonObject o:
                if (kept is not JsonObject k) { missing.Add(path); return; }
                foreach (var (name, value) in o) Compare(value, k[name], path + "." + name, missing);
                return;
            case JsonArray a:
                if (kept is not JsonArray ka || ka.Count != a.Count) { missing.Add(path); return; }
                for (var i = 0; i < a.Count; i++) Compare(a[i], ka[i], $"{path}[{i}]", missing);
                return;
            default:
                if (!JsonNode.DeepEquals(sent, kept)) missing.Add($"{path} (sent {sent.ToJsonString()}, kept {kept?.ToJsonString() ?? "nothing"})");
                return;
        }
    }

    /// <summary>Whether service account <paramref name="account"/> of namespace <paramref name="home"/> may make that call in <paramref name="ns"/>.</summary>
    private static async Task<bool> AllowedAsync(IKubernetes k, string home, string account, string ns, string group, string resource, string verb)
    {
        var parts = resource.Split('/', 2);
        var review = await k.AuthorizationV1.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
        {
            ApiVersion = "authorization.k8s.io/v1",
            Kind = "SubjectAccessReview",
            Spec = new V1SubjectAccessReviewSpec
            {
                User = $"system:serviceaccount:{home}:{account}",
                Groups = ["system:serviceaccounts", $"system:serviceaccounts:{home}", "system:authenticated"],
                ResourceAttributes = new V1ResourceAttributes
                {
                    NamespaceProperty = ns, Group = group, Resource = parts[0], Subresource = parts.Length > 1 ? parts[1] : null, Verb = verb,
                },
            },
        });
        return review.Status.Allowed;
    }

    /// <summary>Deletes the namespace (and so everything in it) and waits up to a minute for it to go.</summary>
    private static async Task DeleteNamespaceAsync(IKubernetes k, string ns, bool mustBeGone)
    {
        try { await k.CoreV1.DeleteNamespaceAsync(ns); }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return; }
        var until = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < until)
        {
            try { await k.CoreV1.ReadNamespaceAsync(ns); }
            catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return; }
            await Task.Delay(500);
        }
        Assert.False(mustBeGone, $"namespace {ns} is still terminating after a minute");
    }
}
