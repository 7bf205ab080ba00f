# The crash campaign (issue 19, item 3): one trial starts a child session doing mixed work on a store, kills it with
# SIGKILL at a moment its seed picks, sometimes kills the session that recovers too, then checks the store from this
# session. Used by tests/Pester/Crash.Tests.ps1 (the CI's trials) and `build.ps1 Soak -Trials N` (many, with a table).
# Needs TestHelpers.ps1 dot-sourced first (Start-ChildPwsh, Get-ConnectCommand) and the module imported.

# What the child does, for ever, until it is killed: ingest of small and multi-chunk files, open commits with several
# files, commits removed, garbage collections, while pipelines (two parallel workers, datum batching, cron) run on what
# it adds. Every commit it saw finish is logged (with each file's SHA-256) before the next operation starts.
$script:CrashWorker = @'
param([string] $Log, [int] $Seed)
$rng = [System.Random]::new($Seed)
function Write-Log($Record) { [System.IO.File]::AppendAllText($Log, ($Record | ConvertTo-Json -Compress) + "`n") }
function New-Bytes([int] $Length) { $b = [byte[]]::new($Length); $rng.NextBytes($b); , $b }
function Get-Sha([byte[]] $Bytes) { [Convert]::ToHexStringLower([System.Security.Cryptography.SHA256]::HashData($Bytes)) }
New-PachRepo in, scratch | Out-Null
New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; input = @{ pfs = @{ repo = 'in'; glob = '/*/*' } }; parallelism_spec = @{ constant = 2 }
    transform = @{ cmd = @('sh', '-c', 'for f in /pfs/in/*/*; do mkdir -p "/pfs/out/$(basename "$(dirname "$f")")"; cp "$f" "/pfs/out/$(basename "$(dirname "$f")")/"; done') } } | Out-Null
New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; input = @{ pfs = @{ name = 'in'; repo = 'in'; glob = '/s/*' } }
    transform = @{ datum_batching = $true; cmd = @('sh', '-c', 'while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; [ "$r" = done ] && exit 0; . "$PACH_DATUM_ENV"; cp "$in" /pfs/out/; done') } } | Out-Null
New-PachPipeline -Spec @{ pipeline = @{ name = 'tick' }; input = @{ cron = @{ name = 'tick'; spec = '@every 2s' } }
    transform = @{ cmd = @('sh', '-c', 'cp /pfs/tick/* /pfs/out/') } } | Out-Null
Write-Log @{ kind = 'ready' }
for ($i = 0; ; $i++) {
    $op = $rng.Next(100)
    if ($op -lt 40) {
        $bytes = New-Bytes ($rng.Next(1, 4000))
        $c = Add-PachFile in master "s/$i.txt" -Value $bytes
        Write-Log @{ kind = 'file'; repo = 'in'; commit = $c.Commit; path = "/s/$i.txt"; sha = Get-Sha $bytes }
    }
    elseif ($op -lt 55) {
        # Several chunks (the chunker's average is 1 MiB), into the repo the pipelines read.
        $bytes = New-Bytes ($rng.Next(3MB, 6MB))
        $c = Add-PachFile in master "m/$i.bin" -Value $bytes
        Write-Log @{ kind = 'file'; repo = 'in'; commit = $c.Commit; path = "/m/$i.bin"; sha = Get-Sha $bytes }
    }
    elseif ($op -lt 75) {
        $open = Start-PachCommit scratch master
        $files = foreach ($k in 1..3) {
            $bytes = New-Bytes ($rng.Next(1, 200KB))
            Add-PachFile scratch $open.Commit "o/$i-$k.bin" -Value $bytes | Out-Null
            @{ path = "/o/$i-$k.bin"; sha = Get-Sha $bytes }
        }
        $c = Complete-PachCommit scratch $open.Commit
        foreach ($f in $files) { Write-Log @{ kind = 'file'; repo = 'scratch'; commit = $c.Commit; path = $f.path; sha = $f.sha } }
    }
    elseif ($op -lt 85) {
        # Before the first commit there is no branch (not found is a terminating error, which -ErrorAction does not hide).
        $head = (Get-PachBranch scratch | Where-Object Branch -EQ master)
        if ($head.Head) {
            # Logged first: killed during the removal, the commit may or may not be gone.
            Write-Log @{ kind = 'removing'; repo = 'scratch'; commit = $head.Head }
            Remove-PachCommit scratch $head.Head -Confirm:$false | Out-Null
        }
    }
    elseif ($op -lt 92) { Optimize-PachStore | Out-Null }
    else { Start-Sleep -Milliseconds ($rng.Next(50, 400)) }
}
'@

function Invoke-CrashTrial {
    # One trial; returns what happened and, in Problems, everything the checks found (empty: the store survived).
    param([Parameter(Mandatory)] [int] $Seed, [Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Store,
        [int] $JobTimeoutSec = 240)
    $rng = [System.Random]::new($Seed)
    $killAfter = $rng.Next(500, 8000)
    $killRecovery = $rng.Next(3) -eq 0
    $recoveryKillAfter = $rng.Next(200, 3000)
    $log = "$Store.log"
    $connect = Get-ConnectCommand $Backend $Store
    $problems = [System.Collections.Generic.List[string]]::new()
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $worker = Start-ChildPwsh "$connect`n& { $script:CrashWorker } -Log '$log' -Seed $Seed"
    try {
        # The moment is counted from when the pipelines exist, so every trial kills work, not setup.
        $deadline = (Get-Date).AddSeconds(120)
        while (-not ((Test-Path $log) -and (Get-Content $log -TotalCount 1)) -and -not $worker.HasExited -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        if ($worker.HasExited) { throw "The worker ended before it was killed: $($worker.StandardError.ReadToEnd())" }
        Start-Sleep -Milliseconds $killAfter
        if ($worker.HasExited) { throw "The worker ended before it was killed: $($worker.StandardError.ReadToEnd())" }
        & kill -KILL $worker.Id
        $worker.WaitForExit()
        if ($killRecovery) {
            # A session that opens the store (resuming its jobs) and is killed in turn.
            $recovery = Start-ChildPwsh "$connect`nStart-Sleep -Seconds 600"
            Start-Sleep -Milliseconds $recoveryKillAfter
            & kill -KILL $recovery.Id
            $recovery.WaitForExit()
        }
    }
    finally {
        if (-not $worker.HasExited) { $worker.Kill($true) }
    }
    Invoke-Expression $connect
    try {
        # While the resumed jobs run: a check that cries wolf here would be ignored the day it is right.
        foreach ($f in Test-PachStore 6>$null) { $problems.Add("while jobs resume: $($f.Kind) $($f.Repo)@$($f.Commit) $($f.Path): $($f.Message)") }
        Suspend-PachPipeline tick | Out-Null
        Get-PachJob | Wait-PachJob -TimeoutSec $JobTimeoutSec -ErrorAction SilentlyContinue | Out-Null
        foreach ($j in Get-PachJob | Where-Object { -not $_.IsFinished }) { $problems.Add("job $($j.Pipeline)/$($j.JobId) still $($j.State) after $JobTimeoutSec s") }
        # Nothing here fails on its own: a job that failed or was killed lost to the crash.
        foreach ($j in Get-PachJob | Where-Object { $_.IsFinished -and $_.State -ne 'Success' }) { $problems.Add("job $($j.Pipeline)/$($j.JobId) ended $($j.State): $($j.Reason)") }
        foreach ($f in Test-PachStore 6>$null) { $problems.Add("after jobs: $($f.Kind) $($f.Repo)@$($f.Commit) $($f.Path): $($f.Message)") }
        $records = @(Get-Content $log | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
        $removing = @($records | Where-Object kind -EQ removing | ForEach-Object commit)
        $files = @($records | Where-Object { $_.kind -eq 'file' -and $_.commit -notin $removing })
        foreach ($f in $files) {
            try {
                $bytes = [byte[]](Get-PachFileContent $f.repo $f.commit $f.path -AsByteStream -ErrorAction Stop)
                $sha = [Convert]::ToHexStringLower([System.Security.Cryptography.SHA256]::HashData($bytes))
                if ($sha -ne $f.sha) { $problems.Add("$($f.repo)@$($f.commit) $($f.path) reads back other bytes") }
            }
            catch { $problems.Add("$($f.repo)@$($f.commit) $($f.path), logged as committed: $($_.FullyQualifiedErrorId) $($_.Exception.Message)") }
        }
        foreach ($j in Get-PachJob) {
            $counted = $j.Processed + $j.Skipped + $j.Failed + $j.Recovered
            if ($j.State -eq 'Success' -and $counted -ne $j.Total) { $problems.Add("job $($j.Pipeline)/$($j.JobId) counts $counted datums of $($j.Total)") }
            $twice = Get-PachDatum -Job $j.JobId | Group-Object DatumId | Where-Object Count -GT 1
            foreach ($d in $twice) { $problems.Add("job $($j.Pipeline)/$($j.JobId) lists datum $($d.Name) $($d.Count) times") }
        }
        # Each successful copy holds exactly the input it was made from: nothing lost, torn or doubled by the kill.
        foreach ($j in Get-PachJob -Pipeline copy | Where-Object State -EQ Success) {
            $input = $j.Inputs | Where-Object Repo -EQ in
            $want = @(Get-PachFile in $input.Commit -Recurse | Where-Object Type -EQ File | ForEach-Object { "$($_.Path) $($_.Hash)" })
            $have = @(Get-PachFile copy $j.OutputCommit -Recurse | Where-Object Type -EQ File | ForEach-Object { "$($_.Path) $($_.Hash)" })
            if (Compare-Object $want $have) { $problems.Add("copy job $($j.JobId) output differs from its input in@$($input.Commit)") }
        }
        [pscustomobject]@{
            Seed = $Seed; Backend = $Backend; KilledAfterMs = $killAfter; RecoveryKilledAfterMs = if ($killRecovery) { $recoveryKillAfter } else { $null }
            CommittedFiles = $files.Count; Jobs = @(Get-PachJob).Count; Seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1)
            Outcome = if ($problems.Count) { 'FAILED' } else { 'ok' }; Problems = @($problems)
        }
    }
    finally { Disconnect-PachStore }
}
