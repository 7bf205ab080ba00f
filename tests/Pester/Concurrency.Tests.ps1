#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Concurrency (issue 19, item 4): several sessions (processes on the folder, or clients of one server) do seeded random
# operations on shared repos and branches at once, while a pipeline with two workers runs and collections run among
# them; at the end everything is checked against what each session logged: no lost commit (every commit a session made
# on a branch is in that branch's history), no torn file, no datum twice, no deadlock (every session finishes, and no
# operation takes longer than a bound).
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    # One session's work: $Ops operations picked by its seed, each logged with how long it took.
    $script:Worker = @'
param([string] $Log, [int] $Seed, [int] $Ops, [string] $Name)
$rng = [System.Random]::new($Seed)
function Write-Log($Record) { [System.IO.File]::AppendAllText($Log, ($Record | ConvertTo-Json -Compress) + "`n") }
function New-Bytes([int] $Length) { $b = [byte[]]::new($Length); $rng.NextBytes($b); , $b }
function Get-Sha([byte[]] $Bytes) { [Convert]::ToHexStringLower([System.Security.Cryptography.SHA256]::HashData($Bytes)) }
$mine = [System.Collections.Generic.List[object]]::new()
for ($i = 0; $i -lt $Ops; $i++) {
    $op = $rng.Next(100)
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    # Contention the design refuses outright (one open commit per branch, one collection at a time) is logged, not fatal.
    try {
    if ($op -lt 35) {
        $kind = 'small'
        $bytes = New-Bytes ($rng.Next(1, 3000))
        $c = Add-PachFile in master "s/$Name-$i.txt" -Value $bytes
        $mine.Add(@{ kind = 'file'; repo = 'in'; branch = 'master'; commit = $c.Commit; path = "/s/$Name-$i.txt"; sha = Get-Sha $bytes })
    }
    elseif ($op -lt 45) {
        $kind = 'multi-chunk'
        $bytes = New-Bytes ($rng.Next(2MB, 4MB))
        $c = Add-PachFile shared master "m/$Name-$i.bin" -Value $bytes
        $mine.Add(@{ kind = 'file'; repo = 'shared'; branch = 'master'; commit = $c.Commit; path = "/m/$Name-$i.bin"; sha = Get-Sha $bytes })
    }
    elseif ($op -lt 65) {
        $kind = 'open commit'
        $open = Start-PachCommit shared master
        $files = foreach ($k in 1..3) {
            $bytes = New-Bytes ($rng.Next(1, 100KB))
            Add-PachFile shared $open.Commit "o/$Name-$i-$k.bin" -Value $bytes | Out-Null
            @{ path = "/o/$Name-$i-$k.bin"; sha = Get-Sha $bytes }
        }
        $c = Complete-PachCommit shared $open.Commit
        foreach ($f in $files) { $mine.Add(@{ kind = 'file'; repo = 'shared'; branch = 'master'; commit = $c.Commit; path = $f.path; sha = $f.sha }) }
    }
    elseif ($op -lt 75) {
        $kind = 'branch'
        $b = New-PachBranch shared "b-$Name-$i" -Head master
        $bytes = New-Bytes 100
        $c = Add-PachFile shared "b-$Name-$i" "b/$Name-$i.txt" -Value $bytes
        $mine.Add(@{ kind = 'file'; repo = 'shared'; branch = "b-$Name-$i"; commit = $c.Commit; path = "/b/$Name-$i.txt"; sha = Get-Sha $bytes })
    }
    elseif ($op -lt 92) {
        # A read of something this session wrote, at the commit it made: never torn, never another's bytes.
        $kind = 'read'
        if ($mine.Count) {
            $f = $mine[$rng.Next($mine.Count)]
            $sha = Get-Sha ([byte[]](Get-PachFileContent $f.repo $f.commit $f.path -AsByteStream))
            if ($sha -ne $f.sha) { Write-Log @{ kind = 'torn'; repo = $f.repo; commit = $f.commit; path = $f.path } }
            Get-PachFile $f.repo $f.branch -Recurse | Out-Null
        }
    }
    else {
        $kind = 'collect'
        Optimize-PachStore | Out-Null
    }
    }
    catch {
        $id = $_.FullyQualifiedErrorId.Split(',')[0]
        if ($id -notin 'CommitAlreadyOpen', 'CollectionRunning') { throw }
        Write-Log @{ kind = 'refused'; op = $kind; id = $id }
    }
    Write-Log @{ kind = 'op'; op = $kind; ms = $clock.ElapsedMilliseconds }
}
foreach ($f in $mine) { Write-Log $f }
Write-Log @{ kind = 'done' }
'@
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Sessions at once (<Backend>)' -ForEach ($Backends | Where-Object Backend -In 'Local', 'Remote') {
    It 'lose no commit, tear no file, run no datum twice and all finish' {
        $store = Join-Path $TestDrive "concurrent-$Backend"
        $connect = Get-ConnectCommand $Backend $store
        Invoke-Expression $connect
        New-PachRepo in, shared | Out-Null
        Add-PachFile shared master seed.txt -Value 'seed' | Out-Null   # branches start from master's head
        New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; input = @{ pfs = @{ repo = 'in'; glob = '/s/*' } }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sh', '-c', 'cp /pfs/in/s/* /pfs/out/') } } | Out-Null
        $sessions = 4
        $ops = 25
        $bound = 120000
        $workers = foreach ($n in 1..$sessions) {
            $log = Join-Path $TestDrive "session-$Backend-$n.log"
            @{ Log = $log; Process = Start-ChildPwsh "$connect`n& { $script:Worker } -Log '$log' -Seed $(4100 + $n) -Ops $ops -Name p$n" }
        }
        foreach ($w in $workers) {
            $w.Process.WaitForExit(600000) | Should -BeTrue -Because 'every session must finish (a deadlock would not)'
            $w.Process.ExitCode | Should -Be 0 -Because $w.Process.StandardError.ReadToEnd()
        }
        $records = @($workers | ForEach-Object { Get-Content $_.Log } | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
        @($records | Where-Object kind -EQ done).Count | Should -Be $sessions
        @($records | Where-Object kind -EQ torn) | Should -BeNullOrEmpty
        @($records | Where-Object kind -EQ op).Count | Should -Be ($sessions * $ops)
        $slowest = $records | Where-Object kind -EQ op | Sort-Object ms -Descending | Select-Object -First 1
        $slowest.ms | Should -BeLessThan $bound -Because "no operation may wait for ever ($($slowest.op) took $($slowest.ms) ms)"
        $files = @($records | Where-Object kind -EQ file)
        $files.Count | Should -BeGreaterThan 0
        # No lost commit: each is in the history of the branch it was made on.
        foreach ($branch in $files | Group-Object { "$($_.repo)@$($_.branch)" }) {
            $first = $branch.Group[0]
            $history = @(Get-PachCommit $first.repo $first.branch -History | ForEach-Object Commit)
            foreach ($f in $branch.Group) { $history | Should -Contain $f.commit -Because "$($f.repo)@$($f.branch) must keep commit $($f.commit) of $($f.path)" }
        }
        # No torn file, and the newest head holds every file written to its branch.
        foreach ($f in $files) {
            $bytes = [byte[]](Get-PachFileContent $f.repo $f.commit $f.path -AsByteStream)
            [Convert]::ToHexStringLower([System.Security.Cryptography.SHA256]::HashData($bytes)) | Should -Be $f.sha
            (Get-PachFile $f.repo $f.branch $f.path).Hash | Should -Not -BeNullOrEmpty
        }
        $jobs = @(Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 300)
        $jobs | Where-Object State -NE Success | Should -BeNullOrEmpty
        foreach ($j in $jobs) {
            Get-PachDatum -Job $j.JobId | Group-Object DatumId | Where-Object Count -GT 1 | Should -BeNullOrEmpty
        }
        $newest = Get-PachJob -Pipeline copy | Select-Object -First 1
        $want = @(Get-PachFile in ($newest.Inputs | Where-Object Repo -EQ in).Commit -Recurse | Where-Object Type -EQ File | ForEach-Object { "$($_.Name) $($_.Hash)" })
        $have = @(Get-PachFile copy $newest.OutputCommit -Recurse | Where-Object Type -EQ File | ForEach-Object { "$($_.Name) $($_.Hash)" })
        $have | Should -Be $want
        Test-PachStore 6>$null | Should -BeNullOrEmpty
        Disconnect-PachStore
    }
}
