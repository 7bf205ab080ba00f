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
    FunctionsToExport    = @()
    CmdletsToExport      = '*'
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Pachyderm', 'DataVersioning', 'Pipelines', 'Provenance')
            ProjectUri = 'https://example.invalid/pachps'
        }
    }
}
