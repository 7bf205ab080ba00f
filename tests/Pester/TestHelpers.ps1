# Shared by the Pester suites: where things are, and how to start a child pwsh running the built module.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModulePath = Join-Path $script:RepoRoot 'PachPS.psd1'
# The tutorial's data (data/*.csv) and specs as the repository holds them; examples/iris/README.md says where they
# come from. Tests read nothing outside the repository, so a clone with nothing beside it passes them.
$script:Tutorial = Join-Path $script:RepoRoot 'examples/iris'
$script:Transforms = Join-Path $PSScriptRoot 'transforms'

function Start-ChildPwsh {
    # Runs a script in a separate pwsh process (the same PowerShell that runs the tests) and returns the Process.
    # -Wrapper is a command line that starts it (for example one that changes a signal's disposition first).
    param([Parameter(Mandatory)] [string] $Script, [string[]] $Wrapper = @())
    $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
    $file = Join-Path ([System.IO.Path]::GetTempPath()) ("pachps-child-" + [guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content $file ("`$ErrorActionPreference = 'Stop'`nImport-Module '$script:ModulePath'`n" + $Script)
    $command = @($Wrapper) + @('dotnet', $pwshDll, '-NoProfile', '-NonInteractive', '-File', $file)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($a in $command | Select-Object -Skip 1) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    [System.Diagnostics.Process]::Start($psi)
}

function Get-TutorialSpec {
    # A tutorial spec from examples/iris with its one-line transform.stdin (run by /bin/bash) replaced, as JSON text.
    param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $Stdin, [scriptblock] $Adapt = {})
    $spec = Get-Content (Join-Path $script:Tutorial $Name) -Raw | ConvertFrom-Json
    $spec.transform.stdin = @($Stdin)
    & $Adapt $spec
    $spec | ConvertTo-Json -Depth 20
}

# The backends every PFS and pipeline suite runs on. S3 needs the test server that build.ps1 Test starts
# (PACHPS_TEST_S3_* variables); without it the S3 cases are reported as skipped, never silently dropped.
$script:Backends = @(
    @{ Backend = 'Local'; SkipBackend = $false }
    @{ Backend = 'S3'; SkipBackend = -not $env:PACHPS_TEST_S3_ENDPOINT }
)
# Pipeline suites also run with datums as Kubernetes Jobs (content in S3), against the API server and fake kubelet
# that build.ps1 Test starts (PACHPS_TEST_KUBECONFIG).
$script:PipelineBackends = $script:Backends + @(
    @{ Backend = 'Kubernetes'; SkipBackend = -not ($env:PACHPS_TEST_S3_ENDPOINT -and $env:PACHPS_TEST_KUBECONFIG) }
)

function Get-TestS3Credential {
    [pscredential]::new($env:PACHPS_TEST_S3_ACCESS_KEY, (ConvertTo-SecureString $env:PACHPS_TEST_S3_SECRET_KEY -AsPlainText -Force))
}

function Start-PipelineSession {
    # Another session on the store: it creates a pipeline from a JSON spec, then idles while the job runs. Returns its
    # Process once -Until holds (or after 60 s, or when it exits).
    param([Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Store, [Parameter(Mandatory)] [string] $Spec,
        [Parameter(Mandatory)] [scriptblock] $Until)
    $child = Start-ChildPwsh @"
$(Get-ConnectCommand $Backend $Store)
New-PachPipeline -Spec '$Spec' | Out-Null
Start-Sleep -Seconds 600
"@
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (& $Until)) {
        if ((Get-Date) -gt $deadline -or $child.HasExited) { break }
        Start-Sleep -Milliseconds 50
    }
    $child
}

function Get-ConnectCommand {
    # The Connect-PachStore line for a store folder on a backend, usable here and in child processes.
    param([Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Path)
    if ($Backend -eq 'Local') { return "Connect-PachStore -Path '$Path' | Out-Null" }
    $prefix = 'pester/' + [System.IO.Path]::GetFileName($Path)
    $kubernetes = if ($Backend -eq 'Kubernetes') { "-Kubernetes -KubeConfig '$env:PACHPS_TEST_KUBECONFIG' " } else { '' }
    "Connect-PachStore -Path '$Path' -S3Bucket '$($env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test')' -S3Endpoint '$env:PACHPS_TEST_S3_ENDPOINT' -S3Prefix '$prefix' $kubernetes" +
        "-Credential ([pscredential]::new('$env:PACHPS_TEST_S3_ACCESS_KEY', (ConvertTo-SecureString '$env:PACHPS_TEST_S3_SECRET_KEY' -AsPlainText -Force))) | Out-Null"
}

function Connect-TestStore {
    param([Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Path)
    Invoke-Expression (Get-ConnectCommand $Backend $Path)
}
