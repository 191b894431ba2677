# The Windows PowerShell 5.1 judge: what each script uses, looked up in what Windows PowerShell 5.1 on Windows Server
# 2016 (.NET Framework 4.6.2) has. Run by tests/ps51/judge.py through scanner.powershell.run_json; see README.md here.
#
# PowerShell 7's own parser lists what a script uses: commands and their named parameters (and constant values of
# enum-typed ones), .NET types (type literals, casts, parameter types, attributes, New-Object), static members and
# methods with their argument counts, constructors, string-to-enum casts, and syntax only PowerShell 7 has. Each is
# looked up in the 5.1 command table (PSScriptAnalyzer's Server 2016 data), 5.1's type accelerators, and the .NET
# Framework 4.6.2 reference assemblies plus PowerShellStandard.Library 5.1 read with MetadataLoadContext.
# Code that cannot run on 5.1 (a branch under `if ($PSVersionTable.PSEdition -eq 'Core')`, a Pester test skipped
# off Core) is not judged, only counted.
param([string]$RequestPath)
$ErrorActionPreference = 'Stop'
$request = Get-Content -LiteralPath $RequestPath -Raw -Encoding utf8 | ConvertFrom-Json
$L = 'System.Management.Automation.Language'

# ---- the .NET Framework 4.6.2 surface ---------------------------------------------------------------------------

Add-Type -Path $request.metadataLoadContext
$framework = @(Get-ChildItem -LiteralPath $request.referenceAssemblies -Filter '*.dll' | ForEach-Object FullName)
$facades = @(Get-ChildItem -LiteralPath (Join-Path $request.referenceAssemblies 'Facades') -Filter '*.dll' | ForEach-Object FullName)
$resolver = New-Object System.Reflection.PathAssemblyResolver -ArgumentList (, [string[]]($framework + $facades + @($request.powerShellStandard)))
$context = New-Object System.Reflection.MetadataLoadContext -ArgumentList $resolver, 'mscorlib'
$types = New-Object 'System.Collections.Generic.Dictionary[string,object]' ([System.StringComparer]::OrdinalIgnoreCase)
$enumsBySimpleName = @{}
foreach ($path in @($request.powerShellStandard) + @($framework)) {
    try { $assembly = $context.LoadFromAssemblyPath($path) }
    catch {
        # Already loaded by name (another assembly's reference resolved it first): take that one.
        try { $assembly = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::GetAssemblyName($path)) } catch { continue }
    }
    try { $exported = $assembly.GetExportedTypes() } catch { continue }
    foreach ($type in $exported) {
        if (-not $types.ContainsKey($type.FullName)) { $types[$type.FullName] = $type }
        if ($type.IsEnum) {
            if (-not $enumsBySimpleName.ContainsKey($type.Name)) { $enumsBySimpleName[$type.Name] = @() }
            $enumsBySimpleName[$type.Name] += $type
        }
    }
}
# Enums of 5.1's own cmdlets that PowerShellStandard.Library does not have (their values, from 5.1's documentation).
$knownEnums = @{}
foreach ($line in Get-Content -LiteralPath $request.enums -Encoding utf8) {
    if ($line -match '^\s*(#|$)') { continue }
    $parts = $line -split "`t"
    $knownEnums[$parts[0]] = @($parts[1] -split ',')
}
$accelerators = @{}
foreach ($line in Get-Content -LiteralPath $request.accelerators -Encoding utf8) {
    $parts = $line -split "`t"
    if ($parts.Count -eq 2) { $accelerators[$parts[0]] = $parts[1] }
}
# Assemblies Windows PowerShell 5.1 has loaded before a script runs; a type elsewhere needs Add-Type -AssemblyName.
$loadedAssemblies = @{}
foreach ($name in @($request.loadedAssemblies)) { $loadedAssemblies[$name] = $true }

# ---- the 5.1 command table ---------------------------------------------------------------------------------------

$commands = @{}
$table = Get-Content -LiteralPath $request.commands -Raw -Encoding utf8 | ConvertFrom-Json
foreach ($module in $table.Modules) {
    foreach ($command in @($module.ExportedCommands)) {
        if ($null -eq $command) { continue }
        $parameters = @{}
        $syntax = (@($command.ParameterSets) -join ' ')
        foreach ($match in [regex]::Matches($syntax, '-([A-Za-z][A-Za-z0-9_]*)\]?(?:\s+<([^>]+)>)?')) {
            $parameters[$match.Groups[1].Value] = $match.Groups[2].Value
        }
        $commands[$command.Name] = [pscustomobject]@{ Module = $module.Name; Parameters = $parameters }
    }
}
$external = @{}
foreach ($line in Get-Content -LiteralPath $request.externalCommands -Encoding utf8) {
    if ($line -match '^\s*(#|$)') { continue }
    $parts = $line -split "`t"
    $external[$parts[1]] = $parts[0]
}
if ($request.pesterManifest) {
    # Pester 5's commands (It, Should, Mock, InModuleScope, ...) as its own manifest exports them.
    $pester = Import-PowerShellDataFile -LiteralPath $request.pesterManifest
    foreach ($name in @($pester.FunctionsToExport) + @($pester.AliasesToExport)) { if ($name -and $name -ne '*') { $external[$name] = 'Pester' } }
}
$dynamicParameters = @{}
foreach ($line in Get-Content -LiteralPath $request.dynamicParameters -Encoding utf8) {
    if ($line -match '^\s*(#|$)') { continue }
    $parts = $line -split "`t"
    $dynamicParameters[$parts[0] + '|' + $parts[1]] = $parts[2]
}
$common = @{
    Verbose = 'vb'; Debug = 'db'; ErrorAction = 'ea'; WarningAction = 'wa'; InformationAction = 'infa'; ErrorVariable = 'ev'
    WarningVariable = 'wv'; InformationVariable = 'iv'; OutVariable = 'ov'; OutBuffer = 'ob'; PipelineVariable = 'pv'
}
$coreOnlyVariables = @('IsCoreCLR', 'IsLinux', 'IsMacOS', 'IsWindows', 'PSStyle', 'EnabledExperimentalFeatures',
    'PSNativeCommandArgumentPassing', 'PSNativeCommandUseErrorActionPreference')

# ---- functions a script may call from the libraries it is judged with (the Smtp2Graph module) --------------------

function Get-FunctionShape {
    param($Definition)
    $parameters = @{}
    $aliases = @{}
    $advanced = $false
    $paramAsts = @()
    if ($null -ne $Definition.Body.ParamBlock) {
        $paramAsts = @($Definition.Body.ParamBlock.Parameters)
        foreach ($attribute in $Definition.Body.ParamBlock.Attributes) { if ($attribute.TypeName.Name -eq 'CmdletBinding') { $advanced = $true } }
    }
    elseif ($null -ne $Definition.Parameters) { $paramAsts = @($Definition.Parameters) }
    foreach ($parameter in $paramAsts) {
        $parameters[$parameter.Name.VariablePath.UserPath] = ''
        foreach ($attribute in $parameter.Attributes) {
            if ($attribute.TypeName.Name -eq 'Parameter') { $advanced = $true }
            if ($attribute.TypeName.Name -eq 'Alias') {
                foreach ($argument in $attribute.PositionalArguments) {
                    foreach ($value in @($argument.SafeGetValue())) { $aliases[[string]$value] = $parameter.Name.VariablePath.UserPath }
                }
            }
        }
    }
    [pscustomobject]@{ Parameters = $parameters; Aliases = $aliases; Advanced = $advanced; Dynamic = ($null -ne $Definition.Body.DynamicParamBlock) }
}

$libraryFunctions = @{}
foreach ($library in @($request.libraries)) {
    if (-not $library) { continue }
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($library, [ref]$tokens, [ref]$errors)
    foreach ($definition in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
        $libraryFunctions[$definition.Name] = Get-FunctionShape -Definition $definition
    }
}

# ---- type resolution -----------------------------------------------------------------------------------------------

$typeCache = @{}
function Resolve-Type {
    # [pscustomobject] Status: found | script | missing | unverified | special, Type (the RoType when found), Name.
    param($TypeName, [string[]]$Namespaces, [hashtable]$ScriptTypes, [switch]$Attribute)
    if ($TypeName -is [System.Management.Automation.Language.ArrayTypeName]) {
        return Resolve-Type -TypeName $TypeName.ElementType -Namespaces $Namespaces -ScriptTypes $ScriptTypes
    }
    if ($TypeName -is [System.Management.Automation.Language.GenericTypeName]) {
        foreach ($argument in $TypeName.GenericArguments) {
            $inner = Resolve-Type -TypeName $argument -Namespaces $Namespaces -ScriptTypes $ScriptTypes
            if ($inner.Status -in 'missing', 'unverified') { return $inner }
        }
        return Find-Type -Name ($TypeName.TypeName.Name + '`' + $TypeName.GenericArguments.Count) -Namespaces $Namespaces -ScriptTypes $ScriptTypes -Shown $TypeName.FullName
    }
    $name = $TypeName.Name
    if ($Attribute) {
        $found = Find-Type -Name $name -Namespaces $Namespaces -ScriptTypes $ScriptTypes -Shown $name -Attribute
        return $found
    }
    Find-Type -Name $name -Namespaces $Namespaces -ScriptTypes $ScriptTypes -Shown $name
}

function Find-Type {
    param([string]$Name, [string[]]$Namespaces, [hashtable]$ScriptTypes, [string]$Shown, [switch]$Attribute)
    if ($ScriptTypes.ContainsKey($Name)) { return [pscustomobject]@{ Status = 'script'; Type = $null; Name = $Shown } }
    if ($Name -eq 'ordered') { return [pscustomobject]@{ Status = 'special'; Type = $null; Name = $Shown } }
    $key = $Name + '|' + ($Namespaces -join ',') + '|' + [bool]$Attribute
    if ($typeCache.ContainsKey($key)) { return $typeCache[$key] }
    $candidates = @()
    $names = @($Name)
    if ($Attribute -and -not $Name.EndsWith('Attribute')) { $names = @(($Name + 'Attribute'), $Name) }
    foreach ($each in $names) {
        if ($accelerators.ContainsKey($each)) { $candidates += $accelerators[$each] }
        $candidates += $each
        $candidates += 'System.' + $each
        foreach ($namespace in $Namespaces) { $candidates += $namespace + '.' + $each }
    }
    $result = $null
    foreach ($candidate in $candidates) {
        if ($types.ContainsKey($candidate)) {
            $result = [pscustomobject]@{ Status = 'found'; Type = $types[$candidate]; Name = $Shown }
            break
        }
    }
    if ($null -eq $result) {
        $status = 'missing'
        # PowerShellStandard.Library is a subset of 5.1's System.Management.Automation; Microsoft.PowerShell.Commands.* is
        # not in it at all: only a real Windows PowerShell 5.1 can say whether such a type exists there.
        if ($Name -match '^(System\.Management\.Automation|Microsoft\.PowerShell)\.') { $status = 'unverified' }
        $result = [pscustomobject]@{ Status = $status; Type = $null; Name = $Shown }
    }
    $typeCache[$key] = $result
    $result
}

function Test-Arity {
    # Whether a method or constructor takes $Count arguments (optional parameters and a params array included).
    param($Method, [int]$Count)
    $parameters = @($Method.GetParameters())
    $required = 0
    $hasParams = $false
    foreach ($parameter in $parameters) {
        if ($parameter.IsOptional) { continue }
        $isParams = $false
        foreach ($data in $parameter.CustomAttributes) { if ($data.AttributeType.FullName -eq 'System.ParamArrayAttribute') { $isParams = $true } }
        if ($isParams) { $hasParams = $true } else { $required++ }
    }
    if ($Count -lt $required) { return $false }
    if ($hasParams) { return $true }
    $Count -le $parameters.Count
}

$memberCache = @{}
function Test-StaticMember {
    # found | missing | arity (a method of that name, not with that many arguments)
    param($Type, [string]$Name, [int]$Arguments)
    $key = $Type.FullName + '|' + $Name + '|' + $Arguments
    if ($memberCache.ContainsKey($key)) { return $memberCache[$key] }
    $flags = [System.Reflection.BindingFlags]'Public, Static, FlattenHierarchy'
    $answer = 'missing'
    if ($Name -eq 'new') {
        $answer = 'arity'
        if ($Type.IsValueType -and $Arguments -eq 0) { $answer = 'found' }
        foreach ($constructor in $Type.GetConstructors()) { if (Test-Arity -Method $constructor -Count $Arguments) { $answer = 'found'; break } }
    }
    elseif ($Arguments -lt 0) {
        foreach ($member in @($Type.GetProperties($flags)) + @($Type.GetFields($flags))) { if ($member.Name -ieq $Name) { $answer = 'found'; break } }
        if ($answer -eq 'missing') { foreach ($method in $Type.GetMethods($flags)) { if ($method.Name -ieq $Name) { $answer = 'found'; break } } }
    }
    else {
        foreach ($method in $Type.GetMethods($flags)) {
            if ($method.Name -ine $Name) { continue }
            if (Test-Arity -Method $method -Count $Arguments) { $answer = 'found'; break }
            $answer = 'arity'
        }
    }
    $memberCache[$key] = $answer
    $answer
}

function Test-NumericOverload {
    # Whether some overload of that arity takes a number (or any value) at each of the given positions.
    param($Type, [string]$Name, [int]$Arguments, [int[]]$Positions)
    $numeric = @('System.Int16', 'System.Int32', 'System.Int64', 'System.UInt16', 'System.UInt32', 'System.UInt64', 'System.Byte',
        'System.SByte', 'System.Single', 'System.Double', 'System.Decimal', 'System.Object', 'System.ValueType', 'System.Boolean')
    $candidates = if ($Name -eq 'new') { @($Type.GetConstructors()) } else { @($Type.GetMethods([System.Reflection.BindingFlags]'Public, Static, FlattenHierarchy') | Where-Object { $_.Name -ieq $Name }) }
    foreach ($method in $candidates) {
        if (-not (Test-Arity -Method $method -Count $Arguments)) { continue }
        $parameters = @($method.GetParameters())
        $fits = $true
        foreach ($position in $Positions) {
            $parameter = $parameters[[math]::Min($position, $parameters.Count - 1)]
            $typeName = $parameter.ParameterType.FullName
            if ($parameter.ParameterType.IsArray) { $typeName = $parameter.ParameterType.GetElementType().FullName }
            if ($numeric -notcontains $typeName -and -not $parameter.ParameterType.IsEnum) { $fits = $false }
        }
        if ($fits) { return $true }
    }
    $false
}

function Test-EnumValue {
    param($Type, [string]$Text)
    $names = @($Type.GetFields([System.Reflection.BindingFlags]'Public, Static') | ForEach-Object Name)
    $bad = @()
    foreach ($part in ($Text -split ',')) {
        $value = $part.Trim()
        if (-not $value -or $value -match '^-?\d+$') { continue }
        if (-not ($names | Where-Object { $_ -ieq $value })) { $bad += $value }
    }
    $bad
}

# ---- what runs on 5.1: conditions evaluated as Windows PowerShell 5.1 would ----------------------------------------

function Get-Truth {
    # 'True', 'False' or 'Unknown': the value of a condition on Windows PowerShell 5.1 (PSEdition Desktop, PSVersion 5.1,
    # $IsCoreCLR/$IsWindows/$IsLinux/$IsMacOS unset), following variables assigned once in the file.
    param($Node, [hashtable]$Assigned, [int]$Depth = 0)
    if ($Depth -gt 20 -or $null -eq $Node) { return 'Unknown' }
    if ($Node -is [System.Management.Automation.Language.PipelineAst]) {
        if ($Node.PipelineElements.Count -eq 1 -and $Node.PipelineElements[0] -is [System.Management.Automation.Language.CommandExpressionAst]) {
            return Get-Truth -Node $Node.PipelineElements[0].Expression -Assigned $Assigned -Depth ($Depth + 1)
        }
        return 'Unknown'
    }
    if ($Node -is [System.Management.Automation.Language.CommandExpressionAst]) { return Get-Truth -Node $Node.Expression -Assigned $Assigned -Depth ($Depth + 1) }
    if ($Node -is [System.Management.Automation.Language.ParenExpressionAst]) { return Get-Truth -Node $Node.Pipeline -Assigned $Assigned -Depth ($Depth + 1) }
    if ($Node -is [System.Management.Automation.Language.ConvertExpressionAst] -and $Node.Type.TypeName.Name -eq 'bool') { return Get-Truth -Node $Node.Child -Assigned $Assigned -Depth ($Depth + 1) }
    if ($Node -is [System.Management.Automation.Language.UnaryExpressionAst] -and $Node.TokenKind -in 'Not', 'Exclaim') {
        $inner = Get-Truth -Node $Node.Child -Assigned $Assigned -Depth ($Depth + 1)
        if ($inner -eq 'True') { return 'False' }
        if ($inner -eq 'False') { return 'True' }
        return 'Unknown'
    }
    if ($Node -is [System.Management.Automation.Language.VariableExpressionAst]) {
        $name = $Node.VariablePath.UserPath
        if ($name -eq 'true') { return 'True' }
        if ($name -eq 'false' -or $name -eq 'null') { return 'False' }
        if ($name -in 'IsCoreCLR', 'IsLinux', 'IsMacOS', 'IsWindows') { return 'False' }
        if ($Assigned.ContainsKey($name) -and $null -ne $Assigned[$name]) { return Get-Truth -Node $Assigned[$name] -Assigned $Assigned -Depth ($Depth + 1) }
        return 'Unknown'
    }
    if ($Node -is [System.Management.Automation.Language.BinaryExpressionAst]) {
        $operator = [string]$Node.Operator
        if ($operator -in 'And', 'Or') {
            $left = Get-Truth -Node $Node.Left -Assigned $Assigned -Depth ($Depth + 1)
            $right = Get-Truth -Node $Node.Right -Assigned $Assigned -Depth ($Depth + 1)
            if ($operator -eq 'And') {
                if ($left -eq 'False' -or $right -eq 'False') { return 'False' }
                if ($left -eq 'True' -and $right -eq 'True') { return 'True' }
                return 'Unknown'
            }
            if ($left -eq 'True' -or $right -eq 'True') { return 'True' }
            if ($left -eq 'False' -and $right -eq 'False') { return 'False' }
            return 'Unknown'
        }
        $value = $null
        $constant = $null
        foreach ($pair in @(@($Node.Left, $Node.Right), @($Node.Right, $Node.Left))) {
            $text = $pair[0].Extent.Text -replace '\s', ''
            if ($text -ieq '$PSVersionTable.PSEdition' -and $pair[1] -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $value = 'Desktop'; $constant = $pair[1].Value; break }
            if ($text -ieq '$PSVersionTable.PSVersion.Major' -and $pair[1] -is [System.Management.Automation.Language.ConstantExpressionAst]) { $value = 5; $constant = $pair[1].Value; break }
        }
        if ($null -eq $value) { return 'Unknown' }
        $flip = -not [object]::ReferenceEquals($pair[0], $Node.Left)
        $result = $null
        switch -Regex ($operator) {
            '^I?Eq$' { $result = ($value -eq $constant) }
            '^I?Ne$' { $result = ($value -ne $constant) }
            '^I?Ge$' { $result = if ($flip) { $constant -ge $value } else { $value -ge $constant } }
            '^I?Gt$' { $result = if ($flip) { $constant -gt $value } else { $value -gt $constant } }
            '^I?Le$' { $result = if ($flip) { $constant -le $value } else { $value -le $constant } }
            '^I?Lt$' { $result = if ($flip) { $constant -lt $value } else { $value -lt $constant } }
        }
        if ($null -eq $result) { return 'Unknown' }
        if ($result) { return 'True' }
        return 'False'
    }
    'Unknown'
}

function Get-SkippedRegion {
    # Extents (start, end offsets) of code Windows PowerShell 5.1 never runs: if/elseif/else branches its edition rules
    # out, and the script blocks of Pester tests skipped there (It/Describe/Context -Skip:<true on 5.1>).
    param($Ast, [hashtable]$Assigned)
    $regions = New-Object System.Collections.ArrayList
    foreach ($if in $Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.IfStatementAst] }, $true)) {
        $decided = $false
        foreach ($clause in $if.Clauses) {
            if ($decided) { $null = $regions.Add(@($clause.Item2.Extent.StartOffset, $clause.Item2.Extent.EndOffset)); continue }
            $truth = Get-Truth -Node $clause.Item1 -Assigned $Assigned
            if ($truth -eq 'False') { $null = $regions.Add(@($clause.Item2.Extent.StartOffset, $clause.Item2.Extent.EndOffset)) }
            elseif ($truth -eq 'True') { $decided = $true }
        }
        if ($decided -and $null -ne $if.ElseClause) { $null = $regions.Add(@($if.ElseClause.Extent.StartOffset, $if.ElseClause.Extent.EndOffset)) }
    }
    foreach ($command in $Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -in 'It', 'Describe', 'Context' }, $true)) {
        $elements = $command.CommandElements
        for ($i = 1; $i -lt $elements.Count; $i++) {
            $element = $elements[$i]
            if ($element -isnot [System.Management.Automation.Language.CommandParameterAst] -or $element.ParameterName -ne 'Skip') { continue }
            $truth = 'True'
            if ($null -ne $element.Argument) { $truth = Get-Truth -Node $element.Argument -Assigned $Assigned }
            if ($truth -eq 'True') {
                foreach ($block in $elements) {
                    if ($block -is [System.Management.Automation.Language.ScriptBlockExpressionAst]) { $null = $regions.Add(@($block.Extent.StartOffset, $block.Extent.EndOffset)) }
                }
            }
        }
    }
    , $regions
}

# ---- judging one file ------------------------------------------------------------------------------------------------

function Get-ArgumentCount {
    # How many arguments a New-Object -ArgumentList value passes, or -1 when only run time can tell.
    param($Value)
    if ($null -eq $Value) { return 0 }
    if ($Value -is [System.Management.Automation.Language.ArrayLiteralAst]) { return $Value.Elements.Count }
    if ($Value -is [System.Management.Automation.Language.ParenExpressionAst]) {
        $inner = $Value.Pipeline
        if ($inner -is [System.Management.Automation.Language.PipelineAst] -and $inner.PipelineElements.Count -eq 1 -and $inner.PipelineElements[0] -is [System.Management.Automation.Language.CommandExpressionAst]) {
            $expression = $inner.PipelineElements[0].Expression
            if ($expression -is [System.Management.Automation.Language.UnaryExpressionAst] -and $expression.TokenKind -eq 'Comma') { return 1 }
            if ($expression -is [System.Management.Automation.Language.ArrayLiteralAst]) { return $expression.Elements.Count }
        }
        return 1
    }
    if ($Value -is [System.Management.Automation.Language.StringConstantExpressionAst] -or $Value -is [System.Management.Automation.Language.ExpandableStringExpressionAst] -or
        $Value -is [System.Management.Automation.Language.ConstantExpressionAst] -or $Value -is [System.Management.Automation.Language.MemberExpressionAst] -or
        $Value -is [System.Management.Automation.Language.ConvertExpressionAst]) { return 1 }
    -1
}

function Resolve-Parameter {
    # The parameter a written name binds on 5.1: 'found', 'ambiguous' or 'missing' (exact name, unique prefix, or alias).
    param([hashtable]$Parameters, [hashtable]$Aliases, [string]$Written, [bool]$Advanced)
    $pool = @{}
    foreach ($name in $Parameters.Keys) { $pool[$name] = $name }
    if ($null -ne $Aliases) { foreach ($name in $Aliases.Keys) { $pool[$name] = $Aliases[$name] } }
    if ($Advanced) { foreach ($name in $common.Keys) { $pool[$name] = $name; $pool[$common[$name]] = $name } }
    foreach ($name in $pool.Keys) { if ($name -ieq $Written) { return [pscustomobject]@{ Status = 'found'; Name = $pool[$name] } } }
    $matched = @($pool.Keys | Where-Object { $_.StartsWith($Written, [System.StringComparison]::OrdinalIgnoreCase) } | ForEach-Object { $pool[$_] } | Sort-Object -Unique)
    if ($matched.Count -eq 1) { return [pscustomobject]@{ Status = 'found'; Name = $matched[0] } }
    if ($matched.Count -gt 1) { return [pscustomobject]@{ Status = 'ambiguous'; Name = ($matched -join ', ') } }
    [pscustomobject]@{ Status = 'missing'; Name = '' }
}

function Get-Pwsh7ParameterByAlias {
    # A 5.1 cmdlet's parameter aliases are not in the command table: ask this PowerShell's same command which
    # parameter the written name is an alias of.
    param([string]$Command, [string]$Written)
    $found = Get-Command -Name $Command -ErrorAction SilentlyContinue
    if ($null -eq $found -or $null -eq $found.Parameters) { return $null }
    foreach ($parameter in $found.Parameters.Values) {
        foreach ($alias in $parameter.Aliases) { if ($alias -ieq $Written) { return $parameter.Name } }
    }
    $null
}

function Invoke-JudgeFile {
    param($Entry)
    $findings = New-Object System.Collections.ArrayList
    $counts = [ordered]@{ commands = 0; parameters = 0; values = 0; types = 0; members = 0; constructors = 0; enumCasts = 0; syntax = 0; external = 0; skippedRegions = 0 }
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($Entry.path, [ref]$tokens, [ref]$errors)
    function Add-Finding([object]$Node, [string]$Category, [string]$Subject, [string]$Message, [bool]$Gating = $true) {
        $null = $findings.Add([ordered]@{
            line = $Node.Extent.StartLineNumber; column = $Node.Extent.StartColumnNumber
            category = $Category; subject = $Subject; message = $Message; gating = $Gating
        })
    }
    foreach ($parseError in $errors) {
        $null = $findings.Add([ordered]@{ line = $parseError.Extent.StartLineNumber; column = $parseError.Extent.StartColumnNumber
            category = 'parse'; subject = $parseError.ErrorId; message = $parseError.Message; gating = $true })
    }
    # Variables assigned exactly once with '=' (their value can decide an edition test).
    $assignments = @{}
    foreach ($assignment in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] }, $true)) {
        if ($assignment.Left -isnot [System.Management.Automation.Language.VariableExpressionAst]) { continue }
        $name = $assignment.Left.VariablePath.UserPath
        if ($assignments.ContainsKey($name) -or [string]$assignment.Operator -ne 'Equals') { $assignments[$name] = $null } else { $assignments[$name] = $assignment.Right }
    }
    $regions = Get-SkippedRegion -Ast $ast -Assigned $assignments
    $counts.skippedRegions = $regions.Count
    $namespaces = @($ast.UsingStatements | Where-Object { [string]$_.UsingStatementKind -eq 'Namespace' } | ForEach-Object { $_.Name.Value })
    $scriptTypes = @{}
    foreach ($definition in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.TypeDefinitionAst] }, $true)) { $scriptTypes[$definition.Name] = $true }
    $functions = @{}
    foreach ($key in $libraryFunctions.Keys) { $functions[$key] = $libraryFunctions[$key] }
    foreach ($definition in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) { $functions[$definition.Name] = Get-FunctionShape -Definition $definition }
    $addedAssemblies = @{}
    foreach ($command in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq 'Add-Type' }, $true)) {
        foreach ($element in $command.CommandElements) { if ($element -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $addedAssemblies[$element.Value] = $true } }
    }
    if ($null -ne $ast.ScriptRequirements) {
        $requirements = $ast.ScriptRequirements
        if ($null -ne $requirements.RequiredPSVersion -and $requirements.RequiredPSVersion.Major -gt 5) { Add-Finding $ast 'syntax' '#requires -Version' "#requires -Version $($requirements.RequiredPSVersion): Windows PowerShell 5.1 refuses to run the script." }
        if (@($requirements.RequiredPSEditions) -contains 'Core') { Add-Finding $ast 'syntax' '#requires -PSEdition Core' 'Windows PowerShell 5.1 refuses a script that requires the Core edition.' }
    }

    $nodes = $ast.FindAll({ $true }, $true)
    foreach ($node in $nodes) {
        $start = $node.Extent.StartOffset
        $skip = $false
        foreach ($region in $regions) { if ($start -ge $region[0] -and $start -lt $region[1]) { $skip = $true; break } }
        if ($skip) { continue }
        $kind = $node.GetType().Name
        switch ($kind) {
            'TernaryExpressionAst' { $counts.syntax++; Add-Finding $node 'syntax' 'ternary' 'The ternary operator (a ? b : c) is PowerShell 7 only.' }
            'PipelineChainAst' { $counts.syntax++; Add-Finding $node 'syntax' '&& ||' 'Pipeline chain operators (&&, ||) are PowerShell 7 only.' }
            'BinaryExpressionAst' {
                $operator = [string]$node.Operator
                if ($operator -eq 'QuestionQuestion') { $counts.syntax++; Add-Finding $node 'syntax' '??' 'The null-coalescing operator (??) is PowerShell 7 only.' }
                if ($operator -in 'Ireplace', 'Creplace', 'Replace' -and $node.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and @($node.Right.Elements | Where-Object { $_ -is [System.Management.Automation.Language.ScriptBlockExpressionAst] }).Count -gt 0) {
                    $counts.syntax++
                    Add-Finding $node 'syntax' '-replace scriptblock' '-replace with a script block substitution is PowerShell 6.1+: Windows PowerShell 5.1 inserts the script block''s text.'
                }
            }
            'AssignmentStatementAst' { if ([string]$node.Operator -eq 'QuestionQuestionEquals') { $counts.syntax++; Add-Finding $node 'syntax' '??=' 'The null-coalescing assignment (??=) is PowerShell 7 only.' } }
            'MemberExpressionAst' { if ($node.NullConditional) { $counts.syntax++; Add-Finding $node 'syntax' '?.' 'Null-conditional member access (?.) is PowerShell 7 only.' } }
            'InvokeMemberExpressionAst' { if ($node.NullConditional) { $counts.syntax++; Add-Finding $node 'syntax' '?.' 'Null-conditional member access (?.) is PowerShell 7 only.' } }
            'IndexExpressionAst' { if ($node.NullConditional) { $counts.syntax++; Add-Finding $node 'syntax' '?[]' 'Null-conditional index (?[]) is PowerShell 7 only.' } }
            'NamedBlockAst' { if ([string]$node.BlockKind -eq 'Clean') { $counts.syntax++; Add-Finding $node 'syntax' 'clean' 'The clean block is PowerShell 7.3+.' } }
            'PipelineAst' { if ($node.PSObject.Properties['Background'] -and $node.Background) { $counts.syntax++; Add-Finding $node 'syntax' '&' 'The background operator (&) is PowerShell 6+.' } }
            'VariableExpressionAst' {
                $name = $node.VariablePath.UserPath
                if ($coreOnlyVariables -contains $name) { Add-Finding $node 'variable' ('$' + $name) "`$$name does not exist on Windows PowerShell 5.1 (it reads as `$null)." $false }
            }
        }
        if ($node -is [System.Management.Automation.Language.TypeExpressionAst] -or $node -is [System.Management.Automation.Language.TypeConstraintAst] -or $node -is [System.Management.Automation.Language.AttributeAst]) {
            $isAttribute = $node -is [System.Management.Automation.Language.AttributeAst]
            $counts.types++
            $resolved = Resolve-Type -TypeName $node.TypeName -Namespaces $namespaces -ScriptTypes $scriptTypes -Attribute:$isAttribute
            if ($resolved.Status -eq 'missing') {
                Add-Finding $node 'type' $resolved.Name "Type [$($resolved.Name)] is not in .NET Framework 4.6.2 nor Windows PowerShell 5.1's accelerators."
            }
            elseif ($resolved.Status -eq 'unverified') {
                Add-Finding $node 'type' $resolved.Name "Type [$($resolved.Name)] is not in PowerShellStandard.Library 5.1 (a subset of 5.1's own): only a real 5.1 run can tell." $false
            }
            elseif ($resolved.Status -eq 'found') {
                $assemblyName = $resolved.Type.Assembly.GetName().Name
                if (-not $loadedAssemblies.ContainsKey($assemblyName) -and -not $addedAssemblies.ContainsKey($assemblyName)) {
                    Add-Finding $node 'type' $resolved.Name "Type [$($resolved.Name)] lives in $assemblyName, which Windows PowerShell 5.1 does not load by default: Add-Type -AssemblyName $assemblyName first."
                }
                if ($isAttribute) {
                    foreach ($named in $node.NamedArguments) {
                        $property = @($resolved.Type.GetProperties() | Where-Object { $_.Name -ieq $named.ArgumentName })
                        if ($property.Count -eq 0) { Add-Finding $named 'member' "$($resolved.Name).$($named.ArgumentName)" "[$($resolved.Name)] has no property $($named.ArgumentName) on Windows PowerShell 5.1." }
                    }
                }
                if ($node -is [System.Management.Automation.Language.TypeConstraintAst] -and $node.Parent -is [System.Management.Automation.Language.ConvertExpressionAst] -and $resolved.Type.IsEnum -and
                    $node.Parent.Child -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
                    $counts.enumCasts++
                    foreach ($bad in @(Test-EnumValue -Type $resolved.Type -Text $node.Parent.Child.Value)) {
                        Add-Finding $node.Parent 'value' "$($resolved.Name)::$bad" "[$($resolved.Name)] has no value $bad on .NET Framework 4.6.2."
                    }
                }
            }
        }
        if (($node -is [System.Management.Automation.Language.MemberExpressionAst]) -and $node.Static -and $node.Expression -is [System.Management.Automation.Language.TypeExpressionAst] -and
            $node.Member -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
            $resolved = Resolve-Type -TypeName $node.Expression.TypeName -Namespaces $namespaces -ScriptTypes $scriptTypes
            if ($resolved.Status -ne 'found') { continue }
            $count = -1
            if ($node -is [System.Management.Automation.Language.InvokeMemberExpressionAst]) { $count = 0; if ($null -ne $node.Arguments) { $count = $node.Arguments.Count } }
            $memberName = $node.Member.Value
            if ($memberName -eq 'new') { $counts.constructors++ } else { $counts.members++ }
            $answer = Test-StaticMember -Type $resolved.Type -Name $memberName -Arguments $count
            if ($answer -eq 'found' -and $count -gt 0) {
                # A number where every overload of that arity takes a string: PowerShell converts it and calls that one
                # ([RSA]::Create(2048) is RSA.Create("2048") on .NET Framework 4.6.2: an algorithm name, and $null).
                $numbers = @()
                for ($position = 0; $position -lt $count; $position++) {
                    $argument = $node.Arguments[$position]
                    if ($argument -is [System.Management.Automation.Language.ConstantExpressionAst] -and $argument -isnot [System.Management.Automation.Language.StringConstantExpressionAst] -and $argument.Value -is [int]) { $numbers += $position }
                }
                if ($numbers.Count -gt 0 -and -not (Test-NumericOverload -Type $resolved.Type -Name $memberName -Arguments $count -Positions $numbers)) {
                    $shown = ($numbers | ForEach-Object { 'int' }) -join ', '
                    Add-Finding $node 'member' "$($resolved.Name)::$memberName($shown)" "[$($resolved.Name)]::$memberName has no overload taking a number there on .NET Framework 4.6.2: PowerShell passes it as a string to the overload that exists."
                }
            }
            if ($answer -eq 'missing') { Add-Finding $node 'member' "$($resolved.Name)::$memberName" "[$($resolved.Name)]::$memberName does not exist on .NET Framework 4.6.2." }
            elseif ($answer -eq 'arity') {
                $what = if ($memberName -eq 'new') { 'has no constructor' } else { "has no $memberName overload" }
                Add-Finding $node 'member' "$($resolved.Name)::$memberName/$count" "[$($resolved.Name)] $what taking $count argument(s) on .NET Framework 4.6.2."
            }
        }
        if ($node -is [System.Management.Automation.Language.CommandAst]) {
            $name = $node.GetCommandName()
            if (-not $name -or $name -match '[\\/]' -or $name -match '\.(ps1|exe|cmd|bat)$') { continue }
            $counts.commands++
            $shape = $null
            $shapeAliases = $null
            $advanced = $true
            if ($functions.ContainsKey($name)) {
                if ($functions[$name].Dynamic) { continue }
                $shape = $functions[$name].Parameters; $shapeAliases = $functions[$name].Aliases; $advanced = $functions[$name].Advanced
            }
            elseif ($commands.ContainsKey($name)) { $shape = $commands[$name].Parameters }
            elseif ($external.ContainsKey($name)) { $counts.external++; continue }
            else {
                $alias = Get-Item -LiteralPath ('Alias:' + $name) -ErrorAction SilentlyContinue
                # A built-in alias of this PowerShell whose command 5.1 has (5.1's aliases are a superset of 7's).
                if ($null -ne $alias -and $commands.ContainsKey($alias.Definition)) {
                    $shape = $commands[$alias.Definition].Parameters
                    $name = $alias.Definition
                }
                else {
                    Add-Finding $node 'command' $name "$name is not a command of Windows PowerShell 5.1 (Server 2016), of the module, nor of a module the generated code loads."
                    continue
                }
            }
            $elements = $node.CommandElements
            for ($i = 1; $i -lt $elements.Count; $i++) {
                $element = $elements[$i]
                if ($element -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
                $counts.parameters++
                $written = $element.ParameterName
                $bound = Resolve-Parameter -Parameters $shape -Aliases $shapeAliases -Written $written -Advanced $advanced
                if ($bound.Status -eq 'missing' -and $commands.ContainsKey($name)) {
                    if ($dynamicParameters.ContainsKey($name + '|' + $written)) { continue }
                    $target = Get-Pwsh7ParameterByAlias -Command $name -Written $written
                    if ($null -ne $target -and $shape.ContainsKey($target)) { $bound = [pscustomobject]@{ Status = 'found'; Name = $target } }
                }
                if ($bound.Status -eq 'missing') {
                    $hint = if ($written -eq 'ProgressAction') { ' (a common parameter since PowerShell 7.4)' } else { '' }
                    Add-Finding $element 'parameter' "$name -$written" "$name has no parameter -$written on Windows PowerShell 5.1$hint."
                    continue
                }
                if ($bound.Status -eq 'ambiguous') {
                    Add-Finding $element 'parameter' "$name -$written" "-$written is ambiguous for $name on Windows PowerShell 5.1 ($($bound.Name))."
                    continue
                }
                # A constant value of an enum-typed parameter must be one of 5.1's values (-Encoding utf8NoBOM is 7 only).
                $typeText = ''
                if ($commands.ContainsKey($name) -and $commands[$name].Parameters.ContainsKey($bound.Name)) { $typeText = ([string]$commands[$name].Parameters[$bound.Name]).TrimEnd(']').TrimEnd('[') }
                if ($common.ContainsKey($bound.Name) -and $bound.Name -match 'Action$') { $typeText = 'ActionPreference' }
                $known = $knownEnums.ContainsKey($typeText)
                if (-not $typeText -or (-not $known -and (-not $enumsBySimpleName.ContainsKey($typeText) -or @($enumsBySimpleName[$typeText]).Count -ne 1))) { continue }
                $value = $element.Argument
                if ($null -eq $value -and $i + 1 -lt $elements.Count -and $elements[$i + 1] -isnot [System.Management.Automation.Language.CommandParameterAst]) { $value = $elements[$i + 1] }
                if ($value -isnot [System.Management.Automation.Language.StringConstantExpressionAst]) { continue }
                $counts.values++
                $badValues = if ($known) { @(($value.Value -split ',') | ForEach-Object { $_.Trim() } | Where-Object { $_ -and $knownEnums[$typeText] -notcontains $_ }) } else { @(Test-EnumValue -Type $enumsBySimpleName[$typeText][0] -Text $value.Value) }
                foreach ($bad in $badValues) {
                    Add-Finding $value 'value' "$name -$($bound.Name) $bad" "-$($bound.Name) $bad is not a value of [$typeText] on Windows PowerShell 5.1."
                }
            }
            if ($name -eq 'New-Object') {
                try { $binding = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($node, $true) } catch { continue }
                $typeArgument = $binding.BoundParameters['TypeName']
                if ($null -eq $typeArgument -or $typeArgument.Value -isnot [System.Management.Automation.Language.StringConstantExpressionAst]) { continue }
                $typeText = $typeArgument.Value.Value
                $parsed = [System.Management.Automation.Language.Parser]::ParseInput("[$typeText]", [ref]$null, [ref]$null)
                $typeAst = $parsed.Find({ param($n) $n -is [System.Management.Automation.Language.TypeExpressionAst] }, $true)
                if ($null -eq $typeAst) { continue }
                $counts.types++
                $resolved = Resolve-Type -TypeName $typeAst.TypeName -Namespaces $namespaces -ScriptTypes $scriptTypes
                if ($resolved.Status -eq 'missing') { Add-Finding $node 'type' $typeText "New-Object $typeText`: the type is not in .NET Framework 4.6.2."; continue }
                if ($resolved.Status -eq 'unverified') { Add-Finding $node 'type' $typeText "New-Object $typeText`: not in PowerShellStandard.Library 5.1: only a real 5.1 run can tell." $false; continue }
                if ($resolved.Status -ne 'found') { continue }
                $assemblyName = $resolved.Type.Assembly.GetName().Name
                if (-not $loadedAssemblies.ContainsKey($assemblyName) -and -not $addedAssemblies.ContainsKey($assemblyName)) {
                    Add-Finding $node 'type' $typeText "New-Object $typeText`: $assemblyName is not loaded by default on Windows PowerShell 5.1: Add-Type -AssemblyName $assemblyName first."
                }
                # New-Object 'byte[]' 10 makes an array: no constructor to look up.
                if ($typeAst.TypeName -is [System.Management.Automation.Language.ArrayTypeName]) { continue }
                $argumentList = $binding.BoundParameters['ArgumentList']
                $count = 0
                if ($null -ne $argumentList) { $count = Get-ArgumentCount -Value $argumentList.Value }
                if ($count -lt 0) { continue }
                $counts.constructors++
                if ((Test-StaticMember -Type $resolved.Type -Name 'new' -Arguments $count) -ne 'found') {
                    Add-Finding $node 'constructor' "$typeText/$count" "New-Object $typeText with $count argument(s): no such constructor on .NET Framework 4.6.2."
                }
            }
        }
    }
    # Escapes 5.1's tokenizer does not know ("`e" is 'e' there, "`u{...}" is 'u{...}'), and number suffixes it refuses.
    foreach ($token in $tokens) {
        $kind = [string]$token.Kind
        if ($kind -in 'StringExpandable', 'HereStringExpandable') {
            $start = $token.Extent.StartOffset
            $skip = $false
            foreach ($region in $regions) { if ($start -ge $region[0] -and $start -lt $region[1]) { $skip = $true; break } }
            if ($skip) { continue }
            if ($token.Text -match '(?<!`)(?:``)*`(e|u\{)') {
                $counts.syntax++
                $null = $findings.Add([ordered]@{ line = $token.Extent.StartLineNumber; column = $token.Extent.StartColumnNumber; category = 'syntax'; subject = '`' + $Matches[1]
                    message = "The escape ``$($Matches[1]) is PowerShell 6+: Windows PowerShell 5.1 reads it as plain text."; gating = $true })
            }
        }
        if ($kind -eq 'Number' -and $token.Text -match '(?i)^(0b[01]+|[0-9a-fx.]+(uy|us|ul|u|y|s|n))$') {
            $counts.syntax++
            $null = $findings.Add([ordered]@{ line = $token.Extent.StartLineNumber; column = $token.Extent.StartColumnNumber; category = 'syntax'; subject = 'number ' + $token.Text
                message = "The number literal $($token.Text) is PowerShell 7 only."; gating = $true })
        }
    }
    [ordered]@{ id = $Entry.id; parseErrors = @($errors).Count; findings = @($findings); counts = $counts }
}

$results = foreach ($entry in @($request.files)) { Invoke-JudgeFile -Entry $entry }
[ordered]@{
    surface = [ordered]@{ types = $types.Count; commands = $commands.Count; accelerators = $accelerators.Count }
    files   = @($results)
} | ConvertTo-Json -Depth 8 -Compress
