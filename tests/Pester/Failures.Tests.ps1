#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function New-Spec([string] $Name, [string[]] $Cmd, [hashtable] $Extra = @{}) {
        $spec = @{ pipeline = @{ name = $Name }; transform = @{ cmd = $Cmd }; input = @{ pfs = @{ repo = 'src'; glob = '/*' } } }
        foreach ($k in $Extra.Keys) { if ($k -like 'transform.*') { $spec.transform[$k.Substring(10)] = $Extra[$k] } else { $spec[$k] = $Extra[$k] } }
        $spec
    }
}
AfterAll { Disconnect-PachStore }

Describe 'Failure handling, timeouts and stopping' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master good.txt -Value 'good' | Out-Null
        Add-PachFile src master bad.txt -Value 'bad' | Out-Null
    }

    It 'err_cmd exit 0 marks a failing datum recovered: no output, the job succeeds, and the datum runs again next job' {
        New-PachPipeline -Spec (New-Spec 'p' @('sh', '-c', 'grep -q bad $src && exit 1; cp $src /pfs/out/') @{
            datum_tries = 1; 'transform.err_cmd' = @('sh', '-c', 'grep -q bad $src') }) | Out-Null
        $job = Get-PachJob -Pipeline p | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.Recovered | Should -Be 1
        (Get-PachDatum -Job $job.Id | Where-Object State -EQ 'Recovered').InputFiles | Should -Match '/bad\.txt$'
        (Get-PachFile p master).Path | Should -Be '/good.txt'
        Add-PachFile src master other.txt -Value 'other' | Out-Null
        $next = Get-PachJob -Pipeline p | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        $next.Progress | Should -Be '1 + 1 / 3'   # good.txt skipped, other.txt processed, bad.txt recovered again
        $next.Recovered | Should -Be 1
    }

    It 'err_cmd that fails leaves the datum failed and the job failed' {
        New-PachPipeline -Spec (New-Spec 'p' @('sh', '-c', 'exit 3') @{ datum_tries = 1; 'transform.err_cmd' = @('false') }) | Out-Null
        (Get-PachJob -Pipeline p | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Failure'
    }

    It 'datum_timeout kills the process tree and fails with a reason that says so' {
        $started = Get-Date
        New-PachPipeline -Spec (New-Spec 'slow' @('sh', '-c', 'sleep 30.5173 & wait') @{ datum_tries = 1; datum_timeout = '1s' }) | Out-Null
        $job = Get-PachJob -Pipeline slow | Wait-PachJob -TimeoutSec 60
        ((Get-Date) - $started).TotalSeconds | Should -BeLessThan 15
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'datum_timeout 1s exceeded'
        # Zombies (killed, not yet reaped by this sandbox's init) do not count: they run nothing.
        # Only this datum's sleep (its odd duration marks it): other processes on the machine may sleep too.
        $alive = Get-Process sleep -ErrorAction Ignore | Where-Object { $_.StartTime -gt $started -and $_.CommandLine -match '30\.5173' } |
            Where-Object { ((Get-Content "/proc/$($_.Id)/stat" -ErrorAction Ignore) -split ' ')[2] -notin 'Z', 'X', $null }
        @($alive).Count | Should -Be 0 -Because 'the whole process tree is killed'
    }

    It 'job_timeout stops the job and fails it with a reason that says so' {
        New-PachPipeline -Spec (New-Spec 'slow' @('sleep', '30') @{ job_timeout = '2s' }) | Out-Null
        $job = Get-PachJob -Pipeline slow | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'job_timeout 2s exceeded'
        $job.Duration.TotalSeconds | Should -BeLessThan 10
    }

    It 'Stop-PachJob kills running datums within a second and ends the job Killed' {
        New-PachPipeline -Spec (New-Spec 'slow' @('sleep', '30')) | Out-Null
        $deadline = (Get-Date).AddSeconds(30)
        while ((Get-PachJob -Pipeline slow).State -ne 'Running' -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Start-Sleep -Milliseconds 300
        $elapsed = Measure-Command { Get-PachJob -Pipeline slow | Stop-PachJob | Wait-PachJob -TimeoutSec 30 }
        $elapsed.TotalSeconds | Should -BeLessThan 1.5
        (Get-PachJob -Pipeline slow).State | Should -Be 'Killed'
    }

    It 'reprocess_spec every_job never skips' {
        New-PachPipeline -Spec (New-Spec 'every' @('sh', '-c', 'cp $src /pfs/out/') @{ reprocess_spec = 'every_job' }) | Out-Null
        Get-PachJob -Pipeline every | Wait-PachJob -TimeoutSec 60 | Out-Null
        Add-PachFile src master third.txt -Value 'third' | Out-Null
        (Get-PachJob -Pipeline every | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60).Progress | Should -Be '3 + 0 / 3'
    }

    It 'rejects a malformed duration and an unknown reprocess_spec' {
        { New-PachPipeline -Spec (New-Spec 'x' @('true') @{ datum_timeout = 'soon' }) } | Should -Throw -ErrorId 'PipelineSpecInvalid,PachPS.Commands.NewPachPipelineCommand'
        { New-PachPipeline -Spec (New-Spec 'x' @('true') @{ reprocess_spec = 'sometimes' }) } | Should -Throw -ErrorId 'PipelineSpecInvalid,PachPS.Commands.NewPachPipelineCommand'
        Get-PachPipeline | Should -BeNullOrEmpty
    }
}

Describe 'Logs' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
    }

    It 'follows a running job until it ends, as objects; -Tail and -Since filter' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'chatty' }; transform = @{ cmd = @('sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done; echo oops >&2') }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        $startedAt = Get-Date
        $lines = Get-PachLog -Pipeline chatty -Follow
        ((Get-Date) - $startedAt).TotalSeconds | Should -BeGreaterThan 1 -Because 'it waited for the job'
        (Get-PachJob -Pipeline chatty).State | Should -Be 'Success'
        $lines.Message | Should -Be @('line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'oops')
        $lines[-1].Stream | Should -Be 'stderr'
        $lines[0].Pipeline | Should -Be 'chatty'
        $lines[0].Time | Should -BeOfType [DateTimeOffset]
        (Get-PachLog -Pipeline chatty -Tail 2).Message | Should -Be @('line 5', 'oops')
        @(Get-PachLog -Pipeline chatty -Since ([datetime]::Now.AddMinutes(5))).Count | Should -Be 0
        (Get-PachJob -Pipeline chatty | Get-PachLog | Where-Object Stream -EQ stderr).Message | Should -Be 'oops'
    }
}

Describe 'Cron inputs' {
    BeforeEach { Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null }

    It 'ticks every second while the store is open, keeps every tick without overwrite, and ticks on demand' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'heartbeat' }; transform = @{ cmd = @('sh', '-c', 'cp /pfs/beat/* /pfs/out/') }
                                  input = @{ cron = @{ name = 'beat'; spec = '@every 1s' } } } | Out-Null
        $deadline = (Get-Date).AddSeconds(30)
        while (@(Get-PachCommit heartbeat_beat -History -ErrorAction Ignore).Count -lt 3 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
        $ticks = @(Get-PachFile heartbeat_beat master)
        $ticks.Count | Should -BeGreaterOrEqual 3
        $ticks.Name | ForEach-Object { $_ | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$' }
        Suspend-PachPipeline heartbeat | Out-Null
        $count = @(Get-PachFile heartbeat_beat master).Count
        Start-Sleep -Seconds 2
        @(Get-PachFile heartbeat_beat master).Count | Should -Be $count -Because 'a paused pipeline does not tick'
        Resume-PachPipeline heartbeat | Out-Null
        (Invoke-PachCron heartbeat).Repo | Should -Be 'heartbeat_beat'
        Wait-PachCommit heartbeat_beat master | Out-Null
        (Get-PachJob -Pipeline heartbeat | Select-Object -First 1).State | Should -Be 'Success'
        { Invoke-PachCron heartbeat -Input nope -ErrorAction Stop } | Should -Throw -ErrorId 'CronInputNotFound,PachPS.Commands.InvokePachCronCommand'
    }
}

Describe 'Datum batching' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        $starts = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $worker = 'echo start >> "$STARTS"; while :; do echo next > "$PACH_DATUM_REQUEST"; read -r reply < "$PACH_DATUM_RESPONSE"; [ "$reply" = done ] && exit 0; . "$PACH_DATUM_ENV"; case "$in" in *fail*) exit 7;; esac; cp "$in" /pfs/out/; done'
    }

    It 'runs 1,000 datums in one process start' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        foreach ($i in 1..1000) { [IO.File]::WriteAllText((Join-Path $folder "f$i.txt"), "$i") }
        Add-PachFile src master / -Source $folder -Recurse | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; transform = @{ cmd = @('sh', '-c', $worker); env = @{ STARTS = $starts }; datum_batching = $true }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*'; name = 'in' } } } | Out-Null
        $job = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 300
        $job.State | Should -Be 'Success' -Because $job.Reason
        $job.Progress | Should -Be '1000 + 0 / 1000'
        @(Get-Content $starts).Count | Should -Be 1 -Because 'the transform counts its own starts'
        (Get-PachCommit batched master).FileCount | Should -Be 1000
        Get-PachFileContent batched master /f777.txt | Should -Be '777'
        Add-PachFile src master /new.txt -Value 'new' | Out-Null
        (Get-PachJob -Pipeline batched | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60).Progress | Should -Be '1 + 1000 / 1001'
    }

    It 'retries a datum whose worker exits non-zero in a restarted worker, then fails the job naming it' {
        Add-PachFile src master ok1.txt -Value '1' | Out-Null
        Add-PachFile src master fail.txt -Value 'x' | Out-Null
        Add-PachFile src master ok2.txt -Value '2' | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; datum_tries = 2
                                  transform = @{ cmd = @('sh', '-c', $worker); env = @{ STARTS = $starts }; datum_batching = $true }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*'; name = 'in' } } } | Out-Null
        $job = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'after 2 attempt'
        $job.Reason | Should -Match 'exit code 7'
        @(Get-Content $starts).Count | Should -BeGreaterOrEqual 2
    }

    It 'lets a PowerShell transform loop over Get-PachNextDatum' {
        Add-PachFile src master a.txt -Value 'alpha' | Out-Null
        Add-PachFile src master b.txt -Value 'beta' | Out-Null
        $script = Join-Path $TestDrive 'transform.ps1'
        Set-Content $script @"
Import-Module '$ModulePath'
Add-Content '$starts' start
while (`$datum = Get-PachNextDatum) {
    (Get-Content `$env:in).ToUpper() | Set-Content (Join-Path `$env:OUT (Split-Path `$env:in -Leaf))
}
"@
        $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'upper' }; transform = @{ cmd = @('dotnet', $pwshDll, '-NoProfile', '-File', $script); env = @{ OUT = '/pfs/out' }; datum_batching = $true }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*'; name = 'in' } } } | Out-Null
        $job = Get-PachJob -Pipeline upper | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        Get-PachFileContent upper master a.txt | Should -Be 'ALPHA'
        Get-PachFileContent upper master b.txt | Should -Be 'BETA'
        @(Get-Content $starts).Count | Should -Be 1
    }
}

Describe 'Restart-PachDatum' {
    BeforeEach { Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null }

    It 'reruns a finished datum while the job still runs; the new result replaces the old; after the job, a new job redoes it' {
        New-PachRepo src | Out-Null
        Add-PachFile src master slow.txt -Value 'slow' | Out-Null
        Add-PachFile src master quick.txt -Value 'quick' | Out-Null
        $gate = Join-Path $TestDrive 'gate'
        $runs = Join-Path $TestDrive 'runs'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'p' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sh', '-c', "echo `$src >> $runs; case `$src in */slow.txt) while [ ! -f $gate ]; do sleep 0.05; done;; esac; wc -l < $runs > /pfs/out/`$(basename `$src)") }
            input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline p
        $deadline = (Get-Date).AddSeconds(30)
        while (@(Get-PachDatum -Job $job.Id | Where-Object { $_.State -eq 'Success' -and $_.InputFiles -match 'quick' }).Count -eq 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $quick = Get-PachDatum -Job $job.Id | Where-Object InputFiles -Match 'quick'
        ($quick | Restart-PachDatum) | Should -Be $quick.DatumId
        $deadline = (Get-Date).AddSeconds(30)
        while (@(Get-Content $runs | Where-Object { $_ -match 'quick' }).Count -lt 2 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Set-Content $gate ''
        $done = $job | Wait-PachJob -TimeoutSec 60
        $done.State | Should -Be 'Success'
        $done.Progress | Should -Be '2 + 0 / 2'
        @(Get-Content $runs | Where-Object { $_ -match 'quick' }).Count | Should -Be 2
        [int](Get-PachFileContent p master quick.txt) | Should -Be 3 -Because 'the output is the rerun''s (third line of the runs file)'
        # Once the job has finished, restarting the datum starts a new job that redoes it and carries over the other.
        $rerun = Restart-PachDatum -Job $job.Id -Datum $quick.DatumId
        $rerun.Trigger | Should -Be 'Rerun'
        ($rerun | Wait-PachJob -TimeoutSec 60).Progress | Should -Be '1 + 1 / 2'
        @(Get-Content $runs | Where-Object { $_ -match 'slow' }).Count | Should -Be 1
    }
}

Describe 'File system failures stop only their item' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'fs-store') | Out-Null
        New-PachRepo docs | Out-Null
        Add-PachFile docs master one.txt -Value 'one' | Out-Null
        Add-PachFile docs master two.txt -Value 'two' | Out-Null
        Set-Content (Join-Path $TestDrive 'blocker') 'a file, not a folder'
    }

    It 'a Save-PachFile destination that cannot be created is FileSystemError for that file alone; the next file is saved' {
        $items = @(
            [pscustomobject]@{ Repo = 'docs'; Commit = 'master'; Path = '/one.txt'; Destination = (Join-Path $TestDrive 'blocker/sub/one.txt') }
            [pscustomobject]@{ Repo = 'docs'; Commit = 'master'; Path = '/two.txt'; Destination = (Join-Path $TestDrive 'ok/two.txt') }
        )
        $saved = $items | ForEach-Object { $_ | Save-PachFile -Destination $_.Destination -ErrorVariable failed -ErrorAction SilentlyContinue; $failed }
        $errors = @($saved | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FileSystemError,PachPS.Commands.SavePachFileCommand'
        Get-Content (Join-Path $TestDrive 'ok/two.txt') | Should -Be 'two'
    }
}

Describe 'A glob that backtracks for ever' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo words | Out-Null
        Add-PachFile words master ('/' + ('a' * 40)) -Value 'x' | Out-Null
    }
    AfterAll { Disconnect-PachStore }

    It 'fails a listing and a job with GlobTooComplex within seconds instead of hanging' {
        { Get-PachFile words master '/+(a|aa)b' -ErrorAction Stop } | Should -Throw -ErrorId 'GlobTooComplex,PachPS.Commands.GetPachFileCommand'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'stuck' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'words'; glob = '/+(a|aa)b' } } } | Out-Null
        $job = Get-PachJob -Pipeline stuck | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match '^GlobTooComplex while planning its datums'
    }
}
