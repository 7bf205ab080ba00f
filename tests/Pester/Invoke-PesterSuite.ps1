# Runs the Pester suite in this (child) pwsh and writes {Passed, Failed} as JSON for build.ps1.
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
@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content $ResultPath
