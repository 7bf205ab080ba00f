#requires -Version 7.4
<#
.SYNOPSIS
    Plays the "End-to-end example - PyTorch and Pachyderm" tutorial, steps 2 to 11, in a fresh temporary store.
.DESCRIPTION
    Prints what each step shows and exits non-zero if any step's result is wrong. Build the module first
    (dotnet pwsh ./build.ps1 Build); `build.ps1 Example` does both.
#>
[CmdletBinding()]
param()
$ErrorActionPreference = 'Stop'
$here = $PSScriptRoot
$failures = [System.Collections.Generic.List[string]]::new()

function Step([string] $Title) { Write-Host "`n=== $Title" -ForegroundColor Cyan }
function Check([bool] $Condition, [string] $What) {
    if ($Condition) { Write-Host "  ok: $What" -ForegroundColor Green }
    else { Write-Host "  FAILED: $What" -ForegroundColor Red; $failures.Add($What) }
}
function Show($Value) { $Value | Out-Host }

# The transforms: one small .NET program, built once; the specs call it through $IRIS_MODEL.
$bin = Join-Path $here 'transforms/bin/example'
dotnet build (Join-Path $here 'transforms/IrisModel.csproj') -c Release -o $bin --nologo -v quiet | Out-Null
if ($LASTEXITCODE -ne 0) { throw 'building the iris transforms failed' }
$env:IRIS_MODEL = Join-Path $bin 'iris-model.dll'

Import-Module (Join-Path $here '../../PachPS.psd1')
$store = Connect-PachStore -Temporary
Write-Host "Temporary store: $($store.Path)"
try {
    $data = Join-Path $here 'data'
    $species = @{}
    Get-Content (Join-Path $data 'iris.csv') | ForEach-Object { $f = $_ -split ','; $species[($f[0..3] -join ',')] = $f[4] }

    Step '2. pachctl create-repo training; pachctl create-repo attributes'
    New-PachRepo training, attributes | Out-Null
    Show (Get-PachRepo)
    Check ((Get-PachRepo).Name -join ',' -eq 'attributes,training') 'two repos'

    Step '3. pachctl put-file training master -f iris.csv'
    Add-PachFile training master iris.csv -Source (Join-Path $data 'iris.csv') | Out-Null
    Show (Get-PachFile training master)
    Check ((Get-PachFile training master iris.csv).Size -eq (Get-Item (Join-Path $data 'iris.csv')).Length) 'iris.csv committed whole'

    Step '4. pachctl create-pipeline -f pre-process.json'
    New-PachPipeline -Path (Join-Path $here 'pre-process.json') | Out-Null
    Wait-PachCommit training master | Out-Null
    Show (Get-PachJob)
    Show (Get-PachFile pre_process master)
    Check ((Get-PachJob -Pipeline pre_process).State -eq 'Success') 'pre_process succeeded'
    Check (@(Get-PachFileContent pre_process master x_train.csv).Count -eq 150) 'x_train.csv has 150 rows'

    Step '5. pachctl create-pipeline -f train.json'
    New-PachPipeline -Path (Join-Path $here 'train.json') | Out-Null
    Wait-PachCommit pre_process master | Out-Null
    Show (Get-PachJob -Pipeline train)
    Show (Get-PachFile train master)
    Show (Get-PachLog -Pipeline train)
    Check ((Get-PachJob -Pipeline train).State -eq 'Success') 'train succeeded'

    Step '6. pachctl put-file attributes master -f test1.csv, test2.csv'
    Add-PachFile attributes master test1.csv -Source (Join-Path $data 'test1.csv') | Out-Null
    Add-PachFile attributes master test2.csv -Source (Join-Path $data 'test2.csv') | Out-Null
    Show (Get-PachFile attributes master)

    Step '7. pachctl create-pipeline -f infer.json'
    New-PachPipeline -Path (Join-Path $here 'infer.json') | Out-Null
    Show (Wait-PachCommit attributes master)
    Show (Get-PachJob)
    $job = Get-PachJob -Pipeline inference | Select-Object -First 1
    Check ($job.State -eq 'Success' -and $job.Progress -eq '2 + 0 / 2') 'inference ran 2 datums (cross of attributes /* and train /)'

    Step '8. pachctl get-file inference master test1.csv'
    $predicted = @(Get-PachFileContent inference master test1.csv)
    $rows = @(Get-Content (Join-Path $data 'test1.csv'))
    for ($i = 0; $i -lt $rows.Count; $i++) { Write-Host ("  {0,-20} -> {1}" -f $rows[$i], $predicted[$i]) }
    Check ($predicted.Count -eq 6) 'six predictions for test1.csv'
    $right = @(0..($rows.Count - 1) | Where-Object { $predicted[$_] -eq $species[$rows[$_]] }).Count
    Check ($right -eq $rows.Count) "each prediction is the species the row carries in iris.csv ($right/$($rows.Count))"
    # Accuracy of the model trained on the full data, over all of iris.csv.
    $scratch = New-Item -ItemType Directory (Join-Path ([System.IO.Path]::GetTempPath()) ("iris-" + [guid]::NewGuid().ToString('N')))
    Save-PachFile train master model (Join-Path $scratch 'model') | Out-Null
    $features = Join-Path $scratch 'features.csv'
    Get-Content (Join-Path $data 'iris.csv') | ForEach-Object { ($_ -split ',')[0..3] -join ',' } | Set-Content $features
    dotnet $env:IRIS_MODEL infer (Join-Path $scratch 'model') $features $scratch
    $all = @(Get-Content (Join-Path $scratch 'features.csv'))
    $labels = @(Get-Content (Join-Path $data 'iris.csv') | ForEach-Object { ($_ -split ',')[4] })
    $correct = @(0..149 | Where-Object { $all[$_] -eq $labels[$_] }).Count
    Write-Host ("  accuracy on iris.csv: {0}/150 = {1:P1}" -f $correct, ($correct / 150))
    Check ($correct / 150 -ge 0.95) 'the model classifies at least 95% of iris.csv correctly'
    Remove-Item $scratch -Recurse -Force

    Step '9. pachctl update-pipeline -f infer.json (parallelism_spec.constant = 3)'
    $spec = Get-Content (Join-Path $here 'infer.json') -Raw | ConvertFrom-Json
    $spec.parallelism_spec.constant = '3'
    Update-PachPipeline -Spec ($spec | ConvertTo-Json -Depth 20) | Out-Null
    Wait-PachCommit attributes master | Out-Null
    $job = Get-PachJob -Pipeline inference | Select-Object -First 1
    Show $job
    Check ($job.PipelineVersion -eq 2 -and $job.Progress -eq '0 + 2 / 2') 'new job skipped both unchanged datums (0 + 2 / 2)'

    Step '10. pachctl put-file training master -o -f iris.csv (new training data)'
    $before = @(Get-PachJob).Count
    $edited = Join-Path ([System.IO.Path]::GetTempPath()) ("iris-edited-" + [guid]::NewGuid().ToString('N') + '.csv')
    Get-Content (Join-Path $data 'iris.csv') | Where-Object { $_ -notmatch '^(4\.7,3\.2,1\.3|4\.6,3\.1,1\.5|5\.0,3\.6,1\.4|5\.4,3\.9,1\.7|4\.6,3\.4,1\.4),' } | Set-Content $edited
    Add-PachFile training master iris.csv -Source $edited | Out-Null
    Remove-Item $edited
    Show (Wait-PachCommit training master)
    $new = @(Get-PachJob) | Select-Object -First (@(Get-PachJob).Count - $before)
    Show $new
    Check ((($new.Pipeline | Sort-Object) -join ',') -eq 'inference,pre_process,train' -and @($new | Where-Object State -NE 'Success').Count -eq 0) 'pre_process, train and inference ran again'
    $predicted = @(Get-PachFileContent inference master test1.csv)
    Check ((@(0..5 | Where-Object { $predicted[$_] -eq $species[$rows[$_]] }).Count) -eq 6) 'predictions are still right after retraining'

    Step '11. pachctl inspect-commit / flush-commit: provenance of the newest inference commit'
    $prov = Get-PachCommit inference master | Get-PachProvenance
    Show $prov
    $inputs = @{}
    $prov | Where-Object Kind -EQ 'Input' | ForEach-Object { $inputs[$_.Repo] = $_.Commit }
    Check ($inputs['training'] -eq (Get-PachCommit training master).Commit) 'provenance names the newest training commit'
    Check ($inputs['pre_process'] -eq (Get-PachCommit pre_process master).Commit -and $inputs['train'] -eq (Get-PachCommit train master).Commit) 'and the pre_process and train commits made from it'
    Check ($inputs['attributes'] -eq (Get-PachCommit attributes master).Commit) 'and the attributes commit'
}
finally {
    Disconnect-PachStore
}

if ($failures.Count -gt 0) {
    Write-Host "`n$($failures.Count) check(s) failed:`n  $($failures -join "`n  ")" -ForegroundColor Red
    exit 1
}
Write-Host "`nAll tutorial steps passed." -ForegroundColor Green
