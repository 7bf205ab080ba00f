#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Pachyderm's egress (issue 18, item 3), from the user's side: a pipeline whose spec has "egress" sends each successful
# job's output commit (what changed since the last egress) to a folder or an S3 prefix, and Get-PachJob says how it went.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force

    function New-CopySpec {
        # A pipeline that copies its input repo (one datum over all of it) to its output, with an egress.
        param([string] $Name, [string] $Repo, $Egress)
        @{ pipeline = @{ name = $Name }; transform = @{ cmd = @('sh'); stdin = @("cp -r /pfs/$Repo/. /pfs/out/") }
            input = @{ pfs = @{ repo = $Repo; glob = '/' } }; egress = $Egress }
    }

    function Get-FolderFiles {
        # The files under a folder as "relative/path=text", sorted.
        param([string] $Folder)
        @(Get-ChildItem $Folder -File -Recurse | ForEach-Object {
                "$([System.IO.Path]::GetRelativePath($Folder, $_.FullName))=$(Get-Content $_.FullName -Raw)" } | Sort-Object)
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Egress (<Backend>)' -ForEach $Backends {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeAll {
        if (-not $SkipBackend) { Connect-TestStore $Backend (Join-Path $TestDrive "egress-$Backend") }
        $target = Join-Path $TestDrive "reports-$Backend"
    }

    It 'sends the output commit to a folder, then only what changed, deletions included' {
        New-PachRepo raw | Out-Null
        Add-PachFile raw master a.txt -Value 'one' | Out-Null
        Add-PachFile raw master dir/b.txt -Value 'two' | Out-Null
        New-PachPipeline -Spec (New-CopySpec copy raw @{ URL = "file://$target/" }) | Out-Null
        Wait-PachCommit raw master | Out-Null
        $first = Get-PachJob -Pipeline copy | Select-Object -First 1
        $first.State | Should -Be 'Success'
        $first.Egress.Url | Should -Be "file://$target/"
        $first.Egress.FilesUploaded | Should -Be 2
        $first.Egress.FilesDeleted | Should -Be 0
        $first.Egress.Since | Should -BeNullOrEmpty
        Get-FolderFiles $target | Should -Be @('a.txt=one', 'dir/b.txt=two')

        # An unchanged file is not sent again: its copy changed at the target stays as it is.
        Set-Content (Join-Path $target 'a.txt') 'kept' -NoNewline
        Add-PachFile raw master c.txt -Value 'three' | Out-Null
        Wait-PachCommit raw master | Out-Null
        Remove-PachFile raw master dir/b.txt -Confirm:$false | Out-Null
        Wait-PachCommit raw master | Out-Null
        $jobs = @(Get-PachJob -Pipeline copy)
        $jobs.Count | Should -Be 3
        $jobs.State | Should -Be @('Success', 'Success', 'Success')
        $jobs[1].Egress.FilesUploaded | Should -Be 1
        $jobs[1].Egress.Since | Should -Be $first.OutputCommit
        $jobs[0].Egress.FilesUploaded | Should -Be 0
        $jobs[0].Egress.FilesDeleted | Should -Be 1
        $jobs[0].Egress.Since | Should -Be $jobs[1].OutputCommit
        Get-FolderFiles $target | Should -Be @('a.txt=kept', 'c.txt=three')
        Test-Path (Join-Path $target 'dir') | Should -BeFalse
        ($jobs[0] | Get-PachLog | Where-Object Stream -EQ 'egress').Message | Should -Match '0 file\(s\) put .*1 deleted'
    }

    It 'refuses a bad egress with its id, and changes nothing' {
        { New-PachPipeline -Spec (New-CopySpec bad raw @{ URL = 's3://Not_A_Bucket/x' }) } |
            Should -Throw -ErrorId 'PipelineSpecInvalidEgress,PachPS.Commands.NewPachPipelineCommand'
        { New-PachPipeline -Spec (New-CopySpec bad raw @{ URL = 'gs://bucket/x' }) } |
            Should -Throw -ErrorId 'PipelineSpecUnsupportedEgress,PachPS.Commands.NewPachPipelineCommand'
        $err = { New-PachPipeline -Spec (New-CopySpec bad raw @{ sql_database = @{ url = 'snowflake://u@h/db' } }) } |
            Should -Throw -ErrorId 'PipelineSpecUnsupportedEgress,PachPS.Commands.NewPachPipelineCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        Get-PachPipeline | Where-Object Name -EQ bad | Should -BeNullOrEmpty
        Get-PachRepo | Where-Object Name -EQ bad | Should -BeNullOrEmpty
        $err = { Update-PachPipeline -Spec (New-CopySpec copy raw @{ URL = 'file://relative/folder' }) } |
            Should -Throw -ErrorId 'PipelineSpecInvalidEgress,PachPS.Commands.UpdatePachPipelineCommand' -PassThru
        $err.Exception.Message | Should -Match "Pipeline 'copy'.*file:///absolute/folder"
        (Get-PachPipeline copy).Version | Should -Be 1
        @(Get-PachJob -Pipeline copy).Count | Should -Be 3
    }

    It 'ends a job EgressFailed when every try fails, and keeps its output commit' {
        # A file where the egress folder's parent should be: nothing can be written there.
        $blocker = Join-Path $TestDrive "blocker-$Backend"
        Set-Content $blocker 'in the way'
        New-PachRepo facts | Out-Null
        Add-PachFile facts master x.txt -Value 'x' | Out-Null
        New-PachPipeline -Spec (New-CopySpec stuck facts @{ object_storage = @{ url = "file://$blocker/out" } }) | Out-Null
        $job = Get-PachJob -Pipeline stuck | Select-Object -First 1 | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'EgressFailed'
        $job.Reason | Should -Match '^EgressFailed: egress to file://.* failed after 4 tries; the output commit [0-9a-f]+ stays\. Last error: EgressTargetUnavailable'
        $job.Egress.Tries | Should -Be 4
        (Get-PachJob -State EgressFailed).JobId | Should -Contain $job.JobId
        (Get-PachCommit stuck master).Commit | Should -Be $job.OutputCommit
        Get-PachFileContent stuck master x.txt | Should -Be 'x'
        @($job | Get-PachLog | Where-Object { $_.Stream -eq 'egress' -and $_.Message -match 'failed:' }).Count | Should -Be 4
        (Get-PachJob -Pipeline stuck | Out-String -Width 80) | Should -Match "$($job.JobId.Substring(0, 16)) EgressFailed"
    }
}

Describe 'Egress to S3 with the store''s credentials (<Backend>)' -ForEach @(@{ Backend = 'S3'; SkipBackend = -not $env:PACHPS_TEST_S3_ENDPOINT }) {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeAll {
        if (-not $SkipBackend) { Connect-TestStore $Backend (Join-Path $TestDrive "egress-s3") }
        $bucket = $env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test'
    }

    It 'puts the files under the prefix, and fails EgressFailed for a bucket that does not exist' {
        New-PachRepo raw | Out-Null
        Add-PachFile raw master a.txt -Value 'one' | Out-Null
        Add-PachFile raw master b.txt -Value 'two' | Out-Null
        $prefix = 'pester-egress/' + [guid]::NewGuid().ToString('N').Substring(0, 12)
        New-PachPipeline -Spec (New-CopySpec copy raw @{ URL = "s3://$bucket/$prefix/" }) | Out-Null
        $job = Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success'
        $job.Egress.FilesUploaded | Should -Be 2
        $job.Egress.BytesUploaded | Should -Be 6
        Remove-PachFile raw master a.txt -Confirm:$false | Out-Null
        Wait-PachCommit raw master | Out-Null
        $next = Get-PachJob -Pipeline copy | Select-Object -First 1
        $next.State | Should -Be 'Success'
        $next.Egress.FilesDeleted | Should -Be 1
        # The last file goes too, so the prefix is left empty.
        Remove-PachFile raw master b.txt -Confirm:$false | Out-Null
        Wait-PachCommit raw master | Out-Null
        (Get-PachJob -Pipeline copy | Select-Object -First 1).Egress.FilesDeleted | Should -Be 1

        # A job with files to send (an empty commit sends nothing, and asks S3 nothing).
        New-PachRepo other | Out-Null
        Add-PachFile other master x.txt -Value 'x' | Out-Null
        New-PachPipeline -Spec (New-CopySpec nowhere other @{ URL = "s3://pachps-no-such-$([guid]::NewGuid().ToString('N').Substring(0, 8))/x" }) | Out-Null
        $failed = Get-PachJob -Pipeline nowhere | Select-Object -First 1 | Wait-PachJob -TimeoutSec 120
        $failed.State | Should -Be 'EgressFailed'
        $failed.Egress.Error | Should -Match 'NoSuchBucket'
        (Get-PachCommit nowhere master).Commit | Should -Be $failed.OutputCommit
    }
}
