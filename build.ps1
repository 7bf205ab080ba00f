#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, benchmarks and packages PachPS.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Example', 'Bench', 'Package', 'Fuzz', 'Soak')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Fuzz: the target afl-fuzz runs (tests/Fuzz/FuzzTargets.cs) and for how long.
    [ValidateSet('spec', 'glob', 'path', 'tree', 'pack', 'commitref', 'frames')]
    [string] $Target = 'spec',
    [double] $Minutes = 5,

    # Soak: how many crash trials to run, and the seed of the first (the next ones count up; default: from the clock).
    [int] $Trials = 20,
    [int] $Seed = -1,

    # Bench: scale down the generated data (1 = the sizes the issues name).
    [double] $BenchScale = 1,

    # Test: skip the S3 backend (no S3 server is started; those tests are reported as skipped).
    [switch] $SkipS3,

    # Test: skip the real Kubernetes tier (no API server is built or started; those tests are reported as skipped).
    [switch] $SkipKubernetes,

    # Bench: also measure the S3 backend against rclone on the local test server (both ways; $env:CEPH_DIR, RGW_PORT and
    # MON_PORT move it off the default folder and ports). Soak: every other trial on S3.
    [switch] $S3,

    # Bench: also measure a pachps-server on loopback against an embedded store (uploads, round trips, concurrent clients).
    [switch] $Remote,

    # Bench: run only this section (implies its switch), without the embedded figures: -BenchOnly Remote, -BenchOnly
    # Collection (garbage collection of a generated 200,000-commit store; -BenchScale 0.01 for a quick look), -BenchOnly
    # Io (data in and out against cp, git and the disk's own limits), -BenchOnly Lazy (lazy against copied inputs on
    # one 1 GiB input), -BenchOnly Gateway (the server's S3 gateway: GetObject of 256 MiB against Get-PachFileContent,
    # aws s3 cp --recursive of 10,000 x 1 KiB against a radosgw the section starts on ports of its own), -BenchOnly
    # Scale (how cost grows from 10k to 1M files, datums, commits and jobs; docs/scale.md), -BenchOnly Containers
    # (2,000 one-line datums in warm Podman containers against local processes, podman run --rm and exec per datum),
    # -BenchOnly Backup (Backup-PachStore of a 200,000-commit store, and the next, incremental, backup).
    [ValidateSet('S3', 'Remote', 'Collection', 'Io', 'Lazy', 'Gateway', 'Scale', 'Containers', 'Backup')]
    [string] $BenchOnly,
    # Bench: the same as -BenchOnly Scale (no other parameter begins with "Scale", so -Scale binds to nothing else).
    [switch] $Scale,
    # Bench: one round instead of three, at a quarter of the size unless -BenchScale sets another (for development).
    [switch] $Quick,

    # Package: package the module already built in out/module instead of building first.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'module'

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    ([xml](Get-Content (Join-Path $root 'Directory.Build.props') -Raw)).Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
}

function Invoke-Build {
    $publish = Join-Path $out 'publish'
    # ReadyToRun (precompiled for this machine's runtime identifier, IL kept for any other): the first cmdlet of a
    # session answers in about 75 instead of 120 ms, and a job's first thousands of datums spend less time in the JIT.
    $rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/PachPS/PachPS.csproj'), '-c', $Configuration, '-o', $publish, '--nologo', '-v', 'quiet',
        '-r', $rid, '--self-contained', 'false', '-p:PublishReadyToRun=true')
    # PachPS.dll (the cmdlets) loads in PowerShell's context; the engine and its dependencies go to deps/ and load
    # in their own AssemblyLoadContext.
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    $deps = New-Item -ItemType Directory -Force (Join-Path $moduleDir 'deps')
    Get-ChildItem $publish -File | ForEach-Object {
        if ($_.Name -in 'PachPS.dll', 'PachPS.pdb') { Copy-Item $_.FullName $moduleDir }
        elseif ($_.Extension -in '.dll', '.pdb') { Copy-Item $_.FullName $deps }
    }
    Copy-Item (Join-Path $root 'src/PachPS/PachPS.Format.ps1xml'), (Join-Path $root 'src/PachPS/PachPS.psm1') $moduleDir
    # Help: compiled in a child pwsh, which imports the freshly built module (its .psm1, so every cmdlet, whatever the
    # manifest says) to read its syntax; it also lists the cmdlets for the manifest's CmdletsToExport.
    & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'build/Build-Help.ps1') -DocsPath (Join-Path $root 'docs') `
        -ModuleManifest (Join-Path $moduleDir 'PachPS.psm1') -CmdletHelpPath (Join-Path $moduleDir 'en-US') -AboutHelpPath (Join-Path $root 'en-US')
    if ($LASTEXITCODE -ne 0) { throw 'building the help failed' }
    # One version number: Directory.Build.props stamps the manifest.
    $version = Get-ModuleVersion
    $manifest = Join-Path $root 'PachPS.psd1'
    $text = Get-Content $manifest -Raw
    $stamped = $text -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    $cmdlets = Get-Content (Join-Path $moduleDir 'cmdlets.txt') | Where-Object { $_ }
    $list = "CmdletsToExport      = @(`n" + (($cmdlets | ForEach-Object { "        '$_'" }) -join "`n") + "`n    )"
    $stamped = $stamped -replace "(?s)CmdletsToExport\s*=\s*(@\([^)]*\)|'\*')", $list
    if ($stamped -ne $text) { Set-Content $manifest $stamped -NoNewline }
    # The server (pachps-server): the tests start it from out/server; build.ps1 Package makes it a .NET tool.
    # ReadyToRun as the module is: a fresh server otherwise spends its first uploads in the JIT (16% of its CPU in a profile).
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/PachPS.Server/PachPS.Server.csproj'), '-c', $Configuration, '-o', (Join-Path $out 'server'), '--nologo', '-v', 'quiet',
        '-r', $rid, '--self-contained', 'false', '-p:PublishReadyToRun=true')
    Write-Host "Built PachPS $version into $moduleDir and pachps-server into $(Join-Path $out 'server')"
}

function Get-PesterPath {
    Invoke-Native dotnet @('restore', (Join-Path $root 'build/tools/Tools.csproj'), '--nologo', '-v', 'quiet')
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    Join-Path $nugetRoot 'pester/5.7.1/tools/Pester.psd1'
}

function Start-TestS3 {
    # A real S3 server for the tests: Ceph radosgw on 127.0.0.1 (tests/s3/start-rgw.sh installs it if needed).
    $env:AK = 'PACHPSTEST'
    $env:SK = 'pachps-test-secret-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $endpoint = & bash (Join-Path $root 'tests/s3/start-rgw.sh') 2>&1 | Select-Object -Last 1
    if ($LASTEXITCODE -ne 0) { throw "Could not start the test S3 server (pass -SkipS3 to run without it): $endpoint" }
    $env:PACHPS_TEST_S3_ENDPOINT = "$endpoint"
    $env:PACHPS_TEST_S3_ACCESS_KEY = $env:AK
    $env:PACHPS_TEST_S3_SECRET_KEY = $env:SK
    $env:PACHPS_TEST_S3_BUCKET = 'pachps-test'
    Write-Host "Test S3 server: $endpoint"
}

function Stop-TestS3 {
    & bash (Join-Path $root 'tests/s3/stop-rgw.sh') | Out-Null
    'PACHPS_TEST_S3_ENDPOINT', 'PACHPS_TEST_S3_ACCESS_KEY', 'PACHPS_TEST_S3_SECRET_KEY', 'PACHPS_TEST_S3_BUCKET' | ForEach-Object { Remove-Item "env:$_" -ErrorAction Ignore }
}

function Start-TestKubernetes {
    # A real Kubernetes API server for the tests: etcd plus kube-apiserver and kube-controller-manager 1.20 built once
    # from Debian's source package (cached in /var/cache/k8s-1.20, about 7 minutes the first time), and a fake kubelet
    # that runs the pods' containers as local processes.
    $dir = '/tmp/pachps-k8s'
    $env:K8S_DIR = $dir
    & bash (Join-Path $root 'tests/kubernetes/stop-k8s.sh') | Out-Null
    & bash (Join-Path $root 'tests/kubernetes/build-k8s.sh') 2>&1 | Select-Object -Last 1 | Write-Host
    if ($LASTEXITCODE -ne 0) { throw 'Could not build the test Kubernetes API server (pass -SkipKubernetes to run without it)' }
    & bash (Join-Path $root 'tests/kubernetes/start-k8s.sh') 2>&1 | Select-Object -Last 1 | Write-Host
    if ($LASTEXITCODE -ne 0) { throw 'Could not start the test Kubernetes API server (pass -SkipKubernetes to run without it)' }
    $kubelet = Join-Path $out 'kubelet'
    Invoke-Native dotnet @('build', (Join-Path $root 'tests/kubernetes/FakeKubelet/FakeKubelet.csproj'), '-c', $Configuration, '-o', $kubelet, '--nologo', '-v', 'quiet')
    $work = '/tmp/pachps-kubelet'
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
    $process = Start-Process (Join-Path $kubelet 'FakeKubelet') -ArgumentList '--kubeconfig', "$dir/kubeconfig", '--namespace', 'default', '--work', $work `
        -RedirectStandardOutput "$dir/kubelet.log" -RedirectStandardError "$dir/kubelet.err" -PassThru
    Set-Content "$dir/kubelet.pid" $process.Id
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (Select-String -Path "$dir/kubelet.log" -Pattern 'ready' -Quiet -ErrorAction Ignore)) {
        if ($process.HasExited -or (Get-Date) -gt $deadline) { throw "The fake kubelet did not start: $(Get-Content "$dir/kubelet.err" -Raw)" }
        Start-Sleep -Milliseconds 200
    }
    $env:PACHPS_TEST_KUBECONFIG = "$dir/kubeconfig"
    $env:PACHPS_TEST_KUBELET_WORK = $work
    Write-Host "Test Kubernetes API server: $dir/kubeconfig"
}

function Stop-TestKubernetes {
    & bash (Join-Path $root 'tests/kubernetes/stop-k8s.sh') | Out-Null
    'PACHPS_TEST_KUBECONFIG', 'PACHPS_TEST_KUBELET_WORK' | ForEach-Object { Remove-Item "env:$_" -ErrorAction Ignore }
}

function Install-S3Clients {
    # The S3 gateway's tests drive the AWS CLI and rclone; they are skipped where neither is installed.
    if ((Get-Command aws -ErrorAction Ignore) -and (Get-Command rclone -ErrorAction Ignore)) { return }
    if (-not (Get-Command apt-get -ErrorAction Ignore) -or (& id -u) -ne '0') {
        Write-Host 'The AWS CLI or rclone is missing and cannot be installed here (needs root and apt-get): their S3 gateway tests are SKIPPED.' -ForegroundColor Yellow
        return
    }
    Write-Host 'installing awscli and rclone from Debian...'
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get install -y -q --no-install-recommends awscli rclone *> $null
    if ($LASTEXITCODE -ne 0) {
        & apt-get update -q *> $null
        & apt-get install -y -q --no-install-recommends awscli rclone *> $null
    }
    if ($LASTEXITCODE -ne 0) { Write-Host 'Could not install awscli and rclone: their S3 gateway tests are SKIPPED.' -ForegroundColor Yellow }
}

function Start-TestContainers {
    # Podman (with runc and a containers.conf that podman 4.3 needs as root) and Docker (a dockerd of its own on a
    # private socket, no systemd), each installed from Debian when missing, and the busybox test image made offline in
    # each; the container suites call the same scripts and skip, saying why, a runtime that cannot run here.
    foreach ($runtime in 'podman', 'docker') {
        $line = & bash (Join-Path $root "tests/containers/setup-$runtime.sh") 2>&1 | Select-Object -Last 1
        if ($LASTEXITCODE -ne 0) { Write-Host "$runtime container tests are SKIPPED: $line" -ForegroundColor Yellow }
    }
}

function Stop-TestContainers { & bash (Join-Path $root 'tests/containers/stop-docker.sh') | Out-Null }

function Invoke-Test {
    Invoke-Build
    Install-S3Clients
    Start-TestContainers
    if ($SkipS3) { Write-Host 'S3 tests are SKIPPED (-SkipS3): no S3 server is started.' -ForegroundColor Yellow }
    else { Start-TestS3 }
    # The Kubernetes executor keeps content in S3, so its real tier needs the S3 server too.
    $kubernetes = -not $SkipKubernetes -and -not $SkipS3
    if (-not $kubernetes) { Write-Host 'Kubernetes integration tests are SKIPPED (-SkipKubernetes or -SkipS3): no API server is started.' -ForegroundColor Yellow }
    else { Start-TestKubernetes }
    try { Invoke-Suites }
    finally {
        Stop-TestContainers
        if ($kubernetes) { Stop-TestKubernetes }
        if (-not $SkipS3) { Stop-TestS3 }
    }
}

function Invoke-Suites {
    $results = New-Item -ItemType Directory -Force (Join-Path $out 'test-results')
    $trx = Join-Path $results 'unit.trx'
    Remove-Item $trx -ErrorAction Ignore
    & dotnet test (Join-Path $root 'tests/Unit/PachPS.Tests.Unit.csproj') -c $Configuration --nologo `
        --logger "trx;LogFileName=$trx" --logger 'console;verbosity=minimal'
    $unit = @{ Passed = 0; Failed = 0; Skipped = 0 }
    $failedNames = [System.Collections.Generic.List[string]]::new()
    if (Test-Path $trx) {
        $run = ([xml](Get-Content $trx -Raw)).TestRun
        $counters = $run.ResultSummary.Counters
        foreach ($r in @($run.Results.UnitTestResult | Where-Object { $_.outcome -notin 'Passed', 'NotExecuted' })) {
            $failedNames.Add(('xunit {0}: {1}' -f $r.testName, ("$($r.Output.ErrorInfo.Message)" -split "`n")[0]))
        }
        $unit.Passed = [int]$counters.passed
        $unit.Failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        $unit.Skipped = [int]$counters.notExecuted
    }
    else { $unit.Failed = 1; Write-Warning 'xunit produced no results (build failure?)' }

    $pesterJson = Join-Path $results 'pester.json'
    Remove-Item $pesterJson -ErrorAction Ignore
    $runner = Join-Path $root 'tests/Pester/Invoke-PesterSuite.ps1'
    & dotnet pwsh -NoProfile -NonInteractive -File $runner -PesterPath (Get-PesterPath) -ResultPath $pesterJson
    $pester = @{ Passed = 0; Failed = 1; Skipped = 0 }
    if (Test-Path $pesterJson) { $pester = Get-Content $pesterJson -Raw | ConvertFrom-Json -AsHashtable }
    else { Write-Warning 'Pester produced no results' }
    foreach ($name in @($pester.FailedNames)) { if ($name) { $failedNames.Add("Pester $name") } }

    # The failures again, right above the summary: a CI log is often read from its tail.
    foreach ($name in $failedNames) { Write-Host ('FAILED ' + ($name.Length -gt 400 ? $name.Substring(0, 400) + '...' : $name)) -ForegroundColor Red }

    $passed = $unit.Passed + $pester.Passed
    $failed = $unit.Failed + $pester.Failed
    $skipped = $unit.Skipped + $pester.Skipped
    Write-Host "xunit: $($unit.Passed) passed, $($unit.Failed) failed, $($unit.Skipped) skipped; Pester: $($pester.Passed) passed, $($pester.Failed) failed, $($pester.Skipped) skipped"
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Example {
    Invoke-Build
    & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'examples/iris/run.ps1')
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Bench {
    Invoke-Build
    $section = if ($Scale) { 'Scale' } else { $BenchOnly }
    $s3Bench = $S3 -or $section -eq 'S3'
    $only = if ($section) { @('-Only', $section) } else { @() }
    if ($s3Bench) { Start-TestS3 }
    try { & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'build/Bench.ps1') -Scale $BenchScale -S3:$s3Bench -Remote:$Remote -Quick:$Quick @only }
    finally { if ($s3Bench) { Stop-TestS3 } }
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Package {
    # A self-contained module folder (manifest paths made local, about help beside it), published as a .nupkg into a
    # local PSResourceGet repository folder: Install-PSResource -Repository <that folder> installs it.
    if (-not $NoBuild -or -not (Test-Path (Join-Path $moduleDir 'PachPS.dll'))) { Invoke-Build }
    $version = Get-ModuleVersion
    $staging = Join-Path $out 'package/PachPS'
    $feed = Join-Path $out 'feed'
    Remove-Item $staging, $feed -Recurse -Force -ErrorAction Ignore
    New-Item -ItemType Directory -Force $staging, $feed | Out-Null
    Copy-Item (Join-Path $moduleDir '*') $staging -Recurse
    Copy-Item (Join-Path $root 'en-US/*') (Join-Path $staging 'en-US') -Force
    Copy-Item (Join-Path $root 'README.md') $staging
    Remove-Item (Join-Path $staging 'cmdlets.txt') -ErrorAction Ignore
    (Get-Content (Join-Path $root 'PachPS.psd1') -Raw) -replace 'out/module/', '' | Set-Content (Join-Path $staging 'PachPS.psd1')
    & dotnet pwsh -NoProfile -NonInteractive -Command @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name PachPSBuild -Uri '$feed' -Trusted -Force
try { Publish-PSResource -Path '$staging' -Repository PachPSBuild }
finally { Unregister-PSResourceRepository -Name PachPSBuild }
"@
    if ($LASTEXITCODE -ne 0) { throw 'publishing the package failed' }
    # The server as a .NET tool in the same feed: dotnet tool install --global PachPS.Server --add-source out/feed
    Invoke-Native dotnet @('pack', (Join-Path $root 'src/PachPS.Server/PachPS.Server.csproj'), '-c', $Configuration, '-o', $feed, '--nologo', '-v', 'quiet')
    Write-Host "Packaged PachPS ${version}: $((Get-ChildItem $feed -Filter *.nupkg).FullName -join ', ')"
}

function Invoke-Fuzz {
    # Not part of Test or CI: afl-fuzz (Debian's afl++) runs the target on inputs mutated from tests/Fuzz/corpus/<target>
    # for -Minutes; every input that throws anything but a PachException, runs past the time budget or kills the
    # process is kept under out/fuzz/<target>/findings.
    if (-not (Get-Command afl-fuzz -ErrorAction Ignore)) { throw 'afl-fuzz is missing: apt-get install -y afl++' }
    # One folder per target, so two targets can run at once.
    $dir = Join-Path $out "fuzz/$Target"
    $bin = Join-Path $dir 'bin'
    $replay = Join-Path $dir 'replay'
    $findings = Join-Path $dir 'findings'
    Remove-Item $dir -Recurse -Force -ErrorAction Ignore
    New-Item -ItemType Directory -Force $dir | Out-Null
    Invoke-Native dotnet @('publish', (Join-Path $root 'tests/Fuzz/PachPS.Fuzz.csproj'), '-c', $Configuration, '-o', $bin, '--nologo', '-v', 'quiet')
    # An uninstrumented copy replays the crashes (instrumented code outside afl-fuzz has no coverage map to write).
    Copy-Item $bin $replay -Recurse
    Invoke-Native dotnet @('tool', 'run', 'sharpfuzz', (Join-Path $bin 'PachPS.Engine.dll'))
    $env:AFL_SKIP_CPUFREQ = '1'
    $env:AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES = '1'
    $env:AFL_SKIP_BIN_CHECK = '1'          # the target is a .NET program; SharpFuzz reports its coverage
    $env:AFL_NO_UI = '1'
    $env:AFL_NO_AFFINITY = '1'             # the machine's cores may be busy with other work
    $env:AFL_FORKSRV_INIT_TMOUT = '60000'  # the runtime starts in seconds, not milliseconds
    # -t: the per-input time budget in ms (a glob's match gives up after 1 s); -V: seconds to run.
    & afl-fuzz -i (Join-Path $root "tests/Fuzz/corpus/$Target") -o $findings -t 5000 -m none -V ([int]($Minutes * 60)) -- (Join-Path $bin 'PachPS.Fuzz') $Target |
        Select-Object -Last 5 | Write-Host
    if ($LASTEXITCODE -ne 0) { throw "afl-fuzz failed with exit code $LASTEXITCODE" }
    $stats = @{}
    Get-Content (Join-Path $findings 'default/fuzzer_stats') -ErrorAction Ignore | ForEach-Object {
        $name, $value = $_ -split '\s*:\s*', 2
        $stats[$name] = $value
    }
    Write-Host "$Target ran $($stats.run_time) s: $($stats.execs_done) execs ($($stats.execs_per_sec)/s), corpus $($stats.corpus_count), crashes $($stats.saved_crashes), hangs $($stats.saved_hangs)"
    $found = Get-ChildItem (Join-Path $findings 'default/crashes'), (Join-Path $findings 'default/hangs') -File -ErrorAction Ignore | Where-Object Name -NE 'README.txt'
    foreach ($file in $found) { Write-Host "$(Split-Path $file.DirectoryName -Leaf): $($file.FullName)" }
    # What each crash throws (hangs would only hang again here).
    $crashes = @($found | Where-Object { $_.DirectoryName -like '*crashes' })
    if ($crashes) { & (Join-Path $replay 'PachPS.Fuzz') $Target @($crashes.FullName) | Where-Object { $_ -notmatch '^\s+at ' } | Write-Host }
}

function Invoke-Soak {
    # The crash campaign at length (tests/Pester/CrashTrial.ps1; CI runs 20 trials in tests/Pester/Crash.Tests.ps1):
    # each trial kills a working session with SIGKILL at a seeded moment, then checks the store. Prints a table of seeds
    # and outcomes, then the problems of the failed trials; fails when any trial did.
    if (-not (Test-Path (Join-Path $moduleDir 'PachPS.dll'))) { Invoke-Build }
    $first = if ($Seed -ge 0) { $Seed } else { [int]([DateTime]::UtcNow.Ticks % 1000000) }
    Write-Host "Soak: $Trials trial(s) from seed $first$(if ($S3) { ', every other one on S3' })"
    if ($S3) { Start-TestS3 }
    try {
        & dotnet pwsh -NoProfile -NonInteractive -Command @"
`$ErrorActionPreference = 'Stop'
. '$root/tests/Pester/TestHelpers.ps1'
. '$root/tests/Pester/CrashTrial.ps1'
Import-Module `$ModulePath
`$folder = Join-Path ([System.IO.Path]::GetTempPath()) ('pachps-soak-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
`$results = foreach (`$i in 0..($Trials - 1)) {
    `$seed = $first + `$i
    `$backend = if ('$S3' -eq 'True' -and `$i % 2) { 'S3' } else { 'Local' }
    `$trial = try { Invoke-CrashTrial -Seed `$seed -Backend `$backend -Store (Join-Path `$folder "trial-`$seed") }
        catch { [pscustomobject]@{ Seed = `$seed; Backend = `$backend; Outcome = 'ERROR'; Problems = @("`$_") } }
    Write-Host ("seed {0} {1}: {2}" -f `$seed, `$backend, `$trial.Outcome)
    Remove-Item (Join-Path `$folder "trial-`$seed*") -Recurse -Force -ErrorAction Ignore
    `$trial
}
`$results | Format-Table Seed, Backend, KilledAfterMs, RecoveryKilledAfterMs, CommittedFiles, Jobs, Seconds, Outcome | Out-String -Width 200 | Write-Host
foreach (`$r in `$results | Where-Object Outcome -NE ok) { Write-Host "seed `$(`$r.Seed):"; `$r.Problems | ForEach-Object { Write-Host "  `$_" } }
`$failed = @(`$results | Where-Object Outcome -NE ok).Count
Write-Host "`$(`$results.Count - `$failed) passed, `$failed failed"
Remove-Item `$folder -Recurse -Force -ErrorAction Ignore
exit ([int](`$failed -gt 0))
"@
    }
    finally { if ($S3) { Stop-TestS3 } }
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Example' { Invoke-Example }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
    'Fuzz' { Invoke-Fuzz }
    'Soak' { Invoke-Soak }
}
