#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'The tutorial, steps 2 to 11, with its own specs (<Backend>)' -ForEach $PipelineBackends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeAll {
        if (-not $SkipBackend) { Connect-TestStore $Backend (Join-Path $TestDrive "tutorial-$Backend") }
        $t = $Transforms
        $preSpec = Get-TutorialSpec pre-process.json "sh $t/pre_process.sh `$training /pfs/out/"
        $trainSpec = Get-TutorialSpec train.json "sh $t/train.sh /pfs/pre_process/x_train.csv /pfs/pre_process/y_train.csv /pfs/out/"
        $inferSpec = Get-TutorialSpec infer.json "sh $t/infer.sh /pfs/train/model.csv `$attributes /pfs/out/"
        $inferParallel = Get-TutorialSpec infer.json "sh $t/infer.sh /pfs/train/model.csv `$attributes /pfs/out/" { param($s) $s.parallelism_spec.constant = '3' }
        $iris = Join-Path $Tutorial 'data/iris.csv'
        $species = @{}
        Get-Content $iris | ForEach-Object { $f = $_ -split ','; $species[($f[0..3] -join ',')] = $f[4] }
    }

    It 'step 2-3: creates repos and commits the training data' {
        New-PachRepo training, attributes | Out-Null
        Add-PachFile training master iris.csv -Source $iris | Out-Null
        (Get-PachFile training master iris.csv).Size | Should -Be (Get-Item $iris).Length
    }

    It 'step 4: pre_process runs one datum and writes the training matrices' {
        New-PachPipeline -Spec $preSpec | Out-Null
        $out = Wait-PachCommit training master
        $out.Repo | Should -Be 'pre_process'
        $job = Get-PachJob -Pipeline pre_process
        $job.State | Should -Be 'Success'
        $job.Progress | Should -Be '1 + 0 / 1'
        $job.BytesDownloaded | Should -Be (Get-Item $iris).Length
        (Get-PachFile pre_process master).Path | Should -Be @('/scaling.csv', '/x_train.csv', '/y_train.csv')
        @(Get-PachFileContent pre_process master x_train.csv).Count | Should -Be 150
    }

    It 'step 5-8: train and inference produce the tutorial''s predictions' {
        New-PachPipeline -Spec $trainSpec | Out-Null
        Add-PachFile attributes master test1.csv -Source (Join-Path $Tutorial 'data/test1.csv') | Out-Null
        Add-PachFile attributes master test2.csv -Source (Join-Path $Tutorial 'data/test2.csv') | Out-Null
        New-PachPipeline -Spec $inferSpec | Out-Null
        $done = Wait-PachCommit attributes master
        $done.Repo | Should -Be 'inference'
        $job = Get-PachJob -Pipeline inference | Select-Object -First 1
        $job.State | Should -Be 'Success'
        $job.Progress | Should -Be '2 + 0 / 2'
        $predicted = @(Get-PachFileContent inference master test1.csv)
        $predicted | Should -Be @('Iris-versicolor', 'Iris-virginica', 'Iris-virginica', 'Iris-virginica', 'Iris-setosa', 'Iris-setosa')
        $rows = Get-Content (Join-Path $Tutorial 'data/test1.csv')
        0..5 | ForEach-Object { $predicted[$_] | Should -Be $species[$rows[$_]] }
        @(Get-PachFileContent inference master test2.csv).Count | Should -Be 3
    }

    It 'step 9: raising parallelism to 3 skips both unchanged datums' {
        Update-PachPipeline -Spec $inferParallel | Out-Null
        Wait-PachCommit attributes master | Out-Null
        $job = Get-PachJob -Pipeline inference | Select-Object -First 1
        $job.PipelineVersion | Should -Be 2
        $job.Progress | Should -Be '0 + 2 / 2'
        (Get-PachPipeline inference).Spec.Parallelism | Should -Be 3
    }

    It 'step 10: new training data re-runs pre_process, train and inference' {
        $before = @(Get-PachJob).Count
        $edited = Join-Path $TestDrive 'iris-edited.csv'
        Get-Content $iris | Select-Object -Skip 10 | Set-Content $edited
        Add-PachFile training master iris.csv -Source $edited | Out-Null
        $outputs = Wait-PachCommit training master
        $outputs.Repo | Should -Be @('pre_process', 'train', 'inference')
        $new = @(Get-PachJob) | Select-Object -First (@(Get-PachJob).Count - $before)
        $new.Pipeline | Sort-Object | Should -Be @('inference', 'pre_process', 'train')
        $new.State | Should -Be @('Success', 'Success', 'Success')
        @(Get-PachFileContent pre_process master x_train.csv).Count | Should -Be 140
    }

    It 'step 11: the last inference commit names exactly the commits it came from' {
        $prov = Get-PachJob -Pipeline inference | Select-Object -First 1 | Get-PachProvenance
        $byRepo = @{}
        $prov | Where-Object Kind -EQ 'Input' | ForEach-Object { $byRepo[$_.Repo] = $_.Commit }
        $byRepo.Keys | Sort-Object | Should -Be @('attributes', 'pre_process', 'train', 'training')
        $byRepo['training'] | Should -Be (Get-PachCommit training master).Commit
        $byRepo['pre_process'] | Should -Be (Get-PachCommit pre_process master).Commit
        $byRepo['train'] | Should -Be (Get-PachCommit train master).Commit
        $byRepo['attributes'] | Should -Be (Get-PachCommit attributes master).Commit
        ($prov | Where-Object Kind -EQ 'Spec').SpecVersion | Should -Be 2
        (Get-PachSubvenance training master).Repo | Should -Be @('pre_process', 'train', 'inference')
    }

    It 'draws the tutorial''s DAG' {
        $dag = Get-PachDag
        ($dag.Edges | ForEach-Object { "$($_.From)->$($_.To)" } | Sort-Object) | Should -Be @('attributes->inference', 'pre_process->train', 'train->inference', 'training->pre_process')
        ($dag.Nodes | Where-Object Kind -EQ Pipeline).LatestJobState | Should -Be @('Success', 'Success', 'Success')
        $text = Show-PachDag
        $text | Should -Match '│ training │'
        $text | Should -Match 'pre_process ──▶ train'
        $text.IndexOf('training') | Should -BeLessThan $text.IndexOf('│ inference')
        Show-PachDag -Format Mermaid | Should -Match 'n_train --> n_inference'
        Show-PachDag -Format Dot | Should -Match '"attributes" -> "inference";'
    }

    It 'step 11, file by file: test1.csv''s predictions came from attributes:/test1.csv and train:/model.csv' {
        $lineage = Get-PachFile inference master test1.csv | Get-PachProvenance
        ($lineage | ForEach-Object { "$($_.Repo):$($_.Path)" } | Sort-Object) | Should -Be @('attributes:/test1.csv', 'train:/model.csv', 'train:/scaling.csv')
        ($lineage | Where-Object Repo -EQ 'attributes').Commit | Should -Be (Get-PachCommit attributes master).Commit
        ($lineage | Where-Object Path -EQ '/model.csv' | Get-PachFileContent | Select-Object -First 1) | Should -Match '^Iris-'
        $derived = Get-PachSubvenance attributes master /test1.csv
        # Three inference jobs read this attributes commit (first run, parallelism update, retraining): one file each.
        ($derived | ForEach-Object { "$($_.Repo):$($_.Path)" } | Sort-Object -Unique) | Should -Be 'inference:/test1.csv'
        @($derived).Count | Should -Be 3
        $derived[-1].Commit | Should -Be (Get-PachCommit inference master).Commit
        (Get-PachProvenance train master /model.csv).Path | Should -Be @('/scaling.csv', '/x_train.csv', '/y_train.csv')
    }
}

Describe 'Pipeline cmdlets (<Backend>)' -ForEach $Backends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        Connect-TestStore $Backend (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        New-PachRepo src | Out-Null
        Add-PachFile src master a.txt -Value "alpha`n" | Out-Null
        Add-PachFile src master b.txt -Value "beta`n" | Out-Null
        $copy = @{
            pipeline = @{ name = 'copy' }
            transform = @{ cmd = @('sh'); stdin = @('cp "$src" /pfs/out/; echo "copied $src"') }
            input = @{ pfs = @{ repo = 'src'; glob = '/*' } }
        }
    }

    It 'accepts a hashtable spec, lists datums and logs, and warns about fields without effect' {
        $copy.enable_stats = $true
        New-PachPipeline -Spec $copy -WarningVariable warned -WarningAction SilentlyContinue | Out-Null
        "$warned" | Should -Match "enable_stats \(Pachyderm 1\.x only; no stats branch"
        $job = Get-PachJob -Pipeline copy | Wait-PachJob
        $job.State | Should -Be 'Success'
        $datums = Get-PachDatum -Job $job.Id
        $datums.Count | Should -Be 2
        $datums.State | Should -Be @('Success', 'Success')
        $datums[0].InputFiles | Should -Match '^src@[0-9a-f]{32}:/[ab]\.txt$'
        @(Get-PachLog -Pipeline copy | Where-Object Message -Like 'copied *').Count | Should -Be 2
        Get-PachFileContent copy master b.txt | Should -Be 'beta'
    }

    It 'lists commits, datums and log lines a page at a time: more than a page, each once, in order' {
        $many = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        foreach ($i in 0..117) { Set-Content (Join-Path $many ('f{0:D3}.txt' -f $i)) "$i" -NoNewline }
        Add-PachFile src master /many -Source $many -Recurse | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'lines' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sh', '-c', 'echo "one $PACH_DATUM_ID"; echo "two $PACH_DATUM_ID"') }
            input = @{ pfs = @{ repo = 'src'; glob = '/many/*' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline lines | Wait-PachJob -TimeoutSec 300
        $job.State | Should -Be 'Success'
        # Datums (more than the first page of 100): each once, in datum id order.
        $datums = @(Get-PachDatum -Job $job.Id)
        $datums.Count | Should -Be 118
        $ids = [string[]]@($datums.DatumId); [Array]::Sort($ids, [StringComparer]::Ordinal)
        $datums.DatumId | Should -Be $ids
        @($datums.DatumId | Sort-Object -Unique).Count | Should -Be 118
        (Get-PachDatum -Job $job.Id | Select-Object -First 1).DatumId | Should -Be $ids[0]
        # Lines: two a datum, each once, oldest first; -Tail keeps the last of the whole listing.
        $lines = @(Get-PachLog -Job $job.Id | Where-Object Stream -EQ stdout)
        $lines.Count | Should -Be 236
        @($lines.LineId | Sort-Object -Unique).Count | Should -Be 236
        foreach ($d in $datums) { (@($lines | Where-Object DatumId -EQ $d.DatumId).Message -replace ' .*') | Should -Be @('one', 'two') }
        $all = @(Get-PachLog -Job $job.Id)
        (Get-PachLog -Job $job.Id -Tail 3).LineId | Should -Be $all[-3..-1].LineId
        (Get-PachLog -Pipeline lines | Where-Object Stream -EQ stdout).LineId | Should -Be $lines.LineId
        # Commits without a reference: every commit of the repo, newest first; -Max stops after that many.
        $commits = @(Get-PachCommit src)
        $commits.Count | Should -Be 3
        $commits.Commit | Should -Be @(Get-PachCommit src master -History).Commit
        (Get-PachCommit src -Max 2).Commit | Should -Be $commits[0..1].Commit
    }

    It 'dry-runs a spec without creating anything' {
        $datums = Get-PachDatum -Spec $copy
        $datums.Count | Should -Be 2
        Get-PachPipeline | Should -BeNullOrEmpty
        (Get-PachRepo).Name | Should -Be 'src'
    }

    It 'suspends, resumes and removes pipelines' {
        New-PachPipeline -Spec $copy | Out-Null
        Get-PachJob -Pipeline copy | Wait-PachJob | Out-Null
        Suspend-PachPipeline copy | Out-Null
        Add-PachFile src master c.txt -Value 'c' | Out-Null
        @(Get-PachJob -Pipeline copy).Count | Should -Be 1
        (Resume-PachPipeline copy).State | Should -Be 'Running'
        Get-PachJob -Pipeline copy | Select-Object -First 1 | Wait-PachJob | Select-Object -ExpandProperty Progress | Should -Be '1 + 2 / 3'
        { Remove-PachRepo src -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'RepoHasDependents,PachPS.Commands.RemovePachRepoCommand'
        Remove-PachPipeline copy -Confirm:$false
        (Get-PachRepo).Name | Should -Be 'src'
    }

    It 'a failing datum fails its job with a reason and makes downstream jobs unrunnable' {
        $bad = @{ pipeline = @{ name = 'bad' }; transform = @{ cmd = @('sh', '-c', 'echo broken >&2; exit 4') }; datum_tries = 1
                  input = @{ pfs = @{ repo = 'src'; glob = '/' } } }
        $after = @{ pipeline = @{ name = 'after' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'bad'; glob = '/' } } }
        New-PachPipeline -Spec $bad | Out-Null
        New-PachPipeline -Spec $after | Out-Null
        Add-PachFile src master c.txt -Value 'c' | Out-Null
        Wait-PachCommit src master | Out-Null
        $job = Get-PachJob -Pipeline bad | Select-Object -First 1
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'broken'
        (Get-PachJob -Pipeline after).State | Should -Contain 'Unrunnable'
    }

    It 'undoes a commit with its cascade; -WhatIf changes nothing; a commit in the middle of history is refused' {
        New-PachPipeline -Spec $copy | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'count' }; transform = @{ cmd = @('sh'); stdin = @('ls $copy | wc -l > /pfs/out/n') }; input = @{ pfs = @{ repo = 'copy'; glob = '/' } } } | Out-Null
        Wait-PachCommit src master | Out-Null
        $before = @{ src = (Get-PachCommit src master).Commit; copy = (Get-PachCommit copy master).Commit; count = (Get-PachCommit count master).Commit }
        Add-PachFile src master c.txt -Value "gamma`n" | Out-Null
        Wait-PachCommit src master | Out-Null
        Get-PachFileContent count master n | Should -Be '3'
        $heads = { 'src', 'copy', 'count' | ForEach-Object { (Get-PachCommit $_ master).Commit } }
        $now = & $heads
        Remove-PachCommit src master -WhatIf 6>&1 | Out-Null
        & $heads | Should -Be $now
        { Remove-PachCommit src $before.src -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitHasDescendants,PachPS.Commands.RemovePachCommitCommand'
        $removed = Remove-PachCommit src master -Confirm:$false
        $removed.Repo | Should -Be @('src', 'copy', 'count')
        & $heads | Should -Be @($before.src, $before.copy, $before.count)
        Get-PachFileContent count master n | Should -Be '2'
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'runs commands like a shell would: default signals, a large stdin, and only the datum''s own inputs in /pfs' {
        # PowerShell ignores SIGPIPE; a transform's pipelines must not (yes would report a broken pipe and keep going).
        $big = 'x' * 200000
        New-PachPipeline -Spec @{ pipeline = @{ name = 'shellish' }; parallelism_spec = @{ constant = 1 }
            transform = @{ cmd = @('sh'); stdin = @(
                    'yes | head -n 1 > /pfs/out/$(basename $src).yes'
                    'ls /pfs/src > /pfs/out/$(basename $src).seen; touch /pfs/src/litter'
                    "printf %s $big | wc -c > /pfs/out/`$(basename `$src).stdin") }
            input = @{ pfs = @{ repo = 'src'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline shellish | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        Get-PachFileContent shellish master a.txt.yes | Should -Be 'y'
        Get-PachFileContent shellish master b.txt.stdin | Should -Be '200000'
        Get-PachFileContent shellish master a.txt.seen | Should -Be 'a.txt'
        Get-PachFileContent shellish master b.txt.seen | Should -Be 'b.txt'
        Get-PachLog -Pipeline shellish | Where-Object Message -Match 'Broken pipe' | Should -BeNullOrEmpty
    }

    It 'splits a file on ingest into indexed pieces, one datum each' {
        $lines = (1..7 | ForEach-Object { "record $_" }) -join "`n"
        Add-PachFile src master /records -Value $lines -Split Line -TargetFileDatums 3 | Out-Null
        (Get-PachFile src master /records).Name | Should -Be @('0000000000000000', '0000000000000001', '0000000000000002')
        (Get-PachDatum -Spec @{ pipeline = @{ name = 'd' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'src'; glob = '/records/*' } } }).Count | Should -Be 3
        { Add-PachFile src master /x -Value '{"a":1} 7' -Split Json } | Should -Throw -ErrorId 'SplitInvalidJson,PachPS.Commands.AddPachFileCommand'
    }

    It 'reads and writes other branches; commits on other branches of the input do not trigger it' {
        New-PachBranch src dev master | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'devcopy' }; output_branch = 'out'
            transform = @{ cmd = @('sh'); stdin = @('cp $src /pfs/out/') }; input = @{ pfs = @{ repo = 'src'; branch = 'dev'; glob = '/*' } } } | Out-Null
        Get-PachJob -Pipeline devcopy | Wait-PachJob -TimeoutSec 60 | Out-Null
        Add-PachFile src master onlymaster.txt -Value 'm' | Out-Null
        @(Get-PachJob -Pipeline devcopy).Count | Should -Be 1
        Add-PachFile src dev onlydev.txt -Value 'd' | Out-Null
        Wait-PachCommit src dev | Out-Null
        @(Get-PachJob -Pipeline devcopy).Count | Should -Be 2
        (Get-PachFile devcopy out).Path | Should -Be @('/a.txt', '/b.txt', '/onlydev.txt')
        (Get-PachBranch devcopy).Name | Should -Be 'out'
    }

    Context 'invalid specs create nothing' {
        It '<name>' -ForEach @(
            @{ name = 'bad JSON'; spec = '{ "pipeline": { "name": "x" }, '; id = 'PipelineSpecInvalidJson' }
            @{ name = 'unknown input repo'; spec = '{"pipeline":{"name":"x"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"nope","glob":"/"}}}'; id = 'PipelineInputNotFound' }
            @{ name = 'missing glob'; spec = '{"pipeline":{"name":"x"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"src"}}}'; id = 'PipelineSpecMissingGlob' }
            @{ name = 'duplicate input names'; spec = '{"pipeline":{"name":"x"},"transform":{"cmd":["true"]},"input":{"cross":[{"pfs":{"repo":"src","glob":"/"}},{"pfs":{"repo":"src","glob":"/*"}}]}}'; id = 'PipelineSpecDuplicateInput' }
            @{ name = 'invalid name'; spec = '{"pipeline":{"name":"bad name"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"src","glob":"/"}}}'; id = 'InvalidPipelineName' }
            @{ name = 'a cycle'; spec = '{"pipeline":{"name":"x"},"transform":{"cmd":["true"]},"input":{"pfs":{"repo":"x","glob":"/"}}}'; id = 'PipelineCycle' }
        ) {
            { New-PachPipeline -Spec $spec } | Should -Throw -ErrorId "$id,PachPS.Commands.NewPachPipelineCommand"
            Get-PachPipeline | Should -BeNullOrEmpty
            (Get-PachRepo).Name | Should -Be 'src'
        }
    }

    # A session's death only matters where the session runs the jobs; a server's own death is tested in Server.Tests.ps1.
    It 'resumes a job whose session was killed, without redoing finished datums' -Skip:($SkipBackend -or $Backend -eq 'Remote') {
        $store = (Get-PachStore).Path
        $marker = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $gate = "$marker.gate"
        Disconnect-PachStore
        $spec = '{"pipeline":{"name":"slow"},"transform":{"cmd":["sh"],"stdin":["echo $src >> ' + $marker + '; case $src in */b.txt) while [ ! -f ' + $gate + ' ]; do sleep 0.05; done;; esac; cp $src /pfs/out/"]},"input":{"pfs":{"repo":"src","glob":"/*"}}}'
        $child = Start-PipelineSession $Backend $store $spec { (Test-Path $marker) -and @(Get-Content $marker).Count -ge 2 }
        Start-Sleep -Milliseconds 700 # the finished datum's record is flushed
        $child.Kill()
        $child.WaitForExit()
        Set-Content $gate ''
        Connect-TestStore $Backend $store
        $job = Get-PachJob -Pipeline slow | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        $job.Restarts | Should -Be 1
        @(Get-Content $marker | Where-Object { $_ -like '*/a.txt' }).Count | Should -Be 1
        (Get-PachFile slow master).Path | Should -Be @('/a.txt', '/b.txt')
    }

    It 'a session started with SIGCHLD ignored fails its job with a reason that says so, instead of hanging' -Skip:($SkipBackend -or $Backend -eq 'Remote') {
        # .NET reaps every child of such a process (its own Process class then waits forever); perl is part of Debian.
        if (-not (Get-Command perl -ErrorAction Ignore)) { Set-ItResult -Skipped -Because 'perl is not installed'; return }
        $store = (Get-PachStore).Path
        Disconnect-PachStore
        $child = Start-ChildPwsh -Wrapper @('perl', '-e', '$SIG{CHLD} = "IGNORE"; exec @ARGV or die') @"
$(Get-ConnectCommand $Backend $store)
New-PachPipeline -Spec @{ pipeline = @{ name = 'ignored' }; transform = @{ cmd = @('true') }; input = @{ pfs = @{ repo = 'src'; glob = '/a.txt' } } } | Out-Null
Wait-PachCommit src master -TimeoutSec 60 | Out-Null
(Get-PachJob -Pipeline ignored).Reason
"@
        $child.WaitForExit(90000) | Should -BeTrue
        $child.StandardOutput.ReadToEnd() | Should -Match 'started with SIGCHLD ignored'
        Connect-TestStore $Backend $store
        (Get-PachJob -Pipeline ignored).State | Should -Be 'Failure'
    }

    It 'a session ended by SIG<_> takes its running datum processes with it; the job resumes later' -ForEach @('HUP', 'TERM') -Skip:($SkipBackend -or $Backend -eq 'Remote') {
        # Datum processes run in process groups of their own (Ctrl+C in the session does not reach them), so the
        # session kills them itself when it is asked to end: a closed terminal (SIGHUP) or a SIGTERM.
        $signal = $_
        $store = (Get-PachStore).Path
        $marker = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Disconnect-PachStore
        $spec = '{"pipeline":{"name":"sleepy"},"transform":{"cmd":["sh"],"stdin":["if [ ! -f ' + $marker + ' ]; then sleep 60 & echo $$ $! > ' + $marker + '; wait; fi; cp $src /pfs/out/"]},"input":{"pfs":{"repo":"src","glob":"/a.txt"}}}'
        $child = Start-PipelineSession $Backend $store $spec { (Test-Path $marker) -and (Get-Content $marker -Raw) -match '^\d+ \d+' }
        $pids = (Get-Content $marker -Raw).Trim() -split ' '
        $pids.Count | Should -Be 2
        & kill "-$signal" $child.Id
        $child.WaitForExit(20000) | Should -BeTrue
        # Gone, or a zombie left to this sandbox's init (which reaps nothing).
        function Test-Running([string] $Id) { (Test-Path "/proc/$Id/stat") -and ((Get-Content "/proc/$Id/stat" -Raw) -split '\) ')[1][0] -ne 'Z' }
        $deadline = (Get-Date).AddSeconds(10)
        while (($pids | Where-Object { Test-Running $_ }) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $pids | Where-Object { Test-Running $_ } | Should -BeNullOrEmpty
        Connect-TestStore $Backend $store
        $job = Get-PachJob -Pipeline sleepy | Wait-PachJob -TimeoutSec 60
        $job.State | Should -Be 'Success'
        (Get-PachFile sleepy master).Path | Should -Be @('/a.txt')
    }
}

Describe 'Script-block transforms' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo raw | Out-Null
        Add-PachFile raw master a.txt -Value "alpha`n`nomega" | Out-Null
        Add-PachFile raw master b.txt -Value 'beta' | Out-Null
    }

    It 'runs a script block per datum with the datum''s inputs and out folder, and keeps the script in the spec' {
        $p = New-PachPipeline -Name clean -Input @{ pfs = @{ repo = 'raw'; glob = '/*' } } -WarningVariable warned -ScriptBlock {
            param($Datum)
            Get-Content $Datum.Inputs.raw | Where-Object { $_ } | ForEach-Object ToUpper | Set-Content (Join-Path $Datum.Out (Split-Path $Datum.Inputs.raw -Leaf))
        }
        $p.Spec.Json | Should -Match 'ForEach-Object ToUpper'
        $warned | Should -BeNullOrEmpty   # pachps_script is PachPS's own field
        $job = Get-PachJob -Pipeline clean | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        Get-PachFileContent clean master a.txt | Should -Be @('ALPHA', 'OMEGA')
        Get-PachFileContent clean master b.txt | Should -Be 'BETA'
        (Get-PachCommit clean master | Get-PachProvenance | Where-Object Kind -EQ Spec).SpecVersion | Should -Be 1
    }

    It 'with -Batch runs every datum in one pwsh worker' {
        $starts = Join-Path $TestDrive 'starts.txt'
        New-PachPipeline -Name counted -Batch -Input @{ pfs = @{ repo = 'raw'; glob = '/*'; name = 'src' } } -ScriptBlock ([scriptblock]::Create(@"
param(`$Datum)
if (-not `$script:started) { Add-Content '$starts' `$PID; `$script:started = `$true }
Set-Content (Join-Path `$Datum.Out ('seen-' + (Split-Path `$Datum.Inputs.src -Leaf))) `$Datum.Id
"@)) | Out-Null
        $job = Get-PachJob -Pipeline counted | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        (Get-PachFile counted master).Path | Should -Be @('/seen-a.txt', '/seen-b.txt')
        @(Get-Content $starts | Select-Object -Unique).Count | Should -Be 1
    }
}

Describe 'A job of more datums than one transaction records' {
    BeforeAll {
        Connect-TestStore Local (Join-Path $TestDrive 'large-job')
        $many = New-Item -ItemType Directory (Join-Path $TestDrive 'many')
        # 5,000 records go to a transaction (JobRunner.RecordsPerPart): this job's records take two.
        $count = 5007
        foreach ($d in 0..9) { New-Item -ItemType Directory (Join-Path $many "d$d") | Out-Null }
        foreach ($i in 0..($count - 1)) { [IO.File]::WriteAllText((Join-Path $many ('d{0}/f{1:D5}' -f ($i % 10), $i)), "file $i") }
        New-PachRepo src | Out-Null
        Add-PachFile src master / -Source $many -Recurse | Out-Null
    }

    It 'records every datum once, and the next job skips them all and keeps their outputs' {
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'each' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('cp', '-r', '/pfs/src/.', '/pfs/out/') }
            input = @{ pfs = @{ repo = 'src'; glob = '/*/*' } }
        } | Out-Null
        $job = Get-PachJob -Pipeline each | Wait-PachJob -TimeoutSec 600
        $job.State | Should -Be 'Success'
        $job.Progress | Should -Be "$count + 0 / $count"
        $datums = @(Get-PachDatum -Job $job.Id)
        $datums.Count | Should -Be $count
        @($datums.DatumId | Sort-Object -Unique).Count | Should -Be $count
        @(Get-PachFile each master / -Recurse | Where-Object Type -EQ File).Count | Should -Be $count

        Add-PachFile src master /d3/new -Value 'new file' | Out-Null
        $next = Get-PachJob -Pipeline each | Select-Object -First 1 | Wait-PachJob -TimeoutSec 600
        $next.State | Should -Be 'Success'
        ($next.Processed, $next.Skipped, $next.Total) | Should -Be @(1, $count, ($count + 1))
        @(Get-PachFile each master / -Recurse | Where-Object Type -EQ File).Count | Should -Be ($count + 1)
        Get-PachFileContent each master ('d{0}/f{1:D5}' -f (($count - 1) % 10), ($count - 1)) | Should -Be "file $($count - 1)"
        Get-PachFileContent each master d3/new | Should -Be 'new file'
    }
}
