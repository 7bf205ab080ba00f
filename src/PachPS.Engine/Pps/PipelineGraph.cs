using PachPS.Engine.Metadata;
using LiteDB;

namespace PachPS.Engine.Pps;

/// <summary>
/// The graph of repos and the pipelines that read them (a pipeline's name is also its output repo's). Every question
/// that follows edges (what is downstream, what is upstream, would a spec close a cycle, which jobs a failure makes
/// unrunnable) goes through the one walk here.
/// </summary>
internal static class PipelineGraph
{
    /// <summary>The repo part of an input key ("repo@branch").</summary>
    public static string RepoOf(string inputKey) => inputKey[..inputKey.IndexOf('@')];

    /// <summary>Pipelines that read one branch of a repo (indexed: what a finished commit there triggers).</summary>
    public static List<PipelineDoc> ReadersOf(LiteDatabase db, string repo, string branch) =>
        db.Pipelines().Find(Query.EQ("$.Inputs[*] ANY", $"{repo}@{branch}")).ToList();

    /// <summary>Names of the pipelines that read any branch of a repo.</summary>
    public static List<string> ReadersOf(LiteDatabase db, string repo) =>
        db.Pipelines().FindAll().Where(p => p.Inputs.Any(i => RepoOf(i) == repo)).Select(p => p.Name).ToList();

    /// <summary>Every pipeline that reads the repo, directly or through other pipelines.</summary>
    public static HashSet<string> Downstream(LiteDatabase db, string repo)
    {
        var all = db.Pipelines().FindAll().ToList();
        return Walk([repo], r => all.Where(p => p.Inputs.Any(i => RepoOf(i) == r)).Select(p => p.Name));
    }

    /// <summary>Every pipeline that the given pipelines read from, directly or transitively.</summary>
    public static HashSet<string> Upstream(LiteDatabase db, IEnumerable<string> pipelines)
    {
        var byName = db.Pipelines().FindAll().ToDictionary(p => p.Name, StringComparer.Ordinal);
        return Walk(pipelines, name => byName.TryGetValue(name, out var p) ? p.Inputs.Select(RepoOf).Where(byName.ContainsKey) : []);
    }

    /// <summary>Whether reading <paramref name="inputRepos"/> would make pipeline <paramref name="name"/> read its own output.</summary>
    public static bool WouldCycle(LiteDatabase db, string name, IEnumerable<string> inputRepos)
    {
        var starts = inputRepos.ToList();
        return starts.Contains(name, StringComparer.Ordinal) ||
            Walk(starts, repo => db.Pipelines().Get(repo)?.Inputs.Select(RepoOf) ?? []).Contains(name);
    }

    /// <summary>
    /// Marks a job of every pipeline downstream of a failed (or killed) job's output as unrunnable, each pipeline
    /// once, naming the upstream job that did not succeed.
    /// </summary>
    public static void MarkDownstreamUnrunnable(LiteDatabase db, JobDoc failed, string owner)
    {
        var jobs = new Dictionary<string, JobDoc>(StringComparer.Ordinal) { [failed.Pipeline] = failed };
        var outputBranch = new Dictionary<string, string>(StringComparer.Ordinal) { [failed.Pipeline] = failed.OutputBranch };
        Walk([failed.Pipeline], name => ReadersOf(db, name, outputBranch[name]).Select(p =>
        {
            var spec = PipelineSpec.Load(p.SpecJson);
            outputBranch.TryAdd(p.Name, spec.OutputBranch);
            if (!jobs.ContainsKey(p.Name))
            {
                var cause = jobs[name];
                var job = new JobDoc
                {
                    Id = Ids.New(), Pipeline = p.Name, PipelineVersion = p.Version, OutputCommit = "", OutputBranch = spec.OutputBranch,
                    Created = DateTime.UtcNow, Provenance = cause.Provenance, Owner = owner,
                };
                StateMachines.MoveTo(job, JobState.Unrunnable, $"upstream job {Ids.Short(cause.Id)} of '{cause.Pipeline}' did not succeed");
                db.Jobs().Insert(job);
                jobs[p.Name] = job;
            }
            return p.Name;
        }));
    }

    /// <summary>Breadth-first from <paramref name="start"/>: everything reachable through <paramref name="next"/>, each once.</summary>
    private static HashSet<string> Walk(IEnumerable<string> start, Func<string, IEnumerable<string>> next)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(start);
        while (queue.TryDequeue(out var node))
            foreach (var to in next(node).ToList())
                if (reached.Add(to)) queue.Enqueue(to);
        return reached;
    }
}
