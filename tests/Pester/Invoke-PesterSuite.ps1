# Runs the Pester suite in this (child) pwsh and writes {Passed, Failed, Skipped, FailedNames} as JSON for build.ps1.
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ResultPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$extra = Join-Path $PSScriptRoot '../../examples'
if (Test-Path $extra) { $config.Run.Path = @($PSScriptRoot, (Resolve-Path $extra).Path) }
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
$result = Invoke-Pester -Configuration $config
# What failed, by name and first line of its error: build.ps1 repeats it just above the summary, where a log's tail shows it.
$failedNames = @($result.Failed | ForEach-Object { '{0}: {1}' -f $_.ExpandedPath, ("$($_.ErrorRecord | Select-Object -First 1)" -split "`n")[0] }) +
    @($result.FailedBlocks | ForEach-Object { '{0} (block): {1}' -f $_.ExpandedPath, ("$($_.ErrorRecord | Select-Object -First 1)" -split "`n")[0] }) +
    @($result.FailedContainers | ForEach-Object { '{0} (file): {1}' -f $_.Item, ("$($_.ErrorRecord | Select-Object -First 1)" -split "`n")[0] })
@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount; FailedNames = $failedNames } |
    ConvertTo-Json | Set-Content $ResultPath
