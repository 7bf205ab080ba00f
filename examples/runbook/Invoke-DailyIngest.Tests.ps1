#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../../PachPS.psd1') -Force
    $runbook = Join-Path $PSScriptRoot 'Invoke-DailyIngest.ps1'
}

Describe 'Invoke-DailyIngest' {
    BeforeEach {
        # A throw-away store for every test: nothing leaks between tests or into the user's store.
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        $drop = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        Set-Content (Join-Path $drop 'store-1.csv') "apples,3`npears,4"
        Set-Content (Join-Path $drop 'store-2.csv') 'apples,5'
        New-PachRepo sales | Out-Null
        New-PachPipeline -Spec @{
            pipeline  = @{ name = 'totals' }
            transform = @{ cmd = @('sh'); stdin = @('cat $sales/* | awk -F, ''{ s[$1] += $2 } END { for (k in s) print k "," s[k] }'' | sort > /pfs/out/$(basename $sales).csv') }
            input     = @{ pfs = @{ repo = 'sales'; glob = '/*' } }
        } | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'ingests the day in one commit and reports a healthy run' {
        $report = & $runbook -Repo sales -DropFolder $drop -Date '2026-11-26'
        $report.Healthy | Should -BeTrue
        $report.FilesAdded | Should -Be 2
        (Get-PachFile sales master /2026-11-26).Path | Should -Be @('/2026-11-26/store-1.csv', '/2026-11-26/store-2.csv')
        @(Get-PachCommit sales -History).Count | Should -Be 1
        $report.Outputs.Repo | Should -Be 'totals'
        Get-PachFileContent totals master /2026-11-26.csv | Should -Be @('apples,8', 'pears,4')
    }

    It 'keeps each day in its own folder and reprocesses only the new day' {
        & $runbook -Repo sales -DropFolder $drop -Date '2026-11-25' | Out-Null
        $report = & $runbook -Repo sales -DropFolder $drop -Date '2026-11-26'
        $report.Healthy | Should -BeTrue
        (Get-PachFile sales master).Path | Should -Be @('/2026-11-25', '/2026-11-26')
        (Get-PachJob -Pipeline totals | Select-Object -First 1).Progress | Should -Be '1 + 1 / 2'
    }

    It 'reports and, with -FailOnError, throws when a pipeline fails' {
        Update-PachPipeline -Spec @{
            pipeline  = @{ name = 'totals' }; datum_tries = 1
            transform = @{ cmd = @('sh', '-c', 'echo cannot parse >&2; exit 1') }
            input     = @{ pfs = @{ repo = 'sales'; glob = '/*' } }
        } | Out-Null
        Get-PachJob -Pipeline totals | Select-Object -First 1 | Wait-PachJob | Out-Null
        $report = & $runbook -Repo sales -DropFolder $drop -Date '2026-11-27'
        $report.Healthy | Should -BeFalse
        $report.Problems | Should -Match 'cannot parse'
        { & $runbook -Repo sales -DropFolder $drop -Date '2026-11-28' -FailOnError } | Should -Throw '*unhealthy*'
    }

    It 'refuses an empty drop folder and leaves the repo unchanged' {
        $empty = New-Item -ItemType Directory (Join-Path $TestDrive 'empty')
        { & $runbook -Repo sales -DropFolder $empty } | Should -Throw '*No files*'
        Get-PachCommit sales -History | Should -BeNullOrEmpty
    }
}
