#requires -Version 7.4
<#
.SYNOPSIS
    PachPS benchmarks: each figure is measured in this run against the comparison its issue names, on the same data.
.DESCRIPTION
    Run through `dotnet pwsh ./build.ps1 Bench`. -Scale shrinks the generated data for a quick look (1 = full size).
    -S3 adds the S3 backend against rclone copy, both ways (a 256 MiB file and 10,000 x 1 KiB up and down, medians of
    3 alternating rounds, rclone at its default transfer settings); -Remote adds a pachps-server on loopback against an embedded store (the
    server from out/server). -Only runs that one section alone (-Only Remote, -Only S3, -Only Collection, -Only Io,
    -Only Lazy, -Only Gateway, -Only Scale, -Only Containers, -Only Backup), without the embedded figures; the collection, Io and backup
    sections are part of the full run. -Only Gateway (only so) measures the server's S3 gateway: GetObject of a 256 MiB file against
    Get-PachFileContent -AsByteStream through the same server, and aws s3 cp --recursive of 10,000 x 1 KiB against a
    radosgw it starts itself (tests/s3/start-rgw.sh in /tmp/pachps-bench-rgw on ports 7780 and 3600, or $env:CEPH_DIR,
    RGW_PORT, MON_PORT). The scale section (how cost grows from 10k to 1M items, out/bench/scale.json and
    docs/scale.png) only runs alone too, as does -Only Containers (2,000 one-line datums in warm Podman containers
    against local processes, and what podman run --rm and podman exec cost per datum; tests/containers/setup-podman.sh
    installs podman and makes the busybox image). -Quick is for development: one round instead of three, at a quarter of the size
    unless -Scale sets another (Scale: a tenth).
    Prints a table of figures and ratios; it asserts nothing (benchmarks are not tests).
#>
param([double] $Scale = 1, [switch] $S3, [switch] $Remote, [ValidateSet('S3', 'Remote', 'Collection', 'Io', 'Lazy', 'Gateway', 'Scale', 'Containers', 'Backup')] [string] $Only, [switch] $Quick)
$ErrorActionPreference = 'Stop'
if ($Quick -and $Scale -eq 1) { $Scale = 0.25 }
if ($Only -eq 'S3') { $S3 = $true }
if ($Only -eq 'Remote') { $Remote = $true }
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
$work = Join-Path ([System.IO.Path]::GetTempPath()) ("pachps-bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
New-Item -ItemType Directory $work | Out-Null
$results = [System.Collections.Generic.List[object]]::new()
$pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
$module = Join-Path $root 'PachPS.psd1'

function Add-Result([string] $Benchmark, [string] $Measure, [string] $Comparison, [string] $Ratio, [string] $Target) {
    $results.Add([pscustomobject]@{ Benchmark = $Benchmark; PachPS = $Measure; Comparison = $Comparison; Ratio = $Ratio; Target = $Target })
    Write-Host ("{0}: {1} | {2} | {3}" -f $Benchmark, $Measure, $Comparison, $Ratio)
}
function Seconds([scriptblock] $Block) { (Measure-Command $Block).TotalSeconds }
function Median([double[]] $Values) { ($Values | Sort-Object)[[int][math]::Floor($Values.Count / 2)] }
function Join-Seconds([double[]] $Values) { ($Values | ForEach-Object { '{0:N2}' -f $_ }) -join '/' }
function Invoke-Child([string] $Script) {
    # A fresh pwsh: timings are taken inside it, so its start-up is not counted; peak memory is its own.
    $file = Join-Path $work ("child-" + [guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content $file ("`$ErrorActionPreference = 'Stop'`nImport-Module '$module'`n" + $Script)
    $out = & dotnet $pwshDll -NoProfile -NonInteractive -File $file
    if ($LASTEXITCODE -ne 0) { throw "bench child failed: $out" }
    $out | Select-Object -Last 1 | ConvertFrom-Json
}
function Format-Bytes([double] $b) { if ($b -ge 1MB) { '{0:N1} MiB' -f ($b / 1MB) } elseif ($b -ge 1KB) { '{0:N1} KiB' -f ($b / 1KB) } else { "$b B" } }
function Write-RandomFile([string] $Path, [long] $Size, [int] $Seed) {
    # One large file of random bytes (the same for the same seed), written 4 MiB at a time.
    $rng = [System.Random]::new($Seed)
    $buf = [byte[]]::new(4MB)
    $fs = [System.IO.File]::Create($Path)
    try { for ($w = 0L; $w -lt $Size; $w += $buf.Length) { $rng.NextBytes($buf); $fs.Write($buf, 0, [math]::Min($buf.Length, $Size - $w)) } }
    finally { $fs.Dispose() }
}
function Write-Files([string] $Folder, [int] $Count, [int] $Size, [int] $PerFolder = 500) {
    $rng = [System.Random]::new(42)
    $buffer = [byte[]]::new($Size)
    for ($i = 0; $i -lt $Count; $i++) {
        $dir = Join-Path $Folder ("d{0:D3}/s{1:D2}" -f [int][math]::Floor($i / $PerFolder), ($i % 10))
        if ($i % $PerFolder -lt 10) { [System.IO.Directory]::CreateDirectory($dir) | Out-Null }
        $rng.NextBytes($buffer)
        [System.IO.File]::WriteAllBytes((Join-Path $dir "f$i.bin"), $buffer)
    }
}

function Invoke-S3Bench {
    # PachPS on the S3 backend against rclone copy, both ways, on the same radosgw and the same bytes: one 256 MiB file
    # (times -Scale) up (Add-PachFile) and down (Save-PachFile; Get-PachFileContent -AsByteStream too), and 10,000 x 1 KiB
    # files (times -Scale) up (Add-PachFile -Recurse) and down (Save-PachFile of the folder). Each round writes fresh
    # random bytes into a fresh store and a fresh rclone folder (PachPS deduplicates); rclone and PachPS take turns, the
    # order swapped every round; medians of 3 rounds (1 under -Quick). rclone runs with its default transfer settings,
    # spelled out below (and in README); its times include its start-up (about 0.1 s). Each PachPS child first moves a
    # 1 MiB file the same way, so the figure is the transfer's and not the JIT's.
    $rounds = if ($Quick) { 1 } else { 3 }
    if (-not (Get-Command rclone -ErrorAction Ignore)) { & apt-get install -y -q --no-install-recommends rclone | Out-Null }
    $rcloneExe = @(Get-Command rclone -CommandType Application)[0].Source
    # rclone cannot combine AWS_CA_BUNDLE with its own HTTP transport ("LoadCustomCABundleError"); the endpoint is plain HTTP.
    Remove-Item env:AWS_CA_BUNDLE -ErrorAction Ignore
    $env:RCLONE_CONFIG_BENCH_TYPE = 's3'
    $env:RCLONE_CONFIG_BENCH_PROVIDER = 'Ceph'
    $env:RCLONE_CONFIG_BENCH_ENDPOINT = $env:PACHPS_TEST_S3_ENDPOINT
    $env:RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $env:PACHPS_TEST_S3_ACCESS_KEY
    $env:RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $env:PACHPS_TEST_S3_SECRET_KEY
    $env:RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'
    $env:RCLONE_CONFIG = '/dev/null'
    $bucket = 'pachps-bench'
    # rclone's defaults (v1.60), given explicitly so they are printed: 4 files at a time, multipart above 200 MiB in 5 MiB
    # parts 4 at a time, downloads above 250 MiB in 4 streams.
    $rcloneFlags = @('--transfers', '4', '--checkers', '8', '--s3-upload-cutoff', '200M', '--s3-chunk-size', '5M', '--s3-upload-concurrency', '4',
        '--multi-thread-cutoff', '250M', '--multi-thread-streams', '4', '--s3-no-check-bucket')
    function Invoke-Rclone([string] $Verb, [string] $Source, [string] $Target) {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $output = & $rcloneExe $Verb $Source $Target @rcloneFlags 2>&1
        $watch.Stop()
        if ($LASTEXITCODE -ne 0) { throw "rclone $Verb $Source $Target failed ($LASTEXITCODE): $($output | Select-Object -Last 3)" }
        $watch.Elapsed.TotalSeconds
    }
    & $rcloneExe mkdir "bench:$bucket" 2>&1 | Out-Null
    Write-Note ("S3: {0} at {1}, scale {2}, {3} round(s); rclone flags: {4}" -f (& $rcloneExe version | Select-Object -First 1), $env:PACHPS_TEST_S3_ENDPOINT, $Scale, $rounds, ($rcloneFlags -join ' '))
    $connect = "Connect-PachStore -Path '$work/store-s3-{0}' -S3Bucket $bucket -S3Endpoint '$env:PACHPS_TEST_S3_ENDPOINT' -S3Prefix 'pachps-{0}' -Credential ([pscredential]::new('$env:PACHPS_TEST_S3_ACCESS_KEY', (ConvertTo-SecureString '$env:PACHPS_TEST_S3_SECRET_KEY' -AsPlainText -Force))) | Out-Null"
    $peak = '[Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64'

    $size = [long](256MB * $Scale)
    $mb = $size / 1MB
    $n = [int][math]::Max(100, 10000 * $Scale)
    $t = @{}
    foreach ($name in 'RcUp', 'PpUp', 'RcDown', 'PpDown', 'PpCat', 'RcTinyUp', 'PpTinyUp', 'RcTinyDown', 'PpTinyDown') { $t[$name] = [System.Collections.Generic.List[double]]::new() }
    $last = @{}
    $rng = [System.Random]::new(9)
    $buf = [byte[]]::new(1024)
    foreach ($k in 1..$rounds) {
        $big = Join-Path $work "s3-big-$k.bin"
        Write-RandomFile $big $size (100 + $k)
        Write-RandomFile "$work/s3-warm-$k.bin" 1MB (200 + $k)
        $tiny = Join-Path $work "s3-tiny-$k"
        New-Item -ItemType Directory $tiny | Out-Null
        foreach ($i in 1..$n) { $rng.NextBytes($buf); [IO.File]::WriteAllBytes("$tiny/t$i.bin", $buf) }
        & sync
        $load = (Get-Content /proc/loadavg) -replace '^(\S+ \S+ \S+).*', '$1'
        $store = $connect -f $k
        $steps = [ordered]@{
            Up = @(
                { $t.RcUp.Add((Invoke-Rclone copyto $big "bench:$bucket/rclone-$k/big.bin")) },
                {
                    $r = Invoke-Child @"
$store; New-PachRepo warm, big | Out-Null
Add-PachFile warm master /warm.bin -Source '$work/s3-warm-$k.bin' | Out-Null
`$before = (Get-PachStore).Requests
`$s = (Measure-Command { Add-PachFile big master /big.bin -Source '$big' | Out-Null }).TotalSeconds
@{ Seconds = `$s; Requests = (Get-PachStore).Requests - `$before; Peak = $peak } | ConvertTo-Json -Compress
"@
                    $t.PpUp.Add($r.Seconds); $last.Up = $r
                })
            Down = @(
                { $t.RcDown.Add((Invoke-Rclone copyto "bench:$bucket/rclone-$k/big.bin" "$work/s3-rclone-down-$k.bin")) },
                {
                    $r = Invoke-Child @"
$store
Save-PachFile warm master /warm.bin '$work/s3-warm-down-$k.bin' | Out-Null
`$before = (Get-PachStore).Requests
`$s = (Measure-Command { Save-PachFile big master /big.bin '$work/s3-pachps-down-$k.bin' | Out-Null }).TotalSeconds
`$requests = (Get-PachStore).Requests - `$before
`$null = (Get-PachFileContent warm master /warm.bin -AsByteStream).Length
`$c = (Measure-Command { `$bytes = (Get-PachFileContent big master /big.bin -AsByteStream).Length }).TotalSeconds
@{ Seconds = `$s; Requests = `$requests; Cat = `$c; Bytes = `$bytes; Saved = (Get-Item '$work/s3-pachps-down-$k.bin').Length; Peak = $peak } | ConvertTo-Json -Compress
"@
                    if ($r.Bytes -ne $size -or $r.Saved -ne $size) { throw "S3 round ${k}: PachPS read $($r.Bytes) and saved $($r.Saved) bytes, not $size" }
                    $t.PpDown.Add($r.Seconds); $t.PpCat.Add($r.Cat); $last.Down = $r
                })
            TinyUp = @(
                { $t.RcTinyUp.Add((Invoke-Rclone copy $tiny "bench:$bucket/rclone-$k/tiny")) },
                {
                    $r = Invoke-Child @"
$store; New-PachRepo tiny | Out-Null
`$before = (Get-PachStore).Requests
`$s = (Measure-Command { Add-PachFile tiny master / -Source '$tiny' -Recurse | Out-Null }).TotalSeconds
@{ Seconds = `$s; Requests = (Get-PachStore).Requests - `$before; Peak = $peak } | ConvertTo-Json -Compress
"@
                    $t.PpTinyUp.Add($r.Seconds); $last.TinyUp = $r
                })
            TinyDown = @(
                { $t.RcTinyDown.Add((Invoke-Rclone copy "bench:$bucket/rclone-$k/tiny" "$work/s3-rclone-tiny-$k")) },
                {
                    $r = Invoke-Child @"
$store
`$before = (Get-PachStore).Requests
`$s = (Measure-Command { Save-PachFile tiny master / '$work/s3-pachps-tiny-$k' | Out-Null }).TotalSeconds
@{ Seconds = `$s; Requests = (Get-PachStore).Requests - `$before; Peak = $peak } | ConvertTo-Json -Compress
"@
                    $t.PpTinyDown.Add($r.Seconds); $last.TinyDown = $r
                })
        }
        foreach ($pair in $steps.Values) {
            # rclone first in odd rounds, PachPS first in even ones.
            if ($k % 2) { & $pair[0]; & $pair[1] } else { & $pair[1]; & $pair[0] }
        }
        if ((Get-Item "$work/s3-rclone-down-$k.bin").Length -ne $size) { throw "S3 round ${k}: rclone saved a file of the wrong size" }
        $counts = @(Get-ChildItem -File -Recurse "$work/s3-rclone-tiny-$k").Count, @(Get-ChildItem -File -Recurse "$work/s3-pachps-tiny-$k").Count
        if ($counts[0] -ne $n -or $counts[1] -ne $n) { throw "S3 round ${k}: rclone and PachPS saved $($counts -join ' and ') small files, not $n" }
        Write-Note ('S3 round {0} (load before {1}, after {2}): {3:N0} MiB up rclone {4:N2} s, PachPS {5:N2} s; down rclone {6:N2} s, Save-PachFile {7:N2} s, Get-PachFileContent {8:N2} s; {9} x 1 KiB up rclone {10:N2} s, PachPS {11:N2} s; down rclone {12:N2} s, PachPS {13:N2} s' -f $k,
            $load, ((Get-Content /proc/loadavg) -replace '^(\S+ \S+ \S+).*', '$1'), $mb, $t.RcUp[-1], $t.PpUp[-1], $t.RcDown[-1], $t.PpDown[-1], $t.PpCat[-1], $n, $t.RcTinyUp[-1], $t.PpTinyUp[-1], $t.RcTinyDown[-1], $t.PpTinyDown[-1])
        Remove-Item $big, "$work/s3-*-down-$k.bin", $tiny, "$work/s3-*-tiny-$k" -Recurse -Force -ErrorAction Ignore
    }
    $m = @{}
    foreach ($name in $t.Keys) { $m[$name] = Median $t[$name] }
    $rate = { param($s) '{0:N1} MiB/s ({1:N2} s median of {2})' -f ($mb / (Median $s)), (Median $s), (Join-Seconds $s) }
    $secs = { param($s) '{0:N2} s median of {1}' -f (Median $s), (Join-Seconds $s) }
    $big = Format-Bytes $size
    Add-Result "S3 up: one $big file, Add-PachFile" ('{0}; {1} requests, peak {2}' -f (& $rate $t.PpUp), $last.Up.Requests, (Format-Bytes $last.Up.Peak)) ('rclone copyto {0}' -f (& $rate $t.RcUp)) ('{0:N2}x rclone throughput' -f ($m.RcUp / $m.PpUp)) 'at least 1.5x'
    Add-Result "S3 down: same file, Save-PachFile" ('{0}; {1} requests, peak {2}' -f (& $rate $t.PpDown), $last.Down.Requests, (Format-Bytes $last.Down.Peak)) ('rclone copyto {0}' -f (& $rate $t.RcDown)) ('{0:N2}x rclone throughput' -f ($m.RcDown / $m.PpDown)) 'at least 1.5x'
    Add-Result "S3 down: same file, Get-PachFileContent -AsByteStream" (& $rate $t.PpCat) ('rclone copyto {0}' -f (& $rate $t.RcDown)) ('{0:N2}x rclone throughput' -f ($m.RcDown / $m.PpCat)) 'report'
    Add-Result "S3 down: $n x 1 KiB files, Save-PachFile of the folder" ('{0}; {1} requests' -f (& $secs $t.PpTinyDown), $last.TinyDown.Requests) ('rclone copy {0}' -f (& $secs $t.RcTinyDown)) ('{0:N1}x faster than rclone' -f ($m.RcTinyDown / $m.PpTinyDown)) 'at least 5x'
    Add-Result "S3 up: $n x 1 KiB files, Add-PachFile -Recurse" ('{0}; {1} requests' -f (& $secs $t.PpTinyUp), $last.TinyUp.Requests) ('rclone copy {0}' -f (& $secs $t.RcTinyUp)) ('{0:N1}x faster than rclone' -f ($m.RcTinyUp / $m.PpTinyUp)) 'at least 5x'
}

# ------------------------------------------------------------------ remote: pachps-server on loopback vs embedded
function Get-PeakRss([int] $ProcessId) {
    # VmHWM: the peak resident set of that process so far.
    $line = Get-Content "/proc/$ProcessId/status" | Where-Object { $_ -like 'VmHWM:*' }
    [long]($line -replace '\D', '') * 1KB
}
function Start-BenchServer([string] $Store) {
    # A fresh pachps-server on a free loopback port over a new store; it stops with this bench if the bench dies.
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $log = "$Store.out"
    $process = Start-Process dotnet -ArgumentList (Join-Path $root 'out/server/pachps-server.dll'), '--store', $Store, '--listen', "https://127.0.0.1:$port", '--stop-with-process', $PID `
        -RedirectStandardOutput $log -RedirectStandardError "$Store.err" -PassThru
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (Select-String -Path $log -Pattern 'first admin token' -Quiet -ErrorAction Ignore)) {
        if ($process.HasExited -or (Get-Date) -gt $deadline) { throw "pachps-server did not start: $(Get-Content "$Store.err" -Raw)" }
        Start-Sleep -Milliseconds 100
    }
    $text = Get-Content $log -Raw
    $thumbprint = [regex]::Match($text, 'certificate thumbprint ([0-9A-F]+)').Groups[1].Value
    $token = [regex]::Match($text, 'first admin token[^:]*: (pachps_\S+)').Groups[1].Value
    [pscustomobject]@{
        Process = $process
        Connect = "Connect-PachStore -Server 'https://127.0.0.1:$port' -Token '$token' -CertificateThumbprint '$thumbprint' | Out-Null"
        Uri = "https://127.0.0.1:$port"
        Token = $token
        Thumbprint = $thumbprint
    }
}
function Stop-BenchServer($Server, [string] $Store) {
    # SIGTERM: the server closes its store as it would in service; killed if it has not stopped after 30 s.
    if (-not $Server.Process.HasExited) {
        & kill -TERM $Server.Process.Id
        if (-not $Server.Process.WaitForExit(30000)) { $Server.Process.Kill(); $Server.Process.WaitForExit() }
    }
    if ($Store) { Remove-Item $Store -Recurse -Force -ErrorAction Ignore; & sync }
}
function Get-CpuSeconds($Process) { $Process.Refresh(); $Process.TotalProcessorTime.TotalSeconds }
$cpuScript = '[Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds'
function Write-Note([string] $Text) { Write-Host "  $([DateTime]::UtcNow.ToString('HH:mm:ss')) $Text" -ForegroundColor DarkGray }
$peakScript = "[long]((Get-Content /proc/`$PID/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', '') * 1KB"

function Invoke-RemoteBench {
    # Each figure takes turns between an embedded session (Connect-PachStore -Path, as the sections above) and a
    # session connected to a pachps-server on 127.0.0.1 over HTTPS (a fresh server and store per round), three rounds,
    # and the medians are compared. Client sessions are fresh pwsh processes; their start-up is not counted.
    $rounds = 3
    Write-Note "remote: server $(Join-Path $root 'out/server/pachps-server.dll'), scale $Scale, $rounds rounds"

    # ---------------- many small files: 20,000 x 1 KiB in 100 folders, one Add-PachFile -Recurse
    $n = [int][math]::Max(100, 20000 * $Scale)
    $tree = Join-Path $work 'remote-small'
    $rng = [System.Random]::new(11); $buf = [byte[]]::new(1024)
    foreach ($f in 0..99) { [IO.Directory]::CreateDirectory((Join-Path $tree ('d{0:D2}' -f $f))) | Out-Null }
    foreach ($i in 0..($n - 1)) { $rng.NextBytes($buf); [IO.File]::WriteAllBytes((Join-Path $tree ('d{0:D2}/f{1}.bin' -f ($i % 100), $i)), $buf) }
    # Both sessions (and the server) first add a small tree to another repo, so the figure is the upload's and not the JIT's.
    $warmTree = Join-Path $work 'remote-warm'
    foreach ($i in 0..99) { [IO.Directory]::CreateDirectory((Join-Path $warmTree ('d{0}' -f ($i % 10)))) | Out-Null; $rng.NextBytes($buf); [IO.File]::WriteAllBytes((Join-Path $warmTree ('d{0}/w{1}.bin' -f ($i % 10), $i)), $buf) }
    & sync
    $addSmall = @"
New-PachRepo small, warm | Out-Null
Add-PachFile warm master / -Source '$warmTree' -Recurse | Out-Null
`$cpu = $cpuScript
`$t = (Measure-Command { Add-PachFile small master / -Source '$tree' -Recurse | Out-Null }).TotalSeconds
`$cpu = $cpuScript - `$cpu
`$ts = `$t + (Measure-Command { & sync }).TotalSeconds
@{ Seconds = `$t; Synced = `$ts; Cpu = `$cpu; Files = (Get-PachCommit small master).FileCount } | ConvertTo-Json -Compress
"@
    $embedded = [System.Collections.Generic.List[object]]::new()
    $remote = [System.Collections.Generic.List[object]]::new()
    foreach ($k in 1..$rounds) {
        $store = "$work/remote-small-embedded-$k"
        $embedded.Add((Invoke-Child ("Connect-PachStore -Path '$store' | Out-Null`n" + $addSmall)))
        Remove-Item $store -Recurse -Force; & sync
        $store = "$work/remote-small-server-$k"
        $server = Start-BenchServer $store
        try {
            $serverCpu = Get-CpuSeconds $server.Process
            $remote.Add((Invoke-Child ($server.Connect + "`n" + $addSmall)))
            $serverCpu = (Get-CpuSeconds $server.Process) - $serverCpu
        }
        finally { Stop-BenchServer $server $store }
        Write-Note ('small files round {0}: embedded {1:N2} s (CPU {2:N2} s); remote {3:N2} s, client CPU {4:N2} s, server CPU {5:N2} s (whole session)' -f $k, $embedded[-1].Seconds, $embedded[-1].Cpu, $remote[-1].Seconds, $remote[-1].Cpu, $serverCpu)
    }
    if (@($remote.Files + $embedded.Files | Where-Object { $_ -ne $n }).Count) { throw "small files: a store holds $($remote.Files + $embedded.Files -join '/') files, not $n" }
    $e = Median $embedded.Seconds; $r = Median $remote.Seconds
    $es = Median $embedded.Synced; $rs = Median $remote.Synced
    Write-Note ('small files per round: embedded {0} s; remote {1} s' -f (Join-Seconds $embedded.Seconds), (Join-Seconds $remote.Seconds))
    Add-Result "remote: $n x 1 KiB in 100 folders, -Recurse" ('{0:N2} s (+sync {1:N2} s)' -f $r, $rs) ('embedded {0:N2} s (+sync {1:N2} s)' -f $e, $es) `
        ('{0:N2}x ({1:N2}x with sync)' -f ($r / $e), ($rs / $es)) 'within 1.5x of embedded'
    Remove-Item $tree, $warmTree -Recurse -Force

    # ---------------- one large file: 1 GiB, Add-PachFile; throughput and peak RSS of client and server
    $bigSize = [long](1GB * $Scale)
    $big = Join-Path $work 'remote-big.bin'
    $rng = [System.Random]::new(13); $buf = [byte[]]::new(4MB)
    $fs = [System.IO.File]::Create($big)
    for ($w = 0L; $w -lt $bigSize; $w += $buf.Length) { $rng.NextBytes($buf); $fs.Write($buf, 0, [math]::Min($buf.Length, $bigSize - $w)) }
    $fs.Dispose()
    $warmFile = Join-Path $work 'remote-warm.bin'
    $fs = [System.IO.File]::Create($warmFile); $rng.NextBytes($buf); $fs.Write($buf, 0, $buf.Length); $fs.Write($buf, 0, $buf.Length); $fs.Dispose()
    & sync
    $addBig = @"
New-PachRepo big, warm | Out-Null
Add-PachFile warm master w.bin -Source '$warmFile' | Out-Null
`$cpu = $cpuScript
`$t = (Measure-Command { Add-PachFile big master big.bin -Source '$big' | Out-Null }).TotalSeconds
`$cpu = $cpuScript - `$cpu
`$ts = `$t + (Measure-Command { & sync }).TotalSeconds
@{ Seconds = `$t; Synced = `$ts; Cpu = `$cpu; Size = (Get-PachFile big master big.bin).Size; Peak = $peakScript } | ConvertTo-Json -Compress
"@
    $embedded = [System.Collections.Generic.List[object]]::new()
    $remote = [System.Collections.Generic.List[object]]::new()
    $serverPeaks = [System.Collections.Generic.List[double]]::new()
    $serverIdle = [System.Collections.Generic.List[double]]::new()
    foreach ($k in 1..$rounds) {
        $store = "$work/remote-big-embedded-$k"
        $embedded.Add((Invoke-Child ("Connect-PachStore -Path '$store' | Out-Null`n" + $addBig)))
        Remove-Item $store -Recurse -Force; & sync
        $store = "$work/remote-big-server-$k"
        $server = Start-BenchServer $store
        try {
            $serverIdle.Add((Get-PeakRss $server.Process.Id))
            $serverCpu = Get-CpuSeconds $server.Process
            $remote.Add((Invoke-Child ($server.Connect + "`n" + $addBig)))
            $serverCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            $serverPeaks.Add((Get-PeakRss $server.Process.Id))
        }
        finally { Stop-BenchServer $server $store }
        Write-Note ('big file round {0}: embedded {1:N2} s (CPU {2:N2} s, peak {3}); remote {4:N2} s, client CPU {5:N2} s (peak {6}), server CPU {7:N2} s (peak {8})' -f $k,
            $embedded[-1].Seconds, $embedded[-1].Cpu, (Format-Bytes $embedded[-1].Peak), $remote[-1].Seconds, $remote[-1].Cpu, (Format-Bytes $remote[-1].Peak), $serverCpu, (Format-Bytes $serverPeaks[-1]))
    }
    if (@($remote.Size + $embedded.Size | Where-Object { $_ -ne $bigSize }).Count) { throw "big file: stored sizes $($remote.Size + $embedded.Size -join '/'), not $bigSize" }
    $baseline = Invoke-Child "@{ Peak = $peakScript } | ConvertTo-Json -Compress"
    $mb = $bigSize / 1MB
    $e = Median $embedded.Seconds; $r = Median $remote.Seconds
    $es = Median $embedded.Synced; $rs = Median $remote.Synced
    $mibs = { param($s) ($s | ForEach-Object { '{0:N0}' -f ($mb / $_) }) -join '/' }
    Write-Note ('big file per round: embedded {0} MiB/s; remote {1} MiB/s' -f (& $mibs $embedded.Seconds), (& $mibs $remote.Seconds))
    Add-Result ("remote: one {0} file, Add-PachFile" -f (Format-Bytes $bigSize)) ('{0:N0} MiB/s ({1:N0} with sync)' -f ($mb / $r), ($mb / $rs)) `
        ('embedded {0:N0} MiB/s ({1:N0} with sync)' -f ($mb / $e), ($mb / $es)) ('{0:P0} ({1:P0} with sync)' -f ($e / $r), ($es / $rs)) 'at least 70% of embedded'
    $clientPeak = ($remote.Peak | Measure-Object -Maximum).Maximum
    $serverPeak = ($serverPeaks | Measure-Object -Maximum).Maximum
    $embeddedPeak = ($embedded.Peak | Measure-Object -Maximum).Maximum
    Write-Note ('peaks: bare pwsh + module {0}, idle server {1}' -f (Format-Bytes $baseline.Peak), (Format-Bytes (Median $serverIdle)))
    Add-Result 'remote: peak RSS (VmHWM) of that upload' ('client {0}; server {1}' -f (Format-Bytes $clientPeak), (Format-Bytes $serverPeak)) ('embedded pwsh {0}' -f (Format-Bytes $embeddedPeak)) `
        ('{0:N2}x, {1:N2}x embedded' -f ($clientPeak / $embeddedPeak), ($serverPeak / $embeddedPeak)) 'under 300 MB each'
    Remove-Item $big, $warmFile

    # ---------------- Get-PachRepo round trip: median of many warm calls
    $calls = [int][math]::Max(50, 500 * $Scale)
    $listRepos = @"
if (-not (Get-PachRepo)) { New-PachRepo a, b, c, d, e | Out-Null }
foreach (`$i in 1..50) { Get-PachRepo | Out-Null }
`$times = foreach (`$i in 1..$calls) { (Measure-Command { Get-PachRepo | Out-Null }).TotalMilliseconds }
`$sorted = `$times | Sort-Object
@{ Ms = `$sorted[[int][math]::Floor(`$sorted.Count / 2)]; P90 = `$sorted[[int][math]::Floor(`$sorted.Count * 0.9)] } | ConvertTo-Json -Compress
"@
    $embedded = [System.Collections.Generic.List[object]]::new()
    $remote = [System.Collections.Generic.List[object]]::new()
    $store = "$work/remote-repos-server"
    $server = Start-BenchServer $store
    try {
        foreach ($k in 1..$rounds) {
            $embedded.Add((Invoke-Child ("Connect-PachStore -Path '$work/remote-repos-embedded' | Out-Null`n" + $listRepos)))
            $remote.Add((Invoke-Child ($server.Connect + "`n" + $listRepos)))
        }
    }
    finally { Stop-BenchServer $server $store }
    $join = { param($v) ($v | ForEach-Object { '{0:N2}' -f $_ }) -join '/' }
    $e = Median $embedded.Ms; $r = Median $remote.Ms
    Write-Note ('Get-PachRepo medians per round: embedded {0} ms; remote {1} ms' -f (& $join $embedded.Ms), (& $join $remote.Ms))
    Add-Result "remote: Get-PachRepo, median of $calls warm calls" ('{0:N2} ms (p90 {1:N2} ms)' -f $r, (Median $remote.P90)) ('embedded {0:N2} ms' -f $e) `
        ('{0:N2}x (+{1:N2} ms)' -f ($r / $e), ($r - $e)) 'under 5 ms'

    # ---------------- 8 clients (separate pwsh processes) x 100 one-file commits on one branch
    $clients = 8
    $perClient = [int][math]::Max(5, 100 * $Scale)
    $commitLoop = @"
`$failures = 0; `$firstError = `$null
`$latencies = [Collections.Generic.List[double]]::new()
`$cpu = $cpuScript
`$start = [DateTime]::UtcNow.Ticks
foreach (`$j in 1..$perClient) {
    `$sw = [Diagnostics.Stopwatch]::StartNew()
    try { Add-PachFile conc master "c`$id/f`$j.txt" -Value "client `$id commit `$j" -Message "c`$id-`$j" | Out-Null }
    catch { `$failures++; if (-not `$firstError) { `$firstError = "`$_" } }
    `$latencies.Add(`$sw.Elapsed.TotalMilliseconds)
}
`$end = [DateTime]::UtcNow.Ticks
`$cpu = $cpuScript - `$cpu
`$sorted = `$latencies | Sort-Object
@{ Id = `$id; Start = `$start; End = `$end; Failures = `$failures; Error = `$firstError; Cpu = `$cpu; Ms = `$sorted[[int][math]::Floor(`$sorted.Count / 2)]; Max = `$sorted[-1] } | ConvertTo-Json -Compress
"@
    $verify = @"
`$history = @(Get-PachCommit conc master -History)
`$messages = @(`$history.Message | Where-Object { `$_ -match '^c\d+-\d+$' } | Sort-Object -Unique)
`$files = @(Get-PachFile conc master / -Recurse | Where-Object { `$_.Type -eq 'File' -and `$_.Path -like '/c*' })
`$bad = 0
foreach (`$f in `$files | Select-Object -First 50) { if (`$f.Path -match '/c(\d+)/f(\d+)\.txt$' -and (Get-PachFileContent conc master `$f.Path -Raw) -ne "client `$(`$Matches[1]) commit `$(`$Matches[2])") { `$bad++ } }
@{ Commits = `$history.Count; Messages = `$messages.Count; Files = `$files.Count; HeadFiles = (Get-PachCommit conc master).FileCount; BadContent = `$bad } | ConvertTo-Json -Compress
"@
    $single = [System.Collections.Generic.List[double]]::new()
    $singleEmbedded = [System.Collections.Generic.List[double]]::new()
    $concurrent = [System.Collections.Generic.List[double]]::new()
    $checks = [System.Collections.Generic.List[object]]::new()
    foreach ($k in 1..$rounds) {
        # One embedded session, for scale: the same commits without the server.
        $store = "$work/remote-conc-embedded-$k"
        $r = Invoke-Child ("Connect-PachStore -Path '$store' | Out-Null; New-PachRepo conc, warm | Out-Null; Add-PachFile warm master w.txt -Value w | Out-Null; `$id = 0`n" + $commitLoop)
        $singleEmbedded.Add($perClient / (($r.End - $r.Start) / 1e7))
        Write-Note ('commits round {0}: embedded session {1:N1} commits/s, median commit {2:N1} ms, CPU {3:N2} s' -f $k, $singleEmbedded[-1], $r.Ms, $r.Cpu)
        Remove-Item $store -Recurse -Force; & sync
        # One client alone, then $clients at once, each on a fresh server.
        $store = "$work/remote-conc-single-$k"
        $server = Start-BenchServer $store
        try {
            $serverCpu = Get-CpuSeconds $server.Process
            $r = Invoke-Child ($server.Connect + "; New-PachRepo conc, warm | Out-Null; Add-PachFile warm master w.txt -Value w | Out-Null; `$id = 0`n" + $commitLoop)
            $serverCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            if ($r.Failures) { throw "single client: $($r.Failures) commits failed: $($r.Error)" }
            $single.Add($perClient / (($r.End - $r.Start) / 1e7))
            Write-Note ('commits round {0}: 1 remote client {1:N1} commits/s, median commit {2:N1} ms, client CPU {3:N2} s, server CPU {4:N2} s (incl. connect)' -f $k, $single[-1], $r.Ms, $r.Cpu, $serverCpu)
        }
        finally { Stop-BenchServer $server $store }
        $store = "$work/remote-conc-many-$k"
        $server = Start-BenchServer $store
        try {
            Invoke-Child ($server.Connect + "; New-PachRepo conc, warm | Out-Null; @{} | ConvertTo-Json") | Out-Null
            # Every client connects and makes one warm-up commit elsewhere, says it is ready, and starts when told.
            $go = Join-Path $work "go-$k"
            $children = @()
            $children = foreach ($id in 1..$clients) {
                $file = Join-Path $work "client-$k-$id.ps1"
                Set-Content $file @"
`$ErrorActionPreference = 'Stop'
Import-Module '$module'
$($server.Connect)
`$id = $id
Add-PachFile warm master "w`$id.txt" -Value w | Out-Null
Set-Content '$work/ready-$k-$id' ok
while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 5 }
$commitLoop
"@
                [pscustomobject]@{
                    Id = $id; Out = "$file.out"
                    Process = Start-Process dotnet -ArgumentList $pwshDll, '-NoProfile', '-NonInteractive', '-File', $file -RedirectStandardOutput "$file.out" -RedirectStandardError "$file.err" -PassThru
                }
            }
            $deadline = (Get-Date).AddSeconds(600)
            while (@(1..$clients | Where-Object { -not (Test-Path "$work/ready-$k-$_") }).Count) {
                if ((Get-Date) -gt $deadline -or @($children.Process | Where-Object HasExited).Count) { throw "a client did not get ready: $(Get-Content "$work/client-$k-*.ps1.err" -Raw)" }
                Start-Sleep -Milliseconds 50
            }
            $serverCpu = Get-CpuSeconds $server.Process
            Set-Content $go ok
            $children.Process | ForEach-Object { $_.WaitForExit() }
            $serverCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            $ends = foreach ($c in $children) {
                if ($c.Process.ExitCode -ne 0) { throw "client $($c.Id) failed: $(Get-Content "$($c.Out)" -Raw) $(Get-Content ($c.Out -replace 'out$', 'err') -Raw)" }
                Get-Content $c.Out | Select-Object -Last 1 | ConvertFrom-Json
            }
            $failed = ($ends.Failures | Measure-Object -Sum).Sum
            $acknowledged = $clients * $perClient - $failed
            $span = ((($ends.End | Measure-Object -Maximum).Maximum) - (($ends.Start | Measure-Object -Minimum).Minimum)) / 1e7
            $concurrent.Add($acknowledged / $span)
            Write-Note ('commits round {0}: {1} clients {2:N1} commits/s over {3:N1} s, median commit {4:N1} ms (slowest {5:N0} ms), clients CPU {6:N2} s, server CPU {7:N2} s' -f $k, $clients, $concurrent[-1], $span,
                (Median $ends.Ms), (($ends.Max | Measure-Object -Maximum).Maximum), (($ends.Cpu | Measure-Object -Sum).Sum), $serverCpu)
            $check = Invoke-Child ($server.Connect + "`n" + $verify)
            $check | Add-Member Acknowledged $acknowledged
            $check | Add-Member Failed $failed
            $check | Add-Member FirstError (@($ends.Error | Where-Object { $_ }) | Select-Object -First 1)
            $checks.Add($check)
        }
        finally {
            # A client left waiting (a failed round) is stopped, by its own process.
            $children.Process | Where-Object { -not $_.HasExited } | ForEach-Object { $_.Kill() }
            Stop-BenchServer $server $store
        }
    }
    $c = Median $concurrent; $s = Median $single
    $all = $clients * $perClient
    $lost = @($checks | Where-Object { $_.Messages -ne $_.Acknowledged -or $_.Files -ne $_.Acknowledged -or $_.HeadFiles -ne $_.Acknowledged -or $_.BadContent })
    $failedCommits = ($checks.Failed | Measure-Object -Sum).Sum
    $integrity = if ($lost.Count) { 'LOST: ' + (($checks | ForEach-Object { "$($_.Acknowledged) acknowledged, $($_.Messages) commits, $($_.Files) files" }) -join '; ') }
        else { "all $all commits and files present in every round" }
    if ($failedCommits) { $integrity += "; $failedCommits commits FAILED (first: $(@($checks.FirstError | Where-Object { $_ })[0]))" }
    $join = { param($v) ($v | ForEach-Object { '{0:N1}' -f $_ }) -join '/' }
    Write-Note ('commits/s per round: {0} clients {1}; 1 client {2}; embedded {3}; {4}' -f $clients, (& $join $concurrent), (& $join $single), (& $join $singleEmbedded), $integrity)
    Add-Result "remote: $clients clients x $perClient commits, one branch" ('{0:N1} commits/s; {1}' -f $c, $(if ($lost.Count -or $failedCommits) { 'SOME LOST or FAILED' } else { 'none lost' })) `
        ('1 client {0:N1}/s (embedded {1:N1}/s)' -f $s, (Median $singleEmbedded)) ('{0:N2}x one client' -f ($c / $s)) 'report; nothing lost'
}

# ------------------------------------------------------------------ issue 18: the server's S3 gateway
$GatewayReader = @'
using System.IO;
using System.Net.Http;
using Amazon.Runtime;
using Amazon.S3;

/// <summary>GetObject through the bench server's gateway, its stream read to the end (the server's certificate trusted by thumbprint).</summary>
public static class GatewayBenchReader
{
    private sealed class Trusting : HttpClientFactory
    {
        private readonly string _thumbprint;
        public Trusting(string thumbprint) { _thumbprint = thumbprint; }
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
            new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.GetCertHashString() == _thumbprint });
    }

    public static AmazonS3Client Client(string serviceUrl, string id, string secret, string thumbprint) =>
        new AmazonS3Client(new BasicAWSCredentials(id, secret), new AmazonS3Config
        {
            ServiceURL = serviceUrl, ForcePathStyle = true, AuthenticationRegion = "us-east-1", HttpClientFactory = new Trusting(thumbprint), MaxErrorRetry = 0,
        });

    public static long Read(AmazonS3Client s3, string bucket, string key)
    {
        using var response = s3.GetObjectAsync(bucket, key).GetAwaiter().GetResult();
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = response.ResponseStream.Read(buffer, 0, buffer.Length)) > 0) total += n;
        return total;
    }
}
'@

function Invoke-GatewayBench {
    # (1) One 256 MiB file (times -Scale) read through the S3 gateway of a pachps-server on loopback: by AWSSDK.S3's
    # GetObject (its stream read to the end in a fresh pwsh, timed inside it as the cmdlets are) and by `aws s3 cp` to
    # stdout (ranged GETs in parallel, timed with the CLI's start-up), against Get-PachFileContent -AsByteStream of the
    # same file through the same server (the ratio), and in an embedded session over a store holding it too (printed).
    # (2) `aws s3 cp --recursive` of 10,000 x 1 KiB (times -Scale) into the gateway (one commit per object, as the
    # CLI sends them) and into a radosgw of the bench's own (tests/s3/start-rgw.sh, on ports and in a folder apart from
    # the tests': $env:CEPH_DIR, RGW_PORT, MON_PORT override them). Rounds alternate; medians of 3 (1 under -Quick).
    $rounds = if ($Quick) { 1 } else { 3 }
    $aws = if (Test-Path /usr/bin/aws) { '/usr/bin/aws' } else { @(Get-Command aws -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source }
    if (-not $aws) { & apt-get install -y -q --no-install-recommends awscli | Out-Null; $aws = '/usr/bin/aws' }
    Write-Note "gateway: server $(Join-Path $root 'out/server/pachps-server.dll'), $(& $aws --version 2>&1), scale $Scale, $rounds rounds"
    function Invoke-Aws($Target, [string] $Arguments) {
        # The CLI alone: no profile, config or CA bundle of the machine's; timed whole (with its start-up).
        $line = "env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID='{0}' AWS_SECRET_ACCESS_KEY='{1}' AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null " -f $Target.Key, $Target.Secret
        $line += "AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= PYTHONWARNINGS=ignore '$aws' --endpoint-url '$($Target.Endpoint)' --no-verify-ssl $Arguments"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $output = & bash -c $line 2>&1
        $watch.Stop()
        if ($LASTEXITCODE -ne 0) { throw "aws $Arguments failed ($LASTEXITCODE): $($output | Select-Object -Last 5)" }
        [pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; Output = $output }
    }

    # ---------------- one large file: GetObject through the gateway against Get-PachFileContent -AsByteStream
    $size = [long](256MB * $Scale)
    $mb = $size / 1MB
    $big = Join-Path $work 'gateway-big.bin'
    Write-RandomFile $big $size 18
    $warm = Join-Path $work 'gateway-warm.bin'
    Write-RandomFile $warm 1MB 19
    $reader = Join-Path $work 'GatewayBenchReader.cs'
    Set-Content $reader $GatewayReader
    $add = @"
New-PachRepo gw | Out-Null
Add-PachFile gw master /warm.bin -Source '$warm' | Out-Null
Add-PachFile gw master /big.bin -Source '$big' | Out-Null
"@
    # Each read first reads a 1 MiB file the same way, so the figure is the big read's and not the JIT's.
    $readCmdlet = @"
`$null = (Get-PachFileContent gw master /warm.bin -AsByteStream).Length
`$t = (Measure-Command { `$n = (Get-PachFileContent gw master /big.bin -AsByteStream).Length }).TotalSeconds
@{ Seconds = `$t; Bytes = `$n } | ConvertTo-Json -Compress
"@
    $embeddedStore = "$work/gateway-embedded"
    Invoke-Child ("Connect-PachStore -Path '$embeddedStore' | Out-Null`n" + $add) | Out-Null
    $store = "$work/gateway-server"
    $server = Start-BenchServer $store
    try {
        Invoke-Child ($server.Connect + "`n" + $add) | Out-Null
        $parts = $server.Token.Split('_', 3)
        $gateway = @{ Endpoint = "$($server.Uri)/s3"; Key = $parts[1]; Secret = $parts[2] }
        $serverDir = Join-Path $root 'out/server'
        $readSdk = @"
Add-Type -Path '$serverDir/AWSSDK.Core.dll', '$serverDir/AWSSDK.S3.dll'
Add-Type -Path '$reader' -ReferencedAssemblies '$serverDir/AWSSDK.Core.dll', '$serverDir/AWSSDK.S3.dll', System.Net.Http, System.Net.Primitives, System.Net.Security, System.Security.Cryptography, System.Runtime
`$s3 = [GatewayBenchReader]::Client('$($gateway.Endpoint)', '$($gateway.Key)', '$($gateway.Secret)', '$($server.Thumbprint)')
`$null = [GatewayBenchReader]::Read(`$s3, 'master.gw', 'warm.bin')
`$t = (Measure-Command { `$n = [GatewayBenchReader]::Read(`$s3, 'master.gw', 'big.bin') }).TotalSeconds
@{ Seconds = `$t; Bytes = `$n } | ConvertTo-Json -Compress
"@
        $remote = [System.Collections.Generic.List[object]]::new()
        $sdk = [System.Collections.Generic.List[object]]::new()
        $embedded = [System.Collections.Generic.List[object]]::new()
        $cli = [System.Collections.Generic.List[double]]::new()
        $cliSmall = [System.Collections.Generic.List[double]]::new()
        foreach ($k in 1..$rounds) {
            $serverCpu = Get-CpuSeconds $server.Process
            $remote.Add((Invoke-Child ($server.Connect + "`n" + $readCmdlet)))
            $remoteCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            $serverCpu = Get-CpuSeconds $server.Process
            $sdk.Add((Invoke-Child $readSdk))
            $sdkCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            $cliSmall.Add((Invoke-Aws $gateway "s3 cp s3://master.gw/warm.bin - > /dev/null").Seconds)
            $serverCpu = Get-CpuSeconds $server.Process
            $cli.Add((Invoke-Aws $gateway "s3 cp s3://master.gw/big.bin - > /dev/null").Seconds)
            $cliCpu = (Get-CpuSeconds $server.Process) - $serverCpu
            $embedded.Add((Invoke-Child ("Connect-PachStore -Path '$embeddedStore' | Out-Null`n" + $readCmdlet)))
            Write-Note ('big read round {0}: remote cmdlet {1:N2} s (server CPU {2:N2} s); gateway SDK {3:N2} s (server CPU {4:N2} s); aws s3 cp {5:N2} s (server CPU {6:N2} s; 1 MiB: {7:N2} s); embedded {8:N2} s' -f $k,
                $remote[-1].Seconds, $remoteCpu, $sdk[-1].Seconds, $sdkCpu, $cli[-1], $cliCpu, $cliSmall[-1], $embedded[-1].Seconds)
        }
        $bytes = @($remote.Bytes) + @($sdk.Bytes) + @($embedded.Bytes)
        if (@($bytes | Where-Object { $_ -ne $size }).Count) { throw "gateway: reads gave $($bytes -join '/') bytes, not $size" }
        $r = Median $remote.Seconds; $g = Median $sdk.Seconds; $e = Median $embedded.Seconds; $c = Median $cli; $cs = Median $cliSmall
        $mibs = { param($s) ($s | ForEach-Object { '{0:N0}' -f ($mb / $_) }) -join '/' }
        Write-Note ('big read MiB/s per round: remote cmdlet {0}; gateway SDK {1}; aws s3 cp {2}; embedded {3}' -f (& $mibs $remote.Seconds), (& $mibs $sdk.Seconds), (& $mibs $cli), (& $mibs $embedded.Seconds))
        Add-Result ("gateway: one {0} file, GetObject (AWSSDK.S3)" -f (Format-Bytes $size)) ('{0:N0} MiB/s' -f ($mb / $g)) `
            ('Get-PachFileContent -AsByteStream: same server {0:N0} MiB/s, embedded {1:N0} MiB/s' -f ($mb / $r), ($mb / $e)) ('{0:P0} of the remote cmdlet' -f ($r / $g)) 'at least 80%'
        Add-Result 'gateway: same file, aws s3 cp to stdout' ('{0:N0} MiB/s ({1:N2} s; 1 MiB takes {2:N2} s)' -f ($mb / $c), $c, $cs) ('remote cmdlet {0:N2} s' -f $r) ('{0:P0} of the remote cmdlet' -f ($r / $c)) 'report (CLI start-up counted)'

        # ---------------- many small files: aws s3 cp --recursive into the gateway and into radosgw
        $n = [int][math]::Max(100, 10000 * $Scale)
        $tiny = Join-Path $work 'gateway-tiny'
        Write-Files $tiny $n 1024
        & sync
        $cephDir = if ($env:CEPH_DIR) { $env:CEPH_DIR } else { '/tmp/pachps-bench-rgw' }
        $rgwPort = if ($env:RGW_PORT) { $env:RGW_PORT } else { '7780' }
        $monPort = if ($env:MON_PORT) { $env:MON_PORT } else { '3600' }
        $rgw = @{ Key = 'PACHPSBENCH'; Secret = 'pachps-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8) }
        $rgwEnv = "CEPH_DIR='$cephDir' RGW_PORT='$rgwPort' MON_PORT='$monPort'"
        $started = & bash -c "$rgwEnv AK='$($rgw.Key)' SK='$($rgw.Secret)' bash '$root/tests/s3/start-rgw.sh' 2>&1"
        if ($LASTEXITCODE -ne 0) { throw "radosgw did not start: $($started | Select-Object -Last 5)" }
        try {
            $rgw.Endpoint = "$($started | Select-Object -Last 1)"
            $intoGateway = [System.Collections.Generic.List[double]]::new()
            $intoRgw = [System.Collections.Generic.List[double]]::new()
            foreach ($k in 1..$rounds) {
                Invoke-Aws $gateway "s3 mb s3://master.tiny$k" | Out-Null
                $serverCpu = Get-CpuSeconds $server.Process
                $intoGateway.Add((Invoke-Aws $gateway "s3 cp --recursive --only-show-errors --no-progress '$tiny' s3://master.tiny$k/").Seconds)
                $serverCpu = (Get-CpuSeconds $server.Process) - $serverCpu
                Invoke-Aws $rgw "s3 mb s3://gateway-bench-$k" | Out-Null
                $intoRgw.Add((Invoke-Aws $rgw "s3 cp --recursive --only-show-errors --no-progress '$tiny' s3://gateway-bench-$k/").Seconds)
                # The gateway's count from the commit: a recursive listing of it pages through every file for each page.
                $listed = (Invoke-Child ($server.Connect + "`n@{ Files = (Get-PachCommit tiny$k master).FileCount } | ConvertTo-Json -Compress")).Files,
                    @((Invoke-Aws $rgw "s3 ls --recursive s3://gateway-bench-$k/").Output).Count
                if ($listed -ne $n) { throw "small files round ${k}: the gateway's branch and radosgw hold $($listed -join ' and ') objects, not $n" }
                Write-Note ('small files round {0}: gateway {1:N2} s (server CPU {2:N2} s); radosgw {3:N2} s' -f $k, $intoGateway[-1], $serverCpu, $intoRgw[-1])
            }
        }
        finally { & bash -c "$rgwEnv bash '$root/tests/s3/stop-rgw.sh'" | Out-Null }
        $gw = Median $intoGateway; $rg = Median $intoRgw
        Write-Note ('small files per round: gateway {0} s; radosgw {1} s' -f (Join-Seconds $intoGateway), (Join-Seconds $intoRgw))
        Add-Result "gateway: aws s3 cp --recursive, $n x 1 KiB" ('{0:N2} s ({1:N0} objects/s, a commit each)' -f $gw, ($n / $gw)) ('radosgw {0:N2} s ({1:N0} objects/s)' -f $rg, ($n / $rg)) `
            ('{0:N2}x radosgw time' -f ($gw / $rg)) 'report both'
    }
    finally {
        Stop-BenchServer $server $store
        Remove-Item $embeddedStore, $big, $warm -Recurse -Force -ErrorAction Ignore
    }
}

# A store with a long history, made fast: a few real commits through the engine (PfsService), then the history written
# straight into its metadata (LiteDB, a batch of commits per transaction, as the engine's own documents): each commit a
# child of the one before with a root node of its own (the real head's root under another id), as a commit that changes
# one file at the top makes, so a mark walks every root. Those roots are copies under ids that are not their hashes:
# a backup copies and marks them, but the engine's writes and Test-PachStore refuse them (add commits to another repo).
# Run in a child with $store (the engine) and $Commits set.
$HistoryGenerator = @'
$engine = $store.GetType().Assembly
$fs = $engine.GetType('PachPS.Engine.Pfs.FileSource')
$flags = [Reflection.BindingFlags]'NonPublic,Instance'
$meta = $store.GetType().GetProperty('Meta', $flags).GetValue($store)
$liteType = $meta.GetType().GetField('_db', $flags).FieldType
$lite = $liteType.Assembly
$json = $lite.GetType('LiteDB.JsonSerializer')
$docType = $lite.GetType('LiteDB.BsonDocument')
$actionType = [Action`1].MakeGenericType($liteType)
$write = $meta.GetType().GetMethod('Write', $flags, $null, [Type[]]@($actionType), $null)
# Real commits through the engine first: small files (packed) and a few large ones (chunks of their own).
$rng = [Random]::new(5)
New-PachRepo gen | Out-Null
for ($c = 0; $c -lt 20; $c++) {
    $sources = [Array]::CreateInstance($fs, 21)
    for ($f = 0; $f -lt 20; $f++) {
        $bytes = [byte[]]::new(2000); $rng.NextBytes($bytes)
        $sources[$f] = $fs::new("/c$c/f$f.bin", [Func[IO.Stream]]{ [IO.MemoryStream]::new($bytes) }.GetNewClosure(), "f")
    }
    $big = [byte[]]::new(1MB); $rng.NextBytes($big)
    $sources[20] = $fs::new("/c$c/big.bin", [Func[IO.Stream]]{ [IO.MemoryStream]::new($big) }.GetNewClosure(), "b")
    $store.Pfs.PutFiles('gen', 'master', $sources) | Out-Null
}
# Then the history, written straight into the metadata a batch per transaction: each commit a child of the one
# before with a root node of its own (a copy of the real head's root under another id), as a commit that changes one
# file at the top makes; the mark walks every root.
$head = $store.Pfs.GetBranch('gen', 'master').Head
$batch = 5000
$state = @{ Parent = $head }
for ($b = 0; $b -lt $Commits; $b += $batch) {
    $work = {
        param($db)
        $commitCol = $db.GetCollection('commits')
        $nodeCol = $db.GetCollection('nodes')
        $template = $json::Serialize($commitCol.FindById($head))
        $root = $commitCol.FindById($head)['Root'].AsString
        $nodeTemplate = $json::Serialize($nodeCol.FindById($root))
        $newCommits = [Activator]::CreateInstance([Collections.Generic.List`1].MakeGenericType($docType))
        $newNodes = [Activator]::CreateInstance([Collections.Generic.List`1].MakeGenericType($docType))
        $end = [math]::Min([int]($b + $batch), [int]$Commits)
        for ($i = $b; $i -lt $end; $i++) {
            $id = '{0:x32}' -f ($i + 1)
            $rootId = '{0:x64}' -f ($i + 1)
            $newCommits.Add($json::Deserialize($template.Replace($head, $id).Replace($root, $rootId).Replace('"Parent":null', '"Parent":""')).AsDocument)
            $newCommits[$newCommits.Count - 1]['Parent'] = $state.Parent
            $newNodes.Add($json::Deserialize($nodeTemplate.Replace($root, $rootId)).AsDocument)
            $state.Parent = $id
        }
        $commitCol.InsertBulk($newCommits) | Out-Null
        $nodeCol.InsertBulk($newNodes) | Out-Null
        $branches = $db.GetCollection('branches')
        foreach ($branch in @($branches.FindAll())) {
            if ($branch['Repo'].AsString -eq 'gen' -and $branch['Name'].AsString -eq 'master') { $branch['Head'] = $state.Parent; $branches.Update($branch) | Out-Null }
        }
    }
    $write.Invoke($meta, @([System.Management.Automation.LanguagePrimitives]::ConvertTo($work.GetNewClosure(), $actionType)))
}
'@

# ------------------------------------------------------------------ issue 19 item 7: how cost grows with size
function Invoke-ScaleBench {
    # Each measure at 10k, 100k and 1M (times -Scale; -Quick: 1k, 10k, 100k), each size in fresh pwsh processes: one
    # writes the data, another measures, so the peak resident memory (VmHWM) is the measured operation's. Files, commits,
    # jobs, and one job's datums and log lines are generated by tests/Bench (files on disk; the rest as copies of a real
    # one, straight into the metadata); ingest and jobs run through the cmdlets. Writes out/bench/scale.json and
    # docs/scale.png (build/ScalePlot).
    $factor = if ($Quick -and $Scale -eq 0.25) { 0.1 } else { $Scale }
    $sizes = @(10000, 100000, 1000000) | ForEach-Object { [int][math]::Max(100, $_ * $factor) }
    # Datums run a process each: 1M of them would take hours on two cores, so datums stop at 100k (times -Scale).
    $datumSizes = $sizes[0..1]
    if ($env:PACHPS_SCALE_SIZES) { $sizes = @($env:PACHPS_SCALE_SIZES -split ',' | ForEach-Object { [int]$_ }) }
    if ($env:PACHPS_SCALE_DATUM_SIZES) { $datumSizes = @($env:PACHPS_SCALE_DATUM_SIZES -split ',' | ForEach-Object { [int]$_ }) }
    $measures = if ($env:PACHPS_SCALE_MEASURES) { $env:PACHPS_SCALE_MEASURES -split ',' } else { 'Files', 'Datums', 'Commits', 'Jobs', 'DatumList', 'Logs' }
    $bin = Join-Path $work 'bench-tool'
    & dotnet build (Join-Path $root 'tests/Bench/PachPS.Bench.csproj') -c Release -o $bin --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'building tests/Bench failed' }
    $tool = Join-Path $bin 'PachPS.Bench.dll'
    $rows = [System.Collections.Generic.List[object]]::new()
    $jsonPath = Join-Path $root 'out/bench/scale.json'
    New-Item -ItemType Directory -Force (Split-Path $jsonPath) | Out-Null
    # PACHPS_SCALE_APPEND=1: add to the figures of an earlier run (another size or measure) instead of starting over.
    if ($env:PACHPS_SCALE_APPEND -and (Test-Path $jsonPath)) { (Get-Content $jsonPath -Raw | ConvertFrom-Json).Rows | ForEach-Object { $rows.Add($_) } }
    function Get-Load { ((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ' }
    function Add-Row([string] $Measure, [int] $N, [double] $Value, [string] $Unit, [double] $PerItem, [string] $PerItemUnit, [long] $PeakRss, [string] $Note = '') {
        $row = [pscustomobject]@{ Measure = $Measure; N = $N; Value = $Value; Unit = $Unit; PerItem = $PerItem; PerItemUnit = $PerItemUnit; PeakRss = $PeakRss; Load = (Get-Load); Note = $Note }
        $rows.Add($row)
        Write-Note ('{0} at {1:N0}: {2:N3} {3}, {4:N2} {5} per item, peak RSS {6}; load {7}' -f $Measure, $N, $Value, $Unit, $PerItem, $PerItemUnit, (Format-Bytes $PeakRss), $row.Load)
        # Written after every figure: a run stopped halfway still leaves what it measured.
        [ordered]@{ Machine = "$([Environment]::ProcessorCount) cores, $([math]::Round([double]((Get-Content /proc/meminfo -TotalCount 1) -replace '\D') / 1MB, 1)) GiB"; Scale = $factor; Rows = $rows } |
            ConvertTo-Json -Depth 4 | Set-Content $jsonPath
    }
    # A listing timed from the call to its first and its last object, as a user piping it on sees them.
    $listScript = @'
function Measure-Listing([scriptblock] $List) {
    $clock = [Diagnostics.Stopwatch]::StartNew(); $first = -1.0; $n = 0
    & $List | ForEach-Object { if ($n -eq 0) { $first = $clock.Elapsed.TotalSeconds }; $n++ }
    @{ First = $first; Last = $clock.Elapsed.TotalSeconds; Count = $n }
}
'@

    # Every measure at the smallest size first, then at the next: a run stopped halfway still has each measure's start.
    function Measure-FilesAndDatums([int] $n) {
        if ('Files' -notin $measures -and 'Datums' -notin $measures) { return }
        # ---------------- files in one repo: ingest, metadata bytes, Get-PachFile -Recurse first/last, memory
        $folder = Join-Path $work "scale-files-$n"
        Write-Note "scale: writing $n files; load $(Get-Load)"
        & dotnet $tool scale-files $folder $n
        if ($LASTEXITCODE -ne 0) { throw 'generating files failed' }
        & sync
        if ('Files' -in $measures) {
            $store = Join-Path $work "scale-store-files-$n"
            $r = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null; New-PachRepo files, warm | Out-Null
Add-PachFile warm master a.txt -Value 'a' | Out-Null
`$t = (Measure-Command { Add-PachFile files master / -Source '$folder' -Recurse | Out-Null }).TotalSeconds
`$c = Get-PachCommit files master
@{ Seconds = `$t; Files = `$c.FileCount; Peak = $peakScript } | ConvertTo-Json -Compress
"@
            if ($r.Files -ne $n) { throw "files: the commit holds $($r.Files) files, not $n" }
            $meta = (Get-Item (Join-Path $store 'metadata.db')).Length
            Add-Row 'Files: Add-PachFile -Recurse' $n $r.Seconds 's' (1e6 * $r.Seconds / $n) 'µs/file' $r.Peak
            Add-Row 'Files: metadata.db' $n $meta 'bytes' ($meta / $n) 'bytes/file' 0
            $l = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
$listScript
Get-PachFile files master /d0000 | Out-Null
`$l = Measure-Listing { Get-PachFile files master / -Recurse }
`$l.Peak = $peakScript
`$l | ConvertTo-Json -Compress
"@
            if ($l.Count -ne $n) { throw "files: Get-PachFile -Recurse wrote $($l.Count) files, not $n" }
            Add-Row 'Files: Get-PachFile -Recurse, first item' $n $l.First 's' (1e6 * $l.First / $n) 'µs/file' $l.Peak
            Add-Row 'Files: Get-PachFile -Recurse, last item' $n $l.Last 's' (1e6 * $l.Last / $n) 'µs/file' $l.Peak
            Remove-Item $store -Recurse -Force
        }

        # ---------------- datums in one job: the same files, glob /*/* (one datum each), transform `true`, parallelism 2
        if ('Datums' -in $measures -and $n -in $datumSizes) {
            $store = Join-Path $work "scale-store-datums-$n"
            Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null; New-PachRepo files | Out-Null
Add-PachFile files master / -Source '$folder' -Recurse | Out-Null
@{ } | ConvertTo-Json -Compress
"@ | Out-Null
            $r = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"each"},"transform":{"cmd":["true"]},"parallelism_spec":{"constant":2},"input":{"pfs":{"repo":"files","glob":"/*/*"}}}' | Out-Null
Wait-PachCommit files master | Out-Null
`$peak = $peakScript
`$job = Get-PachJob -Pipeline each | Select-Object -First 1
`$first = Get-PachDatum `$job.JobId | Where-Object Started | Sort-Object Started | Select-Object -First 1
@{ State = "`$(`$job.State)"; Total = `$job.Total; Processed = `$job.Processed; Created = `$job.Created; Started = `$job.Started; Finished = `$job.Finished; FirstDatum = `$first.Started; Peak = `$peak } | ConvertTo-Json -Compress
"@
            if ($r.State -ne 'Success' -or $r.Processed -ne $n) { throw "datums: the job ended $($r.State) with $($r.Processed) of $n datums processed" }
            $planning = ([DateTimeOffset]$r.FirstDatum - [DateTimeOffset]$r.Started).TotalSeconds
            $run = ([DateTimeOffset]$r.Finished - [DateTimeOffset]$r.FirstDatum).TotalSeconds
            Add-Row 'Datums: planning (job start to first datum)' $n $planning 's' (1e6 * $planning / $n) 'µs/datum' $r.Peak
            Add-Row 'Datums: running (first datum to job end)' $n $run 's' (1e6 * $run / $n) 'µs/datum' $r.Peak 'transform true, parallelism 2'
            Remove-Item $store -Recurse -Force
        }
        # rm: Remove-Item took 15 minutes over a million files.
        & rm -rf $folder
    }

    function Measure-Commits([int] $n) {
        # ---------------- commits on a branch: Get-PachCommit -History first page (-Max 100), first and last item
        if ('Commits' -notin $measures) { return }
        $store = Join-Path $work "scale-store-commits-$n"
        Write-Note "scale: generating $n commits; load $(Get-Load)"
        & dotnet $tool scale-commits $store hist $n
        if ($LASTEXITCODE -ne 0) { throw 'generating commits failed' }
        $l = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
$listScript
Get-PachCommit hist master -Max 2 | Out-Null
`$page = (Measure-Command { Get-PachCommit hist master -Max 100 | Out-Null }).TotalSeconds
# Every commit of the repo, newest first (no reference): timed to its first item, then the rest is not read.
`$clock = [Diagnostics.Stopwatch]::StartNew(); Get-PachCommit hist | Select-Object -First 1 | Out-Null; `$all = `$clock.Elapsed.TotalSeconds
`$l = Measure-Listing { Get-PachCommit hist master -History }
`$l.Page = `$page
`$l.All = `$all
`$l.Peak = $peakScript
`$l | ConvertTo-Json -Compress
"@
        if ($l.Count -ne $n + 1) { throw "commits: Get-PachCommit -History wrote $($l.Count) commits, not $($n + 1)" }
        Add-Row 'Commits: Get-PachCommit -Max 100 (first page)' $n $l.Page 's' (1e6 * $l.Page / $n) 'µs/commit' $l.Peak
        Add-Row 'Commits: Get-PachCommit -History, first item' $n $l.First 's' (1e6 * $l.First / $n) 'µs/commit' $l.Peak
        Add-Row 'Commits: Get-PachCommit (every commit of the repo), first item' $n $l.All 's' (1e6 * $l.All / $n) 'µs/commit' $l.Peak
        Add-Row 'Commits: Get-PachCommit -History, last item' $n $l.Last 's' (1e6 * $l.Last / $n) 'µs/commit' $l.Peak
        Remove-Item $store -Recurse -Force
    }

    function Measure-Jobs([int] $n) {
        # ---------------- jobs in the store: Get-PachJob first item (there is no -Max: the first item is the first page)
        if ('Jobs' -notin $measures) { return }
        $store = Join-Path $work "scale-store-jobs-$n"
        Write-Note "scale: generating $n jobs; load $(Get-Load)"
        Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null; New-PachRepo in | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"p"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"in","glob":"/"}}}' | Out-Null
Add-PachFile in master a.txt -Value 'a' | Out-Null
Wait-PachCommit in master | Out-Null
@{ } | ConvertTo-Json -Compress
"@ | Out-Null
        & dotnet $tool scale-jobs $store p $n
        if ($LASTEXITCODE -ne 0) { throw 'generating jobs failed' }
        $l = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
$listScript
Get-PachJob -Pipeline nothing -ErrorAction Ignore | Out-Null
`$l = Measure-Listing { Get-PachJob }
`$l.Peak = $peakScript
`$l | ConvertTo-Json -Compress
"@
        if ($l.Count -ne $n + 1) { throw "jobs: Get-PachJob wrote $($l.Count) jobs, not $($n + 1)" }
        Add-Row 'Jobs: Get-PachJob, first item' $n $l.First 's' (1e6 * $l.First / $n) 'µs/job' $l.Peak
        Add-Row 'Jobs: Get-PachJob, last item' $n $l.Last 's' (1e6 * $l.Last / $n) 'µs/job' $l.Peak
        Remove-Item $store -Recurse -Force
    }

    # A store whose pipeline p has run one real job (one datum, one log line), made by the cmdlets; its job id.
    function New-OneJobStore([string] $Store) {
        (Invoke-Child @"
Connect-PachStore -Path '$Store' | Out-Null; New-PachRepo in | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"p"},"transform":{"cmd":["echo","hello"]},"input":{"pfs":{"repo":"in","glob":"/"}}}' | Out-Null
Add-PachFile in master a.txt -Value 'a' | Out-Null
Wait-PachCommit in master | Out-Null
`$job = Get-PachJob -Pipeline p
if (`$job.State -ne 'Success') { throw "the job ended `$(`$job.State)" }
@{ Job = `$job.JobId } | ConvertTo-Json -Compress
"@).Job
    }

    function Measure-DatumList([int] $n) {
        # ---------------- datums of one job: Get-PachDatum <job> first and last item
        if ('DatumList' -notin $measures) { return }
        $store = Join-Path $work "scale-store-datumlist-$n"
        $job = New-OneJobStore $store
        Write-Note "scale: generating $n datums of one job; load $(Get-Load)"
        & dotnet $tool scale-datums $store p $n
        if ($LASTEXITCODE -ne 0) { throw 'generating datums failed' }
        $l = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
$listScript
Get-PachJob -Pipeline nothing -ErrorAction Ignore | Out-Null
`$l = Measure-Listing { Get-PachDatum $job }
`$l.Peak = $peakScript
`$l | ConvertTo-Json -Compress
"@
        if ($l.Count -ne $n + 1) { throw "datums: Get-PachDatum wrote $($l.Count) datums, not $($n + 1)" }
        Add-Row 'DatumList: Get-PachDatum <job>, first item' $n $l.First 's' (1e6 * $l.First / $n) 'µs/datum' $l.Peak
        Add-Row 'DatumList: Get-PachDatum <job>, last item' $n $l.Last 's' (1e6 * $l.Last / $n) 'µs/datum' $l.Peak
        Remove-Item $store -Recurse -Force
    }

    function Measure-Logs([int] $n) {
        # ---------------- log lines of one job: Get-PachLog -Job first and last item; Get-PachLog <pipeline> first item
        if ('Logs' -notin $measures) { return }
        $store = Join-Path $work "scale-store-logs-$n"
        $job = New-OneJobStore $store
        Write-Note "scale: generating $n log lines of one job; load $(Get-Load)"
        & dotnet $tool scale-logs $store p $n
        if ($LASTEXITCODE -ne 0) { throw 'generating log lines failed' }
        $l = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null
$listScript
Get-PachJob -Pipeline nothing -ErrorAction Ignore | Out-Null
# The pipeline's lines (no job), timed to the first item, then the rest is not read.
`$clock = [Diagnostics.Stopwatch]::StartNew(); Get-PachLog p | Select-Object -First 1 | Out-Null; `$pipeline = `$clock.Elapsed.TotalSeconds
`$l = Measure-Listing { Get-PachLog -Job $job }
`$l.Pipeline = `$pipeline
`$l.Peak = $peakScript
`$l | ConvertTo-Json -Compress
"@
        if ($l.Count -ne $n + 1) { throw "logs: Get-PachLog -Job wrote $($l.Count) lines, not $($n + 1)" }
        Add-Row 'Logs: Get-PachLog -Job, first item' $n $l.First 's' (1e6 * $l.First / $n) 'µs/line' $l.Peak
        Add-Row 'Logs: Get-PachLog <pipeline>, first item' $n $l.Pipeline 's' (1e6 * $l.Pipeline / $n) 'µs/line' $l.Peak
        Add-Row 'Logs: Get-PachLog -Job, last item' $n $l.Last 's' (1e6 * $l.Last / $n) 'µs/line' $l.Peak
        Remove-Item $store -Recurse -Force
    }

    foreach ($n in $sizes) {
        Measure-FilesAndDatums $n
        Measure-Commits $n
        Measure-Jobs $n
        Measure-DatumList $n
        Measure-Logs $n
    }

    # The table: each measure's figures by size, and how its per-item cost grew from the smallest size to the largest.
    foreach ($group in $rows | Group-Object Measure) {
        $points = @($group.Group | Sort-Object N)
        $growth = if ($points.Count -gt 1 -and $points[0].PerItem -gt 0) { '{0:N2}x per item from {1:N0} to {2:N0}' -f ($points[-1].PerItem / $points[0].PerItem), $points[0].N, $points[-1].N } else { '-' }
        $figures = ($points | ForEach-Object { '{0:N0}: {1:N3} {2}' -f $_.N, $_.Value, $_.Unit }) -join '; '
        Add-Result "scale: $($group.Name)" $figures (($points | ForEach-Object { if ($_.PeakRss) { Format-Bytes $_.PeakRss } else { '-' } }) -join '/') $growth 'see docs/scale.md'
    }
    $plot = Join-Path $root 'build/ScalePlot/ScalePlot.csproj'
    & dotnet run --project $plot -c Release -- $jsonPath (Join-Path $root 'docs/scale.png') (Join-Path $root 'out/bench/scale-table.md')
    if ($LASTEXITCODE -ne 0) { Write-Warning 'the plot (build/ScalePlot) failed; the figures are in out/bench/scale.json' }
    Write-Note "scale: figures in $jsonPath"
}

# ------------------------------------------------------------------ issue 16: lazy against copied inputs
function Invoke-LazyBench {
    # One 1 GiB file (times -Scale) crossed with 4 one-line files: 4 datums that each see the big file, run by a
    # transform that does nothing, so a datum's time is its input phase. The same job with the big input lazy (hard
    # links from the job's content cache) and copied; bytes written are this process's wchar (write(2) bytes, so
    # including what the store's metadata takes) and the job's BytesDownloaded (read from the store for /pfs).
    $size = [long](1GB * $Scale)
    $big = Join-Path $work 'lazy-big.bin'
    Write-RandomFile $big $size 11
    & sync
    $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-lazy' | Out-Null; New-PachRepo big, small | Out-Null
Add-PachFile big master /big.bin -Source '$big' | Out-Null
1..4 | ForEach-Object { Add-PachFile small master "/s`$_" -Value "`$_" } | Out-Null
function Wchar { [long]((Get-Content /proc/self/io | Where-Object { `$_ -like 'wchar:*' }) -replace '\D', '') }
`$out = @{}
foreach (`$lazy in `$true, `$false) {
    `$name = if (`$lazy) { 'lazy' } else { 'copied' }
    & sync
    `$before = Wchar
    `$t = (Measure-Command {
        New-PachPipeline -Spec @{ pipeline = @{ name = `$name }; transform = @{ cmd = @('true') }
            input = @{ cross = @(@{ pfs = @{ repo = 'big'; glob = '/'; lazy = `$lazy } }, @{ pfs = @{ repo = 'small'; glob = '/*' } }) } } | Out-Null
        `$job = Get-PachJob -Pipeline `$name | Wait-PachJob -TimeoutSec 1800
    }).TotalSeconds
    `$written = (Wchar) - `$before
    `$datums = Get-PachDatum -Job `$job.Id
    `$out[`$name] = @{ Seconds = `$t; Job = `$job.Duration.TotalSeconds; State = "`$(`$job.State)"; Written = `$written; Downloaded = `$job.BytesDownloaded
        Datums = (`$datums | ForEach-Object { `$_.Duration.TotalSeconds }) }
    & sync
}
`$out | ConvertTo-Json -Compress -Depth 4
"@
    Remove-Item $big
    foreach ($k in 'lazy', 'copied') { if ($r.$k.State -ne 'Success') { throw "lazy bench: the $k job ended $($r.$k.State)" } }
    $lazy = $r.lazy; $copied = $r.copied
    $datums = { param($x) ($x.Datums | ForEach-Object { '{0:N2}' -f $_ }) -join '/' }
    Add-Result ("{0} input x 4 datums, lazy: job time (datums' input phase)" -f (Format-Bytes $size)) ('{0:N2} s (datums {1} s)' -f $lazy.Job, (& $datums $lazy)) `
        ('copied {0:N2} s (datums {1} s)' -f $copied.Job, (& $datums $copied)) ('{0:N2}x copied' -f ($lazy.Job / $copied.Job)) 'report the copy saved'
    Add-Result 'same jobs: bytes written by the session (wchar)' ('{0} ({1} read from the store)' -f (Format-Bytes $lazy.Written), (Format-Bytes $lazy.Downloaded)) `
        ('copied {0} ({1} read)' -f (Format-Bytes $copied.Written), (Format-Bytes $copied.Downloaded)) ('{0:P1} of copied' -f ($lazy.Written / $copied.Written)) 'report'
}

# ------------------------------------------------------------------ issue 16: datums in containers
function Invoke-ContainerBench {
    # 2,000 one-line datums (times -Scale), sh cp, parallelism 2, in one session: as local processes (the pipeline names
    # no image) and in Podman's busybox test image (tests/containers/setup-podman.sh makes it offline), one warm
    # container per worker. The per-datum overhead is the difference of the two jobs' worker time per datum (job time x
    # 2 workers / datums). Beside it, what a container per datum would cost: podman run --rm, and podman exec into a
    # running container, each the same cp, 10 times in a row.
    $setup = & bash (Join-Path $root 'tests/containers/setup-podman.sh') 2>&1 | Select-Object -Last 1
    if ($LASTEXITCODE -ne 0) { throw "containers bench: podman cannot run here: $setup" }
    $env:CONTAINERS_CONF = "$setup".Substring('CONTAINERS_CONF='.Length)
    $image = 'localhost/pachps-busybox:test'
    $d = [int](2000 * $Scale)
    $lines = Join-Path $work 'container-lines'
    New-Item -ItemType Directory $lines | Out-Null
    foreach ($i in 1..$d) { [IO.File]::WriteAllText("$lines/l$i.txt", "line $i`n") }
    $load = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
    $rounds = if ($Quick) { 1 } else { 2 }
    $runs = foreach ($k in 1..$rounds) {
        Invoke-Child @"
Connect-PachStore -Path '$work/store-containers-$k' -ContainerRuntime Podman | Out-Null; New-PachRepo lines | Out-Null
Add-PachFile lines master / -Source '$lines' -Recurse | Out-Null
`$out = @{}
foreach (`$name in 'warmup', 'local', 'container', 'batched') {
    `$t = @{ cmd = @('sh'); stdin = @('cp "`$in" /pfs/out/') }
    if (`$name -ne 'local') { `$t.image = '$image' }
    if (`$name -eq 'batched') { `$t = @{ image = '$image'; datum_batching = `$true; cmd = @('sh', '-c', 'while :; do echo next > "`$PACH_DATUM_REQUEST"; read -r r < "`$PACH_DATUM_RESPONSE"; [ "`$r" = done ] && exit 0; . "`$PACH_DATUM_ENV"; cp "`$in" /pfs/out/; done') } }
    `$glob = if (`$name -eq 'warmup') { '/l1*.txt' } else { '/*' }
    New-PachPipeline -Spec @{ pipeline = @{ name = `$name }; transform = `$t; parallelism_spec = @{ constant = 2 }; input = @{ pfs = @{ repo = 'lines'; glob = `$glob; name = 'in' } } } | Out-Null
    `$job = Get-PachJob -Pipeline `$name | Wait-PachJob -TimeoutSec 3600
    if ("`$(`$job.State)" -ne 'Success') { throw "`$name ended `$(`$job.State): `$(`$job.Reason)" }
    `$out[`$name] = `$job.Duration.TotalSeconds
}
`$out | ConvertTo-Json -Compress
"@
    }
    $local = Median $runs.local; $container = Median $runs.container; $batched = Median $runs.batched
    $perLocal = $local * 2 / $d * 1000; $perContainer = $container * 2 / $d * 1000
    # A container per datum: the same cp with run --rm, and with exec into one running container.
    $one = Join-Path $work 'container-one'
    New-Item -ItemType Directory "$one/in", "$one/out" | Out-Null
    Set-Content "$one/in/l.txt" 'line 1'
    $n = 10
    $runRm = (Seconds { foreach ($i in 1..$n) { & podman run --rm --pull=never --network=none -v "$one`:/pfs" $image cp /pfs/in/l.txt /pfs/out/ | Out-Null } }) / $n * 1000
    & podman run -d --rm --name pachps-bench-exec --pull=never --network=none -v "$one`:/pfs" --entrypoint sh $image -c 'while :; do sleep 60; done' | Out-Null
    try { $exec = (Seconds { foreach ($i in 1..$n) { & podman exec pachps-bench-exec cp /pfs/in/l.txt /pfs/out/ | Out-Null } }) / $n * 1000 }
    finally { & podman rm -f -t 0 pachps-bench-exec | Out-Null }
    $loadText = "load $($load -join ' ') at start"
    Add-Result "$d one-line datums, sh cp, parallelism 2, warm Podman containers ($loadText)" ('{0:N2} s median of {1} ({2:N1} ms per datum per worker)' -f $container, (Join-Seconds $runs.container), $perContainer) `
        ('local processes {0:N2} s ({1:N1} ms)' -f $local, $perLocal) ('{0:+0.0;-0.0} ms per datum' -f ($perContainer - $perLocal)) 'overhead under 50 ms per datum'
    Add-Result 'same datums, datum_batching in one container per worker' ('{0:N2} s median ({1:N1} ms per datum per worker)' -f $batched, ($batched * 2 / $d * 1000)) `
        ('local processes {0:N2} s' -f $local) ('{0:N2}x local' -f ($batched / $local)) 'report'
    Add-Result 'one datum as a container of its own: podman run --rm' ('{0:N0} ms per datum (mean of {1})' -f $runRm, $n) ('exec into a running container {0:N0} ms' -f $exec) `
        ('warm: {0:+0.0;-0.0} ms over a local process' -f ($perContainer - $perLocal)) 'report'
}

# ------------------------------------------------------------------ issue 15: garbage collection of a large store
function Invoke-CollectionBench {
    # A store of 1,000,000 chunks in 200,000 commits (times -Scale) written straight through the engine by tests/Bench
    # (removed repos and branches, failed writes, packs left mostly garbage), then collected by that tool in a process
    # of its own, so the peak resident memory is the collection's. Each round collects a fresh copy (objects hard-linked:
    # they are never rewritten, a collection only deletes them or writes new packs).
    $rounds = 3
    $bin = Join-Path $work 'bench-tool'
    & dotnet build (Join-Path $root 'tests/Bench/PachPS.Bench.csproj') -c Release -o $bin --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'building tests/Bench failed' }
    $tool = Join-Path $bin 'PachPS.Bench.dll'
    $store = Join-Path $work 'gc-store'
    Write-Note "collection: generating a store at scale $Scale; load $((Get-Content /proc/loadavg) -replace ' \d+/.*$')"
    $generated = & dotnet $tool generate $store $Scale.ToString([cultureinfo]::InvariantCulture) | Select-Object -Last 1 | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw 'generating the collection store failed' }
    $g = $generated.Generated
    & sync
    $metaBytes = (Get-Item (Join-Path $store 'metadata.db')).Length
    Write-Note ('generated in {0:N0} s: {1:N0} repos, {2:N0} commits, {3:N0} chunks ({4:N0} packed) in {5:N0} objects ({6}), {7:N0} tree nodes ({8}), metadata.db {9}' -f `
        $generated.Seconds, $g.Repos, $g.Commits, $g.Chunks, $g.PackedChunks, $g.Objects, (Format-Bytes $g.ObjectBytes), $g.Nodes, (Format-Bytes $g.NodeBytes), (Format-Bytes $metaBytes))
    $runs = [System.Collections.Generic.List[object]]::new()
    foreach ($k in 1..$rounds) {
        $copy = Join-Path $work "gc-round-$k"
        New-Item -ItemType Directory $copy | Out-Null
        & cp -al (Join-Path $store 'objects') (Join-Path $copy 'objects')
        & cp (Join-Path $store 'metadata.db') (Join-Path $store 'store.json') $copy
        & sync
        $load = (Get-Content /proc/loadavg) -replace ' \d+/.*$'
        $r = & dotnet $tool collect $copy | Select-Object -Last 1 | ConvertFrom-Json
        if ($LASTEXITCODE -ne 0) { throw "collection round $k failed" }
        $expected = @(($g.DeadChunks + $g.DeadPacks + $g.Repacks), $g.DeadNodes)
        if ($r.ObjectsRemoved -ne $expected[0] -or $r.TreeNodesRemoved -ne $expected[1]) {
            throw "collection round ${k}: freed $($r.ObjectsRemoved) objects and $($r.TreeNodesRemoved) tree nodes, not the $($expected[0]) and $($expected[1]) generated as garbage"
        }
        $stages = $r.Stages.PSObject.Properties | ForEach-Object { '{0} {1:N1}' -f $_.Name, $_.Value }
        Write-Note ('round {0}: {1:N1} s (CPU {2:N1} s; {3}), peak RSS {4}, load before {5}, after {6}' -f $k, $r.Seconds, $r.CpuSeconds, ($stages -join ', '), (Format-Bytes $r.PeakRss), $load, ((Get-Content /proc/loadavg) -replace ' \d+/.*$'))
        $runs.Add($r)
        Remove-Item $copy -Recurse -Force
    }
    Remove-Item $store -Recurse -Force
    function Stage($Run, [string[]] $Names) { ($Names | ForEach-Object { $Run.Stages.$_ } | Where-Object { $_ } | Measure-Object -Sum).Sum }
    $mark = Median ($runs | ForEach-Object { Stage $_ 'Marking', 'MarkingDatums', 'Listing' })
    $sweep = Median ($runs | ForEach-Object { Stage $_ 'WaitingForWriters', 'Repacking', 'Deciding', 'Deleting' })
    $total = Median $runs.Seconds
    $objects = $g.Objects + $g.Nodes
    Add-Result ("collect {0:N0} chunks, {1:N0} commits ({2:N0} objects + {3:N0} tree nodes)" -f $g.Chunks, $g.Commits, $g.Objects, $g.Nodes) `
        ('{0:N1} s median of {1} (CPU {2:N1} s); {3:N0} objects/s' -f $total, (Join-Seconds $runs.Seconds), (Median $runs.CpuSeconds), ($objects / $total)) `
        ('mark+plan {0:N1} s, sweep {1:N1} s; freed {2:N0} objects, {3:N0} repacked, {4:N0} tree nodes' -f $mark, $sweep, $runs[0].ObjectsRemoved, $runs[0].PacksWritten, $runs[0].TreeNodesRemoved) `
        ('{0:N2}x target' -f ($total / 60)) 'under 60 s'
    Add-Result 'peak RSS of that collection (its own process)' (Format-Bytes (Median $runs.PeakRss)) ('{0} after opening the store' -f (Format-Bytes (Median $runs.OpenedRss))) `
        ('{0:N2}x target' -f ((Median $runs.PeakRss) / 500e6)) 'under 500 MB'
}

function Invoke-IoBench {
    # ---------------------------------------------------------------------- issues 2 and 22: data in and out
    # Every PachPS figure is taken in a fresh pwsh between runs of its comparison, in alternating rounds (this VM's disk
    # flushes at very different speeds from minute to minute), and the medians are compared. The machine's own limits,
    # measured in the same run, give the floor every ratio can be read against.
    $rounds = if ($Quick) { 1 } else { 3 }
    $bigSize = [long](1GB * $Scale)
    $big = Join-Path $work 'big.bin'
    Write-RandomFile $big $bigSize 7
    $edited = Join-Path $work 'big-edited.bin'
    & cp $big $edited
    $efs = [System.IO.File]::OpenWrite($edited); $efs.Position = [long]($bigSize / 2); $efs.WriteByte(0x5A); $efs.Dispose()
    $n = [int](20000 * $Scale)
    $small = Join-Path $work 'small'
    Write-Files $small $n 1024 200
    & sync
    $mib = $bigSize / 1MB
    $copy = Join-Path $work 'copy.bin'

    # The machine: a copy with its flush, hashing, and the disk's raw sequential write and read.
    $blocks = [math]::Ceiling($bigSize / 4MB)
    $limits = foreach ($k in 1..$rounds) {
        $cpSync = Seconds { & cp $big $copy; & sync }
        Remove-Item $copy; & sync
        $sha = Seconds { & sha256sum $big | Out-Null }
        $write = Seconds { & dd if=/dev/zero "of=$copy" bs=4M "count=$blocks" conv=fdatasync status=none }
        $read = Seconds { & dd "if=$copy" of=/dev/null bs=4M iflag=direct status=none }
        Remove-Item $copy; & sync
        [pscustomobject]@{ CpSync = $cpSync; Sha = $sha; Write = $write; Read = $read }
    }
    Add-Result ("this machine: {0} file" -f (Format-Bytes $bigSize)) ('cp+sync {0:N0} MiB/s; sha256sum {1:N0} MiB/s' -f ($mib / (Median $limits.CpSync)), ($mib / (Median $limits.Sha))) `
        ('dd write+fdatasync {0:N0} MiB/s; dd read (direct) {1:N0} MiB/s' -f ($mib / (Median $limits.Write)), ($mib / (Median $limits.Read))) '-' 'the floor for the rows below'

    # One large file in and out, and a single-datum job reading it; the first round also measures memory and dedup.
    $job = '{"pipeline":{"name":"reads"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"big","glob":"/"}}}'
    Set-Content (Join-Path $work 'reads.json') $job
    $large = foreach ($k in 1..$rounds) {
        $cp = Seconds { & cp $big $copy; & sync }
        Remove-Item $copy; & sync
        $cpRead = Seconds { & cp $big $copy }
        Remove-Item $copy; & sync
        $store = "$work/store-big-$k"
        $r = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null; New-PachRepo big | Out-Null
`$t = (Measure-Command { Add-PachFile big master big.bin -Source '$big' | Out-Null; & sync }).TotalSeconds
`$peak = (Get-Process -Id `$PID).PeakWorkingSet64
`$save = (Measure-Command { Save-PachFile big master big.bin -Destination '$copy' }).TotalSeconds
Remove-Item '$copy'; & sync
New-PachPipeline -Path '$work/reads.json' | Out-Null
`$j = Get-PachJob -Pipeline reads | Wait-PachJob
`$s1 = (Get-PachStore).StoredBytes
Add-PachFile big master again.bin -Source '$big' | Out-Null
`$s2 = (Get-PachStore).StoredBytes
Add-PachFile big master edited.bin -Source '$edited' | Out-Null
`$s3 = (Get-PachStore).StoredBytes
@{ Ingest = `$t; Save = `$save; Job = (`$j.Finished - `$j.Started).TotalSeconds; JobState = "`$(`$j.State)"; Peak = `$peak; Same = `$s2 - `$s1; Edited = `$s3 - `$s2 } | ConvertTo-Json -Compress
"@
        Remove-Item $store -Recurse; & sync
        [pscustomobject]@{ Cp = $cp; CpRead = $cpRead; Ingest = $r.Ingest; Save = $r.Save; Job = $r.Job; JobState = $r.JobState; Peak = $r.Peak; Same = $r.Same; Edited = $r.Edited }
    }
    $cpBig = Median $large.Cp
    $cpPlain = Median $large.CpRead
    $ingest = Median $large.Ingest
    $save = Median $large.Save
    $jobTime = Median $large.Job
    Add-Result ("{0} file, Add-PachFile (+sync)" -f (Format-Bytes $bigSize)) ('{0:N2} s median of {1}' -f $ingest, (Join-Seconds $large.Ingest)) ('cp+sync {0:N2} s median of {1}' -f $cpBig, (Join-Seconds $large.Cp)) ('{0:N2}x cp+sync' -f ($ingest / $cpBig)) 'at most 1.3x cp+sync'
    Add-Result ("{0} file, Save-PachFile" -f (Format-Bytes $bigSize)) ('{0:N2} s median of {1}' -f $save, (Join-Seconds $large.Save)) ('cp {0:N2} s median of {1}' -f $cpPlain, (Join-Seconds $large.CpRead)) ('{0:N2}x cp' -f ($save / $cpPlain)) 'at most 1.3x cp'
    Add-Result ("single-datum job over that file (transform: true)") ('{0:N2} s median of {1} ({2})' -f $jobTime, (Join-Seconds $large.Job), ($large.JobState | Select-Object -First 1)) ('cp {0:N2} s' -f $cpPlain) ('{0:N2}x cp' -f ($jobTime / $cpPlain)) 'inputs as fast as Save-PachFile'
    $baseline = Invoke-Child "@{ Peak = (Get-Process -Id `$PID).PeakWorkingSet64 } | ConvertTo-Json -Compress"
    $peak = Median $large.Peak
    Add-Result 'peak memory of that ingest' ("{0} (pwsh)" -f (Format-Bytes $peak)) ("bare pwsh + module {0}" -f (Format-Bytes $baseline.Peak)) ('+{0} over bare pwsh' -f (Format-Bytes ($peak - $baseline.Peak))) 'under 300 MB'
    Add-Result 'same file added again: new stored bytes' (Format-Bytes $large[0].Same) (Format-Bytes $bigSize) ('{0:P4}' -f ($large[0].Same / $bigSize)) 'under 0.1%'
    Add-Result 'one byte changed in the middle: new stored bytes' (Format-Bytes $large[0].Edited) (Format-Bytes $bigSize) ('{0:P3}' -f ($large[0].Edited / $bigSize)) 'under 8 MiB'

    # Many small files in and out, against git and cp -r.
    $gitDir = Join-Path $work 'small-git'
    $cpDir = Join-Path $work 'small-cp'
    $out = Join-Path $work 'small-out'
    $many = foreach ($k in 1..$rounds) {
        $cp = Seconds { & cp -r $small $cpDir; & sync }
        Remove-Item $cpDir -Recurse; & sync
        $cpRead = Seconds { & cp -r $small $cpDir }
        Remove-Item $cpDir -Recurse; & sync
        & cp -r $small $gitDir
        & sync   # the copy must not be flushed inside the measurement
        $git = Seconds { & git -C $gitDir init -q; & git -C $gitDir add -A; & git -C $gitDir -c user.email=b@b -c user.name=b commit -qm bench; & sync }
        Remove-Item $gitDir -Recurse -Force; & sync
        $store = "$work/store-small-$k"
        $r = Invoke-Child @"
Connect-PachStore -Path '$store' | Out-Null; New-PachRepo small | Out-Null
`$t = (Measure-Command { Add-PachFile small master / -Source '$small' -Recurse | Out-Null; & sync }).TotalSeconds
`$save = (Measure-Command { Save-PachFile small master / -Destination '$out' | Out-Null }).TotalSeconds
@{ Ingest = `$t; Save = `$save; Objects = (Get-PachStore).ObjectCount; Files = (Get-PachCommit small master).FileCount } | ConvertTo-Json -Compress
"@
        Remove-Item $store, $out -Recurse; & sync
        [pscustomobject]@{ Cp = $cp; CpRead = $cpRead; Git = $git; Ingest = $r.Ingest; Save = $r.Save; Objects = $r.Objects; Files = $r.Files }
    }
    $ingest = Median $many.Ingest
    $git = Median $many.Git
    $cp = Median $many.Cp
    Add-Result "$n x 1 KiB files in 100 folders, Add-PachFile -Recurse (+sync)" ('{0:N2} s median of {1} ({2} objects)' -f $ingest, (Join-Seconds $many.Ingest), $many[0].Objects) `
        ('git add+commit {0:N2} s median of {1}; cp -r+sync {2:N2} s' -f $git, (Join-Seconds $many.Git), $cp) ('{0:N2}x git, {1:N2}x cp -r' -f ($ingest / $git), ($ingest / $cp)) 'at most 0.6x git and 2x cp -r'
    $save = Median $many.Save
    $cpRead = Median $many.CpRead
    Add-Result "$n x 1 KiB files, Save-PachFile -Recurse" ('{0:N2} s median of {1}' -f $save, (Join-Seconds $many.Save)) ('cp -r {0:N2} s median of {1}' -f $cpRead, (Join-Seconds $many.CpRead)) ('{0:N2}x cp -r' -f ($save / $cpRead)) 'at most 2x cp -r'
    Remove-Item $big, $edited, $small -Recurse
}

try {
    if (-not $Only) {
        # ------------------------------------------------------------------ issue 7: import and first command in a warm pwsh
        $file = Join-Path $work 'import.ps1'
        Set-Content $file @"
`$import = (Measure-Command { Import-Module '$module' }).TotalMilliseconds
`$first = (Measure-Command { Connect-PachStore -Path '$work/store-import' | Out-Null; Get-PachRepo | Out-Null }).TotalMilliseconds
@{ Import = `$import; First = `$first } | ConvertTo-Json -Compress
"@
        $r = & dotnet $pwshDll -NoProfile -NonInteractive -File $file | Select-Object -Last 1 | ConvertFrom-Json
        Add-Result 'Import-Module PachPS (warm pwsh)' ('{0:N0} ms' -f $r.Import) '-' '-' 'under 400 ms'
        Add-Result 'first Get-PachRepo (opens the store)' ('{0:N0} ms' -f $r.First) '-' '-' 'under 1 s'

    }
    if ($S3) { Invoke-S3Bench }
    if (-not $Only -or $Only -eq 'Io') { Invoke-IoBench }
    if (-not $Only) {

        # ------------------------------------------------------------------ issue 2: one file into a 100,000-file head
        $wide = [int](100000 * $Scale)
        $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-wide' | Out-Null; New-PachRepo wide | Out-Null
`$folder = '$work/wide'
foreach (`$i in 0..($wide - 1)) { if (`$i % 1000 -eq 0) { [IO.Directory]::CreateDirectory("`$folder/g`$(`$i / 1000)") | Out-Null }; [IO.File]::WriteAllText("`$folder/g`$([math]::Floor(`$i / 1000))/f`$i.txt", "`$i") }
Add-PachFile wide master / -Source `$folder -Recurse | Out-Null
Add-PachFile wide master warmup.txt -Value 'warm' | Out-Null
`$times = foreach (`$k in 1..5) { (Measure-Command { Add-PachFile wide master "one`$k.txt" -Value 'x' | Out-Null }).TotalMilliseconds }
`$c = Get-PachCommit wide master
@{ Ms = (`$times | Sort-Object)[2]; Meta = `$c.MetadataBytes; Files = `$c.FileCount } | ConvertTo-Json -Compress
"@
        $r10 = Invoke-Child @"
Connect-PachStore -Path '$work/store-narrow' | Out-Null; New-PachRepo narrow | Out-Null
Add-PachFile narrow master warmup.txt -Value 'warm' | Out-Null
`$times = foreach (`$k in 1..5) { (Measure-Command { Add-PachFile narrow master "one`$k.txt" -Value 'x' | Out-Null }).TotalMilliseconds }
@{ Ms = (`$times | Sort-Object)[2]; Meta = (Get-PachCommit narrow master).MetadataBytes } | ConvertTo-Json -Compress
"@
        Add-Result "add 1 file to a $($r.Files - 1)-file head" ('{0:N1} ms, {1} new metadata' -f $r.Ms, (Format-Bytes $r.Meta)) ('same into a 6-file head: {0:N1} ms, {1}' -f $r10.Ms, (Format-Bytes $r10.Meta)) ('{0:N2}x time' -f ($r.Ms / $r10.Ms)) 'under 50 ms, independent of size'

        # ------------------------------------------------------------------ issue 17: merge of two branches that each changed 100 files
        $mergeFiles = [int](100000 * $Scale)
        $edits = [math]::Min(100, [int]($mergeFiles / 4))
        $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-merge' | Out-Null; New-PachRepo big, warm | Out-Null
`$folder = '$work/merge-files'
foreach (`$i in 0..($mergeFiles - 1)) { if (`$i % 1000 -eq 0) { [IO.Directory]::CreateDirectory("`$folder/g`$(`$i / 1000)") | Out-Null }; [IO.File]::WriteAllText("`$folder/g`$([math]::Floor(`$i / 1000))/f`$i.txt", "`$i") }
Add-PachFile big master / -Source `$folder -Recurse | Out-Null
New-PachBranch big dev master | Out-Null
# Each side changes $edits files spread over the repo: dev the even-numbered ones, master the odd-numbered ones.
foreach (`$side in 'dev', 'master') {
    `$edited = '$work/merge-' + `$side
    `$step = [math]::Floor($mergeFiles / $edits)
    foreach (`$k in 0..($edits - 1)) {
        `$i = [math]::Min($mergeFiles - 1, `$k * `$step + [int](`$side -eq 'master'))
        `$dir = "`$edited/g`$([math]::Floor(`$i / 1000))"
        [IO.Directory]::CreateDirectory(`$dir) | Out-Null
        [IO.File]::WriteAllText("`$dir/f`$i.txt", "`$side `$i")
    }
    Add-PachFile big `$side / -Source `$edited -Recurse | Out-Null
}
# The same cmdlet once on a tiny repo first, so the figure is the merge's and not the JIT's.
Add-PachFile warm master a.txt -Value 'a' | Out-Null; New-PachBranch warm dev master | Out-Null
Add-PachFile warm dev b.txt -Value 'b' | Out-Null; Add-PachFile warm master c.txt -Value 'c' | Out-Null
Merge-PachBranch warm dev master | Out-Null
`$result = `$null
`$ms = (Measure-Command { `$result = Merge-PachBranch big dev master }).TotalMilliseconds
@{ Ms = `$ms; Kind = "`$(`$result.Kind)"; Changes = `$result.Changes; Files = (Get-PachCommit big master).FileCount; Meta = (Get-PachCommit big master).MetadataBytes } | ConvertTo-Json -Compress
"@
        Add-Result "merge: 2 branches x $edits changed files of $($r.Files)" ('{0:N0} ms ({1}, {2} paths applied, {3} new metadata)' -f $r.Ms, $r.Kind, $r.Changes, (Format-Bytes $r.Meta)) '-' '-' 'under 200 ms'

        # ------------------------------------------------------------------ issue 3: 2,000 one-line datums vs xargs -P2
        $d = [int](2000 * $Scale)
        $lines = Join-Path $work 'lines'
        New-Item -ItemType Directory $lines | Out-Null
        foreach ($i in 1..$d) { [IO.File]::WriteAllText("$lines/l$i.txt", "line $i`n") }
        $xout = Join-Path $work 'xargs-out'
        $xargsScript = Join-Path $work 'xargs.sh'
        Set-Content $xargsScript "rm -rf '$xout'; mkdir '$xout'; ls '$lines'/* | xargs -P2 -n1 sh -c 'cp `"`$0`" $xout/'"
        $copySpec = '{"pipeline":{"name":"NAME"},"transform":{"cmd":["sh"],"stdin":["cp \"$in\" /pfs/out/"]},"parallelism_spec":{"constant":2},"input":{"pfs":{"repo":"lines","glob":"/*","name":"in"}}}'
        # This machine's speed drifts by tens of percent within minutes: xargs and PachPS take turns three times and the
        # medians are compared. Each PachPS run is a fresh session (its first job pays for the JIT); a second pipeline over
        # the same datums in that session shows the warm figure.
        # The executor gives each worker its own /pfs (a mount namespace, entered with nsenter per datum) where it can; the
        # same datums with /pfs/ rewritten instead (PACHPS_LOCAL_PFS=rewrite, the executor before namespaces) take turns too.
        $xargsRuns = [System.Collections.Generic.List[double]]::new()
        $runs = [System.Collections.Generic.List[object]]::new()
        $rewrittenRuns = [System.Collections.Generic.List[object]]::new()
        $datumsScript = {
            param([string] $Store)
            @"
Connect-PachStore -Path '$Store' | Out-Null; New-PachRepo lines | Out-Null
Add-PachFile lines master / -Source '$lines' -Recurse | Out-Null
New-PachPipeline -Spec '$($copySpec.Replace('NAME', 'copy'))' | Out-Null
Wait-PachCommit lines master | Out-Null
`$job = Get-PachJob -Pipeline copy
New-PachPipeline -Spec '$($copySpec.Replace('NAME', 'again'))' | Out-Null
Wait-PachCommit lines master | Out-Null
@{ Seconds = `$job.Duration.TotalSeconds; Progress = `$job.Progress; Warm = (Get-PachJob -Pipeline again).Duration.TotalSeconds; Executor = (Get-PachStore).Executor } | ConvertTo-Json -Compress
"@
        }
        foreach ($k in 1..3) {
            $xargsRuns.Add((Seconds { & bash $xargsScript }))
            $runs.Add((Invoke-Child (& $datumsScript "$work/store-datums-$k")))
            $env:PACHPS_LOCAL_PFS = 'rewrite'
            try { $rewrittenRuns.Add((Invoke-Child (& $datumsScript "$work/store-rewritten-$k"))) }
            finally { Remove-Item env:PACHPS_LOCAL_PFS }
        }
        $xargs = Median $xargsRuns
        $r = [pscustomobject]@{ Seconds = (Median $runs.Seconds); Progress = $runs[0].Progress; Warm = (Median $runs.Warm) }
        $rewritten = [pscustomobject]@{ Seconds = (Median $rewrittenRuns.Seconds); Warm = (Median $rewrittenRuns.Warm) }
        $each = Join-Seconds $runs.Seconds
        $eachX = Join-Seconds $xargsRuns
        Add-Result "$d one-line datums, sh cp, parallelism 2" ('{0:N2} s median of {1} ({2})' -f $r.Seconds, $each, $r.Progress) ('xargs -P2 {0:N2} s median of {1}' -f $xargs, $eachX) ('{0:N2}x xargs' -f ($r.Seconds / $xargs)) 'within 1.5x of xargs -P2'
        Add-Result "same datums, second pipeline in that session" ('{0:N2} s median' -f $r.Warm) ('xargs -P2 {0:N2} s' -f $xargs) ('{0:N2}x xargs' -f ($r.Warm / $xargs)) 'report (no JIT left to pay)'
        Add-Result "same datums, executor: $($runs[0].Executor -replace '^local processes; ', '')" ('{0:N2} s cold, {1:N2} s warm (medians)' -f $r.Seconds, $r.Warm) `
            ('/pfs/ rewritten: {0:N2} s cold ({1}), {2:N2} s warm' -f $rewritten.Seconds, (Join-Seconds $rewrittenRuns.Seconds), $rewritten.Warm) `
            ('{0:N2}x cold, {1:N2}x warm' -f ($r.Seconds / $rewritten.Seconds), ($r.Warm / $rewritten.Warm)) 'within 1.15x of rewriting'
        $single = $r.Seconds
        # The same datums with datum_batching: one sh per worker asks for datums instead of one process per datum.
        $rb = Invoke-Child @"
Connect-PachStore -Path '$work/store-batched' | Out-Null; New-PachRepo lines | Out-Null
Add-PachFile lines master / -Source '$lines' -Recurse | Out-Null
`$worker = 'while :; do echo next > "`$PACH_DATUM_REQUEST"; read -r r < "`$PACH_DATUM_RESPONSE"; [ "`$r" = done ] && exit 0; . "`$PACH_DATUM_ENV"; cp "`$in" /pfs/out/; done'
New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh', '-c', `$worker); datum_batching = `$true }; parallelism_spec = @{ constant = 2 }; input = @{ pfs = @{ repo = 'lines'; glob = '/*'; name = 'in' } } } | Out-Null
Wait-PachCommit lines master | Out-Null
`$job = Get-PachJob -Pipeline copy
@{ Seconds = `$job.Duration.TotalSeconds; Progress = `$job.Progress } | ConvertTo-Json -Compress
"@
        Add-Result "$d datums with datum_batching" ('{0:N2} s ({1}), {2:N2} ms per datum per worker' -f $rb.Seconds, $rb.Progress, (1000 * $rb.Seconds / $d * 2)) ('without batching {0:N2} s, {1:N2} ms per datum per worker' -f $single, (1000 * $single / $d * 2)) ('{0:N2}x faster; {1:N2}x xargs' -f ($single / $rb.Seconds), ($rb.Seconds / $xargs)) 'report ratio and per-datum overhead'

        # ------------------------------------------------------------------ issue 3: 10,000 skipped + 1 new
        $m = [int](10000 * $Scale)
        $many = Join-Path $work 'many'
        New-Item -ItemType Directory $many | Out-Null
        foreach ($i in 1..$m) { [IO.File]::WriteAllText("$many/m$i.txt", "$i") }
        $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-skip' | Out-Null; New-PachRepo many | Out-Null
Add-PachFile many master / -Source '$many' -Recurse | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"echo"},"transform":{"cmd":["sh"],"stdin":["cp \"`$in\" /pfs/out/"]},"parallelism_spec":{"constant":2},"input":{"pfs":{"repo":"many","glob":"/*","name":"in"}}}' | Out-Null
Wait-PachCommit many master | Out-Null
`$t = (Measure-Command { Add-PachFile many master /new.txt -Value 'new' | Out-Null; Wait-PachCommit many master | Out-Null }).TotalSeconds
`$job = Get-PachJob -Pipeline echo | Select-Object -First 1
@{ Seconds = `$t; Job = `$job.Duration.TotalSeconds; Progress = `$job.Progress } | ConvertTo-Json -Compress
"@
        Add-Result "$m-file input + 1 new file" ('{0:N2} s commit-to-output (job {1:N2} s, {2})' -f $r.Seconds, $r.Job, $r.Progress) '-' '-' 'under 2 s, all others skipped'

        # ------------------------------------------------------------------ issue 3: job cost vs history
        $h = [int][math]::Max(10, 500 * $Scale)
        $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-history' | Out-Null; New-PachRepo hist | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"h"},"transform":{"cmd":["sh"],"stdin":["cp \"`$hist\" /pfs/out/"]},"input":{"pfs":{"repo":"hist","glob":"/*"}}}' | Out-Null
`$times = @{}
foreach (`$i in 1..$h) {
    `$t = (Measure-Command { Add-PachFile hist master data.txt -Value "commit `$i" | Out-Null; Wait-PachCommit hist master | Out-Null }).TotalMilliseconds
    `$times[`$i] = `$t
}
`$early = (3..7 | ForEach-Object { `$times[`$_] } | Sort-Object)[2]
`$late = (($h - 4)..$h | ForEach-Object { `$times[`$_] } | Sort-Object)[2]
@{ Early = `$early; Late = `$late } | ConvertTo-Json -Compress
"@
        Add-Result "job for the ${h}th small input commit" ('{0:N0} ms' -f $r.Late) ('5th commit {0:N0} ms' -f $r.Early) ('{0:N2}x' -f ($r.Late / $r.Early)) 'within 1.2x (median of 5 around each)'
    }

    if (-not $Only -or $Only -eq 'Backup') {
        # ------------------------------------------------------------------ issue 15: backup of a 200,000-commit store
        $c = [int](200000 * $Scale)
        $genFile = Join-Path $work 'generate-history.ps1'
        Set-Content $genFile $HistoryGenerator
        $r = Invoke-Child @"
Connect-PachStore -Path '$work/store-backup' | Out-Null
`$store = [PachPS.Infrastructure.StoreSession]::Current
`$Commits = $c
`$generated = (Measure-Command { . '$genFile' }).TotalSeconds
`$location = `$store.GetType().Assembly.GetType('PachPS.Engine.Backup.BackupLocation')::new('$work/backups', `$null, `$null, `$null, `$null)
`$t = (Measure-Command { `$b = `$store.Backup(`$location, 'full', `$null, [Threading.CancellationToken]::None) }).TotalSeconds
New-PachRepo more | Out-Null; Add-PachFile more master /one-more.txt -Value 'one more' | Out-Null
`$t2 = (Measure-Command { `$b2 = `$store.Backup(`$location, 'next', `$null, [Threading.CancellationToken]::None) }).TotalSeconds
@{ Seconds = `$t; Next = `$t2; Generated = `$generated; Commits = @(`$store.Pfs.ListCommits('gen', 'master', 2)).Count; Metadata = `$b.MetadataBytes; Objects = `$b.Objects; Copied = `$b.BytesCopied; NextCopied = `$b2.ObjectsCopied } | ConvertTo-Json -Compress
"@
        Add-Result "Backup-PachStore of a $c-commit store (local content, to a folder)" ('{0:N2} s ({1} metadata, {2} objects, {3} copied)' -f $r.Seconds, (Format-Bytes $r.Metadata), $r.Objects, (Format-Bytes $r.Copied)) ('next backup {0:N2} s, {1} objects copied; generated in {2:N0} s' -f $r.Next, $r.NextCopied, $r.Generated) '-' 'under 20 s'
    }
    if ($Remote) { Invoke-RemoteBench }
    if ($Only -eq 'Gateway') { Invoke-GatewayBench }
    if (-not $Only -or $Only -eq 'Lazy') { Invoke-LazyBench }
    if (-not $Only -or $Only -eq 'Collection') { Invoke-CollectionBench }
    if ($Only -eq 'Scale') { Invoke-ScaleBench }
    if ($Only -eq 'Containers') { Invoke-ContainerBench }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
Write-Host ''
$results | Format-Table -AutoSize -Wrap | Out-String -Width 200 | Write-Host
