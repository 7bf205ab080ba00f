#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function New-Shell {
        # A second runspace in this process, driven like a user at a prompt (progress visible, Ctrl+C = Stop()).
        # The store connection is per runspace: it connects to the test's store (sharing this runspace's engine).
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$ModulePath'; Connect-PachStore -Path '$((Get-PachStore).Path)' | Out-Null").Invoke()
        $ps.Commands.Clear()
        $ps
    }
}
AfterAll { Disconnect-PachStore }

Describe 'Progress and Ctrl+C' {
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Connect-PachStore -Path $store | Out-Null
        New-PachRepo src | Out-Null
        foreach ($i in 1..6) { Add-PachFile src master "f$i.txt" -Value "$i" | Out-Null }
    }

    It 'Wait-PachJob and Wait-PachCommit report datums done of total per job' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'slow' }; transform = @{ cmd = @('sh', '-c', 'sleep 0.4; cp $src /pfs/out/') }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        $ps = New-Shell
        try {
            $null = $ps.AddScript('Wait-PachCommit src master').Invoke()
            $records = @($ps.Streams.Progress | Where-Object RecordType -EQ Processing)
            $records.Count | Should -BeGreaterThan 0
            $records[-1].Activity | Should -Match '^slow job [0-9a-f]{16}$'
            $records[-1].StatusDescription | Should -Match '^\d of 6 datums'
            ($ps.Streams.Progress | Where-Object RecordType -EQ Completed).Count | Should -BeGreaterThan 0
        }
        finally { $ps.Dispose() }
    }

    It 'Optimize-PachStore shows its stages, from marking to deleting, and completes the bar' {
        New-PachRepo scratch | Out-Null
        foreach ($i in 1..5) { Add-PachFile scratch master "s$i.txt" -Value "scratch $i" | Out-Null }
        Remove-PachRepo scratch -Confirm:$false
        $ps = New-Shell
        try {
            $report = $ps.AddScript('Optimize-PachStore').Invoke()
            $report.ObjectsRemoved | Should -Be 5
            $records = @($ps.Streams.Progress | Where-Object Activity -EQ 'Collecting garbage')
            $shown = @($records | Where-Object RecordType -EQ Processing | ForEach-Object StatusDescription)
            $shown | Where-Object { $_ -like 'Marking: * tree nodes' } | Should -Not -BeNullOrEmpty
            $shown | Where-Object { $_ -like 'Deleting: * of 5 objects' } | Should -Not -BeNullOrEmpty
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'Ctrl+C stops Wait-PachJob at once and leaves the job running' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'sleepy' }; transform = @{ cmd = @('sleep', '20') }; input = @{ pfs = @{ repo = 'src'; glob = '/' } } } | Out-Null
        $ps = New-Shell
        try {
            $null = $ps.AddScript('Get-PachJob -Pipeline sleepy | Wait-PachJob')
            $handle = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 500
            $elapsed = Measure-Command { $ps.Stop() }
            $elapsed.TotalSeconds | Should -BeLessThan 2
            $handle.IsCompleted | Should -BeTrue
            (Get-PachJob -Pipeline sleepy).State | Should -BeIn 'Created', 'Running'
        }
        finally { $ps.Dispose(); Get-PachJob -Pipeline sleepy | Stop-PachJob | Out-Null }
    }

    It 'Ctrl+C during a large Add-PachFile stops promptly and commits nothing' {
        $src = New-Item -ItemType Directory (Join-Path $TestDrive 'big')
        $rng = [System.Random]::new(1); $b = [byte[]]::new(4MB)
        foreach ($i in 1..120) { $rng.NextBytes($b); [IO.File]::WriteAllBytes((Join-Path $src "b$i.bin"), $b) }
        $before = @(Get-PachCommit src -History).Count
        $ps = New-Shell
        try {
            $null = $ps.AddScript("Add-PachFile src master /big -Source '$src' -Recurse")
            $handle = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 300
            $handle.IsCompleted | Should -BeFalse -Because 'the ingest must still be running when Ctrl+C comes'
            $elapsed = Measure-Command { $ps.Stop() }
            $elapsed.TotalSeconds | Should -BeLessThan 3
        }
        finally { $ps.Dispose() }
        @(Get-PachCommit src -History).Count | Should -Be $before
        Test-PachStore | Should -BeNullOrEmpty
    }
}

Describe 'Reconnecting while jobs run' {
    It 'carries on the jobs of the store when the same store is connected again in the session' {
        $store = Join-Path $TestDrive 'again'
        Connect-PachStore -Path $store | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        $gate = Join-Path $TestDrive 'gate'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'gated' }; transform = @{ cmd = @('sh', '-c', "while [ ! -f $gate ]; do sleep 0.05; done; cp `$src /pfs/out/") }
                                  input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        $deadline = (Get-Date).AddSeconds(30)
        while ((Get-PachJob -Pipeline gated).State -ne 'Running' -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Connect-PachStore -Path $store | Out-Null
        Set-Content $gate ''
        $job = Get-PachJob -Pipeline gated | Wait-PachJob -TimeoutSec 30
        $job.State | Should -Be 'Success'
        Get-PachFileContent gated master a.txt | Should -Be 'a'
    }
}

Describe 'Save-PachFile progress' {
    It 'reports bytes saved of the total' {
        Connect-PachStore -Path (Join-Path $TestDrive 'save') | Out-Null
        New-PachRepo r | Out-Null
        Add-PachFile r master /d/a.txt -Value ('a' * 1000) | Out-Null
        Add-PachFile r master /d/b.txt -Value ('b' * 3000) | Out-Null
        $ps = [powershell]::Create()
        try {
            $dest = Join-Path $TestDrive 'out'
            $null = $ps.AddScript("Import-Module '$ModulePath'; Connect-PachStore -Path '$((Get-PachStore).Path)' | Out-Null; New-Item -ItemType Directory '$dest' | Out-Null; Save-PachFile r master /d '$dest'").Invoke()
            $status = @($ps.Streams.Progress | Where-Object RecordType -EQ Processing).StatusDescription
            $status | Should -Contain '/d/b.txt (1000 B of 3.91 KiB)'
            Get-Content (Join-Path $dest 'b.txt') | Should -Be ('b' * 3000)
        }
        finally { $ps.Dispose() }
    }
}
