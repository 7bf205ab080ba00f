# Loads the cmdlet assembly, lets it hook the resolver that loads PachPS.Engine and its dependencies from deps/
# into their own AssemblyLoadContext, then imports the cmdlets.
Add-Type -Path (Join-Path $PSScriptRoot 'PachPS.dll')
[PachPS.Infrastructure.ModuleInitializer]::Register()
Import-Module (Join-Path $PSScriptRoot 'PachPS.dll')

# Copy-Item into the pfs: drive. PowerShell refuses copies between providers before any provider sees them, so the
# module wraps Copy-Item: a copy whose -Destination is on the pfs: drive becomes one Add-PachFile call (one commit for
# everything given or piped); every other copy goes to the built-in Copy-Item unchanged. The wrapper's parameters are
# the built-in's own (dynamic ones included), read at import, so completion and help for ordinary copies stay as they were.
$copyItem = Get-Command Microsoft.PowerShell.Management\Copy-Item -CommandType Cmdlet
$metadata = [System.Management.Automation.CommandMetadata]::new($copyItem)
$binding = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata)
$params = [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata)
$dynamic = [System.Management.Automation.ProxyCommand]::GetDynamicParam($metadata)
$body = @'
<#
.FORWARDHELPTARGETNAME Microsoft.PowerShell.Management\Copy-Item
.FORWARDHELPCATEGORY Cmdlet
#>
{0}
param({1})
dynamicparam {{ {2} }}
begin {{
    $target = $null
    if ($PSBoundParameters.ContainsKey('Destination')) {{
        $target = [PachPS.Provider.PfsProvider]::CopyTarget($PSBoundParameters['Destination'], $ExecutionContext.SessionState.Path)
    }}
    if ($target) {{
        $add = @{{ Repo = $target.Repo; Branch = $target.Reference; Path = $target.Path; Recurse = [bool]$Recurse }}
        foreach ($name in 'WhatIf', 'Confirm', 'ErrorAction', 'Verbose') {{
            if ($PSBoundParameters.ContainsKey($name)) {{ $add[$name] = $PSBoundParameters[$name] }}
        }}
        $sources = @($Path) + @($LiteralPath) | Where-Object {{ $_ }}
        if ($sources) {{ $add['Source'] = $sources }}
        if (-not $target.Reference) {{
            $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.ArgumentException]::new("'$Destination' is not inside a branch: copy to pfs:\<repo>\<branch>\[<path>]."),
                'DestinationNotInBranch', 'InvalidArgument', $Destination))
        }}
        $wrapped = if ($PassThru) {{ {{ PachPS\Add-PachFile @add }} }} else {{ {{ PachPS\Add-PachFile @add | Out-Null }} }}
    }} else {{
        $wrapped = {{ Microsoft.PowerShell.Management\Copy-Item @PSBoundParameters }}
    }}
    $steppable = $wrapped.GetSteppablePipeline($MyInvocation.CommandOrigin)
    $steppable.Begin($PSCmdlet)
}}
process {{ $steppable.Process($_) }}
end {{ $steppable.End() }}
'@ -f $binding, $params, $dynamic
Set-Item -Path function:script:Copy-Item -Value ([scriptblock]::Create($body))
Remove-Variable copyItem, metadata, binding, params, dynamic, body

Export-ModuleMember -Cmdlet * -Function Copy-Item
