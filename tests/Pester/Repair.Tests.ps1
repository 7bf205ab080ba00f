#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Repair (issue 15, item 5): Test-PachStore -Repair marks commits whose content is gone Corrupt without failing the
# reads that do not need it, and -From fetches what is lost again from a copy of the store (a backup, a replica).
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

# Local content only: the test damages the store by deleting a file under objects/ (a server's store here keeps its
# content there too). The engine's tests cover S3.
Describe 'Test-PachStore -Repair (<Backend>)' -ForEach ($Backends | Where-Object Backend -In 'Local', 'Remote') {
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Connect-TestStore $Backend $store
        New-PachRepo data | Out-Null
        $big = New-Bytes 300KB 7
        Add-PachFile data master small.txt -Value 'small' | Out-Null
        Add-PachFile data master big.bin -Value $big | Out-Null
        # The largest object is big.bin's own chunk (small files share packs).
        $lost = Get-ChildItem (Join-Path $store objects) -Recurse -File | Sort-Object Length -Descending | Select-Object -First 1
    }
    AfterEach { Disconnect-PachStore }

    It 'marks the commit Corrupt, keeps every other path readable, and fetches the content back from a copy' {
        # A copy taken while nothing writes (the metadata is closed between units of work): what a backup holds.
        $copy = "$store-copy"
        New-Item -ItemType Directory $copy | Out-Null
        Get-ChildItem $store | Copy-Item -Destination $copy -Recurse
        Remove-Item $lost.FullName

        $findings = Test-PachStore -Repair 6>$null

        $findings.Kind | Should -Be 'ObjectMissing'
        $findings.Path | Should -Be '/big.bin'
        $findings.Repair | Should -Match 'marked Corrupt'
        $commit = Get-PachCommit data master
        $commit.State | Should -Be 'Corrupt'
        $commit.MissingPaths | Should -Be '/big.bin'
        { Get-PachFileContent data master big.bin -AsByteStream -ErrorAction Stop } | Should -Throw -ErrorId 'FileContentMissing,PachPS.Commands.GetPachFileContentCommand'
        Get-PachFileContent data master small.txt | Should -Be 'small'
        Test-PachStore -Quiet | Should -BeFalse

        $fixed = Test-PachStore -Repair -From $copy 6>$null

        ($fixed | Where-Object Kind -EQ ObjectMissing).Repair | Should -Match 'fetched again'
        ($fixed | Where-Object Kind -EQ CommitCorrupt).Repair | Should -Match 'cleared'
        Test-PachStore -Quiet | Should -BeTrue
        (Get-PachCommit data master).State | Should -Be 'Finished'
        [byte[]](Get-PachFileContent data master big.bin -AsByteStream) | Should -Be $big
    }

    It 'with -WhatIf only checks, and a -From that is no store is refused, changing nothing' {
        Remove-Item $lost.FullName

        $findings = Test-PachStore -Repair -WhatIf 6>$null

        $findings.Kind | Should -Be 'ObjectMissing'
        $findings.Repair | Should -BeNullOrEmpty
        (Get-PachCommit data master).State | Should -Be 'Finished'
        { Test-PachStore -Repair -From (Join-Path $TestDrive 'no-such-store') -ErrorAction Stop } | Should -Throw -ErrorId 'RepairSourceNotFound,PachPS.Commands.TestPachStoreCommand'
        (Get-PachCommit data master).State | Should -Be 'Finished'
    }
}
