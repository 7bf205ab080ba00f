#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $commands = Get-Command -Module PachPS -CommandType Cmdlet, Function | ForEach-Object { @{ Name = $_.Name } }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Help for <Name>' -ForEach $commands {
    BeforeAll {
        $help = Get-Help "PachPS\$Name" -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    }
    It 'has a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s"   # not the auto-generated syntax line
        ($help.description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }
    It 'has at least two examples with code' {
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $help.examples.example | ForEach-Object { $_.code | Should -Not -BeNullOrEmpty }
    }
    It 'shows in SYNTAX each parameter set''s parameters, -WhatIf and -Confirm included' {
        $command = Get-Command "PachPS\$Name"
        if ($command.CommandType -ne 'Cmdlet') { Set-ItResult -Skipped -Because 'Copy-Item''s help is PowerShell''s own'; return }
        $sets = @($command.ParameterSets)
        @($help.syntax.syntaxItem).Count | Should -Be $sets.Count
        for ($i = 0; $i -lt $sets.Count; $i++) {
            $expected = @($sets[$i].Parameters.Name | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters })
            @(@($help.syntax.syntaxItem)[$i].parameter.name) | Should -Be $expected -Because "parameter set $($sets[$i].Name)"
        }
        if ($command.Parameters.ContainsKey('WhatIf')) {
            (Get-Help "PachPS\$Name" | Out-String -Width 1000) | Should -Match '\[-WhatIf\] \[-Confirm\] \[<CommonParameters>\]'
            ($help.parameters.parameter | Where-Object name -EQ WhatIf).description.Text | Should -Match 'is not run'
        }
    }
    It 'describes every parameter' {
        # Dynamic parameters come from a provider (Copy-Item's -ToSession), not from PachPS.
        foreach ($p in (Get-Command "PachPS\$Name").Parameters.Values | Where-Object { $_.Name -notin $common -and -not $_.IsDynamic } | ForEach-Object Name) {
            $doc = $help.parameters.parameter | Where-Object name -EQ $p
            ($doc.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }
}

Describe 'about_PachPS' {
    It 'is found by Get-Help' {
        $topic = Get-Help about_PachPS
        ($topic | Out-String) | Should -Match 'flush-commit'
    }
}

Describe 'about_PachPS_Spec' {
    It 'is found by Get-Help and lists every field with what PachPS does with it' {
        $topic = Get-Help about_PachPS_Spec | Out-String
        $topic | Should -Match 'parallelismSpec'
        $topic | Should -Match '`transform\.image_pull_secrets` \| differently'
        $topic | Should -Match '`egress` \| differently'
        $topic | Should -Match '`egress\.sql_database` \| refused'
        $topic | Should -Match '`spout` \| differently'
        $topic | Should -Match '`spout\.overwrite` \| implemented'
    }
}
