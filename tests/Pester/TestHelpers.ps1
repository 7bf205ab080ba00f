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

function New-Bytes {
    # Random bytes, the same for the same seed (file content for tests of content that must read back byte for byte).
    param([Parameter(Mandatory)] [int] $Length, [Parameter(Mandatory)] [int] $Seed)
    $bytes = [byte[]]::new($Length)
    [System.Random]::new($Seed).NextBytes($bytes)
    , $bytes
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
# And through a PachPS server (pachps-server over the store folder, on 127.0.0.1 with TLS and a token), started by
# the first connect to that folder and stopped when this process exits.
$script:RemoteBackend = @{ Backend = 'Remote'; SkipBackend = $false }
$script:Backends += $script:RemoteBackend
$script:PipelineBackends += $script:RemoteBackend
if (-not (Get-Variable TestServers -Scope Global -ErrorAction Ignore)) { $global:TestServers = @{}; $global:TestServerTokens = @{} }

function Start-TestServer {
    # A pachps-server over a store folder (one per folder, kept for the rest of this process), with its address,
    # certificate thumbprint and first admin token. Extra arguments (an S3 bucket, say) go to the server.
    param([Parameter(Mandatory)] [string] $Path, [string[]] $ArgumentList = @(), [hashtable] $Environment = @{})
    $key = [System.IO.Path]::GetFullPath($Path)
    if ($global:TestServers[$key] -and -not $global:TestServers[$key].Process.HasExited) { return $global:TestServers[$key] }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    # Its output goes to files beside the store folder (a pipe nobody reads would fill up and stall it).
    $log = "$key.server"
    Remove-Item "$log.out", "$log.err" -ErrorAction Ignore
    $psi = [System.Diagnostics.ProcessStartInfo]::new('sh')
    foreach ($a in @('-c', 'exec "$@" > "$0.out" 2> "$0.err"', $log, 'dotnet', (Join-Path $script:RepoRoot 'out/server/pachps-server.dll'), '--store', $key,
            '--listen', "https://127.0.0.1:$port", '--stop-with-process', $PID) + $ArgumentList) { $psi.ArgumentList.Add($a) }
    foreach ($e in $Environment.GetEnumerator()) { $psi.Environment[$e.Key] = $e.Value }
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # A restarted server prints no admin token (it has one): the first start's goes on working.
    $server = @{ Process = $process; Uri = "https://127.0.0.1:$port"; Store = $key; Log = $log; Token = $global:TestServerTokens[$key] }
    $deadline = (Get-Date).AddSeconds(120)
    $text = ''
    while (-not ($server.Thumbprint -and $server.Token -and $text -match 'listening on')) {
        # [regex] rather than -match and $Matches: CI once saw $Matches null right after a successful -match here.
        $text = "$(Get-Content "$log.out" -Raw -ErrorAction Ignore)"
        $thumbprint = [regex]::Match($text, 'certificate thumbprint ([0-9A-F]+)')
        if ($thumbprint.Success) { $server.Thumbprint = $thumbprint.Groups[1].Value }
        $token = [regex]::Match($text, '(pachps_\S+)')
        if ($token.Success) { $server.Token = $token.Groups[1].Value }
        if ($process.HasExited -or (Get-Date) -gt $deadline) {
            if (-not $process.HasExited) { $process.Kill($true) }
            throw "pachps-server did not start over $key`: $text $(Get-Content "$log.err" -Raw -ErrorAction Ignore)"
        }
        Start-Sleep -Milliseconds 100
    }
    $global:TestServers[$key] = $server
    $global:TestServerTokens[$key] = $server.Token
    $server
}

function Stop-TestServer {
    # Stops a folder's server (SIGTERM: a graceful stop) and waits for it, so the folder can be opened by something else.
    param([Parameter(Mandatory)] [string] $Path, [switch] $Kill)
    $key = [System.IO.Path]::GetFullPath($Path)
    $server = $global:TestServers[$key]
    if (-not $server) { return }
    $global:TestServers.Remove($key)
    if ($Kill) { $server.Process.Kill($true) } else { & kill -TERM $server.Process.Id }
    if (-not $server.Process.WaitForExit(30000)) { $server.Process.Kill($true) }
}

function Stop-TestServers {
    # Stops every server this process started (at the end of a test file, so they do not run on through the others).
    foreach ($path in @($global:TestServers.Keys)) { Stop-TestServer $path }
}

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
    if ($Backend -eq 'Remote') {
        $server = Start-TestServer $Path
        return "Connect-PachStore -Server '$($server.Uri)' -Token '$($server.Token)' -CertificateThumbprint '$($server.Thumbprint)' | Out-Null"
    }
    $prefix = 'pester/' + [System.IO.Path]::GetFileName($Path)
    $kubernetes = if ($Backend -eq 'Kubernetes') { "-Kubernetes -KubeConfig '$env:PACHPS_TEST_KUBECONFIG' " } else { '' }
    "Connect-PachStore -Path '$Path' -S3Bucket '$($env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test')' -S3Endpoint '$env:PACHPS_TEST_S3_ENDPOINT' -S3Prefix '$prefix' $kubernetes" +
        "-Credential ([pscredential]::new('$env:PACHPS_TEST_S3_ACCESS_KEY', (ConvertTo-SecureString '$env:PACHPS_TEST_S3_SECRET_KEY' -AsPlainText -Force))) | Out-Null"
}

function Connect-TestStore {
    param([Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Path)
    Invoke-Expression (Get-ConnectCommand $Backend $Path)
}

function New-TestRunspace {
    # A runspace of this process with the module imported, for tests of what belongs to a runspace. -TestHost gives
    # it a host that records what it is told (What if: lines) and asked (confirmations, answered No).
    param($TestHost)
    $runspace = if ($TestHost) { [runspacefactory]::CreateRunspace($TestHost) } else { [runspacefactory]::CreateRunspace() }
    $runspace.Open()
    Invoke-InRunspace $runspace { param($Module) Import-Module $Module } $script:ModulePath | Out-Null
    $runspace
}

function Invoke-InRunspace {
    # Runs a script in another runspace of this process and returns its output. Its errors come back as output
    # objects (the ErrorRecords, so tests can assert FullyQualifiedErrorId), after what it wrote.
    param([Parameter(Mandatory)] [runspace] $Runspace, [Parameter(Mandatory)] [scriptblock] $Script, [object[]] $ArgumentList = @())
    $ps = [powershell]::Create()
    $ps.Runspace = $Runspace
    try {
        $null = $ps.AddScript($Script.ToString())
        foreach ($a in $ArgumentList) { $null = $ps.AddArgument($a) }
        try { $ps.Invoke() } catch [System.Management.Automation.MethodInvocationException] { $_.Exception.InnerException.ErrorRecord }
        $ps.Streams.Error
    }
    finally { $ps.Dispose() }
}

function New-RecordingHost {
    # A host that keeps every line written to it (What if: messages land there) and every confirmation it is asked,
    # answering No, so tests can read what -WhatIf and -Confirm name without a console.
    if (-not ('PachPSTests.RecordingHost' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace PachPSTests
{
    public sealed class RecordingHost : PSHost
    {
        private readonly RecordingUI _ui = new RecordingUI();
        public List<string> Lines => _ui.Lines;
        public List<string> Prompts => _ui.Prompts;
        public override string Name => "PachPSTests";
        public override Version Version => new Version(1, 0);
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    public sealed class RecordingUI : PSHostUserInterface
    {
        private string _pending = "";
        public List<string> Lines { get; } = new List<string>();
        public List<string> Prompts { get; } = new List<string>();
        public override PSHostRawUserInterface RawUI => null;
        public override string ReadLine() => throw new NotSupportedException();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) => _pending += value;
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => _pending += value;
        public override void WriteLine(string value) { Lines.Add(_pending + value); _pending = ""; }
        public override void WriteErrorLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            Prompts.Add(message);
            for (var i = 0; i < choices.Count; i++) if (choices[i].Label == "&No") return i;
            throw new NotSupportedException("no No choice");
        }
    }
}
'@
    }
    [PachPSTests.RecordingHost]::new()
}
