#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery {
    # A full disk needs a small file system of the test's own: a tmpfs mount, which needs root (CI has it).
    $isRoot = $IsLinux -and (& id -u) -eq '0'
    $noTmpfs = if (-not $IsLinux) { 'needs Linux (a tmpfs mount)' } elseif (-not $isRoot) { 'needs root to mount a 24 MB tmpfs' } else { $null }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    # Writes $Megabytes of random bytes (no two chunks alike, so nothing deduplicates) to a file outside the small disk.
    function New-RandomFile([string] $Path, [int] $Megabytes) {
        $bytes = [byte[]]::new($Megabytes * 1MB)
        [System.Random]::new(42).NextBytes($bytes)
        [System.IO.File]::WriteAllBytes($Path, $bytes)
        $Path
    }
}
AfterAll { Disconnect-PachStore }

Describe 'A store on a disk that fills up' -Skip:($null -ne $noTmpfs) {
    BeforeAll {
        if ($noTmpfs) { return }
        $script:disk = Join-Path $TestDrive 'small-disk'
        New-Item -ItemType Directory $disk | Out-Null
        & mount -t tmpfs -o size=24m tmpfs $disk
        if ($LASTEXITCODE -ne 0) { throw "could not mount a tmpfs at $disk" }
        function Get-FreeBytes { [System.IO.DriveInfo]::new($script:disk).AvailableFreeSpace }
    }
    AfterAll {
        Disconnect-PachStore
        if ($script:disk) { & umount $script:disk }
    }
    BeforeEach {
        Disconnect-PachStore
        Get-ChildItem $disk -Force | Remove-Item -Recurse -Force
        & mount -o remount,size=24m $disk   # a test may have made room by growing it
        Connect-PachStore -Path (Join-Path $disk 'store') | Out-Null
        New-PachRepo data | Out-Null
        Add-PachFile data master a.txt -Value 'first' | Out-Null
    }

    It 'Add-PachFile of a 40 MB file fails with StorageFull, gives the space back, and a 5-byte file then goes in' {
        $big = New-RandomFile (Join-Path $TestDrive 'big.bin') 40
        $free = Get-FreeBytes
        $err = { Add-PachFile data master big.bin -Source $big } | Should -Throw -ErrorId 'StorageFull,PachPS.Commands.AddPachFileCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err.Exception.Message | Should -BeLike '*no room left*'
        # What the failed write stored is gone (a little slack for the metadata file's own pages).
        Get-FreeBytes | Should -BeGreaterThan ($free - 1MB)
        (Add-PachFile data master small.txt -Value 'hello').Commit | Should -Not -BeNullOrEmpty
        Get-PachFileContent data master small.txt | Should -Be 'hello'
        Get-PachFileContent data master a.txt | Should -Be 'first'
        @(Get-PachCommit data).Count | Should -Be 2
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'a job whose output does not fit waits with StorageFull, keeps its finished datums, and resumes once there is room' {
        # a.txt, b.txt and c.txt are copied; z.txt makes 14 MB, which fits in the datum's folder but not once more as
        # content. Each datum that runs is logged outside the small disk.
        Add-PachFile data master -Path b.txt -Value 'b' | Out-Null
        Add-PachFile data master -Path c.txt -Value 'c' | Out-Null
        Add-PachFile data master -Path z.txt -Value 'z' | Out-Null
        $runs = Join-Path $TestDrive 'runs.txt'
        $go = Join-Path $TestDrive 'go'   # z.txt writes its output once a, b and c are durable
        Remove-Item $runs, $go -ErrorAction Ignore
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'grow' }
            transform = @{ cmd = @('sh', '-c', "for f in /pfs/data/*; do n=`$(basename `$f); echo `$n >> '$runs'; if [ `$n = z.txt ]; then while [ ! -e '$go' ]; do sleep 0.1; done; head -c 14000000 /dev/urandom > /pfs/out/big; else cp `$f /pfs/out/`$n; fi; done") }
            input = @{ pfs = @{ repo = 'data'; glob = '/*' } }
        } | Out-Null
        $id = (Get-PachJob -Pipeline grow).JobId
        $deadline = [datetime]::UtcNow.AddSeconds(120)
        while ((Get-PachJob -Id $id).Processed -lt 3 -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        $free = Get-FreeBytes
        Set-Content $go ''

        # Wait-PachJob does not hang on a job waiting for room: it ends with StorageFull.
        $err = { Wait-PachJob $id -TimeoutSec 120 -ErrorAction Stop } | Should -Throw -ErrorId 'StorageFull,PachPS.Commands.WaitPachJobCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*waits for room*Resume-PachPipeline*'
        $job = Get-PachJob -Id $id
        $job.State | Should -Be 'StorageFull'
        $job.IsFinished | Should -BeFalse
        $job.Reason | Should -BeLike 'StorageFull while running its datums: There is no room left in *'
        $job.Processed | Should -Be 3
        $job.Failed | Should -Be 0
        (Get-PachDatum -JobId $id | Where-Object State -EQ Success).Count | Should -Be 3
        Get-FreeBytes | Should -BeGreaterThan ($free - 1MB)
        (Get-PachJob -State StorageFull).JobId | Should -Be $id
        Test-PachStore | Should -BeNullOrEmpty

        # Room again (the file system grows): Resume-PachPipeline resumes it at once; a, b and c do not run again.
        & mount -o remount,size=64m $disk
        Resume-PachPipeline grow | Out-Null
        # The job is claimed before Resume-PachPipeline returns, so the wait straight after it waits for the job.
        $job = Wait-PachJob $id -TimeoutSec 120
        $job.State | Should -Be 'Success'
        $job.Restarts | Should -Be 1   # one resume, counted once
        (Get-Content $runs | Sort-Object) -join ',' | Should -Be 'a.txt,b.txt,c.txt,z.txt,z.txt'
        (Get-PachFile grow master / ).Path | Sort-Object | Should -Be @('/a.txt', '/b.txt', '/big', '/c.txt')
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'a job waiting for room resumes by itself when a probe finds room again' {
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'grow' }
            transform = @{ cmd = @('sh', '-c', 'head -c 14000000 /dev/urandom > /pfs/out/big') }
            input = @{ pfs = @{ repo = 'data'; glob = '/' } }
        } | Out-Null
        $id = (Get-PachJob -Pipeline grow).JobId
        { Wait-PachJob $id -TimeoutSec 120 -ErrorAction Stop } | Should -Throw -ErrorId 'StorageFull,PachPS.Commands.WaitPachJobCommand'
        & mount -o remount,size=64m $disk
        # The first probe is due 15 s after the job stopped; the open store looks every 5 s.
        $deadline = [datetime]::UtcNow.AddSeconds(120)
        while ((Get-PachJob -Id $id).State -ne 'Success' -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 500 }
        (Get-PachJob -Id $id).State | Should -Be 'Success'
        (Get-PachFile grow master /big).Size | Should -Be 14000000
    }
}

Describe 'Paths every file system can hold' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        $script:commits = @(Get-PachCommit src).Count
        $script:objects = (Get-PachStore).ObjectCount
    }

    It '<name> is refused with InvalidPath naming the rule, and nothing changes' -ForEach @(
        @{ name = 'a 5,000-byte path'; path = '/' + ('d' * 200 + '/') * 25 + 'x'; rule = '*at most 4096*' }
        @{ name = 'a 300-byte name'; path = '/dir/' + 'n' * 300; rule = '*at most 255*' }
        @{ name = 'a name of 128 two-byte characters'; path = '/' + [string]::new([char]0xE9, 128); rule = '*256 bytes of UTF-8*' }
        @{ name = 'a NUL character'; path = "/a`0b"; rule = '*U+0000*' }
    ) {
        $err = { Add-PachFile src master $path -Value 'x' } | Should -Throw -ErrorId 'InvalidPath,PachPS.Commands.AddPachFileCommand' -PassThru
        $err.Exception.Message | Should -BeLike $rule
        @(Get-PachCommit src).Count | Should -Be $commits
        (Get-PachStore).ObjectCount | Should -Be $objects
    }

    It 'a datum whose input path is allowed but too long below its folder fails naming the path' {
        # 4,085 bytes: within the limits, but not once the datum's folder is put in front of it.
        $path = '/' + ('d' * 254 + '/') * 16 + 'last'
        Add-PachFile src master $path -Value 'x' | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'reader' }; transform = @{ cmd = @('true') }; datum_tries = 1
            input = @{ pfs = @{ repo = 'src'; glob = '/' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline reader | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -BeLike "*input file '/pfs/src/dddd*/last' cannot be written*"
        $job.Reason | Should -Not -BeLike '*internal error*'
    }

    It 'a copy or a split that would make a path too long is refused the same way' {
        $deep = '/' + (('d' * 250 + '/') * 16).TrimEnd('/')   # 4,016 bytes: allowed
        Add-PachFile src master $deep -Value 'deep' | Out-Null
        $commits = @(Get-PachCommit src).Count
        { Copy-PachFile src master / ('/' + 'c' * 100) } | Should -Throw -ErrorId 'InvalidPath,PachPS.Commands.CopyPachFileCommand'
        $lines = Join-Path $TestDrive 'lines.txt'
        Set-Content $lines "one`ntwo"
        # 4,081 bytes: its pieces ('/0000000000000000' added) would be 4,098.
        { Add-PachFile src master ('/' + ('d' * 250 + '/') * 16 + 'e' * 64) -Source $lines -Split Line } | Should -Throw -ErrorId 'InvalidPath,PachPS.Commands.AddPachFileCommand'
        @(Get-PachCommit src).Count | Should -Be $commits
    }
}
