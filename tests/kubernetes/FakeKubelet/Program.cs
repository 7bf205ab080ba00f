// A stand-in kubelet for one node, for the integration tests: there is no container runtime on the test machines.
// It registers a Node, binds PachPS's pods to it, runs each pod's init containers in turn and then its containers
// together as local processes (images ignored; SIGTERM, then SIGKILL after a grace period, when the pod is deleted)
// with the pod's emptyDir as a real folder bind-mounted at the container's mount path in a private mount namespace,
// reports pod status through the API server, and serves container logs over HTTPS the way the
// API server expects (GET /containerLogs/{namespace}/{pod}/{container}). The real Job controller does the rest.
// Usage: FakeKubelet --kubeconfig <file> --namespace <ns> --work <folder> [--node <name>]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Autorest;
using k8s.Models;

var options = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
var ns = options.GetValueOrDefault("namespace", "default");
var work = Path.GetFullPath(options.GetValueOrDefault("work", "/tmp/pachps-kubelet"));
var nodeName = options.GetValueOrDefault("node", "pachps-test-node");
Directory.CreateDirectory(work);
Directory.CreateDirectory("/pfs"); // the mount point the pods' volume is bound to, in each container's own namespace

var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(options["kubeconfig"]));
var port = FreePort();
var kubelet = new Kubelet(client, ns, nodeName, work);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(SelfSigned())));
var app = builder.Build();
app.MapGet("/containerLogs/{podNamespace}/{pod}/{container}", async (HttpContext http, string podNamespace, string pod, string container, bool? timestamps, bool? follow) =>
{
    // The log so far; with follow=true, then each new line until the container has exited.
    var file = kubelet.LogFile(podNamespace, pod, container);
    if (!File.Exists(file) && !kubelet.Started(file))
    {
        http.Response.StatusCode = 404;
        return;
    }
    http.Response.ContentType = "text/plain";
    var sent = 0;
    while (!http.RequestAborted.IsCancellationRequested)
    {
        var done = follow != true || kubelet.Exited(file);
        var lines = File.Exists(file) ? File.ReadAllLines(file) : [];
        foreach (var line in lines.Skip(sent)) await http.Response.WriteAsync((timestamps == true ? line : line[(line.IndexOf(' ') + 1)..]) + "\n");
        sent = Math.Max(sent, lines.Length);
        await http.Response.Body.FlushAsync();
        if (done) break;
        await Task.Delay(100);
    }
});
await app.StartAsync();
await kubelet.RegisterNodeAsync(port);
Console.WriteLine($"fake kubelet: node {nodeName} ready, logs on https://127.0.0.1:{port}, pods in {work}");
await kubelet.RunAsync(CancellationToken.None);

static int FreePort()
{
    var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}

static X509Certificate2 SelfSigned()
{
    using var rsa = RSA.Create(2048);
    var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    var san = new SubjectAlternativeNameBuilder();
    san.AddIpAddress(IPAddress.Loopback);
    request.CertificateExtensions.Add(san.Build());
    using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
}

internal sealed class Kubelet(IKubernetes client, string ns, string nodeName, string work)
{
    private readonly ConcurrentDictionary<string, (Task Run, CancellationTokenSource Kill)> _running = new();
    private readonly ConcurrentDictionary<string, bool> _containers = new(); // log file -> exited
    private readonly ConcurrentDictionary<string, bool> _terminating = new(); // pods deleted whose containers are stopping

    public bool Started(string logFile) => _containers.ContainsKey(logFile);
    public bool Exited(string logFile) => _containers.TryGetValue(logFile, out var exited) && exited;

    public string LogFile(string podNamespace, string pod, string container) => Path.Combine(work, "logs", podNamespace, pod, container);

    public async Task RegisterNodeAsync(int port)
    {
        try
        {
            await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = nodeName, Labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = nodeName } } });
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Conflict) { }
        var node = await client.CoreV1.ReadNodeAsync(nodeName);
        var capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("8"), ["memory"] = new("16Gi"), ["pods"] = new("110") };
        node.Status = new V1NodeStatus
        {
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "127.0.0.1" }, new V1NodeAddress { Type = "Hostname", Address = nodeName }],
            DaemonEndpoints = new V1NodeDaemonEndpoints { KubeletEndpoint = new V1DaemonEndpoint { Port = port } },
            Conditions = [new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", LastHeartbeatTime = DateTime.UtcNow, LastTransitionTime = DateTime.UtcNow }],
            Capacity = capacity,
            Allocatable = capacity,
        };
        await client.CoreV1.ReplaceNodeStatusAsync(node, nodeName);
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app.kubernetes.io/managed-by=pachps", cancellationToken: stop);
                foreach (var pod in pods.Items) await SyncAsync(pod);
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
            {
                Console.Error.WriteLine($"fake kubelet: {ex.Message}");
            }
            await Task.Delay(150, stop);
        }
    }

    private async Task SyncAsync(V1Pod pod)
    {
        var uid = pod.Metadata.Uid;
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            // Deleted (the Job was stopped or its deadline passed): stop what runs (SIGTERM, then SIGKILL after the
            // grace period), then let the pod go, without holding up the other pods meanwhile.
            if (_running.TryRemove(uid, out var entry))
            {
                _terminating[uid] = true;
                entry.Kill.Cancel();
                _ = Task.Run(async () =>
                {
                    await entry.Run;
                    await Try(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns, gracePeriodSeconds: 0));
                    _terminating.TryRemove(uid, out _);
                });
            }
            else if (!_terminating.ContainsKey(uid)) await Try(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns, gracePeriodSeconds: 0));
            return;
        }
        if (string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            await Try(() => client.CoreV1.CreateNamespacedPodBindingAsync(new V1Binding
            {
                Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = ns },
                Target = new V1ObjectReference { ApiVersion = "v1", Kind = "Node", Name = nodeName },
            }, pod.Metadata.Name, ns));
            await RecordJobsInFlightAsync();
            return;
        }
        if (pod.Spec.NodeName != nodeName || pod.Status?.Phase is "Succeeded" or "Failed" || _running.ContainsKey(uid)) return;
        var kill = new CancellationTokenSource();
        _running[uid] = (Task.Run(() => RunPodAsync(pod, kill.Token)), kill);
    }

    /// <summary>Appends how many of PachPS's Jobs are unfinished when a pod is bound (the tests check it against parallelism).</summary>
    private async Task RecordJobsInFlightAsync()
    {
        var jobs = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: "app.kubernetes.io/managed-by=pachps");
        var active = jobs.Items.Count(j => j.Status?.Conditions?.Any(c => c.Status == "True" && c.Type is "Complete" or "Failed") != true && j.Metadata.DeletionTimestamp is null);
        await File.AppendAllTextAsync(Path.Combine(work, "jobs-in-flight.txt"), $"{active}\n");
    }

    /// <summary>
    /// Runs the init containers one after another, then the containers all at once (as a kubelet does), reporting each
    /// container's state as it changes. The pod succeeds when every container exits with 0.
    /// </summary>
    private async Task RunPodAsync(V1Pod pod, CancellationToken kill)
    {
        var volume = Path.Combine(work, "pods", pod.Metadata.Uid, "volume");
        Directory.CreateDirectory(volume);
        var init = new List<V1ContainerStatus>();
        var main = new List<V1ContainerStatus>();
        var started = DateTime.UtcNow;
        var reporting = new SemaphoreSlim(1, 1);
        var grace = TimeSpan.FromSeconds(Math.Min(pod.Spec.TerminationGracePeriodSeconds ?? 30, MaxGraceSeconds));
        async Task Report(string phase)
        {
            await reporting.WaitAsync();
            try { await ReportAsync(pod, phase, started, init, main); }
            finally { reporting.Release(); }
        }
        async Task<int> Run(V1Container container, List<V1ContainerStatus> statuses, string phase)
        {
            var begun = DateTime.UtcNow;
            var running = Status(container, new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = begun } });
            lock (statuses) statuses.Add(running);
            await Report(phase);
            var code = await RunContainerAsync(pod, container, volume, grace, kill);
            lock (statuses)
            {
                statuses.Remove(running);
                statuses.Add(Status(container, new V1ContainerState
                {
                    Terminated = new V1ContainerStateTerminated { ExitCode = code, StartedAt = begun, FinishedAt = DateTime.UtcNow, Reason = code == 0 ? "Completed" : "Error" },
                }));
            }
            if (!kill.IsCancellationRequested) await Report(phase);
            return code;
        }
        await Report("Pending");
        foreach (var container in pod.Spec.InitContainers ?? [])
        {
            var code = await Run(container, init, "Pending");
            if (kill.IsCancellationRequested) return;
            if (code != 0)
            {
                await Report("Failed");
                Clean(pod);
                return;
            }
        }
        await Report("Running");
        var codes = await Task.WhenAll(pod.Spec.Containers.Select(c => Run(c, main, "Running")));
        if (kill.IsCancellationRequested) return;
        await Report(codes.All(c => c == 0) ? "Succeeded" : "Failed");
        Clean(pod);
    }

    /// <summary>The longest a deleted pod's containers are given between SIGTERM and SIGKILL (a kubelet's default is 30 s).</summary>
    private const int MaxGraceSeconds = 10;

    private static V1ContainerStatus Status(V1Container container, V1ContainerState state) =>
        new() { Name = container.Name, Image = container.Image ?? "", ImageID = "", Ready = false, RestartCount = 0, State = state };

    private void Clean(V1Pod pod)
    {
        try { Directory.Delete(Path.Combine(work, "pods", pod.Metadata.Uid), recursive: true); } catch (IOException) { }
    }

    /// <summary>Runs a container's command with the volume bound at /pfs in a private mount namespace; returns its exit code.</summary>
    private async Task<int> RunContainerAsync(V1Pod pod, V1Container container, string volume, TimeSpan grace, CancellationToken kill)
    {
        var log = LogFile(ns, pod.Metadata.Name, container.Name);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        _containers[log] = false;
        try { return await RunProcessAsync(container, volume, log, grace, kill); }
        finally { _containers[log] = true; }
    }

    /// <summary>
    /// Runs the container as a process group of its own (setsid); when the pod is deleted, the group gets SIGTERM, and
    /// SIGKILL after <paramref name="grace"/>, as a container's processes do.
    /// </summary>
    private static async Task<int> RunProcessAsync(V1Container container, string volume, string log, TimeSpan grace, CancellationToken kill)
    {
        var psi = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "unshare", "-m", "sh", "-c", "mount --bind \"$1\" /pfs || exit 111; cd \"$2\" || exit 112; shift 2; exec \"$@\"", "sh", volume, container.WorkingDir ?? "/" })
            psi.ArgumentList.Add(a);
        foreach (var a in (container.Command ?? []).Concat(container.Args ?? [])) psi.ArgumentList.Add(a);
        foreach (var e in container.Env ?? []) psi.Environment[e.Name] = e.Value ?? "";
        using var process = Process.Start(psi)!;
        var gate = new object();
        async Task Pump(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
                lock (gate) File.AppendAllText(log, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffffffZ} {line}\n");
        }
        var pumps = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
        try { await process.WaitForExitAsync(kill); }
        catch (OperationCanceledException)
        {
            Signal(process.Id, "TERM");
            using var graceOver = new CancellationTokenSource(grace);
            try { await process.WaitForExitAsync(graceOver.Token); }
            catch (OperationCanceledException) { Signal(process.Id, "KILL"); }
            Signal(process.Id, "KILL"); // what the command left running in its group goes too
            await process.WaitForExitAsync();
            return 137;
        }
        await pumps;
        return process.ExitCode;
    }

    /// <summary>Sends a signal to a container's process group (its first process leads it).</summary>
    private static void Signal(int group, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, "--", "-" + group]) { UseShellExecute = false, RedirectStandardError = true })!;
        kill.WaitForExit();
    }

    private async Task ReportAsync(V1Pod pod, string phase, DateTime started, List<V1ContainerStatus> init, List<V1ContainerStatus> main)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                var current = await client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, ns);
                current.Status = new V1PodStatus
                {
                    Phase = phase, HostIP = "127.0.0.1", PodIP = "127.0.0.1", StartTime = started,
                    InitContainerStatuses = [.. init], ContainerStatuses = [.. main],
                    Conditions = [new V1PodCondition { Type = "Ready", Status = phase == "Running" ? "True" : "False", LastTransitionTime = DateTime.UtcNow }],
                };
                await client.CoreV1.ReplaceNamespacedPodStatusAsync(current, pod.Metadata.Name, ns);
                return;
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Conflict) { }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound) { return; }
        }
    }

    private static async Task Try(Func<Task> call)
    {
        try { await call(); }
        catch (HttpOperationException ex) when (ex.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict) { }
    }
}
