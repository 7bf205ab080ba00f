#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# PachPS as a service: pachps-server started by these tests on 127.0.0.1 with TLS and tokens, used through the cmdlets.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force

    function Connect-Server([hashtable] $Server, [string] $Token = $Server.Token) {
        Connect-PachStore -Server $Server.Uri -Token $Token -CertificateThumbprint $Server.Thumbprint
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'A PachPS server' {
    BeforeAll {
        $store = Join-Path $TestDrive 'team'
        $server = Start-TestServer $store
        Connect-Server $server | Out-Null
    }
    AfterAll { Disconnect-PachStore; Stop-TestServer $store }
    # Whatever a test connected as, the next one works as the admin again.
    AfterEach { Connect-Server $server | Out-Null }

    It 'tells which server and which user a session works as' {
        $info = Get-PachStore
        $info.Server | Should -Be "$($server.Uri)/"
        $info.User | Should -Be 'admin'
        (Get-PachToken -Current).Role | Should -Be 'Admin'
        ($info | Out-String) | Should -Match "admin at $([regex]::Escape($server.Uri))"
    }

    It 'runs a pipeline for a runbook that has already exited' {
        $source = Join-Path $TestDrive 'in.txt'
        Set-Content $source 'hello'
        $child = Start-ChildPwsh @"
Connect-PachStore -Server '$($server.Uri)' -Token '$($server.Token)' -CertificateThumbprint '$($server.Thumbprint)' | Out-Null
New-PachRepo runbook | Out-Null
New-PachPipeline -Spec '{"pipeline":{"name":"shout"},"transform":{"cmd":["sh","-c","sleep 1; tr a-z A-Z < /pfs/runbook/in.txt > /pfs/out/in.txt"]},"input":{"pfs":{"repo":"runbook","glob":"/"}}}' | Out-Null
Add-PachFile runbook master in.txt -Source '$source' | Out-Null
"@
        $child.WaitForExit(60000) | Should -BeTrue
        $child.ExitCode | Should -Be 0
        # The session is gone before the job could finish; the server runs it anyway.
        $job = Get-PachJob -Pipeline shout | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        Get-PachFileContent shout master in.txt | Should -Be 'HELLO'
        (Get-ChildItem pfs:\shout\master).Name | Should -Be 'in.txt'
    }

    It 'follows a running job''s log until the job ends, one request per batch of lines, not a poll' {
        New-PachRepo chatty | Out-Null
        Add-PachFile chatty master x -Value 'x' | Out-Null
        New-PachPipeline -Spec '{"pipeline":{"name":"talk"},"transform":{"cmd":["sh","-c","for i in 1 2 3; do echo line$i; sleep 1; done; cp /pfs/chatty/x /pfs/out/"]},"input":{"pfs":{"repo":"chatty","glob":"/"}}}' | Out-Null
        $job = Get-PachJob -Pipeline talk
        $lines = Get-PachLog -Job $job.Id -Follow
        ($lines | Where-Object Stream -EQ 'stdout').Message | Should -Be @('line1', 'line2', 'line3')
        (Get-PachJob -Id $job.Id).State | Should -Be 'Success'
        (Wait-PachJob $job.Id).State | Should -Be 'Success'
        # Three lines a second apart, and the end: a few long requests, where a 200 ms poll would have made 15 or more.
        $metrics = Invoke-RestMethod "$($server.Uri)/metrics" -Headers @{ Authorization = "Bearer $($server.Token)" } -SkipCertificateCheck
        $follows = [regex]::Match($metrics, 'http_requests_received_total\{code="200",[^}]*endpoint="/api/v1/pipelines/FollowLogsAsync"\} (\d+)')
        $follows.Success | Should -BeTrue
        [int]$follows.Groups[1].Value | Should -BeLessOrEqual 6
    }

    It 'completes names, asks -WhatIf and -Confirm, and changes nothing on -WhatIf, through the server' {
        New-PachRepo completion-target | Out-Null
        $line = 'Get-PachRepo completion-t'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'completion-target'
        Remove-PachRepo completion-target -WhatIf
        (Get-PachRepo completion-target).Repo | Should -Be 'completion-target'
        Remove-PachRepo completion-target -Confirm:$false
        (Get-PachRepo).Repo | Should -Not -Contain 'completion-target'
    }

    It 'refuses a script-block pipeline, which lives in a session' {
        New-PachRepo sb | Out-Null
        { New-PachPipeline -Name sbp -Input @{ pfs = @{ repo = 'sb'; glob = '/*' } } -ScriptBlock { param($Datum) } -ErrorAction Stop } |
            Should -Throw -ErrorId 'ScriptBlockTransformRemote,PachPS.Commands.NewPachPipelineCommand'
        { Get-PachPipeline sbp -ErrorAction Stop } | Should -Throw -ErrorId 'PipelineNotFound,PachPS.Commands.GetPachPipelineCommand'
    }

    It 'gives each role what it may do, refuses the rest with Forbidden, and a refusal changes nothing' {
        New-PachRepo shared, private | Out-Null
        $reader = New-PachToken alice -Role Reader
        $writer = New-PachToken ci-runner -Role Writer -Repo shared
        $writer.Token | Should -Match '^pachps_'
        $writer.Repos | Should -Be 'shared'
        { New-PachToken typo -Role Reader -Repo sahred -ErrorAction Stop } | Should -Throw -ErrorId 'RepoNotFound,PachPS.Commands.NewPachTokenCommand'
        (Get-PachToken).User | Should -Not -Contain 'typo'
        (Get-PachRepo shared, private | New-PachToken both -Role Reader).Repos | Should -Be @('shared', 'private')

        Connect-Server $server $reader.Token | Out-Null
        (Get-PachRepo).Repo | Should -Contain 'private'
        { New-PachRepo nope -ErrorAction Stop } | Should -Throw -ErrorId 'Forbidden,PachPS.Commands.NewPachRepoCommand'
        { Add-PachFile shared master f -Value x -ErrorAction Stop } | Should -Throw -ErrorId 'Forbidden,PachPS.Commands.AddPachFileCommand'
        { Get-PachToken -ErrorAction Stop } | Should -Throw -ErrorId 'Forbidden,PachPS.Commands.GetPachTokenCommand'

        Connect-Server $server $writer.Token | Out-Null
        (Get-PachRepo).Repo | Should -Be 'shared'
        Add-PachFile shared master f -Value x | Out-Null
        { Add-PachFile private master f -Value x -ErrorAction Stop } | Should -Throw -ErrorId 'Forbidden,PachPS.Commands.AddPachFileCommand'
        { New-PachPipeline -Spec '{"pipeline":{"name":"p"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"shared","glob":"/*"}}}' -ErrorAction Stop } |
            Should -Throw -ErrorId 'Forbidden,PachPS.Commands.NewPachPipelineCommand'
        { New-PachToken me -Role Admin -ErrorAction Stop } | Should -Throw -ErrorId 'Forbidden,PachPS.Commands.NewPachTokenCommand'

        Connect-Server $server | Out-Null
        (Get-PachRepo).Repo | Should -Not -Contain 'nope'
        @(Get-PachCommit private).Count | Should -Be 0
        (Get-PachFile shared master).Path | Should -Be '/f'
        (Get-PachPipeline).Pipeline | Should -Not -Contain 'p'
        (Get-PachToken).User | Should -Not -Contain 'me'
    }

    It 'refuses a missing, wrong, revoked or expired token with Unauthenticated' {
        $revoked = New-PachToken bob -Role Reader
        $expiring = New-PachToken carol -Role Reader -Expires (Get-Date).AddSeconds(2)
        Revoke-PachToken $revoked.TokenId -Confirm:$false | Select-Object -ExpandProperty Revoked | Should -Not -BeNullOrEmpty
        (Get-PachToken -All | Where-Object TokenId -EQ $revoked.TokenId).Revoked | Should -Not -BeNullOrEmpty
        (Get-PachToken).TokenId | Should -Not -Contain $revoked.TokenId
        Start-Sleep -Seconds 3
        foreach ($token in 'pachps_000000000000_wrong', $revoked.Token, $expiring.Token) {
            { Connect-Server $server $token -ErrorAction Stop } | Should -Throw -ErrorId 'Unauthenticated,PachPS.Commands.ConnectPachStoreCommand'
        }
        { Connect-PachStore -Server $server.Uri -CertificateThumbprint $server.Thumbprint -ErrorAction Stop } |
            Should -Throw -ErrorId 'TokenRequired,PachPS.Commands.ConnectPachStoreCommand'
        # A failed connect leaves the session on the server it had.
        (Get-PachStore).User | Should -Be 'admin'
    }

    It 'refuses a certificate whose thumbprint is not the pinned one, and an embedded store has no tokens' {
        { Connect-PachStore -Server $server.Uri -Token $server.Token -CertificateThumbprint ('00' * 20) -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServerUnavailable,PachPS.Commands.ConnectPachStoreCommand'
        Connect-PachStore -Temporary | Out-Null
        { Get-PachToken -Current -ErrorAction Stop } | Should -Throw -ErrorId 'TokensNeedServer,PachPS.Commands.GetPachTokenCommand'
        Connect-Server $server | Out-Null
    }

    It 'leaves no partial commit when a client is killed mid-upload' {
        New-PachRepo uploads | Out-Null
        Add-PachFile uploads master small -Value 'before' | Out-Null
        $big = Join-Path $TestDrive 'big.bin'
        $file = [System.IO.File]::Create($big); $file.SetLength(2GB); $file.Dispose()
        $child = Start-ChildPwsh @"
Connect-PachStore -Server '$($server.Uri)' -Token '$($server.Token)' -CertificateThumbprint '$($server.Thumbprint)' | Out-Null
Add-PachFile uploads master big.bin -Source '$big' | Out-Null
"@
        Start-Sleep -Seconds 4
        $child.HasExited | Should -BeFalse -Because 'the upload is still under way'
        $child.Kill($true)
        $child.WaitForExit()
        Start-Sleep -Milliseconds 500
        @(Get-PachCommit uploads).Count | Should -Be 1
        (Get-PachFile uploads master).Path | Should -Be '/small'
        Add-PachFile uploads master after -Value 'after' | Out-Null
        (Get-PachFile uploads master).Path | Should -Be @('/after', '/small')
        Test-PachStore -Quiet | Should -BeTrue
    }

    It 'loses nothing when 8 clients make 100 commits each on one branch' {
        New-PachRepo busy | Out-Null
        $clients = 1..8 | ForEach-Object {
            Start-ChildPwsh @"
Connect-PachStore -Server '$($server.Uri)' -Token '$($server.Token)' -CertificateThumbprint '$($server.Thumbprint)' | Out-Null
foreach (`$i in 1..100) { Add-PachFile busy master c$_/f`$i -Value "$_-`$i" | Out-Null }
"@
        }
        foreach ($c in $clients) { $c.WaitForExit(300000) | Should -BeTrue; $c.ExitCode | Should -Be 0 -Because $c.StandardError.ReadToEnd() }
        @(Get-PachCommit busy).Count | Should -Be 800
        @(Get-PachFile busy master / -Recurse | Where-Object Type -EQ File).Count | Should -Be 800
        Get-PachFileContent busy master c5/f77 | Should -Be '5-77'
    }
}

Describe 'A PachPS server that stops' {
    It 'resumes a job after SIGKILL, without redoing finished datums or losing a finished commit' {
        $store = Join-Path $TestDrive 'killed'
        $marker = Join-Path $TestDrive 'datums.log'
        $server = Start-TestServer $store
        Connect-Server $server | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value 'a' | Out-Null
        Add-PachFile src master b.txt -Value 'b' | Out-Null
        $finished = (Get-PachCommit src master).Commit
        # a.txt goes through at once, b.txt waits: the server is killed with one datum done and one running.
        New-PachPipeline -Spec ('{"pipeline":{"name":"slow"},"transform":{"cmd":["sh"],"stdin":["echo $src >> ' + $marker + '; case $src in */b.txt) sleep 5;; esac; cp $src /pfs/out/"]},"input":{"pfs":{"repo":"src","glob":"/*"}}}') | Out-Null
        $deadline = (Get-Date).AddSeconds(60)
        while (-not ((Test-Path $marker) -and @(Get-Content $marker).Count -ge 2) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Start-Sleep -Milliseconds 800   # the finished datum's record is flushed
        Stop-TestServer $store -Kill
        { Get-PachRepo -ErrorAction Stop } | Should -Throw -ErrorId 'ServerUnavailable,PachPS.Commands.GetPachRepoCommand'

        $server = Start-TestServer $store
        Connect-Server $server | Out-Null
        $job = Get-PachJob -Pipeline slow | Wait-PachJob -TimeoutSec 90
        $job.State | Should -Be 'Success'
        $job.Restarts | Should -BeGreaterOrEqual 1
        @(Get-Content $marker | Where-Object { $_ -like '*/a.txt' }).Count | Should -Be 1
        (Get-PachFile slow master).Path | Should -Be @('/a.txt', '/b.txt')
        (Get-PachCommit src $finished).Commit | Should -Be $finished
        Test-PachStore -Quiet | Should -BeTrue
        Disconnect-PachStore
        Stop-TestServer $store
    }

    It 'stops gracefully on SIGTERM and writes no secret to any file' {
        $store = Join-Path $TestDrive 'secrets'
        $s3 = @()
        $environment = @{}
        if ($env:PACHPS_TEST_S3_ENDPOINT) {
            $s3 = '--s3-bucket', ($env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test'), '--s3-endpoint', $env:PACHPS_TEST_S3_ENDPOINT, '--s3-prefix', "pester/$([guid]::NewGuid().ToString('N'))"
            $environment = @{ AWS_ACCESS_KEY_ID = $env:PACHPS_TEST_S3_ACCESS_KEY; AWS_SECRET_ACCESS_KEY = $env:PACHPS_TEST_S3_SECRET_KEY }
        }
        $server = Start-TestServer $store -ArgumentList $s3 -Environment $environment
        Connect-Server $server | Out-Null
        $made = New-PachToken dave -Role Writer
        New-PachRepo r | Out-Null
        Add-PachFile r master f -Value 'x' | Out-Null
        { Connect-Server $server 'pachps_000000000000_not-a-real-secret' -ErrorAction Stop } | Should -Throw
        $process = $server.Process
        Stop-TestServer $store
        $process.HasExited | Should -BeTrue
        $process.ExitCode | Should -Be 0
        $secrets = @($server.Token, $made.Token, ($made.Token -split '_', 3)[2], ($server.Token -split '_', 3)[2])
        if ($env:PACHPS_TEST_S3_SECRET_KEY) { $secrets += $env:PACHPS_TEST_S3_SECRET_KEY }
        $files = Get-ChildItem $store -Recurse -File
        $files.Name | Should -Contain 'tokens.json'
        foreach ($file in $files) {
            $text = [System.Text.Encoding]::Latin1.GetString([System.IO.File]::ReadAllBytes($file.FullName))
            foreach ($secret in $secrets) { $text.Contains($secret) | Should -BeFalse -Because "$($file.Name) must not hold a secret" }
        }
        # What the server logged holds none either (its standard error; standard output shows the first admin token once, by design).
        $logged = Get-Content "$($server.Log).err" -Raw
        foreach ($secret in $secrets) { "$logged".Contains($secret) | Should -BeFalse }
    }
}
