# Loads the cmdlet assembly, lets it hook the resolver that loads PachPS.Engine and its dependencies from deps/
# into their own AssemblyLoadContext, then imports the cmdlets.
Add-Type -Path (Join-Path $PSScriptRoot 'PachPS.dll')
[PachPS.Infrastructure.ModuleInitializer]::Register()
Import-Module (Join-Path $PSScriptRoot 'PachPS.dll')
Export-ModuleMember -Cmdlet *
