#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 17, items 6 and 7: pipeline spec history, rollback and comparison; jobs run by hand on chosen input commits,
# and new jobs that redo some datums of a finished job.
BeforeAll {
    # The engine's types load in an AssemblyLoadContext of their own, so tests name them by full name, not as [type].
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function New-CopySpec([string] $Stdin = 'cp "$src" /pfs/out/', [int] $Parallelism = 1) {
        @{ pipeline = @{ name = 'copy' }; parallelism_spec = @{ constant = $Parallelism }; datum_tries = 1
            transform = @{ cmd = @('sh'); stdin = @($Stdin) }; input = @{ pfs = @{ repo = 'src'; glob = '/*' } } }
    }
    function Get-StoreState {
        # What a refused call must leave as it was: pipeline versions, jobs and output heads.
        $pipelines = Get-PachPipeline | ForEach-Object { "$($_.Name) v$($_.Version) $(@(Get-PachPipeline $_.Name -History).Count)" }
        $heads = Get-PachRepo | ForEach-Object { "$($_.Name)=$((Get-PachBranch $_.Name | ForEach-Object Head) -join ',')" }
        (@($pipelines) + @($heads) + "jobs:$(@(Get-PachJob).Count)") -join '|'
    }
}
AfterAll { Disconnect-PachStore }

Describe 'Pipeline history and rollback' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'alpha' | Out-Null
        Add-PachFile src master b.txt -Value 'beta' | Out-Null
    }

    It 'lists every spec version, newest first, with what made it, after create, update, -Reprocess and rollback' {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60 | Out-Null
        Update-PachPipeline -Spec (New-CopySpec -Parallelism 2) | Out-Null
        Update-PachPipeline -Spec (New-CopySpec 'echo v3 > /pfs/out/$(basename "$src")') -Reprocess | Out-Null
        (Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        Get-PachFileContent copy master a.txt | Should -Be 'v3'

        $restored = Update-PachPipeline copy -Version 1
        $restored.Version | Should -Be 4
        $job = Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.PipelineVersion | Should -Be 4
        $job.Progress | Should -Be '2 + 0 / 2' -Because 'version 3 made other outputs, so version 1''s datums run again'
        Get-PachFileContent copy master a.txt | Should -Be 'alpha'

        $history = Get-PachPipeline copy -History
        $history.Version | Should -Be @(4, 3, 2, 1)
        $history.Change | Should -Be @('Rollback', 'Reprocess', 'Update', 'Create')
        $history[0].RestoredFrom | Should -Be 1
        $history[0].Spec.Json | Should -Be $history[3].Spec.Json
        $history[2].Spec.Parallelism | Should -Be 2
        $history | ForEach-Object { $_.GetType().FullName | Should -Be 'PachPS.Engine.Pps.PipelineVersionInfo' }
        (Get-PachPipeline c* -History).Count | Should -Be 4
        (Get-PachCommit copy master | Get-PachProvenance | Where-Object Kind -EQ Spec).SpecVersion | Should -Be 4
    }

    It 'a rollback after a change that datum hashes ignore skips every datum' {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60 | Out-Null
        Update-PachPipeline -Spec (New-CopySpec -Parallelism 3) | Out-Null
        Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60 | Out-Null
        Get-PachPipeline copy | Update-PachPipeline -Version 1 | Out-Null
        (Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60).Progress | Should -Be '0 + 2 / 2'
    }

    It 'compares two versions path by path, the current one by default' {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        $v2 = New-CopySpec 'cp "$src" /pfs/out/' -Parallelism 4
        $v2.transform.env = @{ GREETING = 'hello' }
        $v2.remove('datum_tries')
        Update-PachPipeline -Spec $v2 | Out-Null

        $diff = Compare-PachPipeline copy -Version 1
        $diff | ForEach-Object { $_.GetType().FullName | Should -Be 'PachPS.Engine.Pps.PipelineDiffEntry' }
        $rows = $diff | Sort-Object Path | ForEach-Object { "$($_.Path)|$($_.Change)|$($_.Old)|$($_.New)" }
        $rows | Should -Be @('datum_tries|Removed|1|', 'parallelism_spec.constant|Modified|1|4', 'transform.env|Added||{"GREETING":"hello"}')
        $diff.OldVersion | Select-Object -Unique | Should -Be 1
        $diff.NewVersion | Select-Object -Unique | Should -Be 2
        (Compare-PachPipeline copy 2 1 | Where-Object Path -EQ 'transform.env').Change | Should -Be 'Removed'
        Compare-PachPipeline copy -Version 2 | Should -BeNullOrEmpty
        # A version piped from the history binds by property name and is compared with the current one.
        (Get-PachPipeline copy -History | Where-Object Version -EQ 1 | Compare-PachPipeline).Count | Should -Be 3
        ((Compare-PachPipeline copy 1 | Out-String -Width 80) -split "`n")[1] | Should -Match '^Change\s+Path\s+Old\s+New'
    }

    It 'refuses an unknown version or pipeline with a stable error id and changes nothing' {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60 | Out-Null
        $before = Get-StoreState
        { Update-PachPipeline copy -Version 2 -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineVersionNotFound,PachPS.Commands.UpdatePachPipelineCommand'
        { Compare-PachPipeline copy -Version 1 -Other 5 -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineVersionNotFound,PachPS.Commands.ComparePachPipelineCommand'
        { Get-PachPipeline nope -History -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineNotFound,PachPS.Commands.GetPachPipelineCommand'
        { Update-PachPipeline nope -Version 1 -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineNotFound,PachPS.Commands.UpdatePachPipelineCommand'
        Get-StoreState | Should -Be $before
    }
}

Describe 'Precise reruns' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src, other | Out-Null
        $first = Add-PachFile src master a.txt -Value 'alpha'
        Add-PachFile src master b.txt -Value 'beta' | Out-Null
        Add-PachFile other master z.txt -Value 'z' | Out-Null
        $runs = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
    }
    AfterEach { Remove-Item Env:PACHPS_TEST_B_FIXED -ErrorAction Ignore }

    It 'Invoke-PachPipeline runs a job on an older input commit; its output names that commit' {
        New-PachPipeline -Spec (New-CopySpec "echo `$src >> $runs; cp `"`$src`" /pfs/out/") | Out-Null
        $auto = Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60
        $auto.Trigger | Should -Be 'Automatic'

        $job = Invoke-PachPipeline copy -Input @{ src = 'master^' }
        $job.GetType().FullName | Should -Be 'PachPS.Engine.Pps.JobInfo'
        $job.Trigger | Should -Be 'Manual'
        $job = $job | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.Progress | Should -Be '0 + 1 / 1' -Because 'a.txt did not change since the last job: skipped as usual'
        (Get-PachFile copy master).Path | Should -Be '/a.txt'
        $prov = Get-PachCommit copy master | Get-PachProvenance
        ($prov | Where-Object Kind -EQ Input).Commit | Should -Be $first.Commit
        (Get-PachCommit copy master).JobId | Should -Be $job.JobId
        (Get-PachFile copy master a.txt | Get-PachProvenance).Commit | Should -Be $first.Commit

        # A commit object works too, and with no -Input the heads are read, even though a job already read them.
        $now = Invoke-PachPipeline copy -Input @{ src = (Get-PachCommit src master) } | Wait-PachJob -TimeoutSec 60
        $now.Inputs.Commit | Should -Be (Get-PachCommit src master).Commit
        (Get-PachFile copy master).Path | Should -Be @('/a.txt', '/b.txt')
        (Invoke-PachPipeline copy | Wait-PachJob -TimeoutSec 60).Trigger | Should -Be 'Manual'
        # a.txt and b.txt once each in the first job; the jobs back on the heads reuse that job's results (it read the same
        # input commits), although the manual job in between had no b.txt: nothing ran since.
        @(Get-Content $runs).Count | Should -Be 2
    }

    It 'Invoke-PachPipeline refuses <name> with <id> and changes nothing' -ForEach @(
        @{ name = 'an unknown input name'; inputs = @{ nope = 'master' }; id = 'PipelineInputNameNotFound' }
        @{ name = 'a commit of another repo'; inputs = 'other'; id = 'CommitNotInInputRepo' }
        @{ name = 'an unknown branch'; inputs = @{ src = 'dev' }; id = 'BranchNotFound' }
        @{ name = 'a reference past the first commit'; inputs = @{ src = 'master~9' }; id = 'CommitNotFound' }
    ) {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60 | Out-Null
        if ($inputs -eq 'other') { $inputs = @{ src = (Get-PachCommit other master).Commit } }
        $before = Get-StoreState
        { Invoke-PachPipeline copy -Input $inputs -ErrorAction Stop } | Should -Throw -ErrorId "$id,PachPS.Commands.InvokePachPipelineCommand"
        Get-StoreState | Should -Be $before
    }

    It 'Restart-PachDatum -Failed on a finished failed job redoes only the failed datum and carries over the rest' {
        # b.txt fails until the session's environment says it is fixed (each job reads the environment when it starts).
        New-PachPipeline -Spec (New-CopySpec "echo `$src >> $runs; case `$src in */b.txt) [ -n `"`$PACHPS_TEST_B_FIXED`" ] || exit 3;; esac; cp `"`$src`" /pfs/out/") | Out-Null
        $failed = Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60
        $failed.State | Should -Be 'Failure'
        $failed.Progress | Should -Be '1 + 0 / 2'
        { Get-PachCommit copy master -ErrorAction Stop } | Should -Throw

        $env:PACHPS_TEST_B_FIXED = '1'
        $rerun = Get-PachJob -Pipeline copy | Restart-PachDatum -Failed
        $rerun.GetType().FullName | Should -Be 'PachPS.Engine.Pps.JobInfo'
        $rerun.Trigger | Should -Be 'Rerun'
        $rerun.RerunOf | Should -Be $failed.JobId
        $rerun = $rerun | Wait-PachJob -TimeoutSec 60
        $rerun.State | Should -Be 'Success' -Because $rerun.Reason
        $rerun.Progress | Should -Be '1 + 1 / 2'
        @(Get-Content $runs | Where-Object { $_ -like '*/a.txt' }).Count | Should -Be 1 -Because 'the datum that succeeded is carried over, not run again'
        @(Get-Content $runs | Where-Object { $_ -like '*/b.txt' }).Count | Should -Be 2
        (Get-PachFile copy master).Path | Should -Be @('/a.txt', '/b.txt')
        (Get-PachCommit copy master | Get-PachProvenance | Where-Object Kind -EQ Input).Commit | Should -Be (Get-PachCommit src master).Commit
        (Get-PachDatum -Job $rerun.JobId | Sort-Object { $_.Inputs[0].Path }).State | Should -Be @('Skipped', 'Success')
    }

    It 'Restart-PachDatum on datums piped from a finished job makes one new job that redoes just those' {
        Add-PachFile src master c.txt -Value 'gamma' | Out-Null
        New-PachPipeline -Spec (New-CopySpec "echo `$src >> $runs; cp `"`$src`" /pfs/out/") | Out-Null
        $done = Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60
        $rerun = Get-PachDatum -Job $done.JobId | Where-Object InputFiles -NotMatch 'c\.txt' | Restart-PachDatum
        @($rerun).Count | Should -Be 1
        ($rerun | Wait-PachJob -TimeoutSec 60).Progress | Should -Be '2 + 1 / 3'
        @(Get-PachJob -Pipeline copy).Count | Should -Be 2
        @(Get-Content $runs | Where-Object { $_ -like '*/c.txt' }).Count | Should -Be 1
    }

    It 'Restart-PachDatum refuses <name> with <id> and changes nothing' -ForEach @(
        @{ name = 'a datum id not in the job'; datum = 'ffffffffffff'; id = 'DatumNotFound' }
        @{ name = '-Failed on a job without failed datums'; datum = $null; id = 'NoFailedDatums' }
    ) {
        New-PachPipeline -Spec (New-CopySpec) | Out-Null
        $done = Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60
        New-PachPipeline -Spec @{ pipeline = @{ name = 'second' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'other'; glob = '/*' } } } | Out-Null
        $foreign = Get-PachJob -Pipeline second | Wait-PachJob -TimeoutSec 60 | Get-PachDatum
        $before = Get-StoreState
        $restart = if ($datum) { { Restart-PachDatum -Job $done.JobId -Datum $datum -ErrorAction Stop } } else { { $done | Restart-PachDatum -Failed -ErrorAction Stop } }
        $restart | Should -Throw -ErrorId "$id,PachPS.Commands.RestartPachDatumCommand"
        # A datum of another job is not in this one either.
        { Restart-PachDatum -Job $done.JobId -Datum $foreign.DatumId -ErrorAction Stop } | Should -Throw -ErrorId 'DatumNotFound,PachPS.Commands.RestartPachDatumCommand'
        Get-StoreState | Should -Be $before
    }
}
