#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The crash campaign (issue 19, item 3): 20 trials, each a child session doing mixed work killed with SIGKILL at a
# seeded moment (the recovering session killed too in about a third), then the store checked (tests/Pester/CrashTrial.ps1).
# The seeds are fixed so a failure can be replayed: `build.ps1 Soak -Seed <seed> -Trials 1`; PACHPS_CRASH_SEED moves them.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $base = if ($env:PACHPS_CRASH_SEED) { [int] $env:PACHPS_CRASH_SEED } else { 1900 }
    # Half on S3 where the test server runs; on the local folder otherwise.
    $trials = 0..19 | ForEach-Object { @{ Seed = $base + $_; Backend = if ($_ % 2 -and $env:PACHPS_TEST_S3_ENDPOINT) { 'S3' } else { 'Local' } } }
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'CrashTrial.ps1')
    Import-Module $ModulePath -Force
}
AfterAll { Disconnect-PachStore }

Describe 'A session killed with SIGKILL (seed <Seed>, <Backend>)' -ForEach $trials {
    It 'leaves a store that opens clean, keeps every commit it finished, and finishes every job' {
        $store = Join-Path $TestDrive "crash-$Seed"
        $trial = Invoke-CrashTrial -Seed $Seed -Backend $Backend -Store $store
        Write-Host "  seed $Seed ($Backend): killed after $($trial.KilledAfterMs) ms$(if ($trial.RecoveryKilledAfterMs) { ", recovery killed after $($trial.RecoveryKilledAfterMs) ms" }); $($trial.CommittedFiles) files, $($trial.Jobs) jobs checked in $($trial.Seconds) s"
        $trial.Problems | Should -BeNullOrEmpty -Because "seed $Seed must leave a sound store (replay: build.ps1 Soak -Seed $Seed -Trials 1)"
        $trial.CommittedFiles | Should -BeGreaterThan 0 -Because 'the worker must have committed something before it was killed'
    }
}
