using System.Management.Automation;
using System.Text;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>A file's content: lines (default), one string (-Raw) or bytes (-AsByteStream).</summary>
[Cmdlet(VerbsCommon.Get, "PachFileContent", DefaultParameterSetName = LinesSet)]
[OutputType(typeof(string), typeof(byte[]))]
public sealed class GetPachFileContentCommand : PachCmdlet
{
    private const string LinesSet = "Lines";
    private const string RawSet = "Raw";
    private const string BytesSet = "Bytes";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [RepoParameter]
    public string Repo { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [CommitParameter]
    [Alias(PfsParameters.Branch, PfsParameters.Id)]
    public string Commit { get; set; } = PfsParameters.Default;

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [PathParameter]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = RawSet)]
    public SwitchParameter Raw { get; set; }

    [Parameter(ParameterSetName = BytesSet)]
    public SwitchParameter AsByteStream { get; set; }

    protected override void ProcessRecord() => InvokeEach(() =>
    {
        var (file, content) = Files.OpenFile(Repo, Commit, Path);
        using (content)
        {
            if (AsByteStream)
            {
                // One array of the file's size, read into directly: no growing buffer copied over and over.
                var bytes = new byte[file.Size];
                content.ReadExactly(bytes);
                WriteObject(bytes, enumerateCollection: false);
                return;
            }
            using var reader = new StreamReader(content, Encoding.UTF8);
            if (Raw)
            {
                WriteObject(reader.ReadToEnd());
                return;
            }
            while (reader.ReadLine() is { } line) WriteObject(line);
        }
    });
}
