#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The consistency rules every cmdlet follows (issue 7, item 10): approved verbs, declared output types, one name per
# concept, pipeline binding by property name where another cmdlet produces the value, and stable error ids.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $commands = Get-Command -Module PachPS -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } }
    $repoCommands = Get-Command -Module PachPS -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Repo') } | ForEach-Object { @{ Name = $_.Name } }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    # The one name for each concept; anything else that mentions one of them is a second name for it.
    $canonical = 'Repo', 'Branch', 'Commit', 'Path', 'Pipeline', 'Job', 'Datum', 'DestinationRepo', 'DestinationBranch', 'KeepRepo'
    # Values another cmdlet's output carries, so they bind from the pipeline by property name. Add-PachFile takes its
    # files from the pipeline instead (Get-ChildItem | Add-PachFile), and Get-PachProvenance's -Job would steal a
    # piped job from the commit provenance it gets today; New-PachPipeline -Name goes with -ScriptBlock.
    $piped = 'Repo', 'Commit', 'Pipeline', 'Job', 'Datum'
    $notPiped = 'Add-PachFile:Repo', 'Get-PachProvenance:Job'
}

Describe '<Name> follows the module''s conventions' -ForEach $commands {
    BeforeAll { $command = Get-Command $Name }
    It 'uses an approved verb and declares what it outputs' {
        $command.Verb | Should -BeIn (Get-Verb).Verb
        $command.OutputType | Should -Not -BeNullOrEmpty
    }
    It 'names repos, branches, commits, paths, pipelines, jobs and datums the same way as every other cmdlet' {
        foreach ($p in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            if ($p -match '(Repo|Branch|Commit|Ref|File|Pipeline|Job|JobId|Datum|DatumId)$') { $p | Should -BeIn $canonical -Because "-$p of $Name" }
        }
    }
    It 'binds by property name the values other cmdlets output' {
        foreach ($p in $command.Parameters.Values | Where-Object { $_.Name -in $piped -and "${Name}:$($_.Name)" -notin $notPiped }) {
            $p.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipelineByPropertyName |
                Should -Contain $true -Because "-$($p.Name) of $Name"
        }
    }
}

Describe '<Name> reports an unknown repo with a stable error id and changes nothing' -ForEach $repoCommands {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive "store-$Name") | Out-Null
        New-PachRepo data | Out-Null
        Add-PachFile data master /a.txt -Value 'a' | Out-Null
        $file = Join-Path $TestDrive 'a.txt'
        Set-Content $file 'a'
    }
    AfterAll { Disconnect-PachStore }
    It 'fails with RepoNotFound' {
        $values = @{ Repo = 'no-such'; Path = '/a.txt'; Source = $file; Destination = (Join-Path $TestDrive "out-$Name"); Name = 'b'; Branch = 'master'; Commit = 'master'; Head = 'master' }
        $arguments = @{}
        $command = Get-Command $Name
        $set = $command.ParameterSets | Where-Object IsDefault | Select-Object -First 1
        if (-not $set) { $set = $command.ParameterSets[0] }
        foreach ($p in $set.Parameters | Where-Object { $_.IsMandatory -or $_.Name -eq 'Repo' }) { $arguments[$p.Name] = $values[$p.Name] }
        $before = Get-PachCommit data master -History
        if ($command.Parameters.ContainsKey('Confirm')) { $arguments['Confirm'] = $false }
        $err = { & $Name @arguments -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'RepoNotFound,PachPS.Commands.*'
        @(Get-PachRepo).Name | Should -Be 'data'
        (Get-PachCommit data master -History).Commit | Should -Be $before.Commit
    }
}
