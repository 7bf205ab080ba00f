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

    It 'a job whose output does not fit fails with StorageFull, gives the space back, and the store stays usable' {
        # 14 MB fits in the datum's folder; storing it as content as well does not.
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'grow' }
            transform = @{ cmd = @('sh', '-c', 'head -c 14000000 /dev/urandom > /pfs/out/big') }
            input = @{ pfs = @{ repo = 'data'; glob = '/' } }
        } | Out-Null
        $free = Get-FreeBytes
        $job = Get-PachJob -Pipeline grow | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -BeLike 'StorageFull*'
        Get-FreeBytes | Should -BeGreaterThan ($free - 1MB)
        Remove-PachPipeline grow -Confirm:$false | Out-Null
        Add-PachFile data master small.txt -Value 'hello' | Out-Null
        Get-PachFileContent data master small.txt | Should -Be 'hello'
        Test-PachStore | Should -BeNullOrEmpty
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
