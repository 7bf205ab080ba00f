#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Default views: what a user sees with no Format-* in an 80-column console.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    # Every type a PachPS cmdlet says it writes, except .NET's own (strings, bools, FileInfo), which have views already.
    $types = Get-Command -Module PachPS -CommandType Cmdlet | ForEach-Object OutputType | ForEach-Object Type |
        Where-Object { $_ -and $_.Namespace -like 'PachPS*' } | Sort-Object FullName -Unique | ForEach-Object { @{ Type = $_.FullName } }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore }

Describe 'Every output type has a default view' {
    It 'lists the types the cmdlets write (the DAG among them)' -TestCases @{ Names = @($types.Type) } {
        $Names | Should -Contain 'PachPS.Engine.Pps.PachDag'
        $Names.Count | Should -BeGreaterOrEqual 14
    }
    It '<Type> has a table or list view' -ForEach $types {
        $controls = (Get-FormatData -TypeName $Type -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition.Control
        @($controls | Where-Object { $_ -is [System.Management.Automation.TableControl] -or $_ -is [System.Management.Automation.ListControl] }).Count |
            Should -BeGreaterThan 0
    }
}

Describe 'Views of a store with a pipeline, 80 columns wide' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'store') | Out-Null
        New-PachRepo attributes | Out-Null
        Add-PachFile attributes master a.txt -Value 'alpha' | Out-Null
        # A name as long as real ones get: the old job table dropped State, the column after it, at 80 columns.
        New-PachPipeline -Spec @{ pipeline = @{ name = 'pre_process_training_data' }; transform = @{ cmd = @('sh'); stdin = @('cp "$attributes" /pfs/out/') }
            input = @{ pfs = @{ repo = 'attributes'; glob = '/*' } } } | Out-Null
        Wait-PachCommit attributes master | Out-Null
        $job = Get-PachJob -Pipeline pre_process_training_data
        $job.State | Should -Be 'Success'
    }
    It 'the job table shows each job''s whole state' {
        $lines = @((Get-PachJob | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Id\s+State\s+Pipeline'
        $lines[0].IndexOf('Pipeline') - $lines[0].IndexOf('State') | Should -BeGreaterThan 'EgressFailed'.Length
        $row = $lines | Where-Object { $_.StartsWith($job.JobId.Substring(0, 16)) }
        $row | Should -Match '^[0-9a-f]{16} Success\s+pre_process_training_data '
        $row.Length | Should -BeLessOrEqual 80
    }
    It 'the datum table shows each datum''s whole state' {
        $lines = @(($job | Get-PachDatum | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Id\s+State\s+Attempts'
        $lines[0].IndexOf('Attempts') - $lines[0].IndexOf('State') | Should -BeGreaterThan 'Recovered'.Length
        $lines[2] | Should -Match '^[0-9a-f]{16} Success\s'
    }
    It 'Get-PachDag lists repos, pipelines with their latest job state, and edges' {
        $text = Get-PachDag | Out-String -Width 80
        $text | Should -Not -Match 'DagNode \{'
        $text | Should -Match 'Repos\s+: attributes'
        $text | Should -Match 'Pipelines\s+: pre_process_training_data \(Success\)'
        $text | Should -Match 'Edges\s+: attributes -> pre_process_training_data'
        ((Get-PachDag).Nodes | Out-String) | Should -Match 'pre_process_training_data\s+Pipeline\s+Success'
    }
}
