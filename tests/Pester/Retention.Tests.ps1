#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Retention and squash (issue 15, item 2): Remove-PachCommit -Squash folds one commit into its child, retention
# policies squash old commits away when Optimize-PachStore runs, provenance stays truthful, bad input changes nothing.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-History([string] $Repo) { @(Get-PachCommit $Repo master -History | ForEach-Object Commit) }
    # Every file of a commit with its content's hash: what must stay byte-identical.
    function Get-Snapshot([string] $Repo, [string] $Commit) {
        (Get-PachFile $Repo $Commit / -Recurse | Sort-Object Path | ForEach-Object { "$($_.Path)=$($_.Hash)" }) -join "`n"
    }
    # Everything a refused call must leave as it was.
    function Get-State {
        (Get-PachRepo | ForEach-Object {
            $repo = $_.Repo
            Get-PachCommit $repo | ForEach-Object { "$repo $($_.Commit) $($_.Parent) $($_.Provenance -join ',') $($_.SquashedFrom -join ',')" }
            Get-PachBranch $repo | ForEach-Object { "$repo@$($_.Branch)=$($_.Head)" }
            Get-PachTag $repo | ForEach-Object { "$repo tag $($_.Tag)=$($_.Commit)" }
        }) + @(Get-PachRetention | ForEach-Object ToString) -join "`n"
    }
    function New-History([string] $Repo, [int] $Count) {
        New-PachRepo $Repo | Out-Null
        foreach ($i in 1..$Count) {
            Add-PachFile $Repo master "f$i.txt" -Value "file $i" | Out-Null
            Add-PachFile $Repo master shared.txt -Value "version $i" | Out-Null
        }
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Squash and retention (<Backend>)' -ForEach $Backends {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Connect-TestStore $Backend $store
    }
    AfterEach { Disconnect-PachStore }

    It 'folds a mid-history commit into its child: history shorter, every later commit byte-identical, lineage kept' {
        New-History r 3
        $before = Get-History r
        $later = @{}
        foreach ($id in $before[0..2]) { $later[$id] = Get-Snapshot r $id }
        $squashed = (Get-PachCommit r master~4).Commit
        $child = (Get-PachCommit r master~3).Commit

        Remove-PachCommit r master~4 -Squash -WhatIf
        Get-History r | Should -Be $before

        $result = Remove-PachCommit r master~4 -Squash -Confirm:$false

        $result.GetType().FullName | Should -Be 'PachPS.Engine.Pfs.SquashResult'
        $result.Squashed | Should -Be $squashed
        $result.Commit | Should -Be $child
        $history = Get-History r
        $history.Count | Should -Be 5
        $history | Should -Not -Contain $squashed
        foreach ($id in $later.Keys) { Get-Snapshot r $id | Should -Be $later[$id] }
        (Get-PachCommit r $child).SquashedFrom | Should -Be @($squashed)
        Get-PachFileContent r $child f2.txt | Should -Be 'file 2'
        { Get-PachCommit r $squashed } | Should -Throw -ErrorId 'CommitSquashed,PachPS.Commands.GetPachCommitCommand'
        (Get-PachFile r master f2.txt).CommittedIn | Should -Be $child
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'refuses heads, forks, tagged and open commits with stable ErrorIds and changes nothing' {
        New-History r 2
        New-PachTag r keep -Commit master~2 | Out-Null
        New-PachBranch r fork master~3 | Out-Null
        Add-PachFile r fork forked.txt -Value 'fork' | Out-Null
        $open = Start-PachCommit r master
        $state = Get-State

        { Remove-PachCommit r master -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitIsBranchHead,PachPS.Commands.RemovePachCommitCommand'
        { Remove-PachCommit r keep -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitTagged,PachPS.Commands.RemovePachCommitCommand'
        { Remove-PachCommit r master~3 -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitHasSeveralChildren,PachPS.Commands.RemovePachCommitCommand'
        { Remove-PachCommit r $open.Commit -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotFinished,PachPS.Commands.RemovePachCommitCommand'
        { Remove-PachCommit nope master~1 -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'RepoNotFound,PachPS.Commands.RemovePachCommitCommand'
        Get-State | Should -Be $state
    }

    It 'needs -Force to squash an input commit outputs came from, then their provenance says where the data went' {
        New-PachRepo in | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'out' }; transform = @{ cmd = @('sh', '-c', 'cp /pfs/in/* /pfs/out/') }; input = @{ pfs = @{ repo = 'in'; glob = '/*' } } } | Out-Null
        foreach ($name in 'a', 'b', 'c') {
            Add-PachFile in master $name -Value "data $name" | Out-Null
            Wait-PachCommit in master | Out-Null
        }
        $inputs = Get-History in
        $output = (Get-PachCommit out master~1).Commit
        $state = Get-State

        $err = { Remove-PachCommit in master~1 -Squash -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNeededByProvenance,PachPS.Commands.RemovePachCommitCommand' -PassThru
        # A list here; through a server, the same list as one comma-separated string.
        ($err.TargetObject -join ', ') | Should -BeLike "*out@$output*"
        Get-State | Should -Be $state

        Remove-PachCommit in master~1 -Squash -Force -Confirm:$false | Out-Null

        $entry = Get-PachProvenance out $output | Where-Object Kind -EQ Input
        $entry.Commit | Should -Be $inputs[0]
        $entry.SquashedFrom | Should -Be @($inputs[1])
        Add-PachFile in master d -Value 'data d' | Out-Null
        Wait-PachCommit in master | Out-Null
        $job = Get-PachJob -Pipeline out | Select-Object -First 1
        $job.Skipped | Should -Be 3
        $job.Processed | Should -Be 1
    }

    It 'stores a retention policy that Optimize-PachStore applies before it marks, -WhatIf changing nothing' {
        New-History r 4
        $kept = @{}
        foreach ($id in (Get-History r)[0..1]) { $kept[$id] = Get-Snapshot r $id }
        Set-PachRetention r master -KeepCommits 5 -WhatIf
        Get-PachRetention | Should -BeNullOrEmpty

        $policy = Set-PachRetention r master -KeepCommits 2 -KeepDays 0

        $policy.KeepCommits | Should -Be 2
        (Get-PachRetention r master).KeepDays | Should -Be 0
        $plan = Optimize-PachStore -WhatIf
        $plan.CommitsSquashed | Should -Be 6
        (Get-History r).Count | Should -Be 8

        $report = Optimize-PachStore

        $report.CommitsSquashed | Should -Be 6
        $history = Get-History r
        $history | Should -Be @($kept.Keys | Sort-Object { (Get-PachCommit r $_).Started } -Descending)
        foreach ($id in $kept.Keys) { Get-Snapshot r $id | Should -Be $kept[$id] }
        (Get-PachCommit r master^).SquashedFrom.Count | Should -Be 6
        Get-PachFileContent r master f1.txt | Should -Be 'file 1'
        Test-PachStore | Should -BeNullOrEmpty
        (Optimize-PachStore).CommitsSquashed | Should -Be 0
    }

    It 'refuses bad policies with stable ErrorIds and stores nothing; Remove-PachRetention removes one' {
        New-History r 1
        { Set-PachRetention r master -KeepCommits 0 -ErrorAction Stop } | Should -Throw -ErrorId 'RetentionPolicyInvalid,PachPS.Commands.SetPachRetentionCommand'
        { Set-PachRetention r master -KeepCommits -2 -ErrorAction Stop } | Should -Throw -ErrorId 'RetentionPolicyInvalid,PachPS.Commands.SetPachRetentionCommand'
        { Set-PachRetention r master -KeepDays -1 -ErrorAction Stop } | Should -Throw -ErrorId 'RetentionPolicyInvalid,PachPS.Commands.SetPachRetentionCommand'
        { Set-PachRetention r master -ErrorAction Stop } | Should -Throw -ErrorId 'RetentionPolicyInvalid,PachPS.Commands.SetPachRetentionCommand'
        { Set-PachRetention r nope -KeepCommits 3 -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNotFound,PachPS.Commands.SetPachRetentionCommand'
        { Set-PachRetention nope master -KeepCommits 3 -ErrorAction Stop } | Should -Throw -ErrorId 'RepoNotFound,PachPS.Commands.SetPachRetentionCommand'
        Get-PachRetention | Should -BeNullOrEmpty

        Set-PachRetention r master -KeepCommits 3 | Out-Null
        Get-PachRetention r | Remove-PachRetention -Confirm:$false

        Get-PachRetention | Should -BeNullOrEmpty
        { Remove-PachRetention r master -ErrorAction Stop } | Should -Throw -ErrorId 'RetentionNotFound,PachPS.Commands.RemovePachRetentionCommand'
    }
}
