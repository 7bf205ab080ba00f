#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Every commit, a user's or a job's, goes through one writer that refuses a tree holding a path as both file and folder.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'One commit writer for users and jobs (<Backend>)' -ForEach $PipelineBackends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        Connect-TestStore $Backend (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        New-PachRepo in | Out-Null
        Add-PachFile in master a -Value a | Out-Null
        Add-PachFile in master b -Value b | Out-Null
    }

    It 'fails a job whose datums write /x as a file and /x/y under it, naming both datums' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'clash' }; input = @{ pfs = @{ repo = 'in'; glob = '/*' } }
            transform = @{ cmd = @('sh', '-c', 'if [ -e /pfs/in/a ]; then echo A > /pfs/out/x; else mkdir -p /pfs/out/x; echo B > /pfs/out/x/y; fi') } } | Out-Null
        $job = Get-PachJob -Pipeline clash | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match '^PathConflict: '
        $job.Reason | Should -Match "'/x/y'"
        foreach ($datum in Get-PachDatum -Job $job.JobId) { $job.Reason | Should -Match $datum.DatumId.Substring(0, 16) }
        { Get-PachFile clash master -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNotFound,PachPS.Commands.GetPachFileCommand'
        @(Test-PachStore) | Should -BeNullOrEmpty
    }

    It 'fails the same job run with datum_batching' {
        $loop = 'while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; [ "$r" = done ] && exit 0; . "$PACH_DATUM_ENV"; ' +
            'case "$in" in */a) echo A > /pfs/out/x;; *) mkdir -p /pfs/out/x; echo B > /pfs/out/x/y;; esac; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'clashb' }; input = @{ pfs = @{ repo = 'in'; glob = '/*' } }
            transform = @{ cmd = @('sh', '-c', $loop); datum_batching = $true } } | Out-Null
        $job = Get-PachJob -Pipeline clashb | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match '^PathConflict: '
        $job.Processed | Should -Be 2
    }

    It 'refuses the same collision written by a user into an open commit, and leaves the commit as it was' {
        Start-PachCommit in master | Out-Null
        Add-PachFile in master x -Value A | Out-Null
        { Add-PachFile in master x/y -Value B -ErrorAction Stop } | Should -Throw -ErrorId 'PathConflict,PachPS.Commands.AddPachFileCommand'
        { Add-PachFile in master a/deeper -Value B -ErrorAction Stop } | Should -Throw -ErrorId 'PathConflict,PachPS.Commands.AddPachFileCommand'
        Complete-PachCommit in master | Out-Null
        (Get-PachFile in master -Recurse).Path | Should -Be @('/a', '/b', '/x')
    }
}
