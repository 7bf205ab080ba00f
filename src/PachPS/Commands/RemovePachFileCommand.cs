using System.Management.Automation;
using PachPS.Engine.Pfs;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>Removes files or folders in one new commit (or in the branch's open commit).</summary>
[Cmdlet(VerbsCommon.Remove, "PachFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CommitInfo))]
public sealed class RemovePachFileCommand : PachCmdlet
{
    private readonly List<string> _paths = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1)]
    [Alias("Commit")]
    public string Branch { get; set; } = PfsService.DefaultBranch;

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    public string[] Path { get; set; } = [];

    protected override void ProcessRecord() => _paths.AddRange(Path);

    protected override void EndProcessing()
    {
        if (_paths.Count == 0 || !ShouldProcess($"{Repo}@{Branch}", $"Remove {string.Join(", ", _paths)}")) return;
        Invoke(() => WriteObject(Store.Pfs.DeleteFiles(Repo, Branch, _paths)));
    }
}
