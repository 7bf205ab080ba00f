#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    Connect-PachStore -Path (Join-Path $TestDrive 'store') | Out-Null
    New-PachRepo training, attributes, 'test-data' | Out-Null
    Add-PachFile training master iris.csv -Value "1,2" | Out-Null
    Add-PachFile training master /data/2026/a.csv -Value "3" | Out-Null
    New-PachBranch training dev master | Out-Null
    New-PachPipeline -Spec @{ pipeline = @{ name = 'pre_process' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'training'; glob = '/' } } } | Out-Null
    Get-PachJob -Pipeline pre_process | Wait-PachJob -TimeoutSec 60 | Out-Null
    function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText }
}
AfterAll { Disconnect-PachStore }

Describe 'Tab completion' {
    It 'completes repo names' {
        Complete 'Get-PachFile tr' | Should -Be 'training'
        Complete 'Get-PachRepo -Name ' | Should -Be @('attributes', 'pre_process', 'test-data', 'training')
    }
    It 'completes branches and then commits, newest first, of the repo already typed' {
        Complete 'Get-PachBranch -Repo training -Name ' | Should -Be @('dev', 'master')
        $commits = Complete 'Get-PachCommit -Repo training -Commit '
        $commits[0..1] | Should -Be @('dev', 'master')
        $commits[2] | Should -Be (Get-PachCommit training master).Commit
        @($commits).Count | Should -Be 4
    }
    It 'completes paths inside a repo at a ref, one folder at a time' {
        Complete 'Get-PachFileContent -Repo training -Commit master -Path ' | Should -Be @('data/', 'iris.csv')
        Complete 'Get-PachFileContent -Repo training -Commit master -Path /data/' | Should -Be '/data/2026/'
        Complete 'Get-PachFileContent -Repo training -Commit master -Path data/2026/' | Should -Be 'data/2026/a.csv'
    }
    It 'completes pipelines and job ids' {
        Complete 'Get-PachJob -Pipeline pre' | Should -Be 'pre_process'
        Complete 'Wait-PachJob -Id ' | Should -Be (Get-PachJob).JobId
    }
    It 'offers nothing (and does not fail) when it cannot know' {
        Complete 'Get-PachBranch -Name ' | Should -BeNullOrEmpty
        Complete 'Get-PachFile -Repo nope -Commit master -Path ' | Should -BeNullOrEmpty
    }
}

Describe 'Tab completion never opens a store' {
    BeforeAll {
        $lines = 'Get-PachRepo -Name ', 'Get-PachFile -Repo ', 'Get-PachCommit -Repo training -Commit ', 'Get-PachBranch -Repo training -Name ',
            'Get-PachFileContent -Repo training -Commit master -Path ', 'Get-PachJob -Pipeline ', 'Wait-PachJob -Id '
        $absent = Join-Path $TestDrive 'default-never-created'
        $saved = $env:PACHPS_STORE
        $env:PACHPS_STORE = $absent
    }
    AfterAll { $env:PACHPS_STORE = $saved }

    It 'a runspace with no store open gets no candidates, and the default store is not created, opened or resumed' {
        $fresh = New-TestRunspace
        try {
            foreach ($line in $lines) {
                Invoke-InRunspace $fresh { param($Line) (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText } $line |
                    Should -BeNullOrEmpty -Because $line
            }
            Test-Path $absent | Should -BeFalse
            # Its first cmdlet does open the default store: completion was what left it alone.
            Invoke-InRunspace $fresh { Get-PachRepo } | Out-Null
            Test-Path $absent | Should -BeTrue
        }
        finally { $fresh.Dispose() }
        Remove-Item $absent -Recurse -Force
    }

    It 'after Disconnect-PachStore the runspace gets no candidates until it has a store again' {
        $store = (Get-PachStore).Path
        Complete 'Get-PachRepo -Name ' | Should -Contain 'training'
        Disconnect-PachStore
        try {
            foreach ($line in $lines) { Complete $line | Should -BeNullOrEmpty -Because $line }
            Test-Path $absent | Should -BeFalse
        }
        finally { Connect-PachStore -Path $store | Out-Null }
        Complete 'Get-PachRepo -Name ' | Should -Contain 'training'
    }
}
