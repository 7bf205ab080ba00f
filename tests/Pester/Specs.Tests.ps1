#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Pipeline specs as pachctl reads them (issue 20): camelCase names, YAML, several specs per file created all or none,
# a warning for every field without effect, cron inputs in dry runs, and refused kinds refused.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore }

Describe 'Pipeline specs as pachctl reads them' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value "alpha`n" | Out-Null
        Add-PachFile src master b.txt -Value "beta`n" | Out-Null
        $work = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
    }

    It 'a camelCase spec runs two datums at once and writes to its outputBranch' {
        # Each datum marks a shared folder, then waits (at most 5 s) until two marks are there: only datums that run
        # at the same time both count 2.
        $marks = New-Item -ItemType Directory (Join-Path $work 'marks')
        $spec = @"
{
  "pipeline": { "name": "pair" },
  "transform": {
    "cmd": [ "sh", "-c", "touch \"`$MARKS/`$(basename `$src)\"; i=0; while [ `$(ls \"`$MARKS\" | wc -l) -lt 2 ] && [ `$i -lt 50 ]; do sleep 0.1; i=`$((i+1)); done; ls \"`$MARKS\" | wc -l > /pfs/out/`$(basename `$src)" ],
    "env": { "MARKS": "$marks" },
    "acceptReturnCode": [ 0 ]
  },
  "parallelismSpec": { "constant": 2 },
  "outputBranch": "results",
  "datumTries": 1,
  "input": { "pfs": { "repo": "src", "glob": "/*" } }
}
"@
        $p = New-PachPipeline -Spec $spec -WarningVariable warned
        $warned | Should -BeNullOrEmpty
        $p.Spec.Parallelism | Should -Be 2
        $job = Get-PachJob -Pipeline pair | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success' -Because $job.Reason
        $job.OutputBranch | Should -Be 'results'
        (Get-PachBranch pair).Name | Should -Be 'results'
        Get-PachFileContent pair results a.txt | Should -Be '2'
        Get-PachFileContent pair results b.txt | Should -Be '2'
        (Get-PachPipeline pair).Spec.Text | Should -Be $spec
    }

    It 'a YAML file with two specs creates both, in order, the second reading the first' {
        $file = Join-Path $work 'two.yaml'
        Set-Content $file @'
# upper-cases each file
pipeline:
  name: upper
transform:
  cmd: [sh, -c, 'tr a-z A-Z < "$src" > /pfs/out/$(basename "$src")']
input:
  pfs: {repo: src, glob: /*}
---
# joins them up
pipeline: {name: joined}
transform:
  cmd: [sh, -c, 'cat /pfs/upper/* > /pfs/out/all']
input:
  pfs:
    repo: upper
    glob: /
'@
        $created = New-PachPipeline -Path $file
        $created.Name | Should -Be @('upper', 'joined')
        Wait-PachCommit src master | Out-Null
        Get-PachFileContent joined master all | Should -Be @('ALPHA', 'BETA')
        $text = (Get-PachPipeline joined).Spec.Text
        $text | Should -BeLike '# joins them up*'
        $text | Should -Not -Match 'upper-cases'
        (Get-PachPipeline joined).Spec.Format | Should -Be 'Yaml'
    }

    Context 'a file with an invalid second spec creates none' {
        It '<name>' -ForEach @(
            @{ name = 'a spec without a glob'; second = '{ "pipeline": { "name": "second" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "first" } } }'; id = 'PipelineSpecMissingGlob' }
            @{ name = 'a spec reading a repo that does not exist'; second = '{ "pipeline": { "name": "second" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "nope", "glob": "/" } } }'; id = 'PipelineInputNotFound' }
            @{ name = 'a spec whose name is taken by the first'; second = '{ "pipeline": { "name": "first" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "src", "glob": "/" } } }'; id = 'PipelineAlreadyExists' }
        ) {
            $file = Join-Path $work 'specs.json'
            Set-Content $file ('{ "pipeline": { "name": "first" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "src", "glob": "/*" } } }' + "`n`n" + $second)
            $err = { New-PachPipeline -Path $file } | Should -Throw -ErrorId "$id,PachPS.Commands.NewPachPipelineCommand" -PassThru
            $err.Exception.Message | Should -Match '^Spec 2 of 2 \(line 3\): '
            Get-PachPipeline | Should -BeNullOrEmpty
            (Get-PachRepo).Name | Should -Be 'src'
            Get-PachJob | Should -BeNullOrEmpty
        }
    }

    It 'Update-PachPipeline -Path updates every spec of a file, or none' {
        $file = Join-Path $work 'pair.yaml'
        $specs = "pipeline: {name: p1}`ntransform: {cmd: ['true']}`ninput: {pfs: {repo: src, glob: /*}}`n---`npipeline: {name: p2}`ntransform: {cmd: ['true']}`ninput: {pfs: {repo: src, glob: /}}`n"
        Set-Content $file $specs
        New-PachPipeline -Path $file | Out-Null
        Set-Content $file ($specs -replace "\['true'\]", "[sh, -c, 'true']")
        (Update-PachPipeline -Path $file).Version | Should -Be @(2, 2)
        Set-Content $file $specs.Replace('glob: /}', 'glob: /, joinOn: $1, join_on: $2}')
        $err = { Update-PachPipeline -Path $file } | Should -Throw -ErrorId 'PipelineSpecInvalid,PachPS.Commands.UpdatePachPipelineCommand' -PassThru
        $err.Exception.Message | Should -Match '^Spec 2 of 2 \(line 5\): .*joinOn and .*join_on'
        (Get-PachPipeline).Version | Should -Be @(2, 2)
    }

    It 'warns once per pipeline about the fields it sets that have no effect, naming them and what that means' {
        $spec = @{
            pipeline  = @{ name = 'edges' }
            transform = @{ cmd = @('true'); memoryVolume = $true; imagePullSecrets = @('regcred') }
            service   = @{ internal_port = 8000 }
            autoscaling = $true
            enable_stats = $false
            input     = @{ pfs = @{ repo = 'src'; glob = '/*'; trigger = @{ branch = 'staging' } } }
        }
        $p = New-PachPipeline -Spec $spec -WarningVariable warned -WarningAction SilentlyContinue
        @($warned).Count | Should -Be 1
        $text = "$($warned[0])"
        $text | Should -Match "^Pipeline 'edges': PachPS does not implement these fields of the spec, so they have no effect: "
        $text | Should -Match 'transform\.memoryVolume \(/pfs is on disk'
        $text | Should -Match 'service \(no service is exposed'
        $text | Should -Match 'input\.pfs\.trigger \(every finished commit on the input branch runs the pipeline'
        $text | Should -Match 'about_PachPS_Spec'
        $text | Should -Not -Match 'autoscaling|enable_stats|imagePullSecrets'
        $p.Spec.Pod.ImagePullSecrets | Should -Be 'regcred'
        $p.Spec.NotImplemented.Field | Sort-Object | Should -Be @('input.pfs.trigger', 'service', 'transform.memoryVolume')
        Update-PachPipeline -Spec $spec -WarningVariable again -WarningAction SilentlyContinue | Out-Null
        @($again).Count | Should -Be 1
        Get-PachDatum -Spec ($spec | ConvertTo-Json -Depth 5) -WarningVariable planned -WarningAction SilentlyContinue | Out-Null
        "$planned" | Should -Match "^Pipeline 'edges'"
    }

    It 'dry-runs a cron spec: the tick repo plans as empty and nothing is created' {
        $cron = @{ pipeline = @{ name = 'hourly' }; transform = @{ cmd = @('true') }; input = @{ cron = @{ name = 'tick'; spec = '@every 1h' } } }
        Get-PachDatum -Spec $cron -ErrorAction Stop | Should -BeNullOrEmpty
        $mixed = "pipeline: {name: mixed}`ntransform: {cmd: ['true']}`ninput:`n  union:`n    - cron: {name: tick, spec: '@every 1h'}`n    - pfs: {repo: src, glob: /*}`n"
        (Get-PachDatum -Spec $mixed -ErrorAction Stop).InputFiles | Should -Match '^src@[0-9a-f]{32}:/[ab]\.txt$'
        (Get-PachRepo).Name | Should -Be 'src'
        Get-PachPipeline | Should -BeNullOrEmpty
    }

    It 'refuses <name> with what to write instead, and creates nothing' -ForEach @(
        @{ name = 'transform.build'; id = 'PipelineSpecBuildUnsupported'; words = 'transform\.cmd'
           spec = '{ "pipeline": { "name": "built" }, "transform": { "build": { "language": "python", "path": "./src" } }, "input": { "pfs": { "repo": "src", "glob": "/*" } } }' }
        @{ name = 'dry_run'; id = 'PipelineSpecDryRunUnsupported'; words = '-WhatIf'
           spec = '{ "pipeline": { "name": "dry" }, "transform": { "cmd": ["true"] }, "dryRun": true, "input": { "pfs": { "repo": "src", "glob": "/*" } } }' }
    ) {
        $err = { New-PachPipeline -Spec $spec } | Should -Throw -ErrorId "$id,PachPS.Commands.NewPachPipelineCommand" -PassThru
        $err.Exception.Message | Should -Match $words
        $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        Get-PachPipeline | Should -BeNullOrEmpty
        (Get-PachRepo).Name | Should -Be 'src'
    }
}

Describe 'Union inputs that share a name' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo left | Out-Null
        New-PachRepo right | Out-Null
        Add-PachFile left master /l.txt -Value 'from left' | Out-Null
        Add-PachFile right master /r.txt -Value 'from right' | Out-Null
    }
    AfterAll { Disconnect-PachStore }

    It 'runs each datum with its side at /pfs/<name>, as Pachyderm allows' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'either' }
            transform = @{ cmd = @('sh', '-c', 'for f in /pfs/side/*; do cp "$f" /pfs/out/; echo "$side" > "/pfs/out/$(basename "$f").env"; done') }
            input = @{ union = @(@{ pfs = @{ name = 'side'; repo = 'left'; glob = '/*' } }, @{ pfs = @{ name = 'side'; repo = 'right'; glob = '/*' } }) } } | Out-Null
        $job = Get-PachJob -Pipeline either | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.Total | Should -Be 2
        Get-PachFileContent either master /l.txt | Should -Be 'from left'
        Get-PachFileContent either master /r.txt | Should -Be 'from right'
        Get-PachFileContent either master /r.txt.env | Should -BeLike '*/pfs/side/r.txt'
        # A new commit on one side reruns only that side's datum, reading the other side's commit as before.
        Add-PachFile right master /r2.txt -Value 'more' | Out-Null
        $next = Get-PachJob -Pipeline either | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        ($next.Processed, $next.Skipped) | Should -Be @(1, 2)
        ($next.Inputs | Where-Object Repo -EQ left).Commit | Should -Be (Get-PachCommit left master).Id
    }

    It 'refuses a name shared across a cross, and creates nothing' {
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'both' }; transform = @{ cmd = @('true') }
            input = @{ cross = @(@{ pfs = @{ name = 'side'; repo = 'left'; glob = '/*' } }, @{ pfs = @{ name = 'side'; repo = 'right'; glob = '/*' } }) } } -ErrorAction Stop } |
            Should -Throw -ErrorId 'PipelineSpecDuplicateInput,PachPS.Commands.NewPachPipelineCommand'
        Get-PachPipeline | Where-Object Name -EQ both | Should -BeNullOrEmpty
        Get-PachRepo | Where-Object Name -EQ both | Should -BeNullOrEmpty
    }
}

Describe 'pfs.commit and empty_files' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo src | Out-Null
        $first = Add-PachFile src master /a.txt -Value 'first'
        Add-PachFile src master /a.txt -Value 'second, longer' | Out-Null
    }
    AfterAll { Disconnect-PachStore }

    It 'reads the pinned commit, not the head, and new commits on the branch start no job' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'pinned' }; transform = @{ cmd = @('sh', '-c', 'cp /pfs/src/a.txt /pfs/out/') }
            input = @{ pfs = @{ repo = 'src'; glob = '/'; commit = $first.Id } } } | Out-Null
        $job = Get-PachJob -Pipeline pinned | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        ($job.Inputs | Select-Object -First 1).Commit | Should -Be $first.Id
        Get-PachFileContent pinned master /a.txt | Should -Be 'first'
        Add-PachFile src master /b.txt -Value 'more' | Out-Null
        Start-Sleep -Milliseconds 500
        @(Get-PachJob -Pipeline pinned).Count | Should -Be 1
        { New-PachPipeline -Spec @{ pipeline = @{ name = 'nowhere' }; transform = @{ cmd = @('true') }
            input = @{ pfs = @{ repo = 'src'; glob = '/'; commit = 'feedfeedfeed' } } } -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotFound,*'
        Get-PachPipeline | Where-Object Name -EQ nowhere | Should -BeNullOrEmpty
    }

    It 'lays out empty_files empty, names intact, and still reruns a datum whose content changed' {
        New-PachPipeline -Spec @{ pipeline = @{ name = 'names' }
            transform = @{ cmd = @('sh', '-c', 'for f in /pfs/src/*; do wc -c < "$f" > "/pfs/out/$(basename "$f")"; done') }
            input = @{ pfs = @{ repo = 'src'; glob = '/*'; empty_files = $true } } } | Out-Null
        $job = Get-PachJob -Pipeline names | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.BytesDownloaded | Should -Be 0
        (Get-PachFile names master).Path | Should -Be @('/a.txt', '/b.txt')
        Get-PachFileContent names master /a.txt | Should -Be '0'
        Add-PachFile src master /a.txt -Value 'third' | Out-Null
        $next = Get-PachJob -Pipeline names | Select-Object -First 1 | Wait-PachJob -TimeoutSec 60
        ($next.Processed, $next.Skipped) | Should -Be @(1, 1)
    }
}
