#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 17, item 8: branch triggers from the user's side: a branch that follows another once enough has accumulated,
# so a pipeline reading it runs in batches; the trigger shown by Get-PachBranch; bad triggers refused by id.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-BranchState([string] $Repo) {
        (Get-PachBranch $Repo | ForEach-Object { "$($_.Name)=$($_.Head):$($_.Trigger)" }) -join '|'
    }
}
AfterAll { Disconnect-PachStore }

Describe 'Branch triggers' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        New-PachBranch src master | Out-Null
    }

    It 'runs a pipeline reading a -Commits 3 branch only on the third commit' {
        $batch = New-PachBranch src batch -Trigger master -Commits 3
        $batch.Trigger.Branch | Should -Be 'master'
        $batch.Trigger.Commits | Should -Be 3
        $copy = @{ cmd = @('sh'); stdin = @('cp "$src" /pfs/out/') }
        # 'every' reads master: once its job for a commit exists, any job that commit triggered exists.
        New-PachPipeline -Spec @{ pipeline = @{ name = 'every' }; transform = $copy; input = @{ pfs = @{ repo = 'src'; name = 'src'; glob = '/*' } } } | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; transform = $copy; input = @{ pfs = @{ repo = 'src'; name = 'src'; branch = 'batch'; glob = '/*' } } } | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        $second = Add-PachFile src master b.txt -Value 'b'
        (Get-PachJob -Pipeline every | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60).Inputs[0].Commit | Should -Be $second.Commit
        @(Get-PachJob -Pipeline batched) | Should -HaveCount 0
        (Get-PachBranch src batch).Head | Should -BeNullOrEmpty
        $third = Add-PachFile src master c.txt -Value 'c'
        (Get-PachBranch src batch).Head | Should -Be $third.Commit
        $job = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.Inputs[0].Commit | Should -Be $third.Commit
        (Get-PachFile batched master).Path | Should -Be @('/a.txt', '/b.txt', '/c.txt')
        Add-PachFile src master d.txt -Value 'd' | Out-Null
        @(Get-PachJob -Pipeline batched) | Should -HaveCount 1
    }

    It 'follows by size, by any or all conditions, and along a chain of triggers' {
        New-PachBranch src big -Trigger master -Size 10B | Out-Null
        New-PachBranch src both -Trigger master -Size 10 -Commits 3 -All | Out-Null
        New-PachBranch src last -Trigger big | Out-Null
        Add-PachFile src master a.txt -Value '123456' | Out-Null
        (Get-PachBranch src big).Head | Should -BeNullOrEmpty
        $second = Add-PachFile src master b.txt -Value '123456'
        (Get-PachBranch src big).Head | Should -Be $second.Commit
        (Get-PachBranch src last).Head | Should -Be $second.Commit
        (Get-PachBranch src both).Head | Should -BeNullOrEmpty
        $third = Add-PachFile src master c.txt -Value 'c'
        (Get-PachBranch src both).Head | Should -Be $third.Commit
        (Get-PachBranch src both).Trigger.ToString() | Should -Be 'master (size>=10 and commits>=3)'
    }

    It 'is set, shown and removed with Set-PachBranchTrigger, and a Set-PachBranch move fires it' {
        $first = Add-PachFile src master a.txt -Value 'a'
        New-PachBranch src follow | Out-Null
        $set = Set-PachBranchTrigger src follow -Trigger master -Cron '@every 1h'
        $set.Trigger.CronSpec | Should -Be '@every 1h'
        (Get-PachBranch src follow).Trigger.CronSpec | Should -Be '@every 1h'
        Get-PachBranch src follow | Set-PachBranchTrigger -Trigger master | ForEach-Object { $_.Trigger.CronSpec } | Should -BeNullOrEmpty
        $second = Add-PachFile src master b.txt -Value 'b'
        (Get-PachBranch src follow).Head | Should -Be $second.Commit
        Set-PachBranch src master -Head $first.Commit -Confirm:$false | Out-Null
        (Get-PachBranch src follow).Head | Should -Be $first.Commit
        (Set-PachBranchTrigger src follow -Remove).Trigger | Should -BeNullOrEmpty
        Add-PachFile src master c.txt -Value 'c' | Out-Null
        (Get-PachBranch src follow).Head | Should -Be $first.Commit
    }

    It 'moves a -Cron branch at the next tick while the store is open, if its source moved' {
        $commit = Add-PachFile src master a.txt -Value 'a'
        New-PachBranch src ticked -Trigger master -Cron '@every 1s' | Out-Null
        $deadline = (Get-Date).AddSeconds(15)
        while ((Get-PachBranch src ticked).Head -ne $commit.Commit -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-PachBranch src ticked).Head | Should -Be $commit.Commit
    }

    It 'refuses bad triggers with stable ids and leaves the store unchanged' {
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        New-PachBranch src b -Trigger master | Out-Null
        New-PachBranch src c -Trigger b | Out-Null
        $before = Get-BranchState src
        { Set-PachBranchTrigger src b -Trigger b } | Should -Throw -ErrorId 'BranchTriggerInvalid,PachPS.Commands.SetPachBranchTriggerCommand'
        { Set-PachBranchTrigger src b -Trigger nope } | Should -Throw -ErrorId 'BranchNotFound,PachPS.Commands.SetPachBranchTriggerCommand'
        { Set-PachBranchTrigger src master -Trigger c } | Should -Throw -ErrorId 'BranchTriggerCycle,PachPS.Commands.SetPachBranchTriggerCommand'
        { Set-PachBranchTrigger src b -Trigger master -Size 'lots' } | Should -Throw -ErrorId 'BranchTriggerInvalid,PachPS.Commands.SetPachBranchTriggerCommand'
        { Set-PachBranchTrigger src b -Trigger master -Cron 'every now and then' } | Should -Throw -ErrorId 'BranchTriggerInvalid,PachPS.Commands.SetPachBranchTriggerCommand'
        { New-PachBranch src d -Trigger d } | Should -Throw -ErrorId 'BranchTriggerInvalid,PachPS.Commands.NewPachBranchCommand'
        { New-PachBranch src d -Trigger master -Size 0 } | Should -Throw -ErrorId 'BranchTriggerInvalid,PachPS.Commands.NewPachBranchCommand'
        { Remove-PachBranch src b -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'BranchHasFollowers,PachPS.Commands.RemovePachBranchCommand'
        Get-BranchState src | Should -Be $before
    }
}
