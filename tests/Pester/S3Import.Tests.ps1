#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 18, item 2: s3:// sources for Add-PachFile -Uri (objects, prefixes, globs; copied in) and Import-PachObject
# -Reference / -Materialize (recorded without copying; reads check the version). The objects are put in the test S3
# server with the AWS CLI. On the S3 backend the URLs name no endpoint (the store's own server and credentials); on the
# Local and Remote ones they name it and the AWS default chain (environment) signs: through a server, the session
# lists and reads what it copies in, and the server what it records by reference.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $NoAws = -not (Get-Command aws -ErrorAction Ignore)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $script:Bucket = $env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test'
    $script:SavedKeys = $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY
    $env:AWS_ACCESS_KEY_ID = $env:PACHPS_TEST_S3_ACCESS_KEY
    $env:AWS_SECRET_ACCESS_KEY = $env:PACHPS_TEST_S3_SECRET_KEY
    function Write-S3Object([string] $Key, [byte[]] $Bytes) {
        $file = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        [System.IO.File]::WriteAllBytes($file, $Bytes)
        & aws --endpoint-url $env:PACHPS_TEST_S3_ENDPOINT --region us-east-1 s3 cp $file "s3://$Bucket/$Key" --only-show-errors
        if ($LASTEXITCODE -ne 0) { throw "aws s3 cp to $Key failed" }
    }
    function Remove-S3Object([string] $Key) {
        & aws --endpoint-url $env:PACHPS_TEST_S3_ENDPOINT --region us-east-1 s3 rm "s3://$Bucket/$Key" --only-show-errors
    }
    function Get-Sha([byte[]] $Bytes) { [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($Bytes)) }
}
AfterAll {
    $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY = $SavedKeys
    Disconnect-PachStore; Stop-TestServers
}

Describe 's3:// imports (<Backend>)' -ForEach ($Backends | Where-Object Backend -In 'Local', 'S3', 'Remote') {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone()
    $PSDefaultParameterValues['It:Skip'] = $NoAws -or -not $env:PACHPS_TEST_S3_ENDPOINT
    BeforeAll {
        if ($NoAws -or -not $env:PACHPS_TEST_S3_ENDPOINT) { return }
        $script:Prefix = 'pester-import/' + [guid]::NewGuid().ToString('N').Substring(0, 12)
        # The S3 backend's URLs name no server: the store's own, with its credentials.
        $script:Query = if ($Backend -eq 'S3') { '' } else { "?endpoint=$([uri]::EscapeDataString($env:PACHPS_TEST_S3_ENDPOINT))" }
        $script:Big = New-Bytes -Length 9MB -Seed 7
        Write-S3Object "$Prefix/2026/11/a.csv" ([System.Text.Encoding]::UTF8.GetBytes("a,1`n"))
        Write-S3Object "$Prefix/2026/11/b.csv" ([System.Text.Encoding]::UTF8.GetBytes("b,2`n"))
        Write-S3Object "$Prefix/2026/11/readme.txt" ([System.Text.Encoding]::UTF8.GetBytes('not data'))
        Write-S3Object "$Prefix/2026/12/big.bin" $Big
    }
    AfterAll { if ($Prefix) { & aws --endpoint-url $env:PACHPS_TEST_S3_ENDPOINT --region us-east-1 s3 rm "s3://$Bucket/$Prefix/" --recursive --only-show-errors } }
    BeforeEach {
        function Url([string] $Key) { "s3://$Bucket/$Prefix/$Key$Query" }
        Connect-TestStore $Backend (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        New-PachRepo lake | Out-Null
    }

    It 'Add-PachFile -Uri copies a glob''s matches under -Path by name, and a prefix''s objects by their keys' {
        $commit = Add-PachFile lake master raw/ -Uri (Url '2026/11/*.csv')
        $commit.FileCount | Should -Be 2
        (Get-PachFile lake master raw/).Path | Should -Be @('/raw/a.csv', '/raw/b.csv')
        Get-PachFileContent lake master raw/a.csv -Raw | Should -Be "a,1`n"

        Add-PachFile lake master all -Uri (Url '2026/') | Out-Null
        (Get-PachFile lake master all -Recurse).Path | Should -Be @('/all/11/a.csv', '/all/11/b.csv', '/all/11/readme.txt', '/all/12/big.bin')
        Get-Sha (Get-PachFileContent lake master all/12/big.bin -AsByteStream) | Should -Be (Get-Sha $Big)
        (Get-PachFile lake master all/12/big.bin).Reference | Should -BeNullOrEmpty
    }

    It 'Import-PachObject -Reference records without copying; a changed source is refused on read and found by Test-PachStore; -Materialize copies in' {
        $stored = (Get-PachStore).StoredBytes
        Write-S3Object "$Prefix/ref/big.bin" $Big
        $commit = Import-PachObject lake master in/ -Uri (Url 'ref/big.bin'), (Url '2026/11/a.csv') -Reference -Message 'from the lake'
        $commit.Message | Should -Be 'from the lake'
        $commit.Size | Should -Be (9MB + 4)
        (Get-PachStore).StoredBytes | Should -BeLessThan ($stored + 1MB) -Because 'the objects stay in their bucket'
        $file = Get-PachFile lake master in/big.bin
        $file.Reference | Should -BeLike "s3://$Bucket/$Prefix/ref/big.bin*"
        Get-Sha (Get-PachFileContent lake master in/big.bin -AsByteStream) | Should -Be (Get-Sha $Big)
        @(Test-PachStore).Count | Should -Be 0

        Write-S3Object "$Prefix/ref/big.bin" ([byte[]](1, 2, 3))
        { Get-PachFileContent lake master in/big.bin -AsByteStream -ErrorAction Stop } | Should -Throw -ErrorId 'ReferencedObjectChanged*'
        $finding = @(Test-PachStore)
        $finding.Kind | Should -Be 'ReferencedObjectChanged'
        $finding.Path | Should -Be '/in/big.bin'

        Import-PachObject lake master in/big.bin -Uri (Url 'ref/big.bin') -Reference | Out-Null
        $copied = Import-PachObject lake master -Materialize
        Remove-S3Object "$Prefix/ref/big.bin"
        (Get-PachFileContent lake master in/big.bin -AsByteStream) -join ',' | Should -Be '1,2,3'
        Get-PachFileContent lake master in/a.csv -Raw | Should -Be "a,1`n"
        (Get-PachFile lake master -Recurse).Reference | Where-Object { $_ } | Should -BeNullOrEmpty
        (Import-PachObject lake master -Materialize).Commit | Should -Be $copied.Commit
    }

    It 'refuses <case> with <id> and changes nothing' -ForEach @(
        @{ case = 'a key that is no object'; run = { Import-PachObject lake master -Uri (Url '2026/11/none.csv') -Reference }; id = 'UriNotFound' }
        @{ case = 'a glob that matches nothing'; run = { Add-PachFile lake master -Uri (Url '2026/*.parquet') }; id = 'UriNotFound' }
        @{ case = 'an http URL by reference'; run = { Import-PachObject lake master -Uri 'https://example.org/a.csv' -Reference }; id = 'ReferenceNeedsS3' }
        @{ case = 'a bad bucket name'; run = { Add-PachFile lake master -Uri 's3://Bad_Bucket/a.csv' }; id = 'UriInvalid' }
    ) {
        Add-PachFile lake master keep.txt -Value 'kept' | Out-Null
        $before = Get-PachCommit lake master
        { & $run -ErrorAction Stop } | Should -Throw -ErrorId "$id*"
        (Get-PachCommit lake master).Commit | Should -Be $before.Commit
    }
}
