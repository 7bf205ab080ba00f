#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Pipelines over S3 (issue 18, item 4), from the user's side: Pachyderm's input.pfs.s3 and s3_out. The datum's command
# reaches its input as bucket <input name> and writes bucket "out" at $S3_ENDPOINT with the AWS CLI, as Pachyderm's
# sidecar examples do; what it writes there is the job's output, on every executor.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:NoAws = -not (Get-Command aws -ErrorAction Ignore)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force

    function New-S3CopySpec {
        # Copies the whole labresults commit (an s3 input) to bucket out, and records what the datum saw.
        param([string] $Name = 's3copy')
        @{
            pipeline  = @{ name = $Name }
            input     = @{ pfs = @{ repo = 'labresults'; glob = '/'; s3 = $true } }
            transform = @{ cmd = @('sh'); stdin = @(
                    'set -e'
                    'export AWS_DEFAULT_REGION=us-east-1'
                    'tmp=$(mktemp -d)'
                    'aws --endpoint-url "$S3_ENDPOINT" s3 cp s3://labresults/ "$tmp" --recursive --only-show-errors'
                    'aws --endpoint-url "$S3_ENDPOINT" s3 cp "$tmp" s3://out/ --recursive --only-show-errors'
                    'aws --endpoint-url "$S3_ENDPOINT" s3 ls | awk ''{print $3}'' | sort | aws --endpoint-url "$S3_ENDPOINT" s3 cp - s3://out/seen/buckets'
                    'ls /pfs | aws --endpoint-url "$S3_ENDPOINT" s3 cp - s3://out/seen/pfs'
                    'rm -rf "$tmp"') }
            s3_out    = $true
        }
    }
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Pipelines over S3 (<Backend>)' -ForEach $PipelineBackends {
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone()
    $PSDefaultParameterValues['It:Skip'] = $SkipBackend -or $NoAws
    BeforeAll {
        if (-not $SkipBackend) { Connect-TestStore $Backend (Join-Path $TestDrive "s3pipes-$Backend") }
    }

    It 'reads the input as a bucket and commits what the datum put in bucket out' {
        New-PachRepo labresults | Out-Null
        Add-PachFile labresults master a.csv -Value "x,y`n1,2" | Out-Null
        Add-PachFile labresults master runs/b.csv -Value "x,y`n3,4" | Out-Null
        New-PachPipeline -Spec (New-S3CopySpec) | Out-Null
        Wait-PachCommit labresults master | Out-Null
        $job = Get-PachJob -Pipeline s3copy | Select-Object -First 1
        $job.State | Should -Be 'Success' -Because ((Get-PachLog -Pipeline s3copy).Message -join "`n")
        (Get-PachFile s3copy master -Recurse | Where-Object Type -EQ File).Path | Should -Be @('/a.csv', '/runs/b.csv', '/seen/buckets', '/seen/pfs')
        Get-PachFileContent s3copy master runs/b.csv -Raw | Should -Be "x,y`n3,4"
        # The datum's buckets are its s3 input and out; /pfs holds neither (no /pfs/out with s3_out).
        Get-PachFileContent s3copy master seen/buckets -Raw | Should -Be "labresults`nout`n"
        Get-PachFileContent s3copy master seen/pfs -Raw | Should -BeNullOrEmpty
        # The output commit's provenance names the input commit the bucket served.
        $input = (Get-PachCommit labresults master).Commit
        (Get-PachCommit s3copy master).Provenance | Where-Object Repo -EQ labresults | ForEach-Object Commit | Should -Be $input
    }

    It 'runs again on a new input commit, serving that commit' {
        Add-PachFile labresults master c.csv -Value "x,y`n5,6" | Out-Null
        Wait-PachCommit labresults master | Out-Null
        @(Get-PachJob -Pipeline s3copy)[0].State | Should -Be 'Success'
        Get-PachFileContent s3copy master c.csv -Raw | Should -Be "x,y`n5,6"
    }

    It 'fails a datum that writes to its read-only input bucket' {
        $spec = New-S3CopySpec -Name s3write
        $spec.transform.stdin = @('export AWS_DEFAULT_REGION=us-east-1', 'echo x | aws --endpoint-url "$S3_ENDPOINT" s3 cp - s3://labresults/x.txt')
        New-PachPipeline -Spec $spec | Out-Null
        Wait-PachCommit labresults master | Out-Null
        $job = Get-PachJob -Pipeline s3write | Select-Object -First 1
        $job.State | Should -Be 'Failure'
        (Get-PachLog -Pipeline s3write).Message -join "`n" | Should -Match 'AccessDenied'
        Get-PachFile labresults master -Recurse | Where-Object Path -EQ '/x.txt' | Should -BeNullOrEmpty
    }

    It 'refuses what Pachyderm refuses of S3 inputs, with its id, and creates nothing' {
        $spec = New-S3CopySpec -Name s3bad
        $spec.input.pfs.glob = '/*'
        $err = { New-PachPipeline -Spec $spec } | Should -Throw -ErrorId 'PipelineSpecInvalidS3,PachPS.Commands.NewPachPipelineCommand' -PassThru
        $err.Exception.Message | Should -Match "glob must be '/'"
        $spec.input = @{ union = @(@{ pfs = @{ repo = 'labresults'; glob = '/'; s3 = $true } }, @{ pfs = @{ repo = 'labresults'; name = 'b'; glob = '/' } }) }
        { New-PachPipeline -Spec $spec } | Should -Throw -ErrorId 'PipelineSpecInvalidS3,PachPS.Commands.NewPachPipelineCommand'
        Get-PachPipeline | Where-Object Name -EQ s3bad | Should -BeNullOrEmpty
        Get-PachRepo | Where-Object Name -EQ s3bad | Should -BeNullOrEmpty
    }
}
