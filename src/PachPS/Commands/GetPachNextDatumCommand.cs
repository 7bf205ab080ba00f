using System.Management.Automation;
using System.Text;
using PachPS.Infrastructure;

namespace PachPS.Commands;

/// <summary>
/// Inside a batching transform (datum_batching: true): finishes the current datum and waits for the next one. Sets the
/// datum's variables ($env:&lt;input&gt;, PACH_DATUM_ID, ...) and returns them, or returns nothing when no datum is left.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PachNextDatum")]
[OutputType(typeof(PSObject))]
public sealed class GetPachNextDatumCommand : PachCmdlet
{
    protected override void EndProcessing()
    {
        var requestPath = Environment.GetEnvironmentVariable("PACH_DATUM_REQUEST");
        var responsePath = Environment.GetEnvironmentVariable("PACH_DATUM_RESPONSE");
        var envPath = Environment.GetEnvironmentVariable("PACH_DATUM_ENV");
        if (requestPath is null || responsePath is null || envPath is null)
            ThrowTerminatingError(Error("NotInBatchTransform", ErrorCategory.InvalidOperation,
                "Get-PachNextDatum works inside a transform of a pipeline with datum_batching: true.", null));
        File.AppendAllText(requestPath!, "next\n");
        string reply;
        using (var reader = new StreamReader(responsePath!, Encoding.UTF8)) reply = reader.ReadLine() ?? "done";
        if (reply.Trim() == "done") return;
        var result = new PSObject();
        result.Properties.Add(new PSNoteProperty("DatumId", reply.Trim()["datum ".Length..]));
        var variables = new System.Collections.Hashtable();
        foreach (var line in File.ReadAllLines(envPath!))
        {
            var eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') value = value[1..^1].Replace("'\\''", "'");
            variables[line[..eq]] = value;
            Environment.SetEnvironmentVariable(line[..eq], value);
        }
        result.Properties.Add(new PSNoteProperty("Variables", variables));
        WriteObject(result);
    }
}
