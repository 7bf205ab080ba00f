#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# transform.image in local containers (Connect-PachStore -ContainerRuntime Podman or Docker): the tutorial's pipelines in
# a busybox image made offline, the spec's env, working_dir, user, resource_limits, network and secrets, one warm
# container per worker, datum_batching, datum_timeout. tests/containers/setup-podman.sh and setup-docker.sh install the
# runtime (and busybox-static) when missing and make the image; where one cannot run, its tests are skipped saying why.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $runtimes = foreach ($runtime in 'Podman', 'Docker') {
        $setup = if ($IsLinux) { & bash (Join-Path $RepoRoot "tests/containers/setup-$($runtime.ToLowerInvariant()).sh") 2>&1 | Select-Object -Last 1 } else { 'containers are tested on Linux' }
        $ready = $IsLinux -and $LASTEXITCODE -eq 0 -and "$setup" -match '^(CONTAINERS_CONF|DOCKER_HOST)='
        if (-not $ready) { Write-Warning "$runtime container tests SKIPPED: $setup" }
        @{ Runtime = $runtime; Unavailable = -not $ready; Setup = "$setup" }
    }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $image = 'localhost/pachps-busybox:test'
}

Describe 'Pipelines in <Runtime> containers' -ForEach $runtimes -Skip:$Unavailable {
    BeforeAll {
        # The runtime's settings as its setup script printed them (CONTAINERS_CONF=... or DOCKER_HOST=...).
        $variable, $value = $Setup -split '=', 2
        Set-Item "env:$variable" $value
        $cli = $Runtime.ToLowerInvariant()
        function Get-PachContainers { @(& $cli ps --all --filter name=pachps- --format '{{.Names}}' | Where-Object { $_ }) }
        function New-Store([string] $With = $Runtime) {
            $path = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
            if ($With) { Connect-PachStore -Path $path -ContainerRuntime $With } else { Connect-PachStore -Path $path }
        }
    }
    AfterEach { Disconnect-PachStore }

    It 'runs the tutorial''s pipelines in the image, and the store remembers the runtime' {
        $store = New-Store
        $store.Executor | Should -Match "$Runtime containers"
        (Get-Content (Join-Path $store.Path 'store.json') -Raw | ConvertFrom-Json).Containers.Runtime | Should -Be $Runtime
        New-PachRepo training, attributes | Out-Null
        Add-PachFile training master iris.csv -Source (Join-Path $Tutorial 'data/iris.csv') | Out-Null
        Add-PachFile attributes master -Source (Join-Path $Tutorial 'data/test1.csv'), (Join-Path $Tutorial 'data/test2.csv') | Out-Null
        $inImage = { param($spec) $spec.transform.image = $image; $spec.transform.cmd = @('sh') }
        Get-TutorialSpec pre-process.json 'sh /code/pre_process.sh $training /pfs/out/' $inImage | Set-Content TestDrive:/pre-process.json
        Get-TutorialSpec train.json 'replaced by cmd' {
            param($spec) $spec.transform.image = $image
            $spec.transform.cmd = @('sh', '/code/train.sh', '/pfs/pre_process/x_train.csv', '/pfs/pre_process/y_train.csv', '/pfs/out/')
            $spec.transform.stdin = @()
        } | Set-Content TestDrive:/train.json
        Get-TutorialSpec infer.json 'sh /code/infer.sh /pfs/train/model.csv $attributes /pfs/out/' $inImage | Set-Content TestDrive:/infer.json
        foreach ($spec in 'pre-process', 'train', 'infer') { New-PachPipeline -Path "TestDrive:/$spec.json" | Out-Null }
        Wait-PachCommit training master -TimeoutSec 180 | Out-Null
        Wait-PachCommit attributes master -TimeoutSec 180 | Out-Null
        foreach ($p in 'pre_process', 'train', 'inference') {
            $job = Get-PachJob -Pipeline $p | Select-Object -First 1
            $job.State | Should -Be 'Success' -Because "$p`: $($job.Reason) $(Get-PachLog -Job $job.Id | Out-String)"
            (Get-PachLog -Job $job.Id | Where-Object Stream -eq executor).Message | Should -Match "$Runtime containers of image '$([regex]::Escape($image))'"
        }
        @(Get-PachFileContent pre_process master x_train.csv).Count | Should -Be 150
        (Get-PachFile inference master).Path | Should -Be @('/test1.csv', '/test2.csv')
        @(Get-PachFileContent inference master test1.csv).Count | Should -BeGreaterThan 0
        # The job is over: its workers' containers are gone (a job's folders deleted end them within seconds).
        $deadline = (Get-Date).AddSeconds(20)
        while ((Get-PachContainers).Count -gt 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 500 }
        Get-PachContainers | Should -BeNullOrEmpty
        # Reconnected without the parameter, the store still runs containers; None forgets the runtime.
        Disconnect-PachStore
        (Connect-PachStore -Path $store.Path).Executor | Should -Match "$Runtime containers"
        Disconnect-PachStore
        (Connect-PachStore -Path $store.Path -ContainerRuntime None).Executor | Should -Not -Match 'containers'
    }

    It 'gives each datum the image''s file system, env, working_dir, user, limits and no network, one warm container per worker' {
        New-Store | Out-Null
        New-PachRepo words | Out-Null
        1..6 | ForEach-Object { Add-PachFile words master "/w$_.txt" -Value "word $_" } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'probe' }; parallelism_spec = @{ constant = 2 }
            resource_limits = @{ cpu = '500m'; memory = '64Mi' }
            transform = @{
                image = $image; env = @{ GREETING = 'hi there' }; working_dir = '/code'; user = '1000:1000'
                cmd = @('sh', '-c', @'
o=/pfs/out/$(basename $words)
{ echo "env=$GREETING"; echo "pwd=$(pwd)"; echo "uid=$(id -u):$(id -g)"; echo "host=$(hostname)"
  if [ -e /usr/bin/dotnet ] || [ -e /usr/share/dotnet ]; then echo fs=host; else echo fs=image; fi
  echo "nics=$(tail -n +3 /proc/net/dev | wc -l)"
  echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max)"
  echo "data=$(cat $words)"; } > $o
'@)
            }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline probe | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because "$($job.Reason) $(Get-PachLog -Job $job.Id | Out-String)"
        $seen = foreach ($n in 1..6) {
            $text = @(Get-PachFileContent probe master "/w$n.txt")
            $map = @{}; foreach ($l in $text) { $k, $v = $l -split '=', 2; $map[$k] = $v }
            $map
        }
        foreach ($m in $seen) {
            $m.env | Should -Be 'hi there'
            $m.pwd | Should -Be '/code'
            $m.uid | Should -Be '1000:1000'
            $m.fs | Should -Be 'image'
            $m.nics | Should -Be '1' -Because 'only lo: no network unless the spec asks'
            $m.mem | Should -Be (64MB).ToString()
            $m.cpu | Should -Be '50000'
        }
        ($seen.data | Sort-Object) | Should -Be (1..6 | ForEach-Object { "word $_" })
        # Two workers: six datums ran in two containers, not six.
        @($seen.host | Sort-Object -Unique).Count | Should -Be 2
    }

    It 'serves datum_batching from one container per worker, and lets a pipeline ask for a network or run locally' {
        New-Store | Out-Null
        New-PachRepo words | Out-Null
        1..4 | ForEach-Object { Add-PachFile words master "/w$_.txt" -Value "word $_" } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'batched' }
            transform = @{
                image = $image; datum_batching = $true; pachps_network = 'host'
                cmd = @('sh', '-c', @'
while :; do
  echo next > "$PACH_DATUM_REQUEST"; read -r reply < "$PACH_DATUM_RESPONSE"
  [ "$reply" = done ] && exit 0
  . "$PACH_DATUM_ENV"
  { hostname; tail -n +3 /proc/net/dev | wc -l; } > "/pfs/out/$(basename $words)"
done
'@)
            }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } }
        } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'local' }
            transform = @{ image = $image; pachps_container_runtime = 'none'; cmd = @('sh', '-c', 'if [ -e /usr/bin/dotnet ] || [ -e /usr/share/dotnet ]; then echo host; else echo image; fi > /pfs/out/where') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because "$($job.Reason) $(Get-PachLog -Job $job.Id | Out-String)"
        $outputs = 1..4 | ForEach-Object { , @(Get-PachFileContent batched master "/w$_.txt") }
        @($outputs | ForEach-Object { $_[0] } | Sort-Object -Unique).Count | Should -Be 1 -Because 'one container served every datum'
        $outputs | ForEach-Object { [int]$_[1] } | Should -BeGreaterThan 1 -Because 'pachps_network host shows the host''s interfaces'
        (Get-PachJob -Pipeline local | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        Get-PachFileContent local master where | Should -Be 'host'
    }

    It 'reaches the datum''s S3 endpoint from the container of a pipeline with an s3 input' {
        New-Store | Out-Null
        New-PachRepo lab | Out-Null
        Add-PachFile lab master a.csv -Value 'x' | Out-Null
        # busybox has no S3 client: an unsigned request shows the endpoint answers (403, anonymous access refused).
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'reach' }
            transform = @{ image = $image; cmd = @('sh', '-c', 'echo "$S3_ENDPOINT" > /pfs/out/endpoint; wget -q -O /dev/null "$S3_ENDPOINT/lab/a.csv" 2> /pfs/out/answer; true') }
            input = @{ pfs = @{ repo = 'lab'; glob = '/'; s3 = $true } }
        } | Out-Null
        $job = Get-PachJob -Pipeline reach | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because "$($job.Reason) $(Get-PachLog -Job $job.Id | Out-String)"
        Get-PachFileContent reach master endpoint | Should -Match '^http://127\.0\.0\.1:\d+$'
        Get-PachFileContent reach master answer -Raw | Should -Match '403'
    }

    It 'runs a pipeline''s container runtime over a store without one, and fails datums whose image is missing, naming it' {
        New-Store -With '' | Out-Null
        New-PachRepo words | Out-Null
        Add-PachFile words master /a.txt -Value 'a' | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'boxed' }
            transform = @{ image = $image; pachps_container_runtime = $cli; cmd = @('sh', '-c', 'hostname > /pfs/out/host') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } }
        } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'missing' }; datum_tries = 1
            transform = @{ image = 'localhost/pachps-no-such-image:1'; pachps_container_runtime = $cli; cmd = @('true') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } }
        } | Out-Null
        (Get-PachJob -Pipeline boxed | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        Get-PachFileContent boxed master host | Should -Not -Be ([System.Net.Dns]::GetHostName())
        $failed = Get-PachJob -Pipeline missing | Wait-PachJob -TimeoutSec 120
        $failed.State | Should -Be 'Failure'
        (Get-PachDatum -Job $failed.Id).Reason | Should -Match "image 'localhost/pachps-no-such-image:1' is not in $Runtime's local images"
    }

    It 'gives the container the transform''s secrets: env_var by name, mount_path read-only' {
        New-Store | Out-Null
        New-PachRepo words | Out-Null
        Add-PachFile words master /a.txt -Value 'a' | Out-Null
        Set-Content TestDrive:/tls.env 'cert=certdata'
        $env:PACHPS_SECRET_DB_PASSWORD = 's3cret'
        $env:PACHPS_SECRET_TLS = (Resolve-Path TestDrive:/tls.env).ProviderPath
        try {
            New-PachPipeline -Spec @{
                pipeline = @{ name = 'secretive' }
                transform = @{ image = $image; secrets = @(@{ name = 'db'; key = 'password'; env_var = 'DB_PASSWORD' }, @{ name = 'tls'; mount_path = '/etc/tls' })
                    cmd = @('sh', '-c', '{ echo "$DB_PASSWORD"; cat /etc/tls/cert; echo; touch /etc/tls/x 2>/dev/null && echo writable || echo read-only; } > /pfs/out/seen') }
                input = @{ pfs = @{ repo = 'words'; glob = '/' } }
            } | Out-Null
            $job = Get-PachJob -Pipeline secretive | Wait-PachJob -TimeoutSec 60
            $job.State | Should -Be 'Success' -Because "$($job.Reason) $(Get-PachLog -Job $job.Id | Out-String)"
            Get-PachFileContent secretive master seen | Should -Be @('s3cret', 'certdata', 'read-only')
            (Get-PachLog -Job $job.Id | Out-String) | Should -Not -Match 's3cret'
        }
        finally { Remove-Item env:PACHPS_SECRET_DB_PASSWORD, env:PACHPS_SECRET_TLS -ErrorAction Ignore }
    }

    It 'stops a datum past datum_timeout and removes its container' {
        New-Store | Out-Null
        New-PachRepo words | Out-Null
        Add-PachFile words master /a-fast.txt -Value 'fast' | Out-Null
        Add-PachFile words master /b-slow.txt -Value 'slow' | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'timed' }; datum_timeout = '15s'; datum_tries = 1
            transform = @{ image = $image; cmd = @('sh', '-c', 'grep -q slow $words && sleep 60; hostname > /pfs/out/$(basename $words)') }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline timed | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Failure'
        $datums = Get-PachDatum -Job $job.Id
        ($datums | Where-Object State -eq 'Failed').Reason | Should -Match 'datum_timeout 15s exceeded'
        ($datums | Where-Object State -eq 'Success').Count | Should -Be 1
        $deadline = (Get-Date).AddSeconds(20)
        while ((Get-PachContainers).Count -gt 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 500 }
        Get-PachContainers | Should -BeNullOrEmpty
    }

    It 'refuses a runtime without an image, an unknown runtime and a runtime not on PATH' {
        New-Store -With '' | Out-Null
        New-PachRepo words | Out-Null
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'x' }; transform = @{ pachps_container_runtime = $cli; cmd = @('true') }; input = @{ pfs = @{ repo = 'words'; glob = '/' } } } -ErrorAction Stop } |
            Should -Throw -ErrorId 'ContainerImageMissing*'
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'x' }; transform = @{ image = $image; pachps_container_runtime = 'lxc'; cmd = @('true') }; input = @{ pfs = @{ repo = 'words'; glob = '/' } } } -ErrorAction Stop } |
            Should -Throw -ErrorId 'PipelineSpecInvalid*'
        $path = $env:PATH
        try {
            $env:PATH = '/nonexistent'
            { New-PachPipeline -Spec @{ pipeline = @{ name = 'x' }; transform = @{ image = $image; pachps_container_runtime = $cli; cmd = @('true') }; input = @{ pfs = @{ repo = 'words'; glob = '/' } } } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ContainerRuntimeNotFound*'
            { Connect-PachStore -Path (Join-Path $TestDrive 'noruntime') -ContainerRuntime $Runtime } | Should -Throw -ErrorId 'ContainerRuntimeNotFound*'
        }
        finally { $env:PATH = $path }
    }
}
