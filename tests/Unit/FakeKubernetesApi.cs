using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PachPS.Tests.Unit;

/// <summary>
/// An in-process Kubernetes API server for batch/v1 Jobs (and an empty pod list), for the edge cases a real server
/// rarely shows on demand: the test drops watch streams, sends 410 Gone or malformed lines, and answers creates and
/// deletes with 409 or 404. Watch streams are line-delimited JSON events, as the real server writes them.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _jobs = new(StringComparer.Ordinal);
    private readonly List<Channel<string>> _watches = [];
    private readonly List<(long Version, string Line)> _history = [];
    private long _version = 100;

    // Per Job: its one pod, whose container of that name ended with an exit code and wrote a log.
    private readonly ConcurrentDictionary<string, (JsonObject Pod, string Container, string Log)> _pods = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Requests { get; } = new();
    /// <summary>Names whose DELETE answers 404 whatever the state.</summary>
    public ConcurrentDictionary<string, bool> DeleteNotFound { get; } = new();
    public string Url { get; }

    public FakeKubernetesApi()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapGet("/apis/batch/v1/namespaces/{ns}/jobs", ListOrWatch);
        _app.MapPost("/apis/batch/v1/namespaces/{ns}/jobs", Create);
        _app.MapDelete("/apis/batch/v1/namespaces/{ns}/jobs/{name}", Delete);
        _app.MapGet("/api/v1/namespaces/{ns}/pods", (string? labelSelector) => Results.Text(new JsonObject
        {
            ["kind"] = "PodList", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(),
            ["items"] = new JsonArray(_pods.Where(p => labelSelector == $"job-name={p.Key}").Select(p => (JsonNode)p.Value.Pod.DeepClone()).ToArray()),
        }.ToJsonString(), "application/json"));
        _app.MapGet("/api/v1/namespaces/{ns}/pods/{pod}/log", (string pod, string? container) =>
            _pods.Values.FirstOrDefault(p => p.Pod["metadata"]!["name"]!.GetValue<string>() == pod && container == p.Container) is { } found
                ? Results.Text(found.Log, "text/plain") : Results.NotFound());
        _app.StartAsync().GetAwaiter().GetResult();
        Url = _app.Urls.First();
    }

    public int WatchCount => Requests.Count(r => r.StartsWith("GET", StringComparison.Ordinal) && r.Contains("watch=true"));
    public int ListCount => Requests.Count(r => r.StartsWith("GET /apis", StringComparison.Ordinal) && !r.Contains("watch=true"));

    /// <summary>Adds a Job as if someone had created it before (a resubmission finds it).</summary>
    public void Seed(string name, bool complete)
    {
        var job = new JsonObject
        {
            ["apiVersion"] = "batch/v1", ["kind"] = "Job",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["resourceVersion"] = Next() },
            ["status"] = complete ? Complete() : new JsonObject(),
        };
        _jobs[name] = job;
    }

    /// <summary>Marks a Job Complete; with <paramref name="announce"/>, watchers get the MODIFIED event.</summary>
    public void MarkComplete(string name, bool announce = true)
    {
        var job = _jobs[name];
        job["status"] = Complete();
        job["metadata"]!["resourceVersion"] = Next();
        if (announce) Announce("MODIFIED", job);
    }

    /// <summary>Marks a Job Failed (BackoffLimitExceeded), as the Job controller does when its pods' tries ran out.</summary>
    public void MarkFailed(string name)
    {
        var job = _jobs[name];
        job["status"] = new JsonObject
        {
            ["failed"] = 1,
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Failed", ["status"] = "True", ["reason"] = "BackoffLimitExceeded", ["message"] = "Job has reached the specified backoff limit" }),
        };
        job["metadata"]!["resourceVersion"] = Next();
        Announce("MODIFIED", job);
    }

    /// <summary>Gives a Job a pod whose init container <paramref name="container"/> ended with <paramref name="exit"/> after writing <paramref name="log"/>.</summary>
    public void AddPod(string job, string container, int exit, string log) =>
        _pods[job] = (new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = job + "-x1", ["namespace"] = "default", ["creationTimestamp"] = "2026-01-01T00:00:00Z",
                ["labels"] = new JsonObject { ["job-name"] = job },
            },
            ["status"] = new JsonObject
            {
                ["initContainerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = container, ["image"] = "i", ["imageID"] = "", ["ready"] = false, ["restartCount"] = 0,
                    ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = exit, ["reason"] = "Error" } },
                }),
            },
        }, container, log);

    public bool Exists(string name) => _jobs.ContainsKey(name);

    /// <summary>The Job as it was created (its JSON), for checks of what the executor sent.</summary>
    public string? Created(string name) => _jobs.TryGetValue(name, out var job) ? job.ToJsonString() : null;

    public string VersionOf(string name) => _jobs[name]["metadata"]!["resourceVersion"]!.GetValue<string>();

    /// <summary>Sends a Job event to the open watch streams and keeps it, so a watch from an older version replays it.</summary>
    public void Announce(string type, JsonObject job)
    {
        var line = Event(type, job);
        lock (_watches)
        {
            _history.Add((long.Parse(job["metadata"]!["resourceVersion"]!.GetValue<string>()), line));
            foreach (var w in _watches) w.Writer.TryWrite(line);
        }
    }

    /// <summary>Writes a raw line to every open watch stream (not kept for replay).</summary>
    public void Send(string line)
    {
        lock (_watches) foreach (var w in _watches) w.Writer.TryWrite(line);
    }

    /// <summary>Ends every open watch stream, as a proxy or a restarting server would.</summary>
    public void DropWatches()
    {
        lock (_watches)
        {
            foreach (var w in _watches) w.Writer.TryComplete();
            _watches.Clear();
        }
    }

    public static string Gone() =>
        """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}}""";

    public async Task WaitForWatchesAsync(int count)
    {
        for (var i = 0; i < 200 && WatchCount < count; i++) await Task.Delay(25);
        lock (_watches) { }
        await Task.Delay(50); // the stream is registered before its first byte
    }

    private async Task ListOrWatch(HttpContext http, string ns)
    {
        Requests.Enqueue($"GET {http.Request.Path}{http.Request.QueryString}");
        if (http.Request.Query["watch"] != "true")
        {
            var list = new JsonObject
            {
                ["kind"] = "JobList", ["apiVersion"] = "batch/v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = Interlocked.Read(ref _version).ToString() },
                ["items"] = new JsonArray(_jobs.Values.Select(j => (JsonNode)j.DeepClone()).ToArray()),
            };
            await Json(http, 200, list.ToJsonString());
            return;
        }
        var channel = Channel.CreateUnbounded<string>();
        var since = long.TryParse(http.Request.Query["resourceVersion"], out var v) ? v : long.MaxValue;
        lock (_watches)
        {
            // Like the real server: events after the requested version first, then new ones.
            foreach (var (version, line) in _history) if (version > since) channel.Writer.TryWrite(line);
            _watches.Add(channel);
        }
        http.Response.ContentType = "application/json";
        await http.Response.StartAsync();
        await http.Response.Body.FlushAsync();
        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(http.RequestAborted))
            {
                await http.Response.WriteAsync(line + "\n");
                await http.Response.Body.FlushAsync();
            }
        }
        catch (OperationCanceledException) { }
        finally { lock (_watches) _watches.Remove(channel); }
    }

    private async Task Create(HttpContext http, string ns)
    {
        var job = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())!.AsObject();
        var name = job["metadata"]!["name"]!.GetValue<string>();
        Requests.Enqueue($"POST {name}");
        if (_jobs.ContainsKey(name))
        {
            await Json(http, 409, Status(409, "AlreadyExists", $"jobs.batch \"{name}\" already exists"));
            return;
        }
        job["metadata"]!["resourceVersion"] = Next();
        job["status"] = new JsonObject();
        _jobs[name] = job;
        Announce("ADDED", job);
        await Json(http, 201, job.ToJsonString());
    }

    private async Task Delete(HttpContext http, string ns, string name)
    {
        Requests.Enqueue($"DELETE {name}");
        if (DeleteNotFound.ContainsKey(name) || !_jobs.TryRemove(name, out var job))
        {
            await Json(http, 404, Status(404, "NotFound", $"jobs.batch \"{name}\" not found"));
            return;
        }
        job["metadata"]!["resourceVersion"] = Next();
        Announce("DELETED", job);
        await Json(http, 200, Status(200, "", "deleted"));
    }

    private string Next() => Interlocked.Increment(ref _version).ToString();

    private static JsonObject Complete() => new()
    {
        ["succeeded"] = 1,
        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Complete", ["status"] = "True" }),
    };

    private static string Event(string type, JsonObject job) => new JsonObject { ["type"] = type, ["object"] = job.DeepClone() }.ToJsonString();

    private static string Status(int code, string reason, string message) =>
        new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = code < 300 ? "Success" : "Failure", ["reason"] = reason, ["message"] = message, ["code"] = code }.ToJsonString();

    private static async Task Json(HttpContext http, int status, string body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
