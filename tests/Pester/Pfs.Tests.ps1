#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
BeforeDiscovery { . (Join-Path $PSScriptRoot 'TestHelpers.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore; Stop-TestServers }

Describe 'Versioned data from the user''s side (<Backend>)' -ForEach $Backends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Connect-TestStore $Backend $store
        $data = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        Set-Content (Join-Path $data 'one.csv') "1,2`n3,4"
        Set-Content (Join-Path $data 'two.csv') '5,6'
        $iris = Join-Path $data 'iris.csv'
        Set-Content $iris "5.1,3.5,1.4,0.2,Iris-setosa`n4.9,3.0,1.4,0.2,Iris-setosa"
    }

    It 'plays the transcript of the foundation issue' {
        $info = Get-PachStore
        $info.Path | Should -Be (Resolve-Path $store).Path
        $repos = New-PachRepo training, attributes
        $repos.Name | Should -Be @('training', 'attributes')
        (Get-PachRepo).Name | Should -Be @('attributes', 'training')
        $commit = Add-PachFile training master iris.csv -Source $iris
        $commit.FileCount | Should -Be 1
        $file = Get-PachFile training master
        $file.Path | Should -Be '/iris.csv'
        $file.Size | Should -Be (Get-Item $iris).Length
        $file.Commit | Should -Be $commit.Commit
        Get-PachFileContent training master iris.csv | Select-Object -First 1 | Should -Be '5.1,3.5,1.4,0.2,Iris-setosa'
        $piped = Get-ChildItem (Join-Path $data '*.csv') | Add-PachFile attributes master
        @($piped).Count | Should -Be 1
        (Get-PachFile attributes master).Path | Should -Be @('/iris.csv', '/one.csv', '/two.csv')
        @(Get-PachCommit attributes -History).Count | Should -Be 1
        (Get-PachRepo training).Size | Should -Be (Get-Item $iris).Length
        (Get-PachStore).ObjectCount | Should -BeGreaterThan 0
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'keeps history and resolves ancestry references' {
        New-PachRepo data | Out-Null
        $c1 = Add-PachFile data master a.txt -Value 'one'
        $c2 = Add-PachFile data master a.txt -Value 'two'
        $c3 = Add-PachFile data master b.txt -Value 'three'
        (Get-PachCommit data master^).Commit | Should -Be $c2.Commit
        (Get-PachCommit data master~2).Commit | Should -Be $c1.Commit
        (Get-PachCommit data master.1).Commit | Should -Be $c1.Commit
        (Get-PachCommit data $c3.Commit.Substring(0, 10)).Commit | Should -Be $c3.Commit
        Get-PachFileContent data master^^ a.txt | Should -Be 'one'
        (Get-PachFile data master a.txt -History).Commit | Should -Be @($c2.Commit, $c1.Commit)
        $diff = Compare-PachCommit data master
        $diff.Path | Should -Be '/b.txt'
        $diff.Change | Should -Be 'Added'
        (Compare-PachCommit data master master.1).Change | Sort-Object | Should -Be @('Added', 'Modified')
    }

    It 'writes a branch''s history a page at a time: the newest commits before older ones are read' {
        New-PachRepo long | Out-Null
        foreach ($i in 1..110) { Add-PachFile long master a.txt -Value "$i" | Out-Null }
        $all = @(Get-PachCommit long master -History)
        $all.Count | Should -Be 110
        $all.Parent | Select-Object -First 109 | Should -Be ($all.Commit | Select-Object -Skip 1)
        $all[-1].Parent | Should -BeNullOrEmpty
        (Get-PachCommit long master -Max 105).Commit | Should -Be ($all.Commit | Select-Object -First 105)
        # A tag given to an old commit (in the second page) while the first commit is handled shows on it: that page
        # was read after the first commit was written.
        $old = $all[105].Commit
        $seen = Get-PachCommit long master -History | ForEach-Object -Begin { $n = 0 } -Process {
            if ($n++ -eq 0) { New-PachTag long late -Commit $old | Out-Null }
            $_
        }
        ($seen | Where-Object Commit -EQ $old).Tags | Should -Be 'late'
        $seen.Count | Should -Be 110
    }

    It 'writes a listing a page at a time: every node once, a folder just before what is under it, the first before later pages are read' {
        New-PachRepo many | Out-Null
        $src = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        foreach ($d in 0..2) {
            $dir = New-Item -ItemType Directory (Join-Path $src "d$d")
            foreach ($i in 0..49) { Set-Content (Join-Path $dir ('f{0:D2}.txt' -f $i)) "$d $i" -NoNewline }
        }
        # A name beside a folder that sorts before the folder's '/' ('.' < '/').
        Set-Content (Join-Path $src 'd1.txt') 'beside' -NoNewline
        Add-PachFile many master / -Source $src -Recurse | Out-Null
        $ordinal = { param($list) $sorted = [string[]]@($list); [Array]::Sort($sorted, [StringComparer]::Ordinal); $sorted }

        # More than the first page (100): every file once, in path order.
        $files = @(Get-PachFile many master / -Recurse)
        $files.Count | Should -Be 151
        $files.Path | Should -Be (& $ordinal $files.Path)
        (Get-PachFile many master / -Recurse | Select-Object -First 1).Path | Should -Be '/d0/f00.txt'
        # A glob gives folders too, each keyed by its path and a '/', with the size of what is under it.
        $nodes = @(Get-PachFile many master '/**')
        $nodes.Count | Should -Be 154
        $keys = $nodes | ForEach-Object { if ($_.Type -eq 'Directory') { $_.Path + '/' } else { $_.Path } }
        $keys | Should -Be (& $ordinal $keys)
        (Get-PachFile many master '/d1*').Path | Should -Be @('/d1.txt', '/d1')
        ($nodes | Where-Object Path -EQ '/d2').Size | Should -Be (($files | Where-Object Path -Like '/d2/*').Size | Measure-Object -Sum).Sum

        # A file added to an open commit while the first file is handled shows at the end: the page holding it was read
        # after the first object was written.
        $open = Start-PachCommit many master
        $seen = Get-PachFile many $open.Commit / -Recurse | ForEach-Object -Begin { $n = 0 } -Process {
            if ($n++ -eq 0) { Add-PachFile many $open.Commit /zz.txt -Value 'late' | Out-Null }
            $_
        }
        $seen.Count | Should -Be 152
        $seen[-1].Path | Should -Be '/zz.txt'
        $open | Complete-PachCommit | Out-Null
    }

    It 'gathers calls into one commit with Start- and Complete-PachCommit' {
        New-PachRepo data | Out-Null
        $open = Start-PachCommit data master -Message 'batch'
        Add-PachFile data master x -Value 'x' | Out-Null
        Add-PachFile data $open.Commit y -Value 'y' | Out-Null
        { Get-PachCommit data master } | Should -Throw -ErrorId 'CommitNotFound,PachPS.Commands.GetPachCommitCommand'
        $done = $open | Complete-PachCommit
        $done.FileCount | Should -Be 2
        $done.Message | Should -Be 'batch'
        { Add-PachFile data $open.Commit z -Value 'z' } | Should -Throw -ErrorId 'CommitFinished,PachPS.Commands.AddPachFileCommand'
    }

    It 'Add-PachFile -Recurse: a folder keeps its name without -Path, puts its contents at -Path, and names its contents with a wildcard' {
        New-Item -ItemType Directory (Join-Path $data 'sub') | Out-Null
        Set-Content (Join-Path $data 'sub/z.txt') 'z'
        Set-Content (Join-Path $data '.hidden') 'h'
        $folder = Split-Path $data -Leaf
        $cases = [ordered]@{
            itself    = { Add-PachFile itself master -Source $data -Recurse }
            contents  = { Add-PachFile contents master / -Source $data -Recurse }
            wildcard  = { Add-PachFile wildcard master -Source (Join-Path $data '*') -Recurse }
            under     = { Add-PachFile under master /x -Source (Join-Path $data '*') -Recurse }
            several   = { Add-PachFile several master /x -Source $data, $iris -Recurse }
        }
        foreach ($repo in $cases.Keys) { New-PachRepo $repo | Out-Null; & $cases[$repo] | Out-Null }
        function Files($repo) { (Get-PachFile $repo master -Recurse | Where-Object Type -EQ File).Path }
        Files itself | Should -Be @("/$folder/.hidden", "/$folder/iris.csv", "/$folder/one.csv", "/$folder/sub/z.txt", "/$folder/two.csv")
        Files contents | Should -Be @('/.hidden', '/iris.csv', '/one.csv', '/sub/z.txt', '/two.csv')
        Files wildcard | Should -Be @('/iris.csv', '/one.csv', '/sub/z.txt', '/two.csv')   # a wildcard skips hidden files
        # Several sources: each goes under -Path by its name (a folder among them is not spilled into -Path).
        Files under | Should -Be @('/x/iris.csv', '/x/one.csv', '/x/sub/z.txt', '/x/two.csv')
        Files several | Sort-Object | Should -Be (@('/x/iris.csv', "/x/$folder/.hidden", "/x/$folder/iris.csv", "/x/$folder/one.csv", "/x/$folder/sub/z.txt", "/x/$folder/two.csv") | Sort-Object)
    }

    It 'adds folders recursively, appends, globs, saves, copies and removes' {
        New-PachRepo data, other | Out-Null
        New-Item -ItemType Directory (Join-Path $data 'sub/deeper') -Force | Out-Null
        Set-Content (Join-Path $data 'sub/deeper/z.txt') 'z'
        Add-PachFile data master / -Source $data -Recurse | Out-Null
        (Get-PachFile data master -Recurse).Path | Should -Contain '/sub/deeper/z.txt'
        (Get-PachFile data master '/**.csv').Path | Should -Be @('/iris.csv', '/one.csv', '/two.csv')
        (Get-PachFile data master '/sub').Type | Should -Be 'Directory'
        Add-PachFile data master two.csv -Value "7,8`n" -Append | Out-Null
        (Get-PachFileContent data master two.csv -Raw) | Should -Be "5,6`n7,8`n"
        $bytes = Get-PachFileContent data master one.csv -AsByteStream
        $bytes.GetType() | Should -Be ([byte[]])
        $out = Join-Path $TestDrive 'saved'
        New-Item -ItemType Directory $out | Out-Null
        Save-PachFile data master /sub $out | Out-Null
        Get-Content (Join-Path $out 'deeper/z.txt') | Should -Be 'z'
        { Save-PachFile data master /no-such $out -ErrorAction Stop } | Should -Throw -ErrorId 'FileNotFound,PachPS.Commands.SavePachFileCommand'
        Copy-PachFile data master /sub /copied -DestinationRepo other | Out-Null
        Get-PachFileContent other master /copied/deeper/z.txt | Should -Be 'z'
        Get-PachFile data master one.csv | Remove-PachFile -Confirm:$false | Out-Null
        (Get-PachFile data master).Path | Should -Not -Contain '/one.csv'
    }

    It 'pipes repos, branches and files between cmdlets' {
        New-PachRepo x, y | Out-Null
        Add-PachFile x master f -Value 'content' | Out-Null
        New-PachBranch x dev master | Out-Null
        (Get-PachBranch x).Name | Should -Be @('dev', 'master')
        Get-PachFile x dev f | Get-PachFileContent | Should -Be 'content'
        Get-PachBranch x dev | Remove-PachBranch -Confirm:$false
        (Get-PachBranch x).Name | Should -Be 'master'
        Get-PachRepo y | Remove-PachRepo -Confirm:$false
        (Get-PachRepo).Name | Should -Be 'x'
    }

    Context 'bad input gets a stable ErrorId and changes nothing' {
        BeforeEach {
            New-PachRepo data | Out-Null
            Add-PachFile data master a -Value '1' | Out-Null
            $before = @(Get-PachCommit data -History).Count
        }
        AfterEach {
            @(Get-PachCommit data -History).Count | Should -Be $before
            (Get-PachRepo).Name | Should -Be 'data'
            Test-PachStore | Should -BeNullOrEmpty
        }
        It '<name>' -ForEach @(
            @{ name = 'unknown repo'; action = { Get-PachFile nope master -ErrorAction Stop }; id = 'RepoNotFound,PachPS.Commands.GetPachFileCommand' }
            @{ name = 'unknown branch'; action = { Get-PachFile data nope -ErrorAction Stop }; id = 'BranchNotFound,PachPS.Commands.GetPachFileCommand' }
            @{ name = 'unknown commit'; action = { Get-PachCommit data 0123456789abcdef }; id = 'CommitNotFound,PachPS.Commands.GetPachCommitCommand' }
            @{ name = 'unknown file'; action = { Get-PachFileContent data master nope.txt -ErrorAction Stop }; id = 'FileNotFound,PachPS.Commands.GetPachFileContentCommand' }
            @{ name = 'existing repo'; action = { New-PachRepo data -ErrorAction Stop }; id = 'RepoAlreadyExists,PachPS.Commands.NewPachRepoCommand' }
            @{ name = 'name with spaces'; action = { New-PachRepo 'bad name' -ErrorAction Stop }; id = 'InvalidRepoName,PachPS.Commands.NewPachRepoCommand' }
            @{ name = 'path with ..'; action = { Add-PachFile data master ../../x -Value 'x' }; id = 'InvalidPath,PachPS.Commands.AddPachFileCommand' }
            @{ name = 'empty path segment'; action = { Add-PachFile data master 'a//b' -Value 'x' }; id = 'InvalidPath,PachPS.Commands.AddPachFileCommand' }
            @{ name = 'control character'; action = { Add-PachFile data master "a`tb" -Value 'x' }; id = 'InvalidPath,PachPS.Commands.AddPachFileCommand' }
            @{ name = 'missing source'; action = { Add-PachFile data master x -Source (Join-Path $TestDrive 'missing.csv') }; id = 'SourceNotFound,PachPS.Commands.AddPachFileCommand' }
            @{ name = 'file under a file'; action = { Add-PachFile data master a/b -Value 'x' }; id = 'PathConflict,PachPS.Commands.AddPachFileCommand' }
            @{ name = 'bad ancestry'; action = { Get-PachCommit data 'master^x' }; id = 'InvalidCommitReference,PachPS.Commands.GetPachCommitCommand' }
        ) {
            { & $action } | Should -Throw -ErrorId $id
        }
        It 'adding to a finished commit' {
            $c = Get-PachCommit data master
            { Add-PachFile data $c.Commit b -Value 'x' } | Should -Throw -ErrorId 'CommitFinished,PachPS.Commands.AddPachFileCommand'
        }
        It 'the error category and target name the offending thing' {
            $err = { Get-PachFile nope master -ErrorAction Stop } | Should -Throw -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err.TargetObject | Should -Be 'nope'
        }
    }

    It 'Test-PachStore on a sound store outputs nothing and ends with a one-line summary that shows like Write-Host' {
        New-PachRepo data | Out-Null
        Add-PachFile data master a.txt -Value 'a' | Out-Null
        Add-PachFile data master b.txt -Value 'b' | Out-Null
        $out = Test-PachStore -InformationVariable info
        $out | Should -BeNullOrEmpty
        $summary = @($info | Where-Object Tags -Contains 'PachPS.Summary')
        $summary.Count | Should -Be 1
        $summary[0].Tags | Should -Contain 'PSHOST'   # shown unless the caller hides it (-InformationAction Ignore, 6>$null)
        "$($summary[0].MessageData)" | Should -Match "^Test-PachStore: checked 2 commits in .+: no findings\.$"
        if (Test-PachStore -InformationAction Ignore) { throw 'a sound store has no findings' }
        Test-PachStore -Quiet -InformationVariable quiet | Should -BeTrue
        $quiet | Should -BeNullOrEmpty
    }

    It 'reports a corrupted or missing object in Test-PachStore and in the read that hits it' {
        New-PachRepo data | Out-Null
        $bytes = [byte[]]::new(300KB); [System.Random]::new(4).NextBytes($bytes)
        Add-PachFile data master big.bin -Value $bytes | Out-Null
        Add-PachFile data master small.txt -Value 'small' | Out-Null
        Test-PachStore -Quiet | Should -BeTrue
        if ($Backend -eq 'Remote') {
            # The server's store keeps its content in the folder's objects/, which this test can reach directly.
            $files = Get-ChildItem (Join-Path $store 'objects') -Recurse -File
            Set-Content ($files | Where-Object FullName -Match '[/\\]chunk[/\\]' | Select-Object -First 1).FullName 'rot'
            Remove-Item ($files | Where-Object FullName -Match '[/\\]pack[/\\]' | Select-Object -First 1).FullName
        }
        else {
            $objects = [PachPS.Infrastructure.StoreSession]::Current.Objects
            $chunk = @($objects.List('chunk/'))[0]
            if ($Backend -eq 'Local') { Set-Content (Get-ChildItem (Join-Path $store 'objects') -Recurse -File | Where-Object Name -EQ ($chunk -split '/')[1]).FullName 'rot' }
            else { $objects.Put($chunk, [byte[]](1, 2, 3)) }
            $objects.Delete(@($objects.List('pack/'))[0])
        }
        Connect-TestStore $Backend $store   # a fresh open: nothing cached
        $findings = Test-PachStore -InformationVariable info
        # The chunk index names the deleted pack too (ChunkIndexStale: new writes must not name it).
        $findings.Kind | Sort-Object -Unique | Should -Be @('ChunkIndexStale', 'ObjectCorrupt', 'ObjectMissing')
        "$(($info | Where-Object Tags -Contains 'PachPS.Summary').MessageData)" | Should -Match ": $(@($findings).Count) findings\.$"
        { Get-PachFileContent data master big.bin -AsByteStream -ErrorAction Stop } | Should -Throw -ErrorId 'ObjectCorrupt,PachPS.Commands.GetPachFileContentCommand'
        { Get-PachFileContent data master small.txt -ErrorAction Stop } | Should -Throw -ErrorId 'ObjectMissing,PachPS.Commands.GetPachFileContentCommand'
    }
}

Describe 'Crashes and concurrent processes (<Backend>)' -ForEach $Backends {
    # A copy for this block: the skip must not leak into the files discovered after this one.
    $PSDefaultParameterValues = $PSDefaultParameterValues.Clone(); $PSDefaultParameterValues['It:Skip'] = $SkipBackend
    BeforeEach {
        $store = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
    }

    It 'survives kill -9 in the middle of a large recursive add' {
        $src = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $rng = [System.Random]::new(3)
        foreach ($d in 1..4) {
            $dir = New-Item -ItemType Directory (Join-Path $src "d$d")
            foreach ($i in 1..6) { $b = [byte[]]::new(2MB); $rng.NextBytes($b); [System.IO.File]::WriteAllBytes((Join-Path $dir "big$i.bin"), $b) }
            foreach ($i in 1..300) { Set-Content (Join-Path $dir "f$i.txt") "file $d $i" }
        }
        $total = @(Get-ChildItem $src -Recurse -File).Count
        $child = Start-ChildPwsh "$(Get-ConnectCommand $Backend $store); New-PachRepo big | Out-Null; Add-PachFile big master / -Source '$src' -Recurse | Out-Null"
        # Kill it once its ingest has stored content (seen through the store itself, on either backend).
        Connect-TestStore $Backend $store
        $deadline = (Get-Date).AddSeconds(90)
        while (-not $child.HasExited -and (Get-Date) -lt $deadline -and (Get-PachStore).ObjectCount -lt 3) { Start-Sleep -Milliseconds 20 }
        Disconnect-PachStore
        $child.HasExited | Should -BeFalse -Because 'the ingest must still be running when it is killed'
        $child.Kill()   # SIGKILL: no cleanup runs
        $child.WaitForExit()
        Connect-TestStore $Backend $store
        try {
            Test-PachStore | Should -BeNullOrEmpty
            $commits = @(Get-PachCommit big -History -ErrorAction SilentlyContinue)
            if ($commits.Count -gt 0) { $commits[0].FileCount | Should -Be $total } # all of it or nothing
            Add-PachFile big master / -Source $src -Recurse | Out-Null
            (Get-PachCommit big master).FileCount | Should -Be $total
            Test-PachStore | Should -BeNullOrEmpty
        }
        finally { Disconnect-PachStore }
    }

    It 'lets two processes write and list the same store at once' {
        Connect-TestStore $Backend $store
        New-PachRepo a, b | Out-Null
        Disconnect-PachStore
        $writer = { param($repo) "$(Get-ConnectCommand $Backend $store); foreach (`$i in 1..25) { Add-PachFile $repo master f`$i -Value `$i | Out-Null; Get-PachRepo | Out-Null }" }
        $p1 = Start-ChildPwsh (& $writer 'a')
        $p2 = Start-ChildPwsh (& $writer 'b')
        $p1.WaitForExit(120000) | Should -BeTrue
        $p2.WaitForExit(120000) | Should -BeTrue
        $p1.ExitCode | Should -Be 0 -Because $p1.StandardError.ReadToEnd()
        $p2.ExitCode | Should -Be 0 -Because $p2.StandardError.ReadToEnd()
        Connect-TestStore $Backend $store
        try {
            (Get-PachCommit a master).FileCount | Should -Be 25
            (Get-PachCommit b master).FileCount | Should -Be 25
            @(Get-PachCommit a -History).Count | Should -Be 25
            Test-PachStore | Should -BeNullOrEmpty
        }
        finally { Disconnect-PachStore }
    }
}
