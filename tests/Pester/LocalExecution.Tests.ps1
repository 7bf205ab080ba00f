#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The local executor as a cluster runs a spec: /pfs is each worker's own folder (a private mount namespace) where Linux
# allows it, /pfs/ rewritten otherwise, and the same rules for what a datum leaves in /pfs/out.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    # Mount namespaces need Linux, util-linux and root (or unprivileged user namespaces and an existing /pfs).
    $noNamespace = -not $IsLinux -or -not (Get-Command nsenter -ErrorAction Ignore) -or
        ((& id -u) -ne '0' -and -not (Test-Path /pfs))
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'A real /pfs for local datums' -Skip:$noNamespace {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo training | Out-Null
        New-PachRepo notes | Out-Null
        1..4 | ForEach-Object { Add-PachFile training master "/f$_.csv" -Value "a,$_" } | Out-Null
        Add-PachFile notes master /readme.txt -Value 'first' | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'runs cmd, stdin and env exactly as written, so outputs name /pfs and unchanged datums are skipped downstream' {
        (Get-PachStore).Executor | Should -Match 'private mount namespace'
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'paths' }; parallelism_spec = @{ constant = 2 }
            transform = @{
                cmd = @('sh'); env = @{ WHERE = '/pfs/training' }
                stdin = @('for f in /pfs/training/*; do { echo "$f"; wc -l "$f"; echo "$WHERE $training"; pwd; ls /pfs; } > /pfs/out/$(basename "$f").txt; done')
            }
            input = @{ cross = @(@{ pfs = @{ repo = 'training'; glob = '/*' } }, @{ pfs = @{ repo = 'notes'; glob = '/' } }) }
        } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'copies' }
            transform = @{ cmd = @('sh', '-c', 'cp /pfs/paths/* /pfs/out/') }
            input = @{ pfs = @{ repo = 'paths'; glob = '/*' } }
        } | Out-Null
        (Get-PachJob -Pipeline paths | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        (Get-PachJob -Pipeline copies | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        Get-PachFileContent paths master /f2.csv.txt | Should -Be @('/pfs/training/f2.csv', '0 /pfs/training/f2.csv', '/pfs/training /pfs/training/f2.csv', '/pfs', 'notes', 'out', 'training')
        $before = @{}
        Get-PachFile paths master | ForEach-Object { $before[$_.Path] = $_.Hash }

        # A new notes commit reruns every datum of paths (notes is in each); their outputs are byte for byte the same,
        # so copies skips every datum.
        Add-PachFile notes master /readme.txt -Value 'second' | Out-Null
        $paths = Get-PachJob -Pipeline paths | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        $paths.Processed | Should -Be 4
        Get-PachFile paths master | ForEach-Object { $_.Hash | Should -Be $before[$_.Path] -Because "$($_.Path) names no worker or job" }
        $copies = Get-PachJob -Pipeline copies | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        $copies.Processed | Should -Be 0
        $copies.Skipped | Should -Be 4
        (Get-PachPipeline paths).Executor | Should -Match 'private mount namespace'
    }

    It 'gives a datum_batching worker the same /pfs for each of its datums' {
        $loop = 'while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; [ "$r" = done ] && exit 0; ' +
            '. "$PACH_DATUM_ENV"; echo "$training" > /pfs/out/$(basename "$training"); done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; transform = @{ cmd = @('sh', '-c', $loop); datum_batching = $true }
            input = @{ pfs = @{ repo = 'training'; glob = '/*' } } } | Out-Null
        (Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        Get-PachFileContent batched master /f3.csv | Should -Be '/pfs/training/f3.csv'
    }
}

Describe 'Without a mount namespace' {
    It 'rewrites /pfs/ to the worker''s folder, says so once per job in its log and on Get-PachPipeline' {
        $store = Join-Path $TestDrive 'rewritten'
        $script = {
            param($Module, $Store)
            Import-Module $Module
            Connect-PachStore -Path $Store | Out-Null
            New-PachRepo raw | Out-Null
            1..2 | ForEach-Object { Add-PachFile raw master "/r$_" -Value "$_" } | Out-Null
            New-PachPipeline -Spec @{ pipeline = @{ name = 'where' }; transform = @{ cmd = @('sh', '-c', 'echo /pfs/raw/* > /pfs/out/$(basename /pfs/raw/*)') }
                input = @{ pfs = @{ repo = 'raw'; glob = '/*' } } } | Out-Null
            $job = Get-PachJob -Pipeline where | Wait-PachJob -TimeoutSec 60
            [pscustomobject]@{
                State = "$($job.State)"
                Output = Get-PachFileContent where master /r1
                Told = @(Get-PachLog -Job $job.Id | Where-Object Stream -EQ executor).Message
                Executor = (Get-PachPipeline where).Executor
            } | ConvertTo-Json -Compress
            Disconnect-PachStore
        }
        $env:PACHPS_LOCAL_PFS = 'rewrite'
        try { $json = & dotnet pwsh -NoProfile -NonInteractive -Command "& { $script } '$ModulePath' '$store'" }
        finally { Remove-Item env:PACHPS_LOCAL_PFS }
        $result = $json | Select-Object -Last 1 | ConvertFrom-Json
        $result.State | Should -Be 'Success'
        $result.Output | Should -BeLike "$store*/pfs/raw/r1"
        @($result.Told).Count | Should -Be 1
        $result.Told | Should -Match 'rewritten to each worker''s folder.*PACHPS_LOCAL_PFS=rewrite'
        $result.Executor | Should -Match 'rewritten'
    }
}

Describe 'What a datum leaves in /pfs/out' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo training | Out-Null
        Add-PachFile training master /data/f1.csv -Value 'one' | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'stores links inside the datum''s /pfs as what they point to' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'linked' }
            transform = @{ cmd = @('sh', '-c', 'ln -s /pfs/training/data/f1.csv /pfs/out/abs; ln -s ../training/data /pfs/out/folder; echo two > /pfs/out/real; ln -s real /pfs/out/rel') }
            input = @{ pfs = @{ repo = 'training'; glob = '/' } } } | Out-Null
        (Get-PachJob -Pipeline linked | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        (Get-PachFile linked master -Recurse).Path | Should -Be @('/abs', '/folder/f1.csv', '/real', '/rel')
        Get-PachFileContent linked master /abs | Should -Be 'one'
        Get-PachFileContent linked master /folder/f1.csv | Should -Be 'one'
        Get-PachFileContent linked master /rel | Should -Be 'two'
    }

    It 'fails a datum that leaves <What>, naming it' -ForEach @(
        @{ What = 'a link outside its /pfs'; Cmd = 'ln -s /etc/hostname /pfs/out/host'; Reason = '/pfs/out/host is a link to /etc/hostname, outside the datum''s /pfs' }
        @{ What = 'a dangling link'; Cmd = 'ln -s /pfs/training/nothing /pfs/out/gone'; Reason = '/pfs/out/gone is a link to /pfs/training/nothing, which does not exist' }
        @{ What = 'a link loop'; Cmd = 'mkdir /pfs/out/d; ln -s .. /pfs/out/d/up'; Reason = '/pfs/out/d/up is a link to /pfs/out, which holds it: a loop' }
        @{ What = 'a FIFO'; Cmd = 'mkfifo /pfs/out/pipe'; Reason = '/pfs/out/pipe is a FIFO' }
    ) {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'bad' }; transform = @{ cmd = @('sh', '-c', $Cmd) }
            input = @{ pfs = @{ repo = 'training'; glob = '/' } } } | Out-Null
        $job = Get-PachJob -Pipeline bad | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Failure'
        (Get-PachDatum -Job $job.Id).Reason | Should -BeLike "*$Reason*"
        Get-PachFile bad master -ErrorAction Ignore | Should -BeNullOrEmpty
    }
}

Describe 'transform.secrets on the local executor' {
    It 'puts an env_var secret''s value from the session''s PACHPS_SECRET_DB_PASSWORD in the command''s environment and nowhere in the store' {
        $store = Join-Path $TestDrive 'secrets'
        $value = 'kept-out-of-the-store-' + [guid]::NewGuid().ToString('N')
        Connect-PachStore -Path $store | Out-Null
        try {
            New-PachRepo raw | Out-Null
            Add-PachFile raw master /a -Value 'x' | Out-Null
            $env:PACHPS_SECRET_DB_PASSWORD = $value
            # The command writes the value's hash, so the store never holds the value itself.
            New-PachPipeline -Spec @{ pipeline = @{ name = 'uses' }; input = @{ pfs = @{ repo = 'raw'; glob = '/' } }
                transform = @{ cmd = @('sh', '-c', 'printf %s "$DB_PASSWORD" | sha256sum | cut -d" " -f1 > /pfs/out/hash'); secrets = @(@{ name = 'db'; key = 'password'; env_var = 'DB_PASSWORD' }) } } -WarningVariable warned | Out-Null
            $warned | Should -BeNullOrEmpty
            (Get-PachJob -Pipeline uses | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
            $expected = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($value)))
            Get-PachFileContent uses master /hash | Should -Be $expected
        }
        finally {
            Remove-Item env:PACHPS_SECRET_DB_PASSWORD -ErrorAction Ignore
            Disconnect-PachStore
        }
        Get-ChildItem $store -Recurse -File | Where-Object { [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes($_.FullName)).Contains($value) } |
            Should -BeNullOrEmpty
    }
}

Describe 'transform.secrets with mount_path on the local executor' {
    It 'puts each key of the folder PACHPS_SECRET_CREDS names in a file under mount_path, and nowhere in the store or on this machine' {
        $store = Join-Path $TestDrive 'mounted'
        $source = (New-Item -ItemType Directory (Join-Path $TestDrive 'creds-source')).FullName
        $value = 'mounted-secret-' + [guid]::NewGuid().ToString('N')
        [IO.File]::WriteAllText((Join-Path $source 'password'), $value)
        [IO.File]::WriteAllText((Join-Path $source 'user'), 'admin')
        Connect-PachStore -Path $store | Out-Null
        try {
            New-PachRepo raw | Out-Null
            Add-PachFile raw master /a -Value 'x' | Out-Null
            $env:PACHPS_SECRET_CREDS = $source
            New-PachPipeline -Spec @{ pipeline = @{ name = 'mounted' }; input = @{ pfs = @{ repo = 'raw'; glob = '/' } }
                transform = @{ cmd = @('sh', '-c', 'ls /run/pachps-creds/ > /pfs/out/keys; sha256sum < /run/pachps-creds/password | cut -d" " -f1 > /pfs/out/hash')
                    secrets = @(@{ name = 'creds'; mount_path = '/run/pachps-creds' }) } } -WarningVariable warned | Out-Null
            $warned | Should -BeNullOrEmpty
            (Get-PachJob -Pipeline mounted | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
            Get-PachFileContent mounted master /keys | Should -Be @('password', 'user')
            $expected = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($value)))
            Get-PachFileContent mounted master /hash | Should -Be $expected

            # Without the variable the datum fails saying which to set, and the job fails.
            Remove-Item env:PACHPS_SECRET_CREDS
            Add-PachFile raw master /b -Value 'y' | Out-Null
            $job = Get-PachJob -Pipeline mounted | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
            $job.State | Should -Be 'Failure'
            (Get-PachDatum -Job $job.Id | Where-Object State -EQ Failed).Reason | Should -BeLike 'SecretNotFound: *PACHPS_SECRET_CREDS*'
        }
        finally {
            Remove-Item env:PACHPS_SECRET_CREDS -ErrorAction Ignore
            Disconnect-PachStore
        }
        Get-ChildItem $store -Recurse -File | Where-Object { [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes($_.FullName)).Contains($value) } |
            Should -BeNullOrEmpty
        Get-ChildItem /run/pachps-creds -ErrorAction Ignore | Should -BeNullOrEmpty
        Remove-Item /run/pachps-creds -ErrorAction Ignore   # the empty mount point the namespace needed
        # The files in memory went with the session's workers too.
        if (Test-Path /dev/shm) { Get-ChildItem /dev/shm -Filter 'pachps-secrets-*' | Should -BeNullOrEmpty }
    }
}

Describe 'datum_set_spec, lazy and transform.user on the local executor' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo small | Out-Null
        1..6 | ForEach-Object { Add-PachFile small master "/f$_" -Value "$_" } | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'hands a worker its datums in sets of datum_set_spec.number, each set run whole by one worker' {
        # Each datum writes which worker folder ran it (the inode of its /pfs, whether a mount or rewritten).
        New-PachPipeline -Spec @{ pipeline = @{ name = 'sets' }; parallelism_spec = @{ constant = 2 }; datum_set_spec = @{ number = 3 }
            transform = @{ cmd = @('sh', '-c', 'sleep 0.3; stat -c %i /pfs > /pfs/out/$(basename $small)') }
            input = @{ pfs = @{ repo = 'small'; glob = '/*' } } } -WarningVariable warned | Out-Null
        $warned | Should -BeNullOrEmpty
        (Get-PachJob -Pipeline sets | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        $worker = @{}
        1..6 | ForEach-Object { $worker[$_] = Get-PachFileContent sets master "/f$_" }
        @($worker[1], $worker[2], $worker[3] | Select-Object -Unique).Count | Should -Be 1 -Because 'f1..f3 are one set'
        @($worker[4], $worker[5], $worker[6] | Select-Object -Unique).Count | Should -Be 1 -Because 'f4..f6 are one set'
        (Get-PachPipeline sets).Spec.Json | Should -Match 'datum_set_spec'
    }

    It 'hands a datum_batching worker a whole set, whose datums its process asks for in order' {
        # Each datum writes the worker process's id and how many datums that process had handled before it.
        $loop = 'n=0; while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; [ "$r" = done ] && exit 0; ' +
            '. "$PACH_DATUM_ENV"; echo "$$ $n" > "/pfs/out/$(basename $small)"; n=$((n+1)); sleep 0.1; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batchsets' }; parallelism_spec = @{ constant = 2 }; datum_set_spec = @{ number = 3 }
            transform = @{ cmd = @('sh', '-c', $loop); datum_batching = $true }
            input = @{ pfs = @{ repo = 'small'; glob = '/*' } } } | Out-Null
        (Get-PachJob -Pipeline batchsets | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        $runs = 1..6 | ForEach-Object { , ((Get-PachFileContent batchsets master "/f$_") -split ' ') }
        @($runs[0..2] | ForEach-Object { $_[0] } | Select-Object -Unique).Count | Should -Be 1 -Because 'f1..f3 are one set, run by one process'
        @($runs[3..5] | ForEach-Object { $_[0] } | Select-Object -Unique).Count | Should -Be 1 -Because 'f4..f6 are one set, run by one process'
        [int]$runs[1][1] - [int]$runs[0][1] | Should -Be 1
        [int]$runs[2][1] - [int]$runs[1][1] | Should -Be 1
    }

    It 'refuses datum_set_spec <Name> and creates nothing' -ForEach @(
        @{ Name = 'with a negative number'; Sets = @{ number = -1 }; Words = 'datum_set_spec.number is -1' }
        @{ Name = 'with a size that is no number'; Sets = @{ size_bytes = 'big' }; Words = 'datum_set_spec.size_bytes must be a whole number' }
    ) {
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'bad' }; datum_set_spec = $Sets; transform = @{ cmd = @('true') }
            input = @{ pfs = @{ repo = 'small'; glob = '/*' } } } -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineSpecDatumSetInvalid,*' -ExpectedMessage "*$Words*"
        Get-PachPipeline | Should -BeNullOrEmpty
        Get-PachRepo | Where-Object Name -EQ bad | Should -BeNullOrEmpty
    }

    It 'links a lazy input into every datum from one cached copy, and a datum that writes to it changes nothing else' {
        New-PachRepo big | Out-Null
        Add-PachFile big master /big.txt -Value ('x' * 100000) | Out-Null
        $size = (Get-PachFile big master /big.txt).Size
        $cross = { param($Lazy) @{ cross = @(@{ pfs = @{ repo = 'big'; glob = '/'; lazy = $Lazy } }, @{ pfs = @{ repo = 'small'; glob = '/*' } }) } }
        New-PachPipeline -Spec @{ pipeline = @{ name = 'linked' }; input = & $cross $true
            transform = @{ cmd = @('sh', '-c', 'stat -c "%i %h" /pfs/big/big.txt > /pfs/out/$(basename $small)') } } -WarningVariable warned | Out-Null
        $warned | Should -BeNullOrEmpty
        New-PachPipeline -Spec @{ pipeline = @{ name = 'copied' }; input = & $cross $false
            transform = @{ cmd = @('sh', '-c', 'stat -c "%i %h" /pfs/big/big.txt > /pfs/out/$(basename $small)') } } | Out-Null
        $linked = Get-PachJob -Pipeline linked | Wait-PachJob -TimeoutSec 60
        $copied = Get-PachJob -Pipeline copied | Wait-PachJob -TimeoutSec 60
        ($linked.State, $copied.State) | Should -Be @('Success', 'Success')
        $smalls = (Get-PachFile small master | Measure-Object Size -Sum).Sum
        # The lazy input was read from the store once for the six datums; copied, once per datum.
        $linked.BytesDownloaded | Should -Be ($size + $smalls)
        $copied.BytesDownloaded | Should -Be (6 * $size + $smalls)
        $seen = 1..6 | ForEach-Object { (Get-PachFileContent linked master "/f$_") -split ' ' }
        @($seen | Where-Object { $_ -match '^\d{4,}$' } | Select-Object -Unique).Count | Should -Be 1 -Because 'every datum saw the same cached file'
        1..6 | ForEach-Object { [int]((Get-PachFileContent linked master "/f$_") -split ' ')[1] | Should -BeGreaterThan 1 }
        1..6 | ForEach-Object { ((Get-PachFileContent copied master "/f$_") -split ' ')[1] | Should -Be '1' }

        # Each datum writes to its lazy input after reading it: every datum still reads the committed content.
        New-PachPipeline -Spec @{ pipeline = @{ name = 'scribble' }; input = & $cross $true
            transform = @{ cmd = @('sh', '-c', 'wc -c < /pfs/big/big.txt > /pfs/out/$(basename $small); (echo scribbled >> /pfs/big/big.txt) 2>/dev/null; true') } } | Out-Null
        (Get-PachJob -Pipeline scribble | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
        1..6 | ForEach-Object { Get-PachFileContent scribble master "/f$_" | Should -Be "$size" }
        (Get-PachFile big master /big.txt).Size | Should -Be $size
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'runs the command as transform.user when the session is root, and refuses a user it cannot become' {
        $root = $IsLinux -and (& id -u) -eq '0'
        if ($root) {
            New-PachPipeline -Spec @{ pipeline = @{ name = 'nobody' }; transform = @{ cmd = @('sh', '-c', 'id -u > /pfs/out/ids; id -g >> /pfs/out/ids; cat $small >> /pfs/out/ids'); user = '65534' }
                input = @{ pfs = @{ repo = 'small'; glob = '/f1' } } } | Out-Null
            (Get-PachJob -Pipeline nobody | Wait-PachJob -TimeoutSec 60).State | Should -Be 'Success'
            Get-PachFileContent nobody master /ids | Should -Be @('65534', '65534', '1')
        }
        $id = if ($root) { 'TransformUserNotFound' } else { 'TransformUserNeedsRoot' }
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'ghost' }; transform = @{ cmd = @('true'); user = '4242424' }
            input = @{ pfs = @{ repo = 'small'; glob = '/*' } } } -ErrorAction Stop } | Should -Throw -ErrorId "$id,*" -ExpectedMessage "*transform.user '4242424'*"
        Get-PachPipeline | Where-Object Name -EQ ghost | Should -BeNullOrEmpty
        Get-PachRepo | Where-Object Name -EQ ghost | Should -BeNullOrEmpty
    }
}
