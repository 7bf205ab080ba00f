#requires -Version 7.4
<#
.SYNOPSIS
    Ingests one day's files into a repo, waits for the pipelines downstream and checks their outputs.
.DESCRIPTION
    An ops runbook: every file of the day's drop folder goes into <Repo>@<Branch> under /<yyyy-MM-dd>/ in one commit;
    then the runbook waits for every pipeline downstream (like pachctl flush-commit), checks that each produced a
    commit with at least one file and that no job failed, and returns a report object. With -FailOnError it throws
    when the report is not healthy, so a scheduler marks the run red.
.EXAMPLE
    ./Invoke-DailyIngest.ps1 -Repo sales -DropFolder /data/drops/2026-11-26 -Date 2026-11-26
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Repo,
    [Parameter(Mandatory)] [string] $DropFolder,
    [datetime] $Date = (Get-Date),
    [string] $Branch = 'master',
    [int] $TimeoutSec = 600,
    [switch] $FailOnError
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module PachPS)) { Import-Module (Join-Path $PSScriptRoot '../../PachPS.psd1') }

$day = $Date.ToString('yyyy-MM-dd')
$files = @(Get-ChildItem -Path $DropFolder -File -Recurse)
if ($files.Count -eq 0) { throw "No files to ingest in '$DropFolder'." }
if (-not (Get-PachRepo -Name $Repo -ErrorAction SilentlyContinue)) { New-PachRepo $Repo | Out-Null }

$started = Get-Date
$commit = Add-PachFile $Repo $Branch "/$day/" -Source $DropFolder -Recurse
$outputs = @(Wait-PachCommit $Repo $commit.Commit -TimeoutSec $TimeoutSec)
$jobs = @(Get-PachJob | Where-Object { $_.Created -ge $started.ToUniversalTime().AddSeconds(-1) })
$problems = [System.Collections.Generic.List[string]]::new()
foreach ($job in $jobs | Where-Object State -NE 'Success') { $problems.Add("job $($job.Id.Substring(0, 16)) of $($job.Pipeline) ended $($job.State): $($job.Reason)") }
foreach ($out in $outputs | Where-Object FileCount -EQ 0) { $problems.Add("pipeline $($out.Repo) produced no files") }

$report = [pscustomobject]@{
    PSTypeName  = 'PachPS.Runbook.DailyIngestReport'
    Date        = $day
    Repo        = $Repo
    Commit      = $commit.Commit
    FilesAdded  = $files.Count
    BytesAdded  = ($files | Measure-Object Length -Sum).Sum
    Outputs     = $outputs
    Jobs        = $jobs
    Problems    = $problems.ToArray()
    Healthy     = $problems.Count -eq 0
    Duration    = (Get-Date) - $started
}
if ($FailOnError -and -not $report.Healthy) { throw "Daily ingest of $day is unhealthy: $($problems -join '; ')" }
$report
