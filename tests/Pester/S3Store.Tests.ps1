#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery {
    $noS3 = -not $env:PACHPS_TEST_S3_ENDPOINT
    # A bucket quota is set with radosgw-admin on the test cluster that tests/s3/start-rgw.sh started (its ceph.conf).
    $rgwConf = Join-Path ($env:CEPH_DIR ?? '/tmp/pachps-rgw') 'ceph.conf'
    $noRgwAdmin = $noS3 -or -not (Get-Command radosgw-admin -ErrorAction Ignore) -or -not (Test-Path $rgwConf)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore }

Describe 'A store with its content in S3' -Skip:$noS3 {
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $cred = Get-TestS3Credential
        $s3 = @{ S3Endpoint = $env:PACHPS_TEST_S3_ENDPOINT; Credential = $cred }
    }

    It 'creates the bucket, keeps only where it is (never the secret) and reopens from the folder alone' {
        $bucket = 'pachps-new-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $info = Connect-PachStore -Path $store -S3Bucket $bucket -S3Prefix team/a @s3
        $info.Backend | Should -Be 'S3'
        $info.ContentLocation | Should -BeLike "s3://$bucket/team/a*"
        New-PachRepo data | Out-Null
        Add-PachFile data master a.txt -Value 'in the bucket' | Out-Null
        Disconnect-PachStore
        $secret = $cred.GetNetworkCredential().Password
        Get-ChildItem $store -Recurse -File | Where-Object { [System.IO.File]::ReadAllText($_.FullName).Contains($secret) } | Should -BeNullOrEmpty
        (Get-Content (Join-Path $store 'store.json') -Raw | ConvertFrom-Json).S3.Bucket | Should -Be $bucket
        Connect-PachStore -Path $store -Credential $cred | Out-Null
        Get-PachFileContent data master a.txt | Should -Be 'in the bucket'
        (Get-PachStore).ObjectCount | Should -BeGreaterThan 0
    }

    It 'packs 10,000 tiny files into a handful of requests' {
        Connect-PachStore -Path $store -S3Bucket pachps-test -S3Prefix "pester/$(Split-Path $store -Leaf)" @s3 | Out-Null
        $src = New-Item -ItemType Directory (Join-Path $TestDrive 'tiny')
        foreach ($i in 1..10000) { [System.IO.File]::WriteAllText((Join-Path $src "t$i.txt"), "tiny file $i") }
        New-PachRepo tiny | Out-Null
        $before = (Get-PachStore).Requests
        Add-PachFile tiny master / -Source $src -Recurse | Out-Null
        $requests = (Get-PachStore).Requests - $before
        $requests | Should -BeLessOrEqual 110 -Because 'small files are packed'
        (Get-PachCommit tiny master).FileCount | Should -Be 10000
        Get-PachFileContent tiny master /t777.txt | Should -Be 'tiny file 777'
    }

    It 'refuses to reopen a store against another backend' {
        Connect-PachStore -Path $store | Out-Null
        New-PachRepo data | Out-Null
        { Connect-PachStore -Path $store -S3Bucket pachps-test @s3 } | Should -Throw -ErrorId 'StoreBackendMismatch,PachPS.Commands.ConnectPachStoreCommand'
    }

    It 'refuses -Credential with -ProfileName, and an unreachable server with a clear error' {
        { Connect-PachStore -Path $store -S3Bucket pachps-test -Credential $cred -ProfileName x } | Should -Throw -ErrorId 'CredentialConflict,PachPS.Commands.ConnectPachStoreCommand'
        $err = { Connect-PachStore -Path (Join-Path $TestDrive 'x') -S3Bucket pachps-test -S3Endpoint http://127.0.0.1:9 -Credential $cred } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'ObjectStoreUnavailable,PachPS.Commands.ConnectPachStoreCommand'
        $err.Exception.Message | Should -Match '127\.0\.0\.1:9'
    }

    It 'a bucket over its quota fails Add-PachFile with StorageFull, removes what it wrote, and a small write then goes in' -Skip:$noRgwAdmin {
        $conf = Join-Path ($env:CEPH_DIR ?? '/tmp/pachps-rgw') 'ceph.conf'
        $bucket = 'pachps-quota-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        Connect-PachStore -Path $store -S3Bucket $bucket @s3 | Out-Null
        New-PachRepo data | Out-Null
        Add-PachFile data master a.txt -Value 'first' | Out-Null
        $objects = (Get-PachStore).ObjectCount
        & radosgw-admin -c $conf quota set --quota-scope=bucket --bucket=$bucket --max-size=3145728 2>&1 | Out-Null
        & radosgw-admin -c $conf quota enable --quota-scope=bucket --bucket=$bucket 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        # radosgw checks a quota against what it has counted so far: uploads in flight at once (16) all pass it, so the
        # file is well over that many chunks for the later ones to meet the quota.
        $big = Join-Path $TestDrive 'big.bin'
        $bytes = [byte[]]::new(48MB)
        [System.Random]::new(7).NextBytes($bytes)
        [System.IO.File]::WriteAllBytes($big, $bytes)

        $err = { Add-PachFile data master big.bin -Source $big } | Should -Throw -ErrorId 'StorageFull,PachPS.Commands.AddPachFileCommand' -PassThru
        $err.Exception.Message | Should -Match 'QuotaExceeded|EntityTooLarge|507'
        (Get-PachStore).ObjectCount | Should -Be $objects
        Add-PachFile data master small.txt -Value 'hello' | Out-Null
        Get-PachFileContent data master small.txt | Should -Be 'hello'
        Get-PachFileContent data master a.txt | Should -Be 'first'
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'a temporary S3 store removes its objects on Disconnect-PachStore' {
        $info = Connect-PachStore -Temporary -S3Bucket pachps-test @s3
        New-PachRepo t | Out-Null
        Add-PachFile t master a -Value 'x' | Out-Null
        (Get-PachStore).ObjectCount | Should -BeGreaterThan 0
        $prefix = ($info.ContentLocation -replace '^s3://pachps-test/', '' -replace ' at .*$', '').TrimEnd('/')
        Disconnect-PachStore
        Test-Path $info.Path | Should -BeFalse
        # Look at the same prefix through a new store: nothing is left there.
        (Connect-PachStore -Path $store -S3Bucket pachps-test -S3Prefix $prefix @s3).ObjectCount | Should -Be 0
    }
}
