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
