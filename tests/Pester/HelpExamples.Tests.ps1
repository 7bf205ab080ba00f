#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Runs every example in the compiled help, each against its own copy of one prepared store (the tutorial's repos and
# pipelines plus the repos the examples name) from its own copy of a working folder holding the files they read.
# Conventions the examples follow: 1f0c2b6a stands for a job id and 9e3d4c7a for a datum id (the test puts in $job's
# id and one of its datums'); $job is the latest inference job unless $Context says otherwise; `$c | ...` without
# `$c = ...` means a commit opened on training master. Examples that are a datum-batching transform
# (Get-PachNextDatum) run as one, in a pipeline. $Context brings the store to the state an example's text assumes
# where the shared store differs (an example that creates what the store already has, or one about a running job).
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $examples = foreach ($command in Get-Command -Module PachPS -CommandType Cmdlet) {
        $n = 0
        foreach ($example in (Get-Help $command.Name -Full).examples.example) {
            @{ Name = $command.Name; Number = ++$n; Code = ($example.code -join "`n") }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $fixtureStore = Join-Path $TestDrive 'fixture-store'
    $fixtureWork = New-Item -ItemType Directory (Join-Path $TestDrive 'fixture-work')
    $t = $Transforms
    Push-Location $fixtureWork
    try {
        Copy-Item (Join-Path $Tutorial 'data/*.csv') .
        Get-TutorialSpec pre-process.json "sh $t/pre_process.sh `$training /pfs/out/" | Set-Content pre-process.json
        Get-TutorialSpec train.json "sh $t/train.sh /pfs/pre_process/x_train.csv /pfs/pre_process/y_train.csv /pfs/out/" | Set-Content train.json
        Get-TutorialSpec infer.json "sh $t/infer.sh /pfs/train/model.csv `$attributes /pfs/out/" | Set-Content infer.json
        New-Item -ItemType Directory data, drop | Out-Null
        'x,1' | Set-Content data/a.csv
        'y,2' | Set-Content data/b.csv
        'jpeg' | Set-Content drop/cam1.jpg
        1..2500 | ForEach-Object { "GET /item/$_ 200" } | Set-Content access.log
        'a,1' | Set-Content a.csv
        'b,2' | Set-Content b.csv
        'started' | Set-Content app.log
        'oops' | Set-Content bad.log

        Connect-PachStore -Path $fixtureStore | Out-Null
        New-PachRepo training, attributes, logs, models, images, config, text, raw, staging, scratch, scratch-1, test-1 | Out-Null
        foreach ($rows in 10, 50, 100) { Add-PachFile training master iris.csv -Value ((Get-Content ./iris.csv -TotalCount $rows) -join "`n") | Out-Null }
        Add-PachFile training master iris.csv -Source ./iris.csv | Out-Null
        New-PachBranch training dev master | Out-Null
        New-PachTag training v1 -Commit master^ -Message 'before the full data' | Out-Null
        Add-PachFile attributes master -Source ./test1.csv, ./test2.csv | Out-Null
        Add-PachFile logs master -Source ./app.log | Out-Null
        Add-PachFile logs master /tmp/x.tmp -Value 'scratch' | Out-Null
        Add-PachFile logs master /y.tmp -Value 'scratch' | Out-Null
        Add-PachFile models master model.bin -Value ([byte[]](1, 2, 3)) | Out-Null
        Add-PachFile images master /2026-11-26/cam1.jpg -Value 'jpeg' | Out-Null
        Add-PachFile text master words.txt -Value 'one two three' | Out-Null
        Add-PachFile raw master /2026-11-26.csv -Value "a`n`nb" | Out-Null
        New-PachPipeline -Path ./pre-process.json | Out-Null
        New-PachPipeline -Path ./train.json | Out-Null
        New-PachPipeline -Path ./infer.json | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'nightly_report' }; transform = @{ cmd = @('sh', '-c', 'date > /pfs/out/report.txt') }
            input = @{ cron = @{ name = 'tick'; spec = '@every 24h' } } } | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'broken' }; transform = @{ cmd = @('sh', '-c', 'echo failing >&2; exit 1') }; datum_tries = 1
            input = @{ pfs = @{ repo = 'raw'; glob = '/*' } } } | Out-Null
        Wait-PachCommit attributes master | Out-Null
        Wait-PachCommit raw master | Out-Null
        Disconnect-PachStore
    }
    finally { Pop-Location }

    # A folder where `Import-Module PachPS` finds this build (for examples that run inside a datum).
    $modules = New-Item -ItemType Directory (Join-Path $TestDrive 'modules')
    New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'PachPS') -Target $RepoRoot | Out-Null
    $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
    $script:run = 0
    $running = {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'slow' }; transform = @{ cmd = @('sleep', '60') }; input = @{ pfs = @{ repo = 'raw'; glob = '/*' } } } | Out-Null
        $deadline = (Get-Date).AddSeconds(30)
        do { $job = Get-PachJob -Pipeline slow; Start-Sleep -Milliseconds 50 } while ($job.State -ne 'Running' -and (Get-Date) -lt $deadline)
    }
    # A second spec version of inference (parallelism 3), for the examples that compare versions.
    $twoVersions = {
        $s = (Get-PachPipeline inference).Spec.Json | ConvertFrom-Json
        $s.parallelism_spec.constant = 3
        Update-PachPipeline -Spec ($s | ConvertTo-Json -Depth 20) | Out-Null
    }
    # The AWS default chain's keys are the test S3 server's from the start (the SDK may keep what it first resolved).
    if ($env:PACHPS_TEST_S3_ENDPOINT) {
        $env:AWS_ACCESS_KEY_ID = $env:PACHPS_TEST_S3_ACCESS_KEY
        $env:AWS_SECRET_ACCESS_KEY = $env:PACHPS_TEST_S3_SECRET_KEY
    }
    # A bucket 'lake' on the test S3 server with 2026/11/a.csv and b.csv (Import-PachObject).
    $lake = {
        if (-not $env:PACHPS_TEST_S3_ENDPOINT) { return }
        $aws = @('--endpoint-url', $env:PACHPS_TEST_S3_ENDPOINT, '--region', 'us-east-1', 's3')
        & aws @aws mb s3://lake 2>$null | Out-Null   # fails harmlessly when it exists
        'a,1' | Set-Content (Join-Path $TestDrive 'lake-a.csv')
        & aws @aws cp (Join-Path $TestDrive 'lake-a.csv') s3://lake/2026/11/a.csv --only-show-errors
        & aws @aws cp (Join-Path $TestDrive 'lake-a.csv') s3://lake/2026/11/b.csv --only-show-errors
    }
    $Context = @{
        'Import-PachObject 1'   = $lake
        'Import-PachObject 2'   = $lake
        'Compare-PachPipeline 1' = $twoVersions
        'Compare-PachPipeline 2' = $twoVersions
        'Compare-PachPipeline 3' = $twoVersions
        'Complete-PachCommit 1' = { Start-PachCommit training master | Out-Null }
        'New-PachBranch 1'      = { Remove-PachBranch training dev -Confirm:$false }
        'New-PachPipeline 1'    = { 'inference', 'train', 'pre_process' | ForEach-Object { Remove-PachPipeline $_ -Confirm:$false }; $job = $null }
        'New-PachRepo 1'        = {
            'inference', 'train', 'pre_process', 'nightly_report', 'broken' | ForEach-Object { Remove-PachPipeline $_ -Confirm:$false }
            'training', 'attributes' | ForEach-Object { Remove-PachRepo $_ -Confirm:$false }
            $job = $null
        }
        'New-PachRepo 2'        = { Remove-PachRepo images -Confirm:$false }
        'Set-PachBranchTrigger 1' = { New-PachBranch images staging master | Out-Null }
        'Set-PachBranchTrigger 2' = { New-PachBranch images staging master | Out-Null }
        'Set-PachBranchTrigger 3' = { New-PachBranch images staging -Trigger master | Out-Null }
        'Restart-PachDatum 1'   = $running
        'Restart-PachDatum 2'   = $running
        'Stop-PachJob 1'        = $running
        'Stop-PachJob 2'        = $running
        'Remove-PachCommit 5'   = { Add-PachFile attributes master test3.csv -Value '5.1,3.5,1.4,0.2' | Out-Null; Wait-PachCommit attributes master | Out-Null }
        'Remove-PachRetention 1' = { Set-PachRetention raw master -KeepCommits 30 | Out-Null }
        'Remove-PachRetention 2' = { Set-PachRetention raw master -KeepCommits 30 | Out-Null }
        'Revoke-PachToken 1'    = { $revoke = New-PachToken someone }
        'Revoke-PachToken 2'    = { New-PachToken alice | Out-Null }
        'Test-PachStore 4'      = { Disconnect-PachStore; Copy-Item $store (Join-Path $work 'replica') -Recurse; Connect-PachStore -Path $store | Out-Null }
    }
}

Describe 'Example <Number> of <Name>' -ForEach $examples {
    BeforeAll {
        $script:run++
        $store = Join-Path $TestDrive "store-$run"
        $work = Join-Path $TestDrive "work-$run"
        Copy-Item $fixtureStore $store -Recurse
        Copy-Item $fixtureWork $work -Recurse
        Connect-PachStore -Path $store | Out-Null
        $job = Get-PachJob -Pipeline inference | Select-Object -First 1
        if ($Name -like '*-PachToken' -or $Code -match '-Server ') {
            # Examples about a server run against one over this example's store, connected as its admin.
            Disconnect-PachStore
            $server = Start-TestServer $store
            Connect-PachStore -Server $server.Uri -Token $server.Token -CertificateThumbprint $server.Thumbprint | Out-Null
        }
        if ($Context["$Name $Number"]) { . $Context["$Name $Number"] }
        $datum = if ($job) { Get-PachDatum -Job $job.Id | Select-Object -First 1 }
    }
    AfterAll {
        Get-PachJob -State Running | Stop-PachJob
        Disconnect-PachStore
        Stop-TestServer $store
    }

    It 'runs' {
        $code = $Code
        if ($job) { $code = $code -replace '1f0c2b6a', $job.Id.Substring(0, 12) -replace '9e3d4c7a', $datum.DatumId.Substring(0, 12) }
        if ($code -match '\$c \|' -and $code -notmatch '\$c =') { $c = Start-PachCommit training master }
        if ($server) {
            # The server the example names is the test's, with its token and certificate.
            $code = $code -replace 'https://pach\.example:7443', $server.Uri -replace '\(Read-Host -AsSecureString\)', "'$($server.Token)'" `
                -replace '-CertificateThumbprint \S+', "-CertificateThumbprint $($server.Thumbprint)"
            if ($revoke) { $code = $code -replace '4cb9d584d9b1', $revoke.TokenId }
        }
        if ($code -match 'S3Bucket|s3://') {
            # Against the test S3 server (and test cluster); $key without `$key =` is the credential Get-Credential gave.
            if (-not $env:PACHPS_TEST_S3_ENDPOINT) { Set-ItResult -Skipped -Because 'no test S3 server (build.ps1 Test starts one)' ; return }
            function Get-Credential { Get-TestS3Credential }
            $key = Get-TestS3Credential
            $code = $code -replace 'http://127\.0\.0\.1:7480', $env:PACHPS_TEST_S3_ENDPOINT
            if ($code -match '-Kubernetes') {
                if (-not $env:PACHPS_TEST_KUBECONFIG) { Set-ItResult -Skipped -Because 'no test Kubernetes API server (build.ps1 Test starts one)' ; return }
                Copy-Item $env:PACHPS_TEST_KUBECONFIG (Join-Path $work 'kubeconfig')
            }
        }
        if ($code -match '-ContainerRuntime (Podman|Docker)') {
            # In Podman's busybox test image (the setup script installs podman and makes the image, or says why it cannot).
            $setup = & bash (Join-Path $RepoRoot 'tests/containers/setup-podman.sh') 2>&1 | Select-Object -Last 1
            if ($LASTEXITCODE -ne 0) { Set-ItResult -Skipped -Because "podman cannot run here: $setup"; return }
            $env:CONTAINERS_CONF = "$setup".Substring('CONTAINERS_CONF='.Length)
        }
        Push-Location $work
        # As where PachPS is installed: `Import-Module PachPS` (in a ForEach-Object -Parallel example) finds this build.
        $modulePath = $env:PSModulePath
        $env:PSModulePath = "$TestDrive/modules" + [System.IO.Path]::PathSeparator + $modulePath
        try {
            if ($Name -eq 'Get-PachNextDatum') {
                # The example is a batching transform: a PowerShell script, or a `# transform.cmd: [...]` line.
                $cmd = if ($code -match '^# transform\.cmd: (\[.*\])') { $Matches[1] | ConvertFrom-Json }
                else { Set-Content ./transform.ps1 $code; @('dotnet', $pwshDll, '-NoProfile', '-NonInteractive', '-File', "$work/transform.ps1") }
                New-PachRepo words | Out-Null
                Add-PachFile words master -Value 'abc' -Path /1.txt | Out-Null
                Add-PachFile words master -Value 'def' -Path /2.txt | Out-Null
                New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; transform = @{ cmd = $cmd; env = @{ PSModulePath = "$TestDrive/modules" }; datum_batching = $true }
                    input = @{ pfs = @{ name = 'in'; repo = 'words'; glob = '/*' } } } | Out-Null
                $done = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 120
                $done.State | Should -Be 'Success' -Because "$($done.Reason) $(Get-PachLog -Job $done.Id | Out-String)"
                (Get-PachFile batched master).Path | Should -Be @('/1.txt', '/2.txt')
                return
            }
            # As typed at a prompt: errors stop it, and a -Confirm prompt is answered yes.
            $ErrorActionPreference = 'Stop'
            $ConfirmPreference = 'None'
            & ([scriptblock]::Create($code)) | Out-String | Out-Null
        }
        finally {
            $env:PSModulePath = $modulePath
            Pop-Location
        }
    }
}
