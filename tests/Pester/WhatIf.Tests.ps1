#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Get-Snapshot {
        # Everything a change could touch, as one string.
        $repos = Get-PachRepo | ForEach-Object {
            $r = $_.Name
            "${r}:" + ((Get-PachBranch $r | ForEach-Object { "$($_.Name)=$($_.Head)/$($_.OpenCommit)" }) -join ',') + ':' + @(Get-PachCommit $r -History -ErrorAction Ignore).Count +
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
