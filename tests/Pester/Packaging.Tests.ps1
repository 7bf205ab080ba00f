#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'Isolation and packaging' {
    It 'works beside another version of LiteDB already loaded in the session, and so does that version' {
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
        $older = Join-Path $nuget 'litedb/5.0.20/lib/netstandard2.0/LiteDB.dll'
        Test-Path $older | Should -BeTrue -Because 'build.ps1 Test restores build/tools (LiteDB 5.0.20)'
        # Start-ChildPwsh imports PachPS first; this script loads the old LiteDB in a fresh process instead.
        $file = Join-Path $TestDrive 'isolation.ps1'
        Set-Content $file @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$older'
`$mem = [LiteDB.LiteDatabase]::new([System.IO.MemoryStream]::new())
`$null = `$mem.GetCollection('x').Insert([LiteDB.BsonDocument]::new())
Import-Module '$ModulePath'
Connect-PachStore -Temporary | Out-Null
New-PachRepo r | Out-Null
Add-PachFile r master a.txt -Value 'beside' | Out-Null
`$content = Get-PachFileContent r master a.txt
Disconnect-PachStore
`$versions = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'LiteDB' } | ForEach-Object { `$_.GetName().Version.ToString() }
@{ Content = `$content; Versions = @(`$versions | Sort-Object); OldStillWorks = `$mem.GetCollection('x').Count() } | ConvertTo-Json -Compress
"@
        $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
        $out = & dotnet $pwshDll -NoProfile -NonInteractive -File $file
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $r = $out | Select-Object -Last 1 | ConvertFrom-Json
        $r.Content | Should -Be 'beside'
        $r.Versions | Should -Be @('5.0.20.0', '5.0.21.0')
        $r.OldStillWorks | Should -Be 1
    }

    It 'packages as a .nupkg that Install-PSResource installs, exporting exactly the cmdlets that exist' {
        & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') Package -NoBuild | Out-Null
        $LASTEXITCODE | Should -Be 0
        $feed = Join-Path $RepoRoot 'out/feed'
        @(Get-ChildItem $feed -Filter '*.nupkg' | Where-Object Name -Match '^PachPS\.\d').Count | Should -Be 1
        $home2 = Join-Path $TestDrive 'home'
        New-Item -ItemType Directory $home2 | Out-Null
        $file = Join-Path $TestDrive 'install.ps1'
        Set-Content $file @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name LocalPachPS -Uri '$feed' -Trusted -Force
Install-PSResource -Name PachPS -Repository LocalPachPS -Scope CurrentUser -TrustRepository
Import-Module PachPS
`$m = Get-Module PachPS
Connect-PachStore -Temporary | Out-Null
`$repo = New-PachRepo installed
Disconnect-PachStore
@{ Base = `$m.ModuleBase; Cmdlets = @(`$m.ExportedCmdlets.Keys | Sort-Object); Editions = `$m.CompatiblePSEditions; Tags = `$m.Tags; Repo = `$repo.Name; Help = (Get-Help Add-PachFile).Synopsis } | ConvertTo-Json -Compress
"@
        $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
        $savedHome = $env:HOME
        try {
            $env:HOME = $home2   # a private user scope: nothing is installed for the real user
            $out = & dotnet $pwshDll -NoProfile -NonInteractive -File $file
        }
        finally { $env:HOME = $savedHome }
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $r = $out | Select-Object -Last 1 | ConvertFrom-Json
        $r.Base | Should -BeLike "$home2*"
        $r.Repo | Should -Be 'installed'
        $r.Editions | Should -Be 'Core'
        $r.Tags | Should -Contain 'Pachyderm'
        $r.Help | Should -Match 'Adds files'
        $built = Get-Content (Join-Path $RepoRoot 'out/module/cmdlets.txt') | Where-Object { $_ } | Sort-Object
        $r.Cmdlets | Should -Be $built
        $r.Cmdlets | Should -Contain 'Remove-PachCommit'
    }

    It 'packages the server as a .NET tool that installs from the same feed and starts' {
        # The feed the test above made (build.ps1 Package puts both packages in it).
        $feed = Join-Path $RepoRoot 'out/feed'
        if (-not (Get-ChildItem $feed -Filter 'PachPS.Server.*.nupkg' -ErrorAction Ignore)) {
            & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') Package -NoBuild | Out-Null
        }
        $tools = Join-Path $TestDrive 'tools'
        $out = & dotnet tool install PachPS.Server --tool-path $tools --add-source $feed 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $help = & (Join-Path $tools 'pachps-server') --help
        $LASTEXITCODE | Should -Be 0
        $help -join "`n" | Should -Match 'pachps-server \[--store <folder>\]'
        $bad = & (Join-Path $tools 'pachps-server') --listen http://0.0.0.0:7443 2>&1
        $LASTEXITCODE | Should -Be 2
        "$bad" | Should -Match 'ListenNeedsTls'
    }
}

Describe 'A clone with nothing beside it' {
    It 'finds the tutorial''s data and specs inside the repository' {
        $Tutorial | Should -BeLike "$RepoRoot*"
        foreach ($file in 'data/iris.csv', 'data/test1.csv', 'data/test2.csv', 'pre-process.json', 'train.json', 'infer.json') {
            Join-Path $Tutorial $file | Should -Exist
        }
    }
    It 'has no test, example or build script that reads from beside the repository' {
        # Paths that climb out of the repo root or name the folder the tutorial files once came from.
        $outside = '\.\.[\\/]shared|seed-tutorial|Join-Path \$(script:)?RepoRoot\s+[''"]\.\.'
        $files = @(Get-Item (Join-Path $RepoRoot 'build.ps1')) + @('tests', 'build', 'examples' | ForEach-Object {
                Get-ChildItem (Join-Path $RepoRoot $_) -Recurse -File -Include *.ps1, *.psm1, *.cs, *.csproj, *.sh, *.json, *.props })
        $files = $files | Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' -and $_.FullName -ne $PSCommandPath }
        $files.Count | Should -BeGreaterThan 20
        $hits = $files | Select-String -Pattern $outside | ForEach-Object { "$($_.Path):$($_.LineNumber): $($_.Line.Trim())" }
        $hits | Should -BeNullOrEmpty
    }
}
