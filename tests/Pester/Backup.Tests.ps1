#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Backup and restore (issue 15, item 3): Backup-PachStore, Get-PachBackup, Remove-PachBackup and
# Connect-PachStore -Restore, on each backend (S3 backups go to s3://, the others to a folder; through a server the
# folder is the server's, which here is this machine).
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    # Every repo, branch head, commit and the hash of every file of every commit (reading each one back).
    function Get-StoreState {
        $state = [ordered]@{}
        foreach ($repo in Get-PachRepo | Sort-Object Name) {
            foreach ($branch in Get-PachBranch $repo.Name | Sort-Object Name) { $state["$($repo.Name)@$($branch.Name)"] = $branch.Head }
            foreach ($commit in Get-PachCommit $repo.Name | Where-Object IsFinished | Sort-Object Id) {
                foreach ($file in Get-PachFile $repo.Name $commit.Id -Recurse | Where-Object Type -EQ File | Sort-Object Path) {
                    $bytes = [byte[]](Get-PachFileContent $repo.Name $commit.Id $file.Path -AsByteStream)
                    $state["$($repo.Name)=$($commit.Id):$($file.Path)"] = [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes))
                }
            }
        }
        ($state.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join "`n"
    }
    function New-Destination([string] $Backend) {
        if ($Backend -eq 'S3') { "s3://$($env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test')/pester-backups/$([guid]::NewGuid().ToString('N'))" }
        else { Join-Path $TestDrive "backups-$([guid]::NewGuid().ToString('N'))" }
    }
    # The S3 parameters an s3:// location needs (none for a folder).
    function Get-S3Parameters([string] $Location) {
        if ($Location -like 's3://*') { @{ S3Endpoint = $env:PACHPS_TEST_S3_ENDPOINT; Credential = (Get-TestS3Credential) } } else { @{} }
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Backup and restore (<Backend>)' -ForEach $Backends {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $restored = Join-Path $TestDrive "restored-$([guid]::NewGuid().ToString('N'))"
        $destination = New-Destination $Backend
        $s3 = Get-S3Parameters $destination
        Connect-TestStore $Backend $store
        New-PachRepo keep, scratch | Out-Null
        Add-PachFile keep master big.bin -Value (New-Bytes 2MB 1) | Out-Null
        Add-PachFile keep master small.txt -Value 'kept' | Out-Null
        New-PachBranch keep dev master | Out-Null
        Add-PachFile scratch master big.bin -Value (New-Bytes 2MB 2) | Out-Null
        1..10 | ForEach-Object { Add-PachFile scratch master "s$_.txt" -Value "scratch $_" } | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'restores every repo and file as they were at the backup, after the store changed and was collected' {
        $expected = Get-StoreState

        $backup = Backup-PachStore -Destination $destination @s3

        $backup.Name | Should -Match '^\d{4}-\d\d-\d\dT\d{4}Z$'
        $backup.Backup | Should -Be "$destination/$($backup.Name)"
        $backup.Objects | Should -BeGreaterThan 0
        $backup.Pinned | Should -Be ($Backend -eq 'S3')
        Remove-PachRepo scratch -Confirm:$false
        Add-PachFile keep master small.txt -Value 'changed' | Out-Null
        Optimize-PachStore | Out-Null
        Get-StoreState | Should -Not -Be $expected

        $info = Connect-PachStore -Path $restored -Restore $backup.Backup @s3

        $info.Path | Should -Be $restored
        Test-PachStore -Quiet | Should -BeTrue
        Get-StoreState | Should -Be $expected
        if ($Backend -eq 'S3') {
            # The restored store shares the bucket with the original: neither collects what the other may need.
            { Optimize-PachStore } | Should -Throw -ErrorId 'ContentShared,PachPS.Commands.OptimizePachStoreCommand'
        }
        else { (Optimize-PachStore).ObjectsRemoved | Should -Be 0 }
    }

    It 'lists backups, removes nothing with -WhatIf, and removes them with their pins' {
        $first = Backup-PachStore $destination -Name first @s3
        $second = Backup-PachStore $destination -Name second @s3

        $listed = Get-PachBackup -Destination $destination @s3
        $listed.Name | Should -Be @('first', 'second')
        (Get-PachBackup -Destination $destination -Name f* @s3).Backup | Should -Be $first.Backup
        if ($Backend -eq 'S3') { (Get-PachBackup).Name | Should -Be @('first', 'second') } else { Get-PachBackup | Should -BeNullOrEmpty }

        Remove-PachBackup $first.Backup -WhatIf @s3
        (Get-PachBackup -Destination $destination @s3).Name | Should -Be @('first', 'second')

        Get-PachBackup -Destination $destination -Name first @s3 | Remove-PachBackup -Confirm:$false @s3
        (Get-PachBackup -Destination $destination @s3).Name | Should -Be @('second')
        if ($Backend -eq 'S3') { (Get-PachBackup).Name | Should -Be @('second') }
        # What only the removed backup needed goes at the next collection; the other backup still restores.
        Remove-PachRepo scratch -Confirm:$false
        Optimize-PachStore | Out-Null
        Connect-PachStore -Path $restored -Restore $second.Backup @s3 | Out-Null
        Test-PachStore -Quiet | Should -BeTrue
        (Get-PachRepo).Name | Should -Be @('keep', 'scratch')
    }

    It 'frees with the next collection what only a removed backup needed' -Skip:($Backend -ne 'S3') {
        $backup = Backup-PachStore $destination -Name pinned @s3
        Remove-PachRepo scratch -Confirm:$false
        (Optimize-PachStore).BytesFreed | Should -BeLessThan 2MB

        Remove-PachBackup $backup.Backup -Confirm:$false @s3

        (Optimize-PachStore).BytesFreed | Should -BeGreaterOrEqual 2MB
        Test-PachStore -Quiet | Should -BeTrue
    }

    It 'writes nothing with -WhatIf' {
        Backup-PachStore $destination -Name never -WhatIf @s3
        Get-PachBackup -Destination $destination @s3 | Should -BeNullOrEmpty
        Get-PachBackup | Should -BeNullOrEmpty
    }

    It 'fails with a stable ErrorId and leaves the store and the backups as they were' {
        $backup = Backup-PachStore $destination -Name one @s3
        $before = Get-StoreState

        { Backup-PachStore $destination -Name one @s3 } | Should -Throw -ErrorId 'BackupExists,PachPS.Commands.BackupPachStoreCommand'
        { Backup-PachStore $destination -Name 'no/name' @s3 } | Should -Throw -ErrorId 'BackupNameInvalid,PachPS.Commands.BackupPachStoreCommand'
        { Remove-PachBackup "$destination/none" -Confirm:$false -ErrorAction Stop @s3 } | Should -Throw -ErrorId 'BackupNotFound,PachPS.Commands.RemovePachBackupCommand'
        { Connect-PachStore -Path $restored -Restore "$destination/none" @s3 } | Should -Throw -ErrorId 'BackupNotFound,PachPS.Commands.ConnectPachStoreCommand'
        Test-Path $restored | Should -BeFalse
        New-Item -ItemType Directory $restored | Out-Null
        Set-Content (Join-Path $restored 'mine.txt') 'not a store'
        { Connect-PachStore -Path $restored -Restore $backup.Backup @s3 } | Should -Throw -ErrorId 'RestoreTargetNotEmpty,PachPS.Commands.ConnectPachStoreCommand'
        (Get-ChildItem $restored).Name | Should -Be 'mine.txt'
        { Connect-PachStore -Restore $backup.Backup @s3 } | Should -Throw -ErrorId 'RestorePathRequired,PachPS.Commands.ConnectPachStoreCommand'

        Get-StoreState | Should -Be $before
        (Get-PachBackup -Destination $destination @s3).Name | Should -Be 'one'
    }

    It 'refuses a backup whose files do not match its manifest' -Skip:($Backend -eq 'S3') {
        $backup = Backup-PachStore $destination -Name one
        $metadata = Join-Path $destination 'one/metadata.db'
        $bytes = [System.IO.File]::ReadAllBytes($metadata)
        $bytes[100] = $bytes[100] -bxor 0xff
        [System.IO.File]::WriteAllBytes($metadata, $bytes)

        { Connect-PachStore -Path $restored -Restore $backup.Backup } | Should -Throw -ErrorId 'BackupCorrupt,PachPS.Commands.ConnectPachStoreCommand'

        Test-Path $restored | Should -BeFalse
    }
}
