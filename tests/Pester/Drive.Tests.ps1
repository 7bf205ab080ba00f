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
AfterAll { Set-Location $RepoRoot; Disconnect-PachStore }   # not $TestDrive: Pester deletes it after this file

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
    It 'finds one path, lists and completes a folder of 3,000 files from where it is asked, not from its start' {
        $src = New-Item -ItemType Directory (Join-Path $TestDrive 'many/big')
        0..2999 | ForEach-Object { [IO.File]::WriteAllText((Join-Path $src ('f{0:D4}.txt' -f $_)), "$_") }
        New-PachRepo many | Out-Null
        Add-PachFile many master / -Source (Join-Path $TestDrive 'many') -Recurse | Out-Null
        (Get-Item pfs:\many\master\big\f2999.txt).Size | Should -Be 4
        (Get-Item pfs:\many\master\big).Size | Should -Be 10890   # the lengths of '0' to '2999'
        Test-Path pfs:\many\master\big\f3000.txt | Should -BeFalse
        Test-Path pfs:\many\master\big\f2999.txt\x | Should -BeFalse
        (Get-ChildItem pfs:\many\master\big | Select-Object -First 1).Path | Should -Be '/big/f0000.txt'
        (Get-ChildItem pfs:\many\master\big).Count | Should -Be 3000
        $line = 'Get-PachFileContent -Repo many -Commit master -Path big/f299'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText |
            Should -Be (2990..2999 | ForEach-Object { "big/f$_.txt" })
    }
    It 'is read-only' {
        { Set-Content pfs:\training\master\x.txt 'no' -ErrorAction Stop } | Should -Throw -ErrorId 'NotSupported,Microsoft.PowerShell.Commands.SetContentCommand'
        (Get-PachCommit training master -History).Count | Should -Be 2
    }
}

Describe 'Copy-Item into the pfs: drive' {
    BeforeAll {
        $src = New-Item -ItemType Directory (Join-Path $TestDrive 'copy-src')
        'a' | Set-Content (Join-Path $src 'a.txt')
        'b' | Set-Content (Join-Path $src 'b.txt')
        New-Item -ItemType Directory (Join-Path $src 'sub') | Out-Null
        'c' | Set-Content (Join-Path $src 'sub/c.txt')
        New-PachRepo landing | Out-Null
    }
    It 'copies files and folders from the file system into a branch, one commit per Copy-Item' {
        Copy-Item (Join-Path $src 'a.txt') pfs:\landing\master\
        Copy-Item (Join-Path $src 'b.txt') pfs:\landing\master\renamed.txt
        Get-ChildItem $src -File | Copy-Item -Destination pfs:\landing\master\piped\
        Copy-Item $src -Destination pfs:\landing\master\tree -Recurse
        (Get-PachCommit landing master -History).Count | Should -Be 4
        (Get-PachFile landing master -Recurse | Where-Object Type -EQ File).Path |
            Should -Be @('/a.txt', '/piped/a.txt', '/piped/b.txt', '/renamed.txt', '/tree/a.txt', '/tree/b.txt', '/tree/sub/c.txt')
        Get-Content pfs:\landing\master\tree\sub\c.txt | Should -Be 'c'
    }
    It 'into an existing folder keeps the file name, and -PassThru returns the commit' {
        $commit = Copy-Item (Join-Path $src 'a.txt') pfs:\landing\master\tree -PassThru
        $commit.GetType().Name | Should -Be 'CommitInfo'
        Get-Content pfs:\landing\master\tree\a.txt | Should -Be 'a'
        (Get-PachCommit landing master -History).Count | Should -Be 5
    }
    It 'changes nothing with -WhatIf, and refuses a destination outside a branch' {
        Copy-Item (Join-Path $src 'a.txt') pfs:\landing\master\new.txt -WhatIf
        { Copy-Item (Join-Path $src 'a.txt') pfs:\landing -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationNotInBranch,Copy-Item'
        { Copy-Item $src pfs:\landing\master\ -ErrorAction Stop } | Should -Throw -ErrorId 'SourceIsDirectory,PachPS.Commands.AddPachFileCommand'
        { Copy-Item pfs:\landing\master\a.txt pfs:\landing\master\again.txt -ErrorAction Stop } | Should -Throw -ErrorId 'SourceNotFileSystem,PachPS.Commands.AddPachFileCommand'
        (Get-PachCommit landing master -History).Count | Should -Be 5
    }
    It 'leaves ordinary copies to the built-in Copy-Item' {
        Copy-Item (Join-Path $src 'a.txt') (Join-Path $TestDrive 'plain.txt')
        Get-Content (Join-Path $TestDrive 'plain.txt') | Should -Be 'a'
        (Get-Command Copy-Item).Source | Should -Be 'PachPS'
        (Get-Command Copy-Item).Parameters.Keys | Sort-Object | Should -Be ((Get-Command Microsoft.PowerShell.Management\Copy-Item).Parameters.Keys | Sort-Object)
    }
}
