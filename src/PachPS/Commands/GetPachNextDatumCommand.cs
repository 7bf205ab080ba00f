using System.Collections;
using System.Management.Automation;
using PachPS.Engine.Execution;
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
    protected override void EndProcessing() => Invoke(() =>
    {
        if (BatchProtocol.RequestNext() is not { } next) return;
        var variables = new Hashtable();
        foreach (var (name, value) in next.Variables)
        {
            variables[name] = value;
            Environment.SetEnvironmentVariable(name, value);
        }
        var result = new PSObject();
        result.Properties.Add(new PSNoteProperty("DatumId", next.DatumId));
        result.Properties.Add(new PSNoteProperty("Variables", variables));
        WriteObject(result);
    });
}
