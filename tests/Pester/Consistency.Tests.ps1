#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The consistency rules every cmdlet follows (issue 7, item 10): approved verbs, declared output types, one name per
# concept, pipeline binding by property name where another cmdlet produces the value, and stable error ids; and
# (issue 13, item 6) one definition of -Repo, -Commit, -Branch and -Path: aliases, completer and default.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $commands = Get-Command -Module PachPS -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } }
    # Tokens exist on a server only (an embedded store answers TokensNeedServer): New-PachToken's RepoNotFound is in Server.Tests.ps1.
    $repoCommands = Get-Command -Module PachPS -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Repo') -and $_.Name -ne 'New-PachToken' } |
        ForEach-Object { @{ Name = $_.Name } }
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

Describe '<Name> declares -Repo, -Commit, -Branch and -Path by their one shared definition' -ForEach $repoCommands {
    BeforeAll {
        $command = Get-Command $Name
        # The definition (src/PachPS/Infrastructure/PfsParameters.cs): each kind's marker attribute, which brings its
        # completer, and its aliases; an optional -Commit or -Branch defaults to master.
        $marker = @{
            Repo = [PachPS.Infrastructure.RepoParameterAttribute]; Commit = [PachPS.Infrastructure.CommitParameterAttribute]
            Branch = [PachPS.Infrastructure.BranchParameterAttribute]; Path = [PachPS.Infrastructure.PathParameterAttribute]
        }
        $aliases = [PachPS.Infrastructure.PfsParameters]::Aliases
        # Where a cmdlet differs on purpose (each says why in its code and help):
        $differs = @{
            # Omitted, -Commit lists every commit of the repo, newest first.
            'Get-PachCommit:Commit'   = @{ Default = $null }
            # -Branch names a branch to open a commit on, only: an id given as -Commit would name a new branch.
            'Start-PachCommit:Branch' = @{ Aliases = @() }
            # Omitted, -Branch lists the policies of every branch of the repo.
            'Get-PachRetention:Branch' = @{ Default = $null }
        }
        $places = @($command.Parameters.Values | Where-Object Name -In $marker.Keys)
        # Default values are the properties' initial values, read from a new instance of the cmdlet.
        $fresh = [System.Activator]::CreateInstance($command.ImplementingType)
    }
    It 'marks each with its kind''s attribute, which is its only completer' {
        foreach ($p in $places) {
            $completers = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] })
            $completers.Count | Should -Be 1 -Because "-$($p.Name) of $Name has one completer"
            $completers[0] | Should -BeOfType $marker[$p.Name] -Because "-$($p.Name) of $Name"
        }
    }
    It 'gives each the same aliases' {
        foreach ($p in $places) {
            $expected = if ($differs["${Name}:$($p.Name)"] -and $differs["${Name}:$($p.Name)"].ContainsKey('Aliases')) { $differs["${Name}:$($p.Name)"].Aliases } else { $aliases[$p.Name] }
            ($p.Aliases -join ',') | Should -Be ($expected -join ',') -Because "-$($p.Name) of $Name"
        }
    }
    It 'defaults -Commit, -Branch and -DestinationBranch to master where they are optional' {
        foreach ($p in $command.Parameters.Values | Where-Object Name -In 'Commit', 'Branch', 'DestinationBranch') {
            if ($p.ParameterSets.Values.IsMandatory -contains $true) { continue }
            $expected = if ($differs["${Name}:$($p.Name)"] -and $differs["${Name}:$($p.Name)"].ContainsKey('Default')) { $differs["${Name}:$($p.Name)"].Default } else { 'master' }
            $fresh.($p.Name) | Should -Be $expected -Because "-$($p.Name) of $Name"
        }
    }
}

Describe 'The shared definition of -Repo, -Commit, -Branch and -Path' {
    It 'defaults to master, the engine''s default branch' {
        [PachPS.Infrastructure.PfsParameters]::Default | Should -Be 'master'
    }
    It 'completes -Commit and -Branch values with branches of -Repo, whichever alias was typed' {
        Connect-PachStore -Path (Join-Path $TestDrive 'aliases') | Out-Null
        try {
            New-PachRepo data | Out-Null
            Add-PachFile data dev a.txt -Value 'a' | Out-Null
            foreach ($line in 'Get-PachFile -Repo data -Id ', 'Get-PachFile -Repo data -Branch ', 'Remove-PachFile -Repo data -Commit ', 'Save-PachFile -Repo data -Id ') {
                (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Select-Object -First 1 | Should -Be 'dev' -Because $line
            }
            $line = 'Get-PachFileContent -Repo data -Id dev -Path '
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'a.txt'
        }
        finally { Disconnect-PachStore }
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
        $values = @{ Repo = 'no-such'; Path = '/a.txt'; Source = $file; Destination = (Join-Path $TestDrive "out-$Name"); Name = 'b'; Branch = 'master'; Commit = 'master'; Head = 'master'; Trigger = 'master'; Uri = 's3://no-such-bucket/a.csv'; Reference = $true }
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
