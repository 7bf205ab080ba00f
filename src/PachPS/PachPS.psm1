# Loads the cmdlet assembly, lets it hook the resolver that loads PachPS.Engine and its dependencies from deps/
# into their own AssemblyLoadContext, then imports the cmdlets.
Add-Type -Path (Join-Path $PSScriptRoot 'PachPS.dll')
[PachPS.Infrastructure.ModuleInitializer]::Register()
Import-Module (Join-Path $PSScriptRoot 'PachPS.dll')

# Copy-Item into the pfs: drive. PowerShell refuses copies between providers before any provider sees them, so the
# module wraps Copy-Item: a copy whose -Destination is on the pfs: drive becomes one Add-PachFile call (one commit for
# everything given or piped); every other copy goes to the built-in Copy-Item unchanged. The wrapper's parameters are
# the built-in's own (dynamic ones included), read at import, so completion and help for ordinary copies stay as they were;
# only a copy into pfs: gains two dynamic parameters, -Message and -Metadata, for the commit it makes.
$copyItem = Get-Command Microsoft.PowerShell.Management\Copy-Item -CommandType Cmdlet
$metadata = [System.Management.Automation.CommandMetadata]::new($copyItem)
$binding = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata)
$params = [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata)
$body = @'
<#
.SYNOPSIS
Copies items; a copy from the file system to the pfs: drive adds the files to a branch in one commit.
.DESCRIPTION
PachPS's wrapper of Copy-Item. When -Destination is on the pfs: drive (pfs:\<repo>\<branch>\[<path>]), the
files given by -Path, -LiteralPath or the pipeline are added to that branch by one Add-PachFile call, so one Copy-Item
makes one commit: a destination ending in \ or naming a folder keeps the file names, another destination names the
file, and folders need -Recurse. With a pfs: destination Copy-Item also takes -Message (the commit message) and
-Metadata (a hashtable of string keys and values stored on the commit), as Add-PachFile does. Every other copy is
handed unchanged to Microsoft.PowerShell.Management\Copy-Item, whose help describes it (Get-Help Copy-Item -Category
Cmdlet).
.PARAMETER Path
Items to copy (wildcards allowed); to pfs:, local files or folders.
.PARAMETER LiteralPath
Items to copy, taken literally.
.PARAMETER Destination
Where to copy to; on the pfs: drive, a path inside a branch.
.PARAMETER Container
Built-in Copy-Item: keep container objects when copying recursively.
.PARAMETER Force
Built-in Copy-Item: copy items that cannot otherwise be changed.
.PARAMETER Filter
Built-in Copy-Item: a provider filter for -Path.
.PARAMETER Include
Built-in Copy-Item: only items that match.
.PARAMETER Exclude
Built-in Copy-Item: leave out items that match.
.PARAMETER Recurse
Copy folders with everything under them.
.PARAMETER PassThru
Return what was copied; to pfs:, the new commit.
.PARAMETER Credential
Built-in Copy-Item: a credential for the provider.
.PARAMETER FromSession
Built-in Copy-Item: copy from a remote session.
.PARAMETER ToSession
Built-in Copy-Item: copy to a remote session.
.EXAMPLE
Copy-Item ./data -Destination pfs:\training\master\raw -Recurse

Adds every file under ./data to training@master under /raw, in one commit.
.EXAMPLE
Get-ChildItem ./incoming/*.csv | Copy-Item -Destination pfs:\attributes\master\ -PassThru

Adds the piped files to the root of attributes@master in one commit and returns that commit.
.EXAMPLE
Copy-Item ./fixed.csv -Destination pfs:\training\master\iris.csv -Message 'drop 2 bad rows' -Metadata @{{ ticket = 'OPS-12' }}

Replaces iris.csv on training@master in one commit that carries the message and metadata (Get-PachCommit shows them).
#>
{0}
param({1})
dynamicparam {{
    # The built-in's dynamic parameters (from the provider of -Path), then -Message and -Metadata for a copy into pfs:.
    $dictionary = [System.Management.Automation.RuntimeDefinedParameterDictionary]::new()
    $builtIn = $ExecutionContext.InvokeCommand.GetCommand('Microsoft.PowerShell.Management\Copy-Item', [System.Management.Automation.CommandTypes]::Cmdlet, $PSBoundParameters)
    foreach ($param in $builtIn.Parameters.Values) {{
        if ($param.IsDynamic -and -not $MyInvocation.MyCommand.Parameters.ContainsKey($param.Name)) {{
            $dictionary.Add($param.Name, [System.Management.Automation.RuntimeDefinedParameter]::new($param.Name, $param.ParameterType, $param.Attributes))
        }}
    }}
    if ($PSBoundParameters['Destination'] -and [PachPS.Provider.PfsProvider]::CopyTarget($PSBoundParameters['Destination'], $ExecutionContext.SessionState.Path)) {{
        foreach ($extra in @{{ Message = [string]; Metadata = [System.Collections.IDictionary] }}.GetEnumerator()) {{
            $attributes = [System.Collections.ObjectModel.Collection[System.Attribute]]::new()
            $attributes.Add([System.Management.Automation.ParameterAttribute]::new())
            $dictionary.Add($extra.Key, [System.Management.Automation.RuntimeDefinedParameter]::new($extra.Key, $extra.Value, $attributes))
        }}
    }}
    if ($dictionary.Count) {{ $dictionary }}
}}
begin {{
    $target = $null
    if ($PSBoundParameters.ContainsKey('Destination')) {{
        $target = [PachPS.Provider.PfsProvider]::CopyTarget($PSBoundParameters['Destination'], $ExecutionContext.SessionState.Path)
    }}
    if ($target) {{
        $add = @{{ Repo = $target.Repo; Branch = $target.Reference; Path = $target.Path; Recurse = [bool]$Recurse }}
        foreach ($name in 'Message', 'Metadata', 'WhatIf', 'Confirm', 'ErrorAction', 'Verbose') {{
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
'@ -f $binding, $params
Set-Item -Path function:script:Copy-Item -Value ([scriptblock]::Create($body))
Remove-Variable copyItem, metadata, binding, params, body

Export-ModuleMember -Cmdlet * -Function Copy-Item
