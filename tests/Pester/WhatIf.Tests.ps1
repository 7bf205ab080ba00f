#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-Snapshot {
        # Everything a change could touch, as one string.
        $repos = Get-PachRepo | ForEach-Object {
            $r = $_.Name
            "${r}:" + ((Get-PachBranch $r | ForEach-Object { "$($_.Name)=$($_.Head)/$($_.OpenCommit)/$($_.Trigger)" }) -join ',') + ':' + @(Get-PachCommit $r -History -ErrorAction Ignore).Count +
                ':' + ((Get-PachTag $r | ForEach-Object { "$($_.Name)=$($_.Commit)" }) -join ',')
        }
        $pipelines = Get-PachPipeline | ForEach-Object { "$($_.Name) v$($_.Version) $($_.State)" }
        (@($repos) + @($pipelines) + "jobs:$(@(Get-PachJob).Count)") -join '|'
    }
}
AfterAll { Disconnect-PachStore }

Describe '-WhatIf changes nothing' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'store') | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        New-PachBranch src dev master | Out-Null
        New-PachBranch src follow -Trigger master -Commits 5 | Out-Null
        New-PachRepo merged | Out-Null
        Add-PachFile merged master a.txt -Value 'a' | Out-Null
        New-PachBranch merged dev master | Out-Null
        Add-PachFile merged dev d.txt -Value 'd' | Out-Null
        New-PachRepo tagged | Out-Null
        Add-PachFile tagged master a.txt -Value 'a' | Out-Null
        New-PachTag tagged v1 | Out-Null
        $spec = @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh'); stdin = @('cp $src /pfs/out/') }; input = @{ pfs = @{ repo = 'src'; glob = '/*' } } }
        New-PachPipeline -Spec $spec | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60 | Out-Null
        $file = Join-Path $TestDrive 'local.txt'
        Set-Content $file 'local'
        $save = Join-Path $TestDrive 'saved'
    }
    It '<name>' -ForEach @(
        @{ name = 'New-PachRepo'; action = { New-PachRepo other -WhatIf } }
        @{ name = 'Remove-PachRepo'; action = { Remove-PachRepo src -WhatIf } }
        @{ name = 'New-PachBranch'; action = { New-PachBranch src feature -WhatIf } }
        @{ name = 'Remove-PachBranch'; action = { Remove-PachBranch src dev -WhatIf } }
        @{ name = 'New-PachBranch -Trigger'; action = { New-PachBranch src batch -Trigger master -Commits 1 -WhatIf } }
        @{ name = 'Set-PachBranchTrigger'; action = { Set-PachBranchTrigger src dev -Trigger master -Size 1KB -WhatIf } }
        @{ name = 'Set-PachBranchTrigger -Remove'; action = { Set-PachBranchTrigger src follow -Remove -WhatIf } }
        @{ name = 'Set-PachBranch'; action = { Set-PachBranch merged master -Head dev -WhatIf } }
        @{ name = 'Merge-PachBranch'; action = { Merge-PachBranch merged -Source dev -Destination master -WhatIf } }
        @{ name = 'Merge-PachBranch -Strategy -Message'; action = { Merge-PachBranch merged master dev -Strategy Source -Message 'm' -WhatIf } }
        @{ name = 'Undo-PachCommit'; action = { Undo-PachCommit merged dev -WhatIf } }
        @{ name = 'New-PachTag'; action = { New-PachTag tagged v2 -Commit master -WhatIf } }
        @{ name = 'Remove-PachTag'; action = { Remove-PachTag tagged v1 -WhatIf } }
        @{ name = 'Add-PachFile -Message -Metadata'; action = { Add-PachFile src master b.txt -Source $file -Message 'm' -Metadata @{ k = 'v' } -WhatIf } }
        @{ name = 'Add-PachFile'; action = { Add-PachFile src master b.txt -Source $file -WhatIf } }
        @{ name = 'Add-PachFile -Split'; action = { Add-PachFile src master c -Value "1`n2" -Split Line -WhatIf } }
        @{ name = 'Remove-PachFile'; action = { Remove-PachFile src master a.txt -WhatIf } }
        @{ name = 'Copy-PachFile'; action = { Copy-PachFile src master a.txt /copy.txt -WhatIf } }
        @{ name = 'Start-PachCommit'; action = { Start-PachCommit src master -WhatIf } }
        @{ name = 'Complete-PachCommit'; action = { Complete-PachCommit src master -WhatIf } }
        @{ name = 'Remove-PachCommit'; action = { Remove-PachCommit src master -WhatIf } }
        @{ name = 'New-PachPipeline'; action = { New-PachPipeline -Spec (@{ pipeline = @{ name = 'p2' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'src'; glob = '/' } } }) -WhatIf } }
        @{ name = 'Update-PachPipeline'; action = { Update-PachPipeline -Spec $spec -Reprocess -WhatIf } }
        @{ name = 'Update-PachPipeline -Version'; action = { Update-PachPipeline copy -Version 1 -WhatIf } }
        @{ name = 'Invoke-PachPipeline'; action = { Invoke-PachPipeline copy -Input @{ src = 'master' } -WhatIf } }
        @{ name = 'Restart-PachDatum -Failed'; action = { Get-PachJob -Pipeline copy | Restart-PachDatum -Failed -WhatIf } }
        @{ name = 'Restart-PachDatum (finished job)'; action = { Get-PachJob -Pipeline copy | Get-PachDatum | Restart-PachDatum -WhatIf } }
        @{ name = 'Remove-PachPipeline'; action = { Remove-PachPipeline copy -WhatIf } }
        @{ name = 'Suspend-PachPipeline'; action = { Suspend-PachPipeline copy -WhatIf } }
        @{ name = 'Stop-PachJob'; action = { Get-PachJob -Pipeline copy | Stop-PachJob -WhatIf } }
        @{ name = 'Invoke-PachCron'; action = { Invoke-PachCron copy -WhatIf } }
        @{ name = 'Save-PachFile'; action = { Save-PachFile src master a.txt $save -WhatIf } }
        @{ name = 'Optimize-PachStore'; action = { Optimize-PachStore -WhatIf } }
    ) {
        $before = Get-Snapshot
        & $action 6>$null | Out-Null
        Get-Snapshot | Should -Be $before
        Test-Path $save | Should -BeFalse
    }
    It 'every cmdlet that changes something supports -WhatIf and -Confirm' {
        $readOnly = 'Get', 'Show', 'Test', 'Wait', 'Compare', 'Connect', 'Disconnect'
        $changing = Get-Command -Module PachPS | Where-Object Verb -NotIn $readOnly
        $changing | Where-Object { -not $_.Parameters.ContainsKey('WhatIf') } | ForEach-Object Name | Should -BeNullOrEmpty
        Get-Command -Module PachPS -Verb Remove | ForEach-Object {
            ($_.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)).ConfirmImpact | Should -Be 'High' -Because $_.Name
        }
    }
}

Describe 'Copy-PachFile and Remove-PachFile resolve what they change before they ask' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'resolve') | Out-Null
        New-PachRepo src, other | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        Add-PachFile src master /dir/x.txt -Value 'xx' | Out-Null
        Add-PachFile src master /dir/y.txt -Value 'yyy' | Out-Null
        # Another runspace on the same store, whose host keeps the What if: lines and the confirmations (answered No).
        $recorder = New-RecordingHost
        $asked = New-TestRunspace -TestHost $recorder
        Invoke-InRunspace $asked { param($Path) Connect-PachStore -Path $Path | Out-Null } (Get-PachStore).Path | Out-Null
        function Invoke-Asked([scriptblock] $Script, [object[]] $ArgumentList = @()) {
            $recorder.Lines.Clear()
            $recorder.Prompts.Clear()
            Invoke-InRunspace $asked $Script $ArgumentList
        }
        function Get-Short([string] $Reference) { (Get-PachCommit src $Reference).Commit.Substring(0, 16) }
    }
    AfterAll { $asked.Dispose() }

    It 'Remove-PachFile -WhatIf names the commit the removal lands on and each path, a folder with its number of files' {
        $before = Get-Snapshot
        Invoke-Asked { Remove-PachFile src master /dir, a.txt -WhatIf } | Should -BeNullOrEmpty
        $recorder.Lines | Should -Be "What if: Performing the operation `"Remove 3 files`" on target `"src@master (new commit on $(Get-Short master)): /dir/ (2 files), /a.txt`"."
        Get-Snapshot | Should -Be $before
    }

    It 'Copy-PachFile -WhatIf names the commit its reference resolved to, what is copied and where it lands' {
        $before = Get-Snapshot
        Invoke-Asked { Copy-PachFile src master /dir /copied -DestinationRepo other -WhatIf } | Should -BeNullOrEmpty
        $recorder.Lines | Should -Be "What if: Performing the operation `"Copy src@master=$(Get-Short master):/dir/ (2 files), 5 B`" on target `"other@master:/copied (new branch)`"."
        Invoke-Asked { Copy-PachFile src 'master^^' a.txt b.txt -WhatIf } | Should -BeNullOrEmpty
        $recorder.Lines | Should -Be "What if: Performing the operation `"Copy src@master^^=$(Get-Short 'master^^'):/a.txt, 1 B`" on target `"src@master:/b.txt (new commit on $(Get-Short master))`"."
        Get-Snapshot | Should -Be $before
    }

    It 'into a branch with an open commit, both name that commit and count the files it holds' {
        $open = Start-PachCommit src master
        try {
            Add-PachFile src master /dir/z.txt -Value 'z' | Out-Null
            $before = Get-Snapshot
            Invoke-Asked { Remove-PachFile src master /dir -WhatIf } | Should -BeNullOrEmpty
            $recorder.Lines | Should -Be "What if: Performing the operation `"Remove 3 files`" on target `"src@master (open commit $($open.Commit.Substring(0, 16))): /dir/ (3 files)`"."
            Invoke-Asked { param($Id) Copy-PachFile src master a.txt /c.txt -DestinationBranch $Id -WhatIf } $open.Commit | Should -BeNullOrEmpty
            $recorder.Lines | Should -BeLike "*on target `"src@$($open.Commit):/c.txt (open commit $($open.Commit.Substring(0, 16)))`"."
            Get-Snapshot | Should -Be $before
        }
        finally { Remove-PachCommit src $open.Commit -Confirm:$false | Out-Null }
    }

    It 'with many paths (read in one go), each still counts exactly its own files' {
        New-PachRepo many | Out-Null
        $local = New-Item -ItemType Directory (Join-Path $TestDrive 'many')
        foreach ($p in @(1..20 | ForEach-Object { "f$_.txt" }) + 'g/x', 'g/sub/y', 'g-h.txt', 'g.txt', 'gg/z') {
            New-Item -ItemType File (Join-Path $local $p) -Value '1' -Force | Out-Null
        }
        Add-PachFile many master / -Source $local -Recurse | Out-Null
        $before = Get-Snapshot
        $paths = @(1..17 | ForEach-Object { "/f$_.txt" }) + '/g', '/g.txt'
        Invoke-Asked { param($Paths) Remove-PachFile many master $Paths -WhatIf } (, $paths) | Should -BeNullOrEmpty
        $recorder.Lines | Should -BeLike "What if: Performing the operation `"Remove 20 files`" on target `"many@master (new commit on *): /f1.txt, /f2.txt, *, /f10.txt and 9 more`"."
        $errors = @(Invoke-Asked { param($Paths) Remove-PachFile many master $Paths -Confirm } (, ($paths + '/g/nope')))
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'FileNotFound,*'
        $recorder.Prompts | Should -BeNullOrEmpty
        Invoke-Asked { param($Paths) Remove-PachFile many master $Paths -Confirm } (, ($paths + '/gg')) | Should -BeNullOrEmpty
        $recorder.Prompts[0] | Should -BeLike '*"Remove 21 files"*'
        Get-Snapshot | Should -Be $before
    }

    It '-Confirm asks about the same resolved target, and No changes nothing' {
        $before = Get-Snapshot
        Invoke-Asked { Remove-PachFile src master a.txt -Confirm } | Should -BeNullOrEmpty
        $recorder.Prompts.Count | Should -Be 1
        $recorder.Prompts[0] | Should -BeLike "*Performing the operation `"Remove 1 file`" on target `"src@master (new commit on $(Get-Short master)): /a.txt`"*"
        Invoke-Asked { Copy-PachFile src master a.txt /d.txt -Confirm } | Should -BeNullOrEmpty
        $recorder.Prompts.Count | Should -Be 1
        $recorder.Prompts[0] | Should -BeLike "*Performing the operation `"Copy src@master=$(Get-Short master):/a.txt, 1 B`" on target `"src@master:/d.txt (new commit on $(Get-Short master))`"*"
        Get-Snapshot | Should -Be $before
    }

    It '<name> fails with <id> before any confirmation, and changes nothing' -ForEach @(
        @{ name = 'Remove-PachFile of an unknown path'; id = 'FileNotFound'; action = { Remove-PachFile src master /nope -Confirm } }
        @{ name = 'Remove-PachFile of a known and an unknown path'; id = 'FileNotFound'; action = { Remove-PachFile src master a.txt, /dir/nope -Confirm } }
        @{ name = 'Remove-PachFile in an unknown repo'; id = 'RepoNotFound'; action = { Remove-PachFile nope master a.txt -Confirm } }
        @{ name = 'Remove-PachFile in a branch that does not exist'; id = 'FileNotFound'; action = { Remove-PachFile src nobranch a.txt -Confirm } }
        @{ name = 'Remove-PachFile in a finished commit'; id = 'CommitFinished'; action = { Remove-PachFile src (Get-PachCommit src master).Commit a.txt -Confirm } }
        @{ name = 'Copy-PachFile of an unknown path'; id = 'FileNotFound'; action = { Copy-PachFile src master /nope /x -Confirm } }
        @{ name = 'Copy-PachFile from an unknown repo'; id = 'RepoNotFound'; action = { Copy-PachFile nope master a.txt /x -Confirm } }
        @{ name = 'Copy-PachFile from an unknown branch'; id = 'BranchNotFound'; action = { Copy-PachFile src nobranch a.txt /x -Confirm } }
        @{ name = 'Copy-PachFile into an unknown repo'; id = 'RepoNotFound'; action = { Copy-PachFile src master a.txt /x -DestinationRepo nope -Confirm } }
        @{ name = 'Copy-PachFile to an invalid path'; id = 'InvalidPath'; action = { Copy-PachFile src master a.txt /../x -Confirm } }
    ) {
        $before = Get-Snapshot
        $errors = @(Invoke-Asked $action)
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike "$id,PachPS.Commands.*"
        $recorder.Prompts | Should -BeNullOrEmpty
        Get-Snapshot | Should -Be $before
    }
}
