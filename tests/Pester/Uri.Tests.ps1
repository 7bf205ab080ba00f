#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 18, item 2: Add-PachFile -Uri downloads http(s) files into a commit; bad or missing URLs are refused by id and
# change nothing. A small HTTP server (HttpListener in a runspace of this process) serves the files.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $script:Web = "http://127.0.0.1:$port"
    $script:Served = @{ '/data/iris.csv' = [System.Text.Encoding]::UTF8.GetBytes("5.1,3.5,1.4,0.2,setosa`n"); '/data/big.bin' = (New-Bytes -Length 3MB -Seed 18) }
    $script:Listener = [System.Net.HttpListener]::new()
    $script:Listener.Prefixes.Add("$script:Web/")
    $script:Listener.Start()
    $script:Server = [powershell]::Create()
    $null = $script:Server.AddScript({
        param($listener, $served)
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { return }
            $body = $served[$context.Request.Url.AbsolutePath]
            if ($null -eq $body) { $context.Response.StatusCode = 404; $context.Response.Close(); continue }
            $context.Response.Headers['ETag'] = '"v1"'
            $context.Response.ContentLength64 = $body.Length
            $context.Response.OutputStream.Write($body, 0, $body.Length)
            $context.Response.Close()
        }
    }).AddArgument($script:Listener).AddArgument($script:Served)
    $script:Serving = $script:Server.BeginInvoke()
}
AfterAll {
    $script:Listener.Close()
    $script:Server.Dispose()
    Disconnect-PachStore; Stop-TestServers
}

Describe 'Add-PachFile -Uri (<Backend>)' -ForEach ($Backends | Where-Object Backend -In 'Local', 'Remote') {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        Connect-TestStore $Backend (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        New-PachRepo training | Out-Null
    }

    It 'adds one URL at -Path and several under a folder by their names, in one commit, byte for byte' {
        $commit = Add-PachFile training master iris.csv -Uri "$Web/data/iris.csv"
        $commit.FileCount | Should -Be 1
        Get-PachFileContent training master iris.csv -Raw | Should -Be "5.1,3.5,1.4,0.2,setosa`n"

        $commit = Add-PachFile training master raw/ -Uri "$Web/data/iris.csv", "$Web/data/big.bin"
        (Get-PachFile training master raw/).Path | Should -Be @('/raw/big.bin', '/raw/iris.csv')
        $bytes = Get-PachFileContent training master raw/big.bin -AsByteStream
        [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes)) |
            Should -Be ([Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($Served['/data/big.bin'])))
        @(Get-PachCommit training master -History).Count | Should -Be 2
    }

    It 'refuses <case> with <id> and changes nothing' -ForEach @(
        @{ case = 'a missing file'; uri = { "$Web/data/missing.csv" }; id = 'UriNotFound' }
        @{ case = 'an ftp URL'; uri = { 'ftp://example.org/a.csv' }; id = 'UriInvalid' }
        @{ case = 'a URL naming no file'; uri = { "$Web/data/" }; id = 'UriHasNoFileName' }
    ) {
        Add-PachFile training master keep.txt -Value 'kept' | Out-Null
        $head = (Get-PachCommit training master).Commit
        $objects = (Get-PachStore).ObjectCount
        { Add-PachFile training master raw/ -Uri "$Web/data/iris.csv", (& $uri) -ErrorAction Stop } |
            Should -Throw -ErrorId "$id,PachPS.Commands.AddPachFileCommand"
        (Get-PachCommit training master).Commit | Should -Be $head
        (Get-PachStore).ObjectCount | Should -Be $objects
    }
}
