using PachPS.Engine.Pfs;
using PachPS.Engine.Storage;

namespace PachPS.Engine.Pps;

/// <summary>
/// Commits what a spout's command writes to its /pfs/out, at boundaries: when the folder has been quiet for
/// <see cref="SettleInterval"/>; for a folder never quiet that long, the files unchanged for that interval once the
/// oldest waiting file has waited <see cref="MaxBatchDelay"/>; and everything when the command exits. Files are moved
/// out of /pfs/out into a staging folder before they are committed, so none is committed twice and the same name
/// written again is a new version. Staged files a killed process left behind are committed when the spout next starts.
/// Every commit goes through Pfs's one commit writer (and so triggers the pipelines downstream).
/// </summary>
internal sealed class SpoutOutput(PfsService pfs, string pipeline, string branch, bool overwrite, string outFolder, string workFolder, Action<string> log)
{
    /// <summary>How long /pfs/out must be unchanged before what is in it is committed.</summary>
    public static readonly TimeSpan SettleInterval = TimeSpan.FromMilliseconds(200);
    /// <summary>A folder written to without pause still commits, at most this long after a file appeared, the files that settled.</summary>
    public static readonly TimeSpan MaxBatchDelay = TimeSpan.FromSeconds(2);
    /// <summary>How often /pfs/out is looked at.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly object _gate = new();
    private readonly string _staging = Path.Combine(workFolder, "staging");
    private readonly string _rejected = Path.Combine(workFolder, "rejected");
    // Each file seen in /pfs/out: its size and write time, and when it was last seen to change.
    private Dictionary<string, (long Size, DateTime Written, DateTime Changed)> _seen = new(StringComparer.Ordinal);
    private DateTime _lastChange;
    private DateTime? _waitingSince;

    /// <summary>Looks at /pfs/out once and commits what is due.</summary>
    public void Poll()
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            var next = new Dictionary<string, (long, DateTime, DateTime)>(StringComparer.Ordinal);
            var changed = false;
            foreach (var (path, size, written) in Snapshot())
            {
                if (_seen.TryGetValue(path, out var old) && old.Size == size && old.Written == written) next[path] = old;
                else
                {
                    next[path] = (size, written, now);
                    changed = true;
                }
            }
            changed |= _seen.Keys.Any(k => !next.ContainsKey(k));
            _seen = next;
            if (changed) _lastChange = now;
            if (_seen.Count == 0)
            {
                _waitingSince = null;
                return;
            }
            _waitingSince ??= now;
            if (now - _lastChange >= SettleInterval) CommitLocked(_seen.Keys.ToList());
            else if (now - _waitingSince >= MaxBatchDelay)
            {
                var settled = _seen.Where(s => now - s.Value.Changed >= SettleInterval).Select(s => s.Key).ToList();
                if (settled.Count > 0) CommitLocked(settled);
            }
        }
    }

    /// <summary>Commits everything in /pfs/out now (the command has exited).</summary>
    public void CommitAll()
    {
        lock (_gate) CommitLocked(Snapshot().Select(s => s.Path).ToList());
    }

    /// <summary>Commits files a stopped or killed run moved out of /pfs/out but did not commit.</summary>
    public void CommitStaged()
    {
        lock (_gate) CommitStagedLocked();
    }

    private void CommitLocked(IReadOnlyList<string> paths)
    {
        foreach (var path in paths)
        {
            var from = Path.Combine(outFolder, path);
            var to = Path.Combine(_staging, path);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Move(from, to, overwrite: true);
            }
            catch (FileNotFoundException) { /* the command removed it meanwhile */ }
            catch (DirectoryNotFoundException) { }
            _seen.Remove(path);
        }
        _waitingSince = _seen.Count > 0 ? DateTime.UtcNow : null;
        CommitStagedLocked();
    }

    private void CommitStagedLocked()
    {
        if (!Directory.Exists(_staging)) return;
        var files = Directory.EnumerateFiles(_staging, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) return;
        var paths = files.Select(f => "/" + Path.GetRelativePath(_staging, f).Replace(Path.DirectorySeparatorChar, '/')).ToList();
        try
        {
            using var writer = pfs.BeginWrite();
            var contents = new List<FileContent>(files.Count);
            foreach (var file in files)
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
                contents.Add(writer.Write(stream));
            }
            writer.Flush();
            var written = paths.ToHashSet(StringComparer.Ordinal);
            var note = new CommitNote($"Spout {pipeline}: {files.Count} file(s) from its /pfs/out{(overwrite ? " (overwrite)" : "")}");
            var commit = pfs.Commit(pipeline, branch, writer, (_, tree, c) =>
            {
                var changes = overwrite ? tree.All(c.Root).Where(e => !written.Contains(e.Path)).Select(e => FileChange.Remove(e.Path)).ToList() : [];
                changes.AddRange(paths.Select((p, i) => FileChange.Write(p, writer.Resolve(contents[i]))));
                return changes;
            }, note);
            log($"committed {files.Count} file(s) to {pipeline}@{branch}: {Ids.Short(commit.Commit)}");
            Directory.Delete(_staging, recursive: true);
        }
        catch (PachException ex) when (ex.Kind is PachErrorKind.InvalidArgument or PachErrorKind.InvalidOperation or PachErrorKind.AlreadyExists)
        {
            // Files the commit writer refuses (a path under a file, a bad name) would be refused again: set them aside.
            var aside = Path.Combine(_rejected, DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff"));
            Directory.CreateDirectory(_rejected);
            Directory.Move(_staging, aside);
            log($"could not commit {string.Join(", ", paths)} ({ex.ErrorId}: {ex.Message}); the files are kept in {aside}");
        }
    }

    /// <summary>Every file under /pfs/out: its path relative to it, size and last write time.</summary>
    private List<(string Path, long Size, DateTime Written)> Snapshot()
    {
        var files = new List<(string, long, DateTime)>();
        if (!Directory.Exists(outFolder)) return files;
        try
        {
            foreach (var file in new DirectoryInfo(outFolder).EnumerateFiles("*", SearchOption.AllDirectories))
                files.Add((Path.GetRelativePath(outFolder, file.FullName), file.Length, file.LastWriteTimeUtc));
        }
        catch (DirectoryNotFoundException) { /* a folder went while it was read: the next poll sees the rest */ }
        catch (FileNotFoundException) { }
        return files;
    }
}
