#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The connected store belongs to the runspace (issue 13, item 6): Connect-PachStore in one runspace of a process
# (ForEach-Object -Parallel, Start-ThreadJob, a host's second runspace) leaves every other runspace on its own store,
# and runspaces connected to one folder share one open engine, closed when the last of them lets go.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-Engine { [PachPS.Infrastructure.StoreSession]::Current }

    function Start-GatedJob {
        # A pipeline whose one datum writes a line to $Marker, then waits for $Gate to exist; returns once it runs.
        param([string] $Marker, [string] $Gate)
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        $spec = '{"pipeline":{"name":"gated"},"transform":{"cmd":["sh"],"stdin":["echo $src >> ' + $Marker + '; while [ ! -f ' + $Gate + ' ]; do sleep 0.05; done; cp $src /pfs/out/"]},"input":{"pfs":{"repo":"src","glob":"/*"}}}'
        New-PachPipeline -Spec $spec | Out-Null
        $deadline = (Get-Date).AddSeconds(30)
        while (-not (Test-Path $Marker) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Test-Path $Marker | Should -BeTrue -Because 'the datum started'
    }
}
AfterAll { Disconnect-PachStore }

Describe 'A runspace works on its own store' {
    BeforeEach { $others = [System.Collections.Generic.List[runspace]]::new() }
    AfterEach { foreach ($r in $others) { $r.Dispose() } }

    It 'two runspaces connected to two stores each see only their own repos' {
        Connect-PachStore -Path (Join-Path $TestDrive 'a') | Out-Null
        New-PachRepo onlya | Out-Null
        $other = New-TestRunspace; $others.Add($other)
        Invoke-InRunspace $other { param($Path) Connect-PachStore -Path $Path | Out-Null; New-PachRepo onlyb | Out-Null } (Join-Path $TestDrive 'b')

        (Get-PachRepo).Name | Should -Be 'onlya'
        (Get-PachStore).Path | Should -Be (Join-Path $TestDrive 'a')
        Invoke-InRunspace $other { (Get-PachRepo).Name } | Should -Be 'onlyb'
        Invoke-InRunspace $other { (Get-PachStore).Path } | Should -Be (Join-Path $TestDrive 'b')
    }

    It 'ForEach-Object -Parallel: each runspace keeps the store it connected, while the others connect theirs' {
        # Every runspace connects, then waits until all have, before it writes and reads: with one store per
        # process they would all be on the last store connected.
        $barrier = New-Item -ItemType Directory (Join-Path $TestDrive 'barrier')
        $seen = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
            Import-Module $using:ModulePath
            function Wait-All([string] $Step) {
                New-Item -ItemType File (Join-Path $using:barrier "$Step-$_") | Out-Null
                $deadline = (Get-Date).AddSeconds(30)
                while (@(Get-ChildItem $using:barrier -Filter "$Step-*").Count -lt 3 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
            }
            Connect-PachStore -Path (Join-Path $using:TestDrive "parallel-$_") | Out-Null
            Wait-All connected
            New-PachRepo "repo$_" | Out-Null
            Wait-All created
            "$_=" + ((Get-PachRepo).Name -join ',')
        }
        $seen | Sort-Object | Should -Be @('1=repo1', '2=repo2', '3=repo3')
    }

    It 'Connect-PachStore in another runspace and Disconnect-PachStore there leave this runspace''s store open' {
        $store = Connect-PachStore -Path (Join-Path $TestDrive 'mine')
        New-PachRepo kept | Out-Null
        $other = New-TestRunspace; $others.Add($other)
        Invoke-InRunspace $other { param($Path) Connect-PachStore -Path $Path | Out-Null; Disconnect-PachStore } (Join-Path $TestDrive 'theirs')
        (Get-PachStore).Path | Should -Be $store.Path
        (Get-PachRepo).Name | Should -Be 'kept'
    }

    It 'a runspace that never connected uses the default store ($env:PACHPS_STORE), one engine shared with every runspace on it' {
        Connect-PachStore -Path (Join-Path $TestDrive 'elsewhere') | Out-Null
        $default = Join-Path $TestDrive 'default-store'
        $saved = $env:PACHPS_STORE
        $env:PACHPS_STORE = $default
        try {
            $first = New-TestRunspace; $others.Add($first)
            $second = New-TestRunspace; $others.Add($second)
            Invoke-InRunspace $first { New-PachRepo fromfirst | Out-Null }
            Invoke-InRunspace $second { (Get-PachRepo).Name } | Should -Be 'fromfirst'
            $one = Invoke-InRunspace $first { [PachPS.Infrastructure.StoreSession]::Current }
            $two = Invoke-InRunspace $second { [PachPS.Infrastructure.StoreSession]::Current }
            [object]::ReferenceEquals($one.psobject.BaseObject, $two.psobject.BaseObject) | Should -BeTrue
            $one.Path | Should -Be $default
            # Connecting to the default folder by name joins the same engine.
            Connect-PachStore -Path $default | Out-Null
            [object]::ReferenceEquals((Get-Engine), $one.psobject.BaseObject) | Should -BeTrue
        }
        finally { $env:PACHPS_STORE = $saved }
    }
}

Describe 'Runspaces on one store folder share one engine' {
    BeforeEach {
        $others = [System.Collections.Generic.List[runspace]]::new()
        $path = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $marker = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $gate = "$marker.gate"
    }
    AfterEach {
        Set-Content $gate ''
        foreach ($r in $others) { $r.Dispose() }
    }

    It 'a second runspace joins the running job instead of running it again, and it goes on when the first lets go' {
        Connect-PachStore -Path $path | Out-Null
        Start-GatedJob $marker $gate
        $other = New-TestRunspace; $others.Add($other)
        $theirs = Invoke-InRunspace $other { param($Path) Connect-PachStore -Path $Path | Out-Null; [PachPS.Infrastructure.StoreSession]::Current } $path
        [object]::ReferenceEquals($theirs.psobject.BaseObject, (Get-Engine)) | Should -BeTrue
        Disconnect-PachStore
        Set-Content $gate ''
        $job = Invoke-InRunspace $other { Get-PachJob -Pipeline gated | Wait-PachJob -TimeoutSec 60 }
        $job.State | Should -Be 'Success' -Because $job.Reason
        $job.Restarts | Should -Be 0
        @(Get-Content $marker).Count | Should -Be 1 -Because 'the datum ran once'
    }

    It 'Connect-PachStore to the folder this runspace already has keeps its running jobs going' {
        Connect-PachStore -Path $path | Out-Null
        $engine = Get-Engine
        Start-GatedJob $marker $gate
        Connect-PachStore -Path $path | Out-Null
        Connect-PachStore -Path (Join-Path $path '.') | Out-Null
        [object]::ReferenceEquals((Get-Engine), $engine) | Should -BeTrue
        Set-Content $gate ''
        $job = Get-PachJob -Pipeline gated | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success' -Because $job.Reason
        $job.Restarts | Should -Be 0
        @(Get-Content $marker).Count | Should -Be 1 -Because 'the datum ran once'
    }

    It 'the engine closes when the last runspace lets go: <how>' -ForEach @(
        @{ how = 'Disconnect-PachStore'; release = { param($r) Invoke-InRunspace $r { Disconnect-PachStore } } }
        @{ how = 'the runspace closed'; release = { param($r) $r.Close() } }
        @{ how = 'the runspace disposed'; release = { param($r) $r.Dispose() } }
        @{ how = 'Remove-Module PachPS'; release = { param($r) Invoke-InRunspace $r { Remove-Module PachPS } } }
    ) {
        # A temporary store is deleted when its engine closes, so its folder shows whether the engine is open.
        $first = New-TestRunspace; $others.Add($first)
        $second = New-TestRunspace; $others.Add($second)
        $temporary = (Invoke-InRunspace $first { Connect-PachStore -Temporary }).Path
        Invoke-InRunspace $second { param($Path) Connect-PachStore -Path $Path | Out-Null } $temporary
        & $release $first
        Test-Path $temporary | Should -BeTrue -Because 'the second runspace still uses it'
        Invoke-InRunspace $second { Get-PachStore } | ForEach-Object Path | Should -Be $temporary
        & $release $second
        Test-Path $temporary | Should -BeFalse
    }
}
