#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
Describe 'The iris example' {
    It 'plays every tutorial step and passes its own checks' {
        $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
        $output = & dotnet $pwshDll -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'run.ps1') 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        ($output -join "`n") | Should -Match 'All tutorial steps passed'
        ($output -join "`n") | Should -Match 'accuracy on iris.csv: 1[45]\d/150'
    }
}
