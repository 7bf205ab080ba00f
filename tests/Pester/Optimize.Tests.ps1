#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Garbage collection (issue 15, item 1): Optimize-PachStore frees exactly what nothing references, on both backends,
# beside ingests and jobs in other processes, and a kill -9 in the middle leaves a store the next run finishes.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-Bytes([string] $Repo, [string] $Path) { , [byte[]](Get-PachFileContent $Repo master $Path -AsByteStream) }
    function Wait-Child($Child, [int] $Seconds) {
        $Child.WaitForExit($Seconds * 1000) | Should -BeTrue -Because 'the child process must finish'
        $Child.ExitCode | Should -Be 0 -Because $Child.StandardError.ReadToEnd()
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Optimize-PachStore (<Backend>)' -ForEach $Backends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
    }
    AfterEach { Disconnect-PachStore }

    It 'reports with -WhatIf what a collection would free, by reason, then frees it and keeps every other file' {
        Connect-TestStore $Backend $store
        New-PachRepo keep, scratch | Out-Null
        $kept = New-Bytes 2MB 1
        Add-PachFile keep master big.bin -Value $kept | Out-Null
        Add-PachFile keep master small.txt -Value 'kept' | Out-Null
        Add-PachFile scratch master big.bin -Value (New-Bytes 2MB 2) | Out-Null
        1..20 | ForEach-Object { Add-PachFile scratch master "s$_.txt" -Value "scratch $_" } | Out-Null
        Optimize-PachStore | Out-Null
        (Get-PachRepo scratch).ExclusiveBytes | Should -BeGreaterOrEqual 2MB
        (Get-PachRepo keep).ExclusiveBytes | Should -BeGreaterOrEqual 2MB
        (Get-PachStore).ReclaimableBytes | Should -Be 0
        $scratch = (Get-PachRepo scratch).ExclusiveBytes
        Remove-PachRepo scratch -Confirm:$false
        (Get-PachStore).ReclaimableBytes | Should -Be $scratch
        $before = Get-PachStore

        $plan = Optimize-PachStore -WhatIf

        $plan.WhatIf | Should -BeTrue
        ($plan.Reasons | Where-Object Reason -EQ UnreferencedChunk).Bytes | Should -BeGreaterOrEqual 2MB
        ($plan.Reasons | Where-Object Reason -EQ UnreferencedPack).Objects | Should -Be 20
        ($plan.Reasons | Where-Object Reason -EQ UnreferencedTreeNode).Objects | Should -BeGreaterThan 0
        (Get-PachStore).StoredBytes | Should -Be $before.StoredBytes
        (Get-PachStore).ObjectCount | Should -Be $before.ObjectCount

        $report = Optimize-PachStore

        $report.WhatIf | Should -BeFalse
        $report.BytesFreed | Should -Be $plan.BytesFreed
        $report.BytesFreed | Should -Be $scratch
        (Get-PachStore).ReclaimableBytes | Should -Be 0
        $after = Get-PachStore
        $before.StoredBytes - $after.StoredBytes | Should -BeGreaterOrEqual 2MB
        $before.ObjectCount - $after.ObjectCount | Should -Be $report.ObjectsRemoved
        Test-PachStore -Quiet | Should -BeTrue
        (Get-Bytes keep /big.bin).Length | Should -Be $kept.Length
        [System.Linq.Enumerable]::SequenceEqual([byte[]](Get-Bytes keep /big.bin), $kept) | Should -BeTrue
        Get-PachFileContent keep master small.txt | Should -Be 'kept'
        (Optimize-PachStore).ObjectsRemoved | Should -Be 0
    }

    It 'runs beside an ingest and pipeline jobs in two other processes: the store checks clean and every file reads back' {
        Connect-TestStore $Backend $store
        New-PachRepo in, keep | Out-Null
        Add-PachFile in master f-start.txt -Value 'start' | Out-Null
        $stdin = 'for f in /pfs/in/*; do n=$(basename $f); cp $f /pfs/out/$n; head -c 70000 /dev/zero | tr "\0" "$(echo $n | cut -c1)" >> /pfs/out/$n; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh'); stdin = @($stdin) }; input = @{ pfs = @{ repo = 'in'; glob = '/*' } } } | Out-Null
        Disconnect-PachStore
        $done = Join-Path $TestDrive "done-$([guid]::NewGuid().ToString('N'))"
        $runs = Join-Path $TestDrive "runs-$([guid]::NewGuid().ToString('N'))"
        $rounds = 12
        # Each round makes a repo, removes the previous one (its own u.bin becomes garbage), and stores in 'keep' content
        # that a removed repo held: deduplicated against garbage while the collector may be marking it.
        $ingest = Start-ChildPwsh @"
$(Get-ConnectCommand $Backend $store)
function New-Bytes([int] `$Length, [int] `$Seed) { `$b = [byte[]]::new(`$Length); [System.Random]::new(`$Seed).NextBytes(`$b); , `$b }
for (`$i = 0; `$i -lt $rounds; `$i++) {
    New-PachRepo "tmp`$i" | Out-Null
    Add-PachFile "tmp`$i" master big.bin -Value (New-Bytes 300KB (1000 + `$i % 3)) | Out-Null
    Add-PachFile "tmp`$i" master small.txt -Value "small `$(`$i % 3)" | Out-Null
    Add-PachFile "tmp`$i" master u.bin -Value (New-Bytes 100KB (5000 + `$i)) | Out-Null
    if (`$i -gt 0) { Remove-PachRepo "tmp`$(`$i - 1)" -Confirm:`$false }
    Add-PachFile keep master "k`$i.bin" -Value (New-Bytes 300KB (1000 + (`$i + 1) % 3)) | Out-Null
    Add-PachFile keep master "k`$i.txt" -Value "small `$((`$i + 1) % 3)" | Out-Null
    Add-PachFile in master "f`$i.txt" -Value "input `$i" | Out-Null
}
# Jobs this process started would stop with it: let them finish first (collections go on meanwhile).
Get-PachJob | Wait-PachJob -TimeoutSec 240 | Out-Null
Set-Content '$done' 'done'
"@
        $jobs = Start-ChildPwsh "$(Get-ConnectCommand $Backend $store); while (-not (Test-Path '$done')) { Start-Sleep -Milliseconds 200 }; Get-PachJob | Wait-PachJob -TimeoutSec 240 | Out-Null"
        $collector = Start-ChildPwsh @"
$(Get-ConnectCommand $Backend $store)
`$n = 0; `$freed = 0
while (-not (Test-Path '$done')) { `$freed += (Optimize-PachStore).ObjectsRemoved; `$n++ }
`$freed += (Optimize-PachStore).ObjectsRemoved; `$n++
Set-Content '$runs' "`$n `$freed"
"@
        Wait-Child $ingest 300
        Wait-Child $collector 300
        Wait-Child $jobs 300

        $n, $freed = (Get-Content $runs) -split ' '
        [int] $n | Should -BeGreaterThan 1 -Because 'collections ran while the others worked'
        [int] $freed | Should -BeGreaterThan 0 -Because 'the removed repos were garbage'
        Connect-TestStore $Backend $store
        Get-PachJob | Wait-PachJob -TimeoutSec 120 | Out-Null
        Test-PachStore | Should -BeNullOrEmpty
        foreach ($repo in Get-PachRepo) {
            foreach ($file in Get-PachFile $repo.Name master / -Recurse | Where-Object Type -EQ File) {
                { Get-PachFileContent $repo.Name master $file.Path -AsByteStream | Out-Null } | Should -Not -Throw -Because "$($repo.Name):$($file.Path)"
            }
        }
        for ($i = 0; $i -lt $rounds; $i++) {
            $expected = New-Bytes 300KB (1000 + ($i + 1) % 3)
            [System.Linq.Enumerable]::SequenceEqual([byte[]](Get-Bytes keep "/k$i.bin"), [byte[]] $expected) | Should -BeTrue -Because "k$i.bin"
            Get-PachFileContent keep master "k$i.txt" | Should -Be "small $(($i + 1) % 3)"
        }
        (Get-PachCommit copy master).FileCount | Should -Be ($rounds + 1)
        Get-PachFileContent copy master f5.txt | Should -BeLike 'input 5*'
        Optimize-PachStore | Out-Null
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'leaves a consistent store when killed with -9, and the next run frees the rest' {
        Connect-TestStore $Backend $store
        New-PachRepo keep | Out-Null
        Add-PachFile keep master a.txt -Value 'kept' | Out-Null
        foreach ($r in 1..6) {
            New-PachRepo "g$r" | Out-Null
            Add-PachFile "g$r" master big.bin -Value (New-Bytes 1MB $r) | Out-Null
            1..10 | ForEach-Object { Add-PachFile "g$r" master "s$_.txt" -Value "g$r $_" } | Out-Null
            Remove-PachRepo "g$r" -Confirm:$false
        }
        $full = (Get-PachStore).StoredBytes
        Disconnect-PachStore
        $child = Start-ChildPwsh "$(Get-ConnectCommand $Backend $store); while (`$true) { Optimize-PachStore | Out-Null }"
        Start-Sleep -Milliseconds (Get-Random -Minimum 1500 -Maximum 3000)
        $child.Kill()   # SIGKILL: no cleanup runs
        $child.WaitForExit()

        Connect-TestStore $Backend $store
        Test-PachStore | Should -BeNullOrEmpty
        Get-PachFileContent keep master a.txt | Should -Be 'kept'
        Optimize-PachStore | Out-Null
        (Get-PachStore).StoredBytes | Should -BeLessThan ($full - 6MB)
        (Optimize-PachStore -WhatIf).BytesFreed | Should -Be 0
        Test-PachStore | Should -BeNullOrEmpty
    }
}
