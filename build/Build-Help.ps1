#requires -Version 7.4
<#
.SYNOPSIS
    Compiles the markdown help in docs/ to MAML (cmdlets) and about_*.help.txt (concepts).
.DESCRIPTION
    A small stand-in for platyPS, which is not available here. Reads each docs/<Cmdlet>.md (sections SYNOPSIS,
    DESCRIPTION, EXAMPLES with "### Example N: title" and a powershell code block, PARAMETERS with "### -Name"),
    takes syntax, types, positions and pipeline input from the built module itself, and fails when a cmdlet has no
    page, a page has fewer than two examples, or a parameter has no description.
#>
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $CmdletHelpPath,
    [Parameter(Mandatory)] [string] $AboutHelpPath
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
# -WhatIf and -Confirm are shown like platyPS shows them: in SYNTAX and PARAMETERS, with the standard text. The other
# common parameters are the [<CommonParameters>] that Get-Help adds itself.
$shouldProcess = [ordered]@{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

function Split-Sections([string] $Text, [string] $Level) {
    $sections = [ordered]@{}
    $current = $null
    foreach ($line in $Text -split "`r?`n") {
        if ($line -match "^$Level (.+)$") { $current = $Matches[1].Trim(); $sections[$current] = [System.Text.StringBuilder]::new(); continue }
        if ($null -ne $current) { [void]$sections[$current].AppendLine($line) }
    }
    $result = [ordered]@{}
    foreach ($k in $sections.Keys) { $result[$k] = $sections[$k].ToString().Trim() }
    $result
}
function Para([System.Xml.XmlWriter] $w, [string] $text) {
    foreach ($p in ($text -split "`r?`n`r?`n")) { if ($p.Trim()) { $w.WriteElementString('maml', 'para', 'http://schemas.microsoft.com/maml/2004/10', ($p -replace "`r?`n", ' ').Trim()) } }
}

$problems = [System.Collections.Generic.List[string]]::new()
$commands = Get-Command -Module PachPS -CommandType Cmdlet | Sort-Object Name
New-Item -ItemType Directory -Force $CmdletHelpPath, $AboutHelpPath | Out-Null
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$w = [System.Xml.XmlWriter]::Create((Join-Path $CmdletHelpPath 'PachPS.dll-Help.xml'), $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$cmdNs = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($command in $commands) {
    $file = Join-Path $DocsPath "$($command.Name).md"
    if (-not (Test-Path $file)) { $problems.Add("$($command.Name): no docs/$($command.Name).md"); continue }
    $doc = Split-Sections (Get-Content $file -Raw) '##'
    $examples = Split-Sections $doc['EXAMPLES'] '###'
    $paramDocs = Split-Sections $doc['PARAMETERS'] '###'
    if (-not $doc['SYNOPSIS']) { $problems.Add("$($command.Name): no synopsis") }
    if ($examples.Count -lt 2) { $problems.Add("$($command.Name): fewer than two examples") }
    $parameters = @($command.Parameters.Values | Where-Object Name -NotIn $common)
    foreach ($p in $parameters) { if (-not $paramDocs["-$($p.Name)"]) { $problems.Add("$($command.Name): -$($p.Name) has no description") } }
    $parameters += @($shouldProcess.Keys | Where-Object { $command.Parameters.ContainsKey($_) } | ForEach-Object { $command.Parameters[$_] })
    foreach ($name in $shouldProcess.Keys) { if (-not $paramDocs["-$name"]) { $paramDocs["-$name"] = $shouldProcess[$name] } }

    $w.WriteStartElement('command', 'command', $cmdNs)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmdNs)
    $w.WriteElementString('command', 'name', $cmdNs, $command.Name)
    $w.WriteElementString('command', 'verb', $cmdNs, $command.Verb)
    $w.WriteElementString('command', 'noun', $cmdNs, $command.Noun)
    $w.WriteStartElement('maml', 'description', $maml); Para $w $doc['SYNOPSIS']; $w.WriteEndElement()
    $w.WriteEndElement()
    $w.WriteStartElement('maml', 'description', $maml); Para $w $doc['DESCRIPTION']; $w.WriteEndElement()

    $w.WriteStartElement('command', 'syntax', $cmdNs)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmdNs)
        $w.WriteElementString('maml', 'name', $maml, $command.Name)
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin $common -or $_.Name -in $shouldProcess.Keys }) {
            $w.WriteStartElement('command', 'parameter', $cmdNs)
            $w.WriteAttributeString('required', $sp.IsMandatory.ToString().ToLowerInvariant())
            $w.WriteAttributeString('position', $(if ($sp.Position -ge 0) { "$($sp.Position + 1)" } else { 'named' }))
            $w.WriteElementString('maml', 'name', $maml, $sp.Name)
            if ($sp.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
                $w.WriteStartElement('command', 'parameterValue', $cmdNs)
                $w.WriteAttributeString('required', 'true')
                $w.WriteString($sp.ParameterType.Name)
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmdNs)
    foreach ($p in $parameters) {
        $attrs = $p.ParameterSets.Values
        $w.WriteStartElement('command', 'parameter', $cmdNs)
        $w.WriteAttributeString('required', (@($attrs | Where-Object IsMandatory).Count -gt 0).ToString().ToLowerInvariant())
        $pos = @($attrs | Where-Object Position -GE 0 | Select-Object -First 1)
        $w.WriteAttributeString('position', $(if ($pos) { "$($pos[0].Position + 1)" } else { 'named' }))
        $pipe = @()
        if ($attrs | Where-Object ValueFromPipeline) { $pipe += 'ByValue' }
        if ($attrs | Where-Object ValueFromPipelineByPropertyName) { $pipe += 'ByPropertyName' }
        $w.WriteAttributeString('pipelineInput', $(if ($pipe) { "True ($($pipe -join ', '))" } else { 'False' }))
        $wildcards = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
        $w.WriteAttributeString('globbing', $wildcards.ToString().ToLowerInvariant())
        $w.WriteAttributeString('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('maml', 'name', $maml, $p.Name)
        $w.WriteStartElement('maml', 'description', $maml); Para $w $paramDocs["-$($p.Name)"]; $w.WriteEndElement()
        $w.WriteStartElement('command', 'parameterValue', $cmdNs); $w.WriteAttributeString('required', 'true'); $w.WriteString($p.ParameterType.Name); $w.WriteEndElement()
        $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $p.ParameterType.FullName); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'examples', $cmdNs)
    foreach ($title in $examples.Keys) {
        $body = $examples[$title]
        $code = if ($body -match '(?s)```powershell\r?\n(.*?)\r?\n```') { $Matches[1] } else { '' }
        $remarks = ($body -replace '(?s)```powershell.*?```', '').Trim()
        $w.WriteStartElement('command', 'example', $cmdNs)
        $w.WriteElementString('maml', 'title', $maml, "-------- $title --------")
        $w.WriteElementString('dev', 'code', $dev, $code)
        $w.WriteStartElement('dev', 'remarks', $dev); Para $w $(if ($remarks) { $remarks } else { ' ' }); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Dispose()

foreach ($about in Get-ChildItem $DocsPath -Filter 'about_*.md') {
    $text = (Get-Content $about.FullName -Raw) -replace '(?m)^#+ ', '' -replace '(?m)^\|', '  |'
    Set-Content (Join-Path $AboutHelpPath ($about.BaseName + '.help.txt')) $text
}
# The exact list of cmdlets, for the manifest's CmdletsToExport (build.ps1 stamps it).
Set-Content (Join-Path $CmdletHelpPath '../cmdlets.txt') ($commands.Name -join "`n")
if ($problems.Count -gt 0) { throw "Help is incomplete:`n  $($problems -join "`n  ")" }
Write-Host "Help: $($commands.Count) cmdlets compiled to MAML"
