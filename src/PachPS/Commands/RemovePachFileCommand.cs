using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Removes files or folders in one new commit (or in the branch's open commit).</summary>
[Cmdlet(VerbsCommon.Remove, "PachFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(CommitInfo))]
public sealed class RemovePachFileCommand : CommitMakingCmdlet
{
    private const int ListedPaths = 10;
    private readonly List<string> _paths = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [BranchParameter]
    [Alias(PfsParameters.Commit)]
    public string Branch { get; set; } = PfsParameters.Default;

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
    public string[] Path { get; set; } = [];

    protected override void ProcessRecord()
    {
        // Everything removed in one call is one commit, so every piped item must come from the same place.
        if (_target is not null && _target != (Repo, Branch))
            ThrowTerminatingError(Error("MixedTargets", ErrorCategory.InvalidArgument, $"Remove-PachFile removes from one repo and branch per call; got {Repo}@{Branch} after {_target.Value.Repo}@{_target.Value.Branch}.", Repo));
        _target = (Repo, Branch);
        _paths.AddRange(Path);
    }

    private (string Repo, string Branch)? _target;

    protected override void EndProcessing()
    {
        if (_paths.Count == 0) return;
        Invoke(() =>
        {
            // Resolved before asking: the prompt names the commit the removal lands in and each path (a folder with
            // its number of files), and an unknown repo or path fails with its own ErrorId before anyone is asked.
            var target = WriteTarget.Resolve(Files, Repo, Branch);
            var paths = _paths.Select(p => Names.NormalizePath(p)).ToList();
            var entries = WriteTarget.Entries(Files, Repo, Branch, target.Base, paths);
            var removed = paths.Select((path, i) => WriteTarget.Describe(path, entries[i])).ToList();
            var files = entries.Sum(e => e.Count);
            var listed = string.Join(", ", removed.Take(ListedPaths)) + (removed.Count > ListedPaths ? $" and {removed.Count - ListedPaths} more" : "");
            if (!ShouldProcess($"{Repo}@{Branch} ({target.Landing}): {listed}", $"Remove {WriteTarget.Count(files, "file")}")) return;
            WriteObject(Files.DeleteFiles(Repo, Branch, _paths, Note));
        });
    }
}
