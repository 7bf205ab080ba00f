#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Issue 17, items 1 to 3 from the user's side: tags, references (tags, branch@{time}, ambiguity) and commit messages
# and metadata, through the cmdlets, the pfs: drive and tab completion.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText }
    function Get-State {
        # What a refused change must leave as it was: commits, branches and tags of every repo.
        (Get-PachRepo | ForEach-Object {
                $r = $_.Name
                "${r}:" + (@(Get-PachCommit $r -History -ErrorAction Ignore).Commit -join ',') + ':' +
                ((Get-PachBranch $r | ForEach-Object { "$($_.Name)=$($_.Head)/$($_.OpenCommit)" }) -join ',') + ':' +
                ((Get-PachTag $r | ForEach-Object { "$($_.Name)=$($_.Commit)" }) -join ',')
            }) -join '|'
    }
}
AfterAll { Set-Location $RepoRoot; Disconnect-PachStore }

Describe 'Tags' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo training, attributes | Out-Null
        $c1 = Add-PachFile training master iris.csv -Value 'one'
        $c2 = Add-PachFile training master iris.csv -Value 'two'
    }

    It 'names a commit, works wherever a commit reference does, and shows on Get-PachCommit' {
        $tag = New-PachTag training v1 -Commit master^ -Message 'data the March model saw'
        $tag.GetType().Name | Should -Be 'TagInfo'
        $tag.Repo, $tag.Name, $tag.Tag, $tag.Commit, $tag.Message | Should -Be @('training', 'v1', 'v1', $c1.Commit, 'data the March model saw')
        $tag.Created | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddMinutes(-5))
        Get-PachFileContent training v1 iris.csv | Should -Be 'one'
        (Get-PachFile training v1).Commit | Should -Be $c1.Commit
        (Compare-PachCommit training master v1).Change | Should -Be 'Modified'
        (Get-PachCommit training v1).Tags | Should -Be @('v1')
        (Get-PachCommit training master).Tags | Should -BeNullOrEmpty
        (Get-PachCommit training -History).Tags | Should -Be @('v1')
        # A tag pipes into what takes -Repo and -Commit; a commit pipes into New-PachTag.
        (Get-PachTag training v1 | Get-PachFile).Commit | Should -Be $c1.Commit
        $c2 | New-PachTag -Name latest | Out-Null
        (Get-PachTag training latest).Commit | Should -Be $c2.Commit
        (Get-PachCommit training master).Tags | Should -Be @('latest')
        # The table view names the tag and its short commit.
        (Get-PachTag training | Out-String -Width 80) | Should -Match "training\s+v1\s+$($c1.Commit.Substring(0, 16))"
        Test-PachStore | Should -BeNullOrEmpty
    }

    It 'tags master''s head when -Commit is left out' {
        (New-PachTag training v2).Commit | Should -Be $c2.Commit
    }

    It 'lists by repo and name, with wildcards, across repos' {
        Add-PachFile attributes master a.csv -Value 'a' | Out-Null
        New-PachTag training v1 -Commit master^ | Out-Null
        New-PachTag training v2 | Out-Null
        New-PachTag attributes v1 | Out-Null
        (Get-PachTag training).Name | Should -Be @('v1', 'v2')
        (Get-PachTag | ForEach-Object { "$($_.Repo)/$($_.Name)" }) | Should -Be @('attributes/v1', 'training/v1', 'training/v2')
        (Get-PachTag -Name v2).Repo | Should -Be 'training'
        (Get-PachTag training v*).Name | Should -Be @('v1', 'v2')
        Get-PachTag training 'x*' | Should -BeNullOrEmpty
        { Get-PachTag training nope -ErrorAction Stop } | Should -Throw -ErrorId 'TagNotFound,PachPS.Commands.GetPachTagCommand'
    }

    It 'never moves: the same name again fails, moving one is remove + new' {
        New-PachTag training v1 -Commit master^ | Out-Null
        $before = Get-State
        { New-PachTag training v1 -Commit master -ErrorAction Stop } | Should -Throw -ErrorId 'TagAlreadyExists,PachPS.Commands.NewPachTagCommand'
        Get-State | Should -Be $before
        Remove-PachTag training v1 -Confirm:$false
        (New-PachTag training v1 -Commit master).Commit | Should -Be $c2.Commit
        (Get-PachCommit training $c1.Commit).Tags | Should -BeNullOrEmpty
    }

    It 'removes tags by name or from the pipeline, and with -WhatIf changes nothing' {
        New-PachTag training v1 -Commit master^ | Out-Null
        New-PachTag training v2 | Out-Null
        Remove-PachTag training v1 -WhatIf
        New-PachTag training v3 -WhatIf
        (Get-PachTag training).Name | Should -Be @('v1', 'v2')
        Get-PachTag training | Remove-PachTag -Confirm:$false
        Get-PachTag training | Should -BeNullOrEmpty
        (Get-PachCommit training -History).Commit | Should -Be @($c2.Commit, $c1.Commit)   # the commits stay
        { Remove-PachTag training v1 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'TagNotFound,PachPS.Commands.RemovePachTagCommand'
    }

    It 'refuses to undo a tagged commit, naming the tag, until the tag is removed' {
        New-PachTag training shipped | Out-Null
        $before = Get-State
        $err = { Remove-PachCommit training master -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CommitTagged,PachPS.Commands.RemovePachCommitCommand' -PassThru
        $err.Exception.Message | Should -Match "tag 'shipped'"
        $err.TargetObject | Should -Be 'training@shipped'
        Get-State | Should -Be $before
        Remove-PachTag training shipped -Confirm:$false
        (Remove-PachCommit training master -Confirm:$false).Commit | Should -Be $c2.Commit
    }

    It 'goes with its repo' {
        New-PachTag training v1 | Out-Null
        Remove-PachRepo training -Confirm:$false
        Get-PachTag | Should -BeNullOrEmpty
        New-PachRepo training | Out-Null
        Get-PachTag training | Should -BeNullOrEmpty
    }

    It 'is read-only to writers and shares no name with a branch' {
        New-PachTag training v1 | Out-Null
        $before = Get-State
        { Add-PachFile training v1 x.txt -Value 'x' } | Should -Throw -ErrorId 'CommitFinished,PachPS.Commands.AddPachFileCommand'
        { Remove-PachFile training v1 iris.csv -Confirm:$false } | Should -Throw -ErrorId 'CommitFinished,PachPS.Commands.RemovePachFileCommand'
        { New-PachBranch training v1 master -ErrorAction Stop } | Should -Throw -ErrorId 'NameInUse,PachPS.Commands.NewPachBranchCommand'
        { Start-PachCommit training v1 } | Should -Throw -ErrorId 'NameInUse,PachPS.Commands.StartPachCommitCommand'
        { New-PachTag training master -ErrorAction Stop } | Should -Throw -ErrorId 'NameInUse,PachPS.Commands.NewPachTagCommand'
        Get-State | Should -Be $before
    }

    Context 'bad input gets a stable ErrorId and changes nothing' {
        BeforeEach { $before = Get-State }
        AfterEach {
            Get-State | Should -Be $before
            Test-PachStore | Should -BeNullOrEmpty
        }
        It '<name>' -ForEach @(
            @{ name = 'unknown repo'; action = { New-PachTag nope v1 -ErrorAction Stop }; id = 'RepoNotFound,PachPS.Commands.NewPachTagCommand' }
            @{ name = 'unknown repo to list'; action = { Get-PachTag nope -ErrorAction Stop }; id = 'RepoNotFound,PachPS.Commands.GetPachTagCommand' }
            @{ name = 'unknown repo to remove'; action = { Remove-PachTag nope v1 -Confirm:$false -ErrorAction Stop }; id = 'RepoNotFound,PachPS.Commands.RemovePachTagCommand' }
            @{ name = 'unknown tag'; action = { Get-PachFile training v9 -ErrorAction Stop }; id = 'BranchNotFound,PachPS.Commands.GetPachFileCommand' }
            @{ name = 'tag name with spaces'; action = { New-PachTag training 'v 1' -ErrorAction Stop }; id = 'InvalidTagName,PachPS.Commands.NewPachTagCommand' }
            @{ name = 'tag name with ancestry'; action = { New-PachTag training 'v1^' -ErrorAction Stop }; id = 'InvalidTagName,PachPS.Commands.NewPachTagCommand' }
            @{ name = 'commit that does not parse'; action = { New-PachTag training v1 -Commit 'master^x' -ErrorAction Stop }; id = 'InvalidCommitReference,PachPS.Commands.NewPachTagCommand' }
            @{ name = 'unknown commit'; action = { New-PachTag training v1 -Commit nope -ErrorAction Stop }; id = 'BranchNotFound,PachPS.Commands.NewPachTagCommand' }
        ) {
            { & $action } | Should -Throw -ErrorId $id
        }
    }

    It 'refuses to tag an open commit' {
        $open = Start-PachCommit training staging
        $before = Get-State
        { New-PachTag training v1 -Commit $open.Commit -ErrorAction Stop } | Should -Throw -ErrorId 'CommitNotFinished,PachPS.Commands.NewPachTagCommand'
        Get-State | Should -Be $before
    }
}

Describe 'References' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'refs') | Out-Null
        New-PachRepo data | Out-Null
        $c1 = Add-PachFile data master a.txt -Value 'one'
        Start-Sleep -Milliseconds 50
        $between = [DateTimeOffset]::UtcNow
        Start-Sleep -Milliseconds 50
        $c2 = Add-PachFile data master a.txt -Value 'two'
        function Ref([DateTimeOffset] $Time, [string] $Format = 'yyyy-MM-ddTHH:mm:ss.fffffffZ') { "master@{$($Time.UtcDateTime.ToString($Format, [cultureinfo]::InvariantCulture))}" }
    }

    It 'branch@{time} is the head as it was then, in every cmdlet that takes a commit' {
        (Get-PachCommit data (Ref $between)).Commit | Should -Be $c1.Commit
        Get-PachFileContent data (Ref $between) a.txt | Should -Be 'one'
        (Get-PachFile data (Ref $between)).Commit | Should -Be $c1.Commit
        (Compare-PachCommit data master (Ref $between)).Change | Should -Be 'Modified'
        (Get-PachCommit data 'master@{2999-12-31}').Commit | Should -Be $c2.Commit
        (Get-PachCommit data "$(Ref $c2.Finished)^").Commit | Should -Be $c1.Commit
        (New-PachTag data before -Commit (Ref $between)).Commit | Should -Be $c1.Commit
        Remove-PachTag data before -Confirm:$false
        (New-PachBranch data old (Ref $between)).Head | Should -Be $c1.Commit
        Remove-PachBranch data old -Confirm:$false
    }
    It 'reads a time without an offset as UTC, and one with an offset as that instant' {
        $unmarked = 'master@{' + $between.UtcDateTime.ToString('yyyy-MM-dd HH:mm:ss.fffffff', [cultureinfo]::InvariantCulture) + '}'
        (Get-PachCommit data $unmarked).Commit | Should -Be $c1.Commit
        $east = 'master@{' + $between.ToOffset([timespan]::FromHours(9)).ToString('yyyy-MM-ddTHH:mm:ss.fffffffzzz', [cultureinfo]::InvariantCulture) + '}'
        (Get-PachCommit data $east).Commit | Should -Be $c1.Commit
    }
    It 'is refused for a time before the branch, one that does not parse, or a tag' {
        { Get-PachCommit data 'master@{2000-01-01}' } | Should -Throw -ErrorId 'CommitNotFound,PachPS.Commands.GetPachCommitCommand'
        { Get-PachCommit data 'master@{last tuesday}' } | Should -Throw -ErrorId 'InvalidCommitReference,PachPS.Commands.GetPachCommitCommand'
        { Get-PachFile data 'master@{2026-02-30}' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCommitReference,PachPS.Commands.GetPachFileCommand'
        { Get-PachCommit data 'nope@{2026-01-01}' } | Should -Throw -ErrorId 'BranchNotFound,PachPS.Commands.GetPachCommitCommand'
        New-PachTag data v1 | Out-Null
        try { { Get-PachCommit data 'v1@{2999-01-01}' } | Should -Throw -ErrorId 'InvalidCommitReference,PachPS.Commands.GetPachCommitCommand' }
        finally { Remove-PachTag data v1 -Confirm:$false }
    }
    It 'a name that is a branch and a commit id prefix is ambiguous, and the error lists both' {
        $prefix = $c1.Commit.Substring(0, 6)
        New-PachBranch data $prefix master | Out-Null
        try {
            $err = { Get-PachCommit data $prefix } | Should -Throw -ErrorId 'AmbiguousReference,PachPS.Commands.GetPachCommitCommand' -PassThru
            $err.Exception.Message | Should -Match "branch '$prefix'"
            $err.Exception.Message | Should -Match "commit $($c1.Commit)"
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            (Get-PachCommit data $c1.Commit.Substring(0, 12)).Commit | Should -Be $c1.Commit
        }
        finally { Remove-PachBranch data $prefix -Confirm:$false }
    }
}

Describe 'Commit message and metadata' {
    BeforeEach {
        Connect-PachStore -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))) | Out-Null
        New-PachRepo training, other | Out-Null
        $file = Join-Path $TestDrive 'iris.csv'
        Set-Content $file '5.1,3.5'
    }

    It 'goes on the commit of <name> and shows in Get-PachCommit' -ForEach @(
        @{ name = 'Add-PachFile'; make = { Add-PachFile training master iris.csv -Source $file -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } } }
        @{ name = 'Add-PachFile -Value'; make = { Add-PachFile training master iris.csv -Value 'x' -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } } }
        @{ name = 'Add-PachFile -Split'; make = { Add-PachFile training master lines -Value "a`nb" -Split Line -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } } }
        @{ name = 'Remove-PachFile'; make = { Add-PachFile training master x -Value 'x' | Out-Null; Remove-PachFile training master x -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } -Confirm:$false } }
        @{ name = 'Copy-PachFile'; make = { Add-PachFile other master x -Value 'x' | Out-Null; Copy-PachFile other master x /x -DestinationRepo training -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } } }
        @{ name = 'Start-PachCommit'; make = { Start-PachCommit training master -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } | Complete-PachCommit } }
        @{ name = 'Copy-Item into pfs:'; make = { Copy-Item $file pfs:\training\master\ -Message 'drop 2 bad rows' -Metadata @{ ticket = 'OPS-12'; rows = 148 } -PassThru } }
    ) {
        $made = & $make
        $made.Message | Should -Be 'drop 2 bad rows'
        $commit = Get-PachCommit training master
        $commit.Commit | Should -Be $made.Commit
        $commit.Message | Should -Be 'drop 2 bad rows'
        $commit.Metadata.GetType().Name | Should -Be 'ReadOnlyDictionary`2'
        $commit.Metadata.Keys | Should -Be @('rows', 'ticket')
        $commit.Metadata['ticket'] | Should -Be 'OPS-12'
        $commit.Metadata['rows'] | Should -Be '148'
        { $commit.Metadata.Add('x', 'y') } | Should -Throw
        # Kept by the store, not just the object.
        Connect-PachStore -Path (Get-PachStore).Path | Out-Null
        (Get-PachCommit training master).Metadata['ticket'] | Should -Be 'OPS-12'
        (Get-PachCommit training master -History)[0].Message | Should -Be 'drop 2 bad rows'
    }

    It 'an ordinary commit has an empty message and no metadata' {
        $c = Add-PachFile training master iris.csv -Source $file
        $c.Message | Should -Be ''
        $c.Metadata.Count | Should -Be 0
        (Get-PachCommit training master).Metadata.Count | Should -Be 0
    }

    It 'an open commit gathers metadata, and a later message replaces the first' {
        $open = Start-PachCommit training master -Message 'load' -Metadata @{ source = 'warehouse' }
        Add-PachFile training master a -Value 'a' -Metadata @{ run = 42 } | Out-Null
        Add-PachFile training $open.Commit b -Value 'b' -Message 'load of two' | Out-Null
        $done = $open | Complete-PachCommit
        $done.Message | Should -Be 'load of two'
        $done.Metadata.Keys | Should -Be @('run', 'source')
        $done.Metadata['run'] | Should -Be '42'
    }

    It 'a copy between providers still has no -Message, and Copy-Item''s parameters are the built-in''s' {
        { Copy-Item $file (Join-Path $TestDrive 'copy.csv') -Message 'x' -ErrorAction Stop } | Should -Throw -ErrorId 'NamedParameterNotFound,Copy-Item'
        (Get-Command Copy-Item).Parameters.Keys | Should -Not -Contain 'Message'
    }

    Context 'bad metadata gets InvalidMetadata and writes nothing' {
        BeforeEach {
            Add-PachFile training master iris.csv -Value 'one' | Out-Null
            $before = Get-State
            $objects = (Get-PachStore).ObjectCount
        }
        AfterEach {
            Get-State | Should -Be $before
            (Get-PachStore).ObjectCount | Should -Be $objects
            Test-PachStore | Should -BeNullOrEmpty
        }
        It '<name>' -ForEach @(
            @{ name = 'an array value'; metadata = @{ a = @(1, 2) } }
            @{ name = 'a hashtable value'; metadata = @{ a = @{ b = 1 } } }
            @{ name = 'a null value'; metadata = @{ a = $null } }
            @{ name = 'a date value'; metadata = @{ when = [datetime]::new(2026, 1, 1) } }
            @{ name = 'an empty key'; metadata = @{ '' = 'x' } }
            @{ name = 'a key with a control character'; metadata = @{ "a`tb" = 'x' } }
            @{ name = 'a key too long'; metadata = @{ ('k' * 129) = 'x' } }
            @{ name = 'a value too long'; metadata = @{ k = ('v' * 4097) } }
            @{ name = 'too many pairs'; metadata = (& { $h = @{}; foreach ($i in 1..65) { $h["k$i"] = 'v' }; $h }) }
        ) {
            { Add-PachFile training master new.csv -Source $file -Metadata $metadata } | Should -Throw -ErrorId 'InvalidMetadata,PachPS.Commands.AddPachFileCommand'
            { Remove-PachFile training master iris.csv -Metadata $metadata -Confirm:$false } | Should -Throw -ErrorId 'InvalidMetadata,PachPS.Commands.RemovePachFileCommand'
            { Copy-PachFile training master iris.csv /copy.csv -Metadata $metadata } | Should -Throw -ErrorId 'InvalidMetadata,PachPS.Commands.CopyPachFileCommand'
            { Start-PachCommit training master -Metadata $metadata } | Should -Throw -ErrorId 'InvalidMetadata,PachPS.Commands.StartPachCommitCommand'
            { Copy-Item $file pfs:\training\master\new.csv -Metadata $metadata -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidMetadata,PachPS.Commands.AddPachFileCommand'
        }
        It 'a message too long' {
            { Add-PachFile training master new.csv -Source $file -Message ('m' * 65537) } | Should -Throw -ErrorId 'MessageTooLong,PachPS.Commands.AddPachFileCommand'
        }
    }
}

Describe 'Tags on the pfs: drive and in tab completion' {
    BeforeAll {
        Connect-PachStore -Path (Join-Path $TestDrive 'drive') | Out-Null
        New-PachRepo training | Out-Null
        Add-PachFile training master iris.csv -Value "1,2`n3,4" | Out-Null
        Add-PachFile training master /data/a.csv -Value 'x' | Out-Null
        New-PachTag training v1 -Commit master^ -Message 'first load' | Out-Null
        New-PachTag training v2 | Out-Null
        New-PachBranch training dev master | Out-Null
    }

    It 'lists a repo''s tags after its branches, and reads a tagged commit as a folder' {
        (Get-ChildItem pfs:\training).Name | Should -Be @('dev', 'master', 'v1', 'v2')
        (Get-Item pfs:\training\v1).Commit | Should -Be (Get-PachTag training v1).Commit
        (Get-ChildItem pfs:\training\v1\).Path | Should -Be '/iris.csv'
        (Get-ChildItem pfs:\training\v2 -Recurse).Path | Should -Be @('/data', '/data/a.csv', '/iris.csv')
        Get-Content pfs:\training\v1\iris.csv | Should -Be @('1,2', '3,4')
        Test-Path pfs:\training\v1\data | Should -BeFalse
        Set-Location pfs:\training\v1
        try { (Get-ChildItem).Name | Should -Be 'iris.csv' }
        finally { Set-Location $TestDrive }
    }
    It 'completes tag names in paths and in commit and tag parameters' {
        $paths = @(Complete 'Get-ChildItem pfs:\training\v')
        $paths.Count | Should -Be 2
        $paths[0] | Should -Match 'training.v1$'
        $paths[1] | Should -Match 'training.v2$'
        Complete 'Get-PachTag -Repo training -Name ' | Should -Be @('v1', 'v2')
        Complete 'Remove-PachTag -Repo training -Name v' | Should -Be @('v1', 'v2')
        Complete 'Get-PachTag -Name v' | Should -Be @('v1', 'v2')
        $commits = Complete 'Get-PachFile -Repo training -Commit '
        $commits[0..3] | Should -Be @('dev', 'master', 'v1', 'v2')
        Complete 'Get-PachFileContent -Repo training -Commit v1 -Path ' | Should -Be 'iris.csv'
        Complete 'New-PachTag -Repo training -Commit v' | Should -Be @('v1', 'v2')
    }
    It 'a tagged commit on the drive is read-only too' {
        { Copy-Item (Join-Path $RepoRoot 'README.md') pfs:\training\v1\ -ErrorAction Stop } | Should -Throw -ErrorId 'CommitFinished,PachPS.Commands.AddPachFileCommand'
    }
}
