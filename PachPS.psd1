@{
    RootModule           = 'out/module/PachPS.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0c5b7e-2d8a-4f43-9b61-3c7a1e9d5a20'
    Author               = 'PachPS contributors'
    Copyright            = '(c) PachPS contributors. MIT License.'
    Description          = 'Pachyderm-style data versioning and data-driven pipelines for PowerShell.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('out/module/PachPS.Format.ps1xml')
    FunctionsToExport    = @('Copy-Item')
    CmdletsToExport      = @(
        'Add-PachFile'
        'Compare-PachCommit'
        'Compare-PachPipeline'
        'Complete-PachCommit'
        'Connect-PachStore'
        'Copy-PachFile'
        'Disconnect-PachStore'
        'Get-PachBranch'
        'Get-PachCommit'
        'Get-PachDag'
        'Get-PachDatum'
        'Get-PachFile'
        'Get-PachFileContent'
        'Get-PachJob'
        'Get-PachLog'
        'Get-PachNextDatum'
        'Get-PachPipeline'
        'Get-PachProvenance'
        'Get-PachRepo'
        'Get-PachStore'
        'Get-PachSubvenance'
        'Get-PachTag'
        'Invoke-PachCron'
        'Invoke-PachPipeline'
        'Merge-PachBranch'
        'New-PachBranch'
        'New-PachPipeline'
        'New-PachRepo'
        'New-PachTag'
        'Optimize-PachStore'
        'Remove-PachBranch'
        'Remove-PachCommit'
        'Remove-PachFile'
        'Remove-PachPipeline'
        'Remove-PachRepo'
        'Remove-PachTag'
        'Restart-PachDatum'
        'Resume-PachPipeline'
        'Save-PachFile'
        'Set-PachBranch'
        'Set-PachBranchTrigger'
        'Show-PachDag'
        'Start-PachCommit'
        'Stop-PachJob'
        'Suspend-PachPipeline'
        'Test-PachStore'
        'Undo-PachCommit'
        'Update-PachPipeline'
        'Wait-PachCommit'
        'Wait-PachJob'
    )
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Pachyderm', 'DataVersioning', 'Pipelines', 'Provenance')
            ProjectUri = 'https://example.invalid/pachps'
        }
    }
}
