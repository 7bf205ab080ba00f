#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    Connect-PachStore -Path (Join-Path $TestDrive 'store') | Out-Null
    New-PachRepo training | Out-Null
    Add-PachFile training master iris.csv -Value "1,2`n3,4" | Out-Null
    Add-PachFile training master /data/a.csv -Value 'x' | Out-Null
    New-PachBranch training dev master | Out-Null
}
AfterAll { Set-Location $TestDrive; Disconnect-PachStore }

Describe 'The pfs: drive' {
    It 'lists repos, branches and files as PachPS objects' {
        (Get-ChildItem pfs:\).Name | Should -Be 'training'
        (Get-ChildItem pfs:\training).Name | Should -Be @('dev', 'master')
        $files = Get-ChildItem pfs:\training\master
        $files.Path | Should -Be @('/data', '/iris.csv')
        $files[1].GetType().Name | Should -Be 'PachFileInfo'
        (Get-ChildItem pfs:/training/master -Recurse).Path | Should -Be @('/data', '/data/a.csv', '/iris.csv')
    }
    It 'reads files with Get-Content, tests paths, and follows ancestry in the path' {
        Get-Content pfs:\training\master\iris.csv | Should -Be @('1,2', '3,4')
        Test-Path pfs:\training\master\data\a.csv | Should -BeTrue
        Test-Path pfs:\training\master\nope.csv | Should -BeFalse
        (Get-ChildItem pfs:\training\master^).Path | Should -Be '/iris.csv'
        (Get-Item pfs:\training\master\data).Type | Should -Be 'Directory'
    }
    It 'navigates with Set-Location and completes paths' {
        Set-Location pfs:\training\master
        try {
            (Get-ChildItem).Name | Should -Be @('data', 'iris.csv')
            Get-Content iris.csv -TotalCount 1 | Should -Be '1,2'
        }
        finally { Set-Location $TestDrive }
        $line = 'Get-Content pfs:\training\master\ir'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Match 'training.master.iris\.csv$'
    }
    It 'is read-only' {
        { Set-Content pfs:\training\master\x.txt 'no' -ErrorAction Stop } | Should -Throw -ErrorId 'NotSupported,Microsoft.PowerShell.Commands.SetContentCommand'
        (Get-PachCommit training master -History).Count | Should -Be 2
    }
}
