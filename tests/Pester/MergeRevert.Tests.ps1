#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 17, items 4 and 5: moving a branch head (Set-PachBranch), merging branches (Merge-PachBranch) and reverting a
# commit (Undo-PachCommit), from the user's side: files, heads, jobs downstream, provenance, conflicts and refusals.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-StoreState {
        # What a refused call must leave as it was: every head and open commit, and every commit and job.
        $heads = Get-PachRepo | ForEach-Object { $r = $_.Name; Get-PachBranch $r | ForEach-Object { "$r@$($_.Name)=$($_.Head)/$($_.OpenCommit)" } }
        $commits = Get-PachRepo | ForEach-Object { @(Get-PachCommit $_.Name -History -ErrorAction Ignore).Count }
        (@($heads) + "commits:$(($commits | Measure-Object -Sum).Sum)" + "jobs:$(@(Get-PachJob).Count)") -join '|'
    }
    function Get-Files([string] $Repo, [string] $Ref = 'master') {
        (Get-PachFile $Repo $Ref -Recurse | ForEach-Object { "$($_.Path)=$(Get-PachFileContent $Repo $Ref $_.Path)" }) -join ' '
    }
    function Wait-Copy { Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60 }
}
AfterAll { Disconnect-PachStore }

Describe 'Set-PachBranch' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        $script:first = Add-PachFile src master a.txt -Value 'alpha'
        New-PachTag src v1 -Commit master | Out-Null
        $script:second = Add-PachFile src master b.txt -Value 'beta'
    }

    It 'moves the head to a tag, an id, master~N or master@{time}, and the head history remembers each move' {
        Start-Sleep -Milliseconds 30
        $before = [DateTimeOffset]::UtcNow.ToString('o')
        Start-Sleep -Milliseconds 30
        $moved = Set-PachBranch src master -Head v1
        $moved.Head | Should -Be $first.Commit
        (Get-PachFile src master).Path | Should -Be '/a.txt'
        (Set-PachBranch src master -Head $second.Commit.Substring(0, 10)).Head | Should -Be $second.Commit
        (Get-PachCommit src "master@{$before}").Commit | Should -Be $second.Commit
        (Set-PachBranch src master -Head 'master~1').Head | Should -Be $first.Commit
        (Set-PachBranch src master -Head "master@{$before}").Head | Should -Be $second.Commit
        Get-PachBranch src master | Set-PachBranch -Head v1 | ForEach-Object Head | Should -Be $first.Commit
        (Add-PachFile src master c.txt -Value 'gamma').Parent | Should -Be $first.Commit
    }

    It 'runs the pipelines downstream over the new head, and moving back reruns no datum' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh'); stdin = @('cp "$src" /pfs/out/') }
            input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        (Wait-Copy).Progress | Should -Be '2 + 0 / 2'
        Set-PachBranch src master -Head v1 | Out-Null
        $back = Wait-Copy
        $back.State | Should -Be 'Success'
        $back.Inputs[0].Commit | Should -Be $first.Commit
        ($back.Processed, $back.Skipped) | Should -Be @(0, 1)
        (Get-PachFile copy master).Path | Should -Be '/a.txt'
        (Get-PachProvenance copy master | Where-Object Repo -EQ src).Commit | Should -Be $first.Commit
        Set-PachBranch src master -Head $second.Commit | Out-Null
        $forward = Wait-Copy
        ($forward.Processed, $forward.Skipped) | Should -Be @(0, 2)
        (Get-PachFile copy master).Path | Should -Be @('/a.txt', '/b.txt')
    }

    It 'refuses <name> with <id> and changes nothing' -ForEach @(
        @{ name = 'a commit of another repo'; id = 'CommitNotInRepo'; action = { Set-PachBranch src master -Head $other.Commit } }
        @{ name = 'an unknown reference'; id = 'BranchNotFound'; action = { Set-PachBranch src master -Head nope } }
        @{ name = 'ancestry past the first commit'; id = 'CommitNotFound'; action = { Set-PachBranch src master -Head 'master~5' } }
        @{ name = 'a branch that does not exist'; id = 'BranchNotFound'; action = { Set-PachBranch src nope -Head master } }
        @{ name = 'a branch with an open commit'; id = 'CommitOpen'; action = { Start-PachCommit src master | Out-Null; $script:state = Get-StoreState; Set-PachBranch src master -Head v1 } }
    ) {
        New-PachRepo other | Out-Null
        $other = Add-PachFile other master x.txt -Value 'x'
        $script:state = Get-StoreState
        { & $action -ErrorAction Stop } | Should -Throw -ErrorId "$id,PachPS.Commands.SetPachBranchCommand"
        Get-StoreState | Should -Be $state
    }

    It '-WhatIf changes nothing' {
        $state = Get-StoreState
        Set-PachBranch src master -Head v1 -WhatIf 6>$null | Should -BeNullOrEmpty
        Get-StoreState | Should -Be $state
    }
}

Describe 'Merge-PachBranch' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'alpha' | Out-Null
        Add-PachFile src master b.txt -Value 'beta' | Out-Null
        New-PachBranch src dev master | Out-Null
    }

    It 'fast-forwards when master has not moved' {
        $dev = Add-PachFile src dev c.txt -Value 'gamma'
        $commits = @(Get-PachCommit src -History).Count
        $result = Merge-PachBranch src -Source dev -Destination master
        $result.Kind | Should -Be 'FastForward'
        $result.Commit | Should -Be $dev.Commit
        (Get-PachBranch src master).Head | Should -Be $dev.Commit
        @(Get-PachCommit src -History).Count | Should -Be $commits
        (Merge-PachBranch src dev master).Kind | Should -Be 'UpToDate'
    }

    It 'makes a merge commit with both parents, and the next merge starts from it' {
        $dev = Add-PachFile src dev c.txt -Value 'gamma'
        $master = Add-PachFile src master d.txt -Value 'delta'
        $result = Merge-PachBranch src dev master -Message 'fold dev in' -Metadata @{ ticket = 'OPS-7' }
        $result.Kind | Should -Be 'Merge'
        $result.Changes | Should -Be 1
        $commit = Get-PachCommit src master
        $commit.Commit | Should -Be $result.Commit
        ($commit.Parent, $commit.MergedFrom, $commit.Message, $commit.Metadata['ticket']) | Should -Be @($master.Commit, $dev.Commit, 'fold dev in', 'OPS-7')
        Get-Files src | Should -Be '/a.txt=alpha /b.txt=beta /c.txt=gamma /d.txt=delta'
        Add-PachFile src dev a.txt -Value 'alpha 2' | Out-Null
        $next = Merge-PachBranch src dev master
        $next.Base | Should -Be $dev.Commit
        $next.Conflicts | Should -BeNullOrEmpty
        Get-Files src | Should -Be '/a.txt=alpha 2 /b.txt=beta /c.txt=gamma /d.txt=delta'
    }

    It 'fails on conflicts with MergeConflict, lists them and writes nothing; -WhatIf returns them; -Strategy takes a side' {
        Add-PachFile src dev a.txt -Value 'from dev' | Out-Null
        Remove-PachFile src dev b.txt -Confirm:$false | Out-Null
        Add-PachFile src master a.txt -Value 'from master!' | Out-Null
        Add-PachFile src master b.txt -Value 'beta changed' | Out-Null
        $state = Get-StoreState
        $err = { Merge-PachBranch src dev master -ErrorAction Stop } | Should -Throw -ErrorId 'MergeConflict,PachPS.Commands.MergePachBranchCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*/a.txt (BothChanged)*/b.txt (ChangedAndRemoved)*'
        $err.TargetObject.Path | Should -Be @('/a.txt', '/b.txt')
        $a = $err.TargetObject[0]
        ($a.Base.Size, $a.Source.Size, $a.Destination.Size) | Should -Be @(5, 8, 12)
        $err.TargetObject[1].Source | Should -BeNullOrEmpty
        Get-StoreState | Should -Be $state

        $preview = Merge-PachBranch src dev master -WhatIf 6>$null
        $preview.Path | Should -Be @('/a.txt', '/b.txt')
        $preview[1].Kind | Should -Be 'ChangedAndRemoved'
        Get-StoreState | Should -Be $state

        $result = Merge-PachBranch src dev master -Strategy Destination
        $result.Conflicts.Resolution | Should -Be @('Destination', 'Destination')
        Get-Files src | Should -Be '/a.txt=from master! /b.txt=beta changed'
        Set-PachBranch src master -Head master^ | Out-Null
        Merge-PachBranch src dev master -Strategy Source | Out-Null
        Get-Files src | Should -Be '/a.txt=from dev'
    }

    It 'reports a file against a directory as a conflict' {
        Add-PachFile src dev x/y.txt -Value 'under x' | Out-Null
        Add-PachFile src master x -Value 'x is a file' | Out-Null
        $conflict = Merge-PachBranch src dev master -WhatIf 6>$null
        ($conflict.Path, $conflict.Kind, $conflict.Source.Type, $conflict.Destination.Type) | Should -Be @('/x', 'FileAndDirectory', 'Directory', 'File')
    }

    It 'on an input repo, runs the pipeline on the merged head with provenance naming that commit' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh'); stdin = @('cp "$src" /pfs/out/') }
            input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        Wait-Copy | Out-Null
        Add-PachFile src dev c.txt -Value 'gamma' | Out-Null
        Add-PachFile src master d.txt -Value 'delta' | Out-Null
        Wait-Copy | Out-Null
        $merge = Merge-PachBranch src dev master
        $job = Wait-Copy
        $job.State | Should -Be 'Success'
        $job.Inputs[0].Commit | Should -Be $merge.Commit
        ($job.Processed, $job.Skipped) | Should -Be @(1, 3)
        (Get-PachFile copy master).Path | Should -Be @('/a.txt', '/b.txt', '/c.txt', '/d.txt')
        $provenance = Get-PachProvenance copy master | Where-Object Repo -EQ src
        $provenance.Commit | Should -Be $merge.Commit
        (Get-PachCommit src master).Provenance | Should -BeNullOrEmpty
    }

    It 'refuses an open destination, an open source, a commit of another repo and an unknown branch, changing nothing' {
        New-PachRepo other | Out-Null
        $other = Add-PachFile other master x.txt -Value 'x'
        Add-PachFile src dev c.txt -Value 'gamma' | Out-Null
        $open = Start-PachCommit src dev
        Start-PachCommit src master | Out-Null
        $state = Get-StoreState
        { Merge-PachBranch src dev master -ErrorAction Stop } | Should -Throw -ErrorId 'CommitOpen,PachPS.Commands.MergePachBranchCommand'
        { Merge-PachBranch src $open.Commit master -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotFinished,PachPS.Commands.MergePachBranchCommand'
        { Merge-PachBranch src $other.Commit master -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotInRepo,PachPS.Commands.MergePachBranchCommand'
        { Merge-PachBranch src dev nope -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNotFound,PachPS.Commands.MergePachBranchCommand'
        Get-StoreState | Should -Be $state
    }
}

Describe 'Undo-PachCommit' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'alpha' | Out-Null
        Add-PachFile src master gone.txt -Value 'gone' | Out-Null
        $script:bad = Add-PachFile src master -Value 'bad' -Path bad.txt -Message 'bad load'
        Add-PachFile src master a.txt -Value 'alpha 2' | Out-Null
        Remove-PachFile src master gone.txt -Confirm:$false | Out-Null
        Add-PachFile src master later.txt -Value 'later' | Out-Null
    }

    It 'reverts one earlier commit with a new one and keeps the later ones' {
        $revert = Undo-PachCommit src $bad.Commit
        $revert.Branch | Should -Be 'master'
        $revert.Message | Should -BeLike "revert $($bad.Commit.Substring(0, 16))*bad load"
        Get-Files src | Should -Be '/a.txt=alpha 2 /later.txt=later'
        Undo-PachCommit src master~2 -Message 'bring gone.txt back' | ForEach-Object Message | Should -Be 'bring gone.txt back'
        Get-Files src | Should -Be '/a.txt=alpha 2 /gone.txt=gone /later.txt=later'
        (Get-PachCommit src $bad.Commit).Commit | Should -Be $bad.Commit
    }

    It 'fails with RevertConflict, naming the paths, when a later commit changed them; nothing is written' {
        $state = Get-StoreState
        # The first commit added a.txt, which a later commit changed.
        $err = { Undo-PachCommit src master~5 -ErrorAction Stop } | Should -Throw -ErrorId 'RevertConflict,PachPS.Commands.UndoPachCommitCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*/a.txt (ChangedAndRemoved)*'
        $err.TargetObject.Path | Should -Be '/a.txt'
        ($err.TargetObject.Base.Size, $err.TargetObject.Destination.Size) | Should -Be @(5, 7)
        Get-StoreState | Should -Be $state
        Add-PachFile src master bad.txt -Value 'fixed by hand' | Out-Null
        $state = Get-StoreState
        { Undo-PachCommit src $bad.Commit -ErrorAction Stop } | Should -Throw -ErrorId 'RevertConflict,PachPS.Commands.UndoPachCommitCommand'
        Get-StoreState | Should -Be $state
        # A change a later commit already undid is no conflict: the commit that added gone.txt (removed since).
        Undo-PachCommit src master~5 | Out-Null
        Get-Files src | Should -Be '/a.txt=alpha 2 /bad.txt=fixed by hand /later.txt=later'
    }

    It '-WhatIf changes nothing, and an open commit is refused' {
        $state = Get-StoreState
        Undo-PachCommit src $bad.Commit -WhatIf 6>$null | Should -BeNullOrEmpty
        Get-StoreState | Should -Be $state
        $open = Start-PachCommit src master
        $state = Get-StoreState
        { Undo-PachCommit src $bad.Commit -ErrorAction Stop } | Should -Throw -ErrorId 'CommitOpen,PachPS.Commands.UndoPachCommitCommand'
        { Undo-PachCommit src $open.Commit -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotFinished,PachPS.Commands.UndoPachCommitCommand'
        Get-StoreState | Should -Be $state
    }
}
