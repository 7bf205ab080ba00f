using System.Collections;
using System.Management.Automation;
using System.Text;

namespace PachPS.Infrastructure;

/// <summary>
/// Turns a script block into a pipeline spec whose transform runs it in a pwsh worker: once per datum, or (batch) one
/// worker looping over Get-PachNextDatum. The script's text is part of the stored spec, so each pipeline version, and
/// the provenance that names it, shows exactly which script ran.
/// </summary>
internal static class ScriptBlockTransform
{
    public static Hashtable Spec(string name, object input, ScriptBlock script, int parallelism, bool batch, string? description)
    {
        var inputNames = InputNames(input).Distinct().ToList();
        var datum = "[pscustomobject]@{ Id = $env:PACH_DATUM_ID; Job = $env:PACH_JOB_ID; Out = $env:PACH_OUT; Inputs = @{ " +
            string.Join("; ", inputNames.Select(n => $"'{n}' = [Environment]::GetEnvironmentVariable('{n}')")) + " } }";
        var body = new StringBuilder("$ErrorActionPreference = 'Stop'\n");
        if (batch)
        {
            body.Append("Import-Module '").Append(ModuleManifest().Replace("'", "''")).Append("'\n");
            body.Append("while (Get-PachNextDatum) {\n  $Datum = ").Append(datum).Append("\n  & {\n").Append(script).Append("\n  } $Datum\n}\n");
        }
        else body.Append("$Datum = ").Append(datum).Append("\n& {\n").Append(script).Append("\n} $Datum\n");
        var encoded = Convert.ToBase64String(Encoding.Unicode.GetBytes(body.ToString()));
        var cmd = PwshCommand().Concat(["-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]).ToArray();
        var spec = new Hashtable
        {
            ["pipeline"] = new Hashtable { ["name"] = name },
            ["transform"] = new Hashtable
            {
                ["cmd"] = cmd,
                ["env"] = new Hashtable { ["PACH_OUT"] = "/pfs/out" },
                ["datum_batching"] = batch,
            },
            ["parallelism_spec"] = new Hashtable { ["constant"] = parallelism },
            ["input"] = input,
            // Kept verbatim in the stored spec: what the encoded command runs, readable.
            ["pachps_script"] = script.ToString(),
        };
        if (description is not null) spec["description"] = description;
        return spec;
    }

    /// <summary>The pwsh that runs this session: the dotnet tool (dotnet pwsh.dll) or a native pwsh.</summary>
    private static string[] PwshCommand()
    {
        var home = Path.GetDirectoryName(typeof(PSObject).Assembly.Location)!;
        var process = Environment.ProcessPath ?? "pwsh";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, Path.Combine(home, "pwsh.dll")] : [process];
    }

    private static string ModuleManifest()
    {
        var root = Path.GetDirectoryName(typeof(ScriptBlockTransform).Assembly.Location)!;
        // Built layout: <repo>/out/module/PachPS.dll with the manifest at <repo>/PachPS.psd1; packaged: beside the dll.
        var beside = Path.Combine(root, "PachPS.psd1");
        return File.Exists(beside) ? beside : Path.GetFullPath(Path.Combine(root, "..", "..", "PachPS.psd1"));
    }

    /// <summary>The input names of a pfs/atom/cron input tree given as hashtables or objects.</summary>
    private static IEnumerable<string> InputNames(object? input)
    {
        switch (input is PSObject ps ? ps.BaseObject : input)
        {
            case IDictionary dict:
                foreach (DictionaryEntry e in dict)
                {
                    var key = e.Key.ToString();
                    if (key is "pfs" or "atom" or "cron" && Unwrap(e.Value) is IDictionary leaf)
                        yield return (leaf["name"] ?? leaf["repo"])?.ToString() ?? "";
                    else foreach (var n in InputNames(e.Value)) yield return n;
                }
                break;
            case IEnumerable list and not string:
                foreach (var item in list) foreach (var n in InputNames(item)) yield return n;
                break;
            case PSCustomObject:
                foreach (var p in ((PSObject)input!).Properties)
                    foreach (var n in InputNames(new Hashtable { [p.Name] = p.Value })) yield return n;
                break;
        }
    }

    private static object? Unwrap(object? value) => value is PSObject { BaseObject: not PSCustomObject } p ? p.BaseObject : value;
}
