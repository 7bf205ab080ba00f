#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60) {
        $deadline = (Get-Date).AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ((Get-Date) -gt $deadline) { throw "Timed out waiting for $Condition" }
            Start-Sleep -Milliseconds 100
        }
    }
    # Live (not zombie) processes in a process group, from /proc: after the command's name come state, parent, group.
    function Get-GroupMember([int] $Group) {
        Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$' | Where-Object {
            $stat = Get-Content (Join-Path $_.FullName stat) -Raw -ErrorAction Ignore
            if (-not $stat) { return $false }
            $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            $fields[0] -ne 'Z' -and [int] $fields[2] -eq $Group
        }
    }
    function Get-SpoutGroup([string] $Store, [string] $Pipeline) {
        $pidFile = Join-Path $Store "work/spouts/$Pipeline/pfs/pid"
        Wait-Until { (Test-Path $pidFile) -and (Get-Content $pidFile -Raw) -match '^\d+' -and @(Get-GroupMember ([int] (Get-Content $pidFile -Raw).Trim())).Count -eq 2 }
        [int] (Get-Content $pidFile -Raw).Trim()
    }
}
AfterAll { Disconnect-PachStore }

Describe 'Spout pipelines' {
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Connect-PachStore -Path $store | Out-Null
        $loop = 'i=0; while true; do i=$((i+1)); echo $i > /pfs/out/f$i; sleep 0.3; done'
    }

    It 'commits the stream a loop writes, feeding a downstream pipeline whose output grows' {
        $spout = New-PachPipeline -Spec "pipeline: {name: stream}`ntransform: {cmd: [sh, -c, '$loop']}`nspout: {}`n"
        $spout.IsSpout | Should -BeTrue
        (Get-PachPipeline stream).InputSummary | Should -Be 'spout'
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'doubled' }
            transform = @{ cmd = @('sh'); stdin = @('for f in /pfs/stream/*; do echo $(( $(cat $f) * 2 )) > /pfs/out/$(basename $f); done') }
            input = @{ pfs = @{ repo = 'stream'; glob = '/*' } }
        } | Out-Null
        Wait-Until { @(Get-PachCommit doubled).Count -ge 1 -and @(Get-PachFile doubled master).Count -ge 3 }
        $first = @(Get-PachFile doubled master).Count
        Wait-Until { @(Get-PachFile doubled master).Count -gt $first }
        Get-PachFileContent doubled master f3 | Should -Be '6'
        @(Get-PachCommit stream).Count | Should -BeGreaterThan 1
        (Get-PachCommit stream master).Message | Should -Match '^Spout stream: '
        Get-PachJob -Pipeline stream | Should -BeNullOrEmpty
        (Get-PachJob -Pipeline doubled | Select-Object -First 1).State | Should -BeIn 'Success', 'Running', 'Created'
        (Get-PachLog -Pipeline stream).Message | Should -Contain 'run 1 started'
        { Invoke-PachPipeline stream -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineIsSpout,PachPS.Commands.InvokePachPipelineCommand'
    }

    It 'with overwrite, each commit replaces what the branch held' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'latest' }; transform = @{ cmd = @('sh', '-c', $loop) }; spout = @{ overwrite = $true } } | Out-Null
        Wait-Until { @(Get-PachCommit latest).Count -ge 3 }
        $head = (Get-PachFile latest master).Path
        $before = (Get-PachFile latest 'master^').Path
        $head | Should -Not -BeNullOrEmpty
        $head | Where-Object { $_ -in $before } | Should -BeNullOrEmpty
        (Get-PachPipeline latest).InputSummary | Should -Be 'spout (overwrite)'
    }

    It 'Suspend-PachPipeline stops its command, Resume starts it, and Remove-PachPipeline stops it for good' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'idle' }; transform = @{ cmd = @('sh', '-c', 'echo $$ > /pfs/pid; sleep 1000 & wait') }; spout = @{} } | Out-Null
        $group = Get-SpoutGroup $store idle
        Suspend-PachPipeline idle | Out-Null
        Get-GroupMember $group | Should -BeNullOrEmpty
        Remove-Item (Join-Path $store 'work/spouts/idle/pfs/pid')
        Resume-PachPipeline idle | Out-Null
        $group = Get-SpoutGroup $store idle
        Remove-PachPipeline idle -Confirm:$false
        Get-GroupMember $group | Should -BeNullOrEmpty
        Get-PachPipeline | Should -BeNullOrEmpty
        Test-Path (Join-Path $store 'work/spouts/idle') | Should -BeFalse
    }

    It 'Disconnect-PachStore stops its command' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'idle' }; transform = @{ cmd = @('sh', '-c', 'echo $$ > /pfs/pid; sleep 1000 & wait') }; spout = @{} } | Out-Null
        $group = Get-SpoutGroup $store idle
        Disconnect-PachStore
        Get-GroupMember $group | Should -BeNullOrEmpty
    }

    It 'refuses a spout with an input' {
        $spec = '{ "pipeline": { "name": "s" }, "transform": { "cmd": ["true"] }, "spout": {}, "input": { "pfs": { "repo": "s2", "glob": "/" } } }'
        $err = { New-PachPipeline -Spec $spec } | Should -Throw -ErrorId 'PipelineSpecSpoutHasInput,PachPS.Commands.NewPachPipelineCommand' -PassThru
        $err.Exception.Message | Should -Match 'remove input'
        Get-PachPipeline | Should -BeNullOrEmpty
    }
}
