# Shared by the Pester suites: where things are, and how to start a child pwsh running the built module.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModulePath = Join-Path $script:RepoRoot 'PachPS.psd1'
$script:SeedFolder = Join-Path $script:RepoRoot '../shared/seed-tutorial'
$script:Transforms = Join-Path $PSScriptRoot 'transforms'

function Start-ChildPwsh {
    # Runs a script in a separate pwsh process (the same PowerShell that runs the tests) and returns the Process.
    param([Parameter(Mandatory)] [string] $Script)
    $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
    $file = Join-Path ([System.IO.Path]::GetTempPath()) ("pachps-child-" + [guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content $file ("`$ErrorActionPreference = 'Stop'`nImport-Module '$script:ModulePath'`n" + $Script)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($pwshDll, '-NoProfile', '-NonInteractive', '-File', $file)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    [System.Diagnostics.Process]::Start($psi)
}

function Get-TutorialSpec {
    # A tutorial spec from shared/seed-tutorial with only transform.cmd/stdin changed, as JSON text.
    param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [scriptblock] $Adapt)
    $spec = Get-Content (Join-Path $script:SeedFolder $Name) -Raw | ConvertFrom-Json
    & $Adapt $spec
    $spec | ConvertTo-Json -Depth 20
}
