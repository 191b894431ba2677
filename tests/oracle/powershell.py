"""The PowerShell the harness puts around a script: redirects, the batch runner, the isolated profile.

Only the server, the port and the credential of a legacy send are redirected:

* ``Send-MailMessage`` becomes a proxy function (``ProxyCommand``, so positions, aliases, the
  pipeline by value and by property name all bind exactly as the cmdlet's) whose begin block sets
  -SmtpServer/-Port/-Credential to the sink and drops -UseSsl, then forwards to
  Microsoft.PowerShell.Utility\\Send-MailMessage.
* ``SmtpClient.Send`` gets an ETS CodeMethod (a small compiled shim) that sets Host/Port/EnableSsl/
  Credentials on the client at send time and calls the real Send; a failure surfaces as the same
  MethodInvocationException (inner SmtpException, same error id) a direct call raises.
* For patched scripts, the inline style's hard-coded ``https://graph.microsoft.com`` is sent to the
  fake by an Invoke-RestMethod proxy (the module itself reads GraphEndpoint). The SMTP redirect stays
  in place there as a tripwire: a patched script that still sends over SMTP is caught, not leaked.

Every child also gets HTTPS_PROXY pointing at a dead loopback port (NO_PROXY=127.0.0.1), so no
request can leave the machine even if something escaped the redirects.
"""

from __future__ import annotations

SHIM_SOURCE = r"""
using System;
using System.Management.Automation;
using System.Net;
using System.Net.Mail;
public static class OracleSmtpShim {
    public static string Host = "127.0.0.1";
    public static int Port = 0;
    public static string User = "oracle:unknown";
    public static void Send(PSObject self, object a, object b = null, object c = null, object d = null) {
        var client = (SmtpClient)self.BaseObject;
        client.Host = Host; client.Port = Port; client.EnableSsl = false;
        client.UseDefaultCredentials = false;
        client.Credentials = new NetworkCredential(User, "oracle");
        int count = b == null ? 1 : 4;
        try {
            if (b == null) { client.Send((MailMessage)LanguagePrimitives.ConvertTo(a, typeof(MailMessage))); }
            else {
                client.Send((string)LanguagePrimitives.ConvertTo(a, typeof(string)), (string)LanguagePrimitives.ConvertTo(b, typeof(string)),
                            (string)LanguagePrimitives.ConvertTo(c, typeof(string)), (string)LanguagePrimitives.ConvertTo(d, typeof(string)));
            }
        } catch (Exception e) {
            // What PowerShell raises for a .NET method that throws: same message, inner exception and error id.
            var wrapped = new MethodInvocationException("Exception calling \"Send\" with \"" + count + "\" argument(s): \"" + e.Message + "\"", e);
            var setId = typeof(RuntimeException).GetMethod("SetErrorId", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
            if (setId != null) { setId.Invoke(wrapped, new object[] { e.GetType().Name }); }
            throw wrapped;
        }
    }
}
"""

BUILD_SHIM = r"""
param([string]$Source, [string]$Out)
Add-Type -TypeDefinition (Get-Content -LiteralPath $Source -Raw) -OutputAssembly $Out -ErrorAction Stop
"""

# Runs in the global scope of every child before anything else. Placeholders: __SHIM__, __PORT__, __GRAPH__.
PRELUDE = r"""
$PSStyle.OutputRendering = 'PlainText'
Add-Type -Path '__SHIM__' -ErrorAction Stop
[OracleSmtpShim]::Port = __PORT__
Update-TypeData -TypeName System.Net.Mail.SmtpClient -MemberType CodeMethod -MemberName Send -Value ([OracleSmtpShim].GetMethod('Send')) -Force -ErrorAction Stop
$global:OracleGraphBase = '__GRAPH__'
function global:Set-OracleShape([string]$Id) { [OracleSmtpShim]::User = 'oracle:' + $Id }
$oracleProxy = [System.Management.Automation.ProxyCommand]::Create([System.Management.Automation.CommandMetadata]::new(
    (Get-Command -Name Microsoft.PowerShell.Utility\Send-MailMessage -CommandType Cmdlet -ErrorAction Stop)))
$oracleRedirect = @'
        $PSBoundParameters['SmtpServer'] = '127.0.0.1'
        $PSBoundParameters['Port'] = [OracleSmtpShim]::Port
        $PSBoundParameters['UseSsl'] = [switch]$false
        $PSBoundParameters['Credential'] = [pscredential]::new([OracleSmtpShim]::User, (ConvertTo-SecureString -String 'oracle' -AsPlainText -Force))
'@
# ProxyCommand cannot copy the cmdlet's encoding-name transformation ('UTF8'): take any value, the cmdlet converts it.
$oracleProxy = $oracleProxy.Replace("[System.Text.Encoding]`n    `${Encoding}", "[object]`n    `${Encoding}")
$oracleAt = $oracleProxy.IndexOf('$wrappedCmd = ')
if ($oracleAt -lt 0) { throw 'oracle: cannot build the Send-MailMessage proxy' }
$oracleProxy = $oracleProxy.Substring(0, $oracleAt) + $oracleRedirect.TrimStart() + "`n        " + $oracleProxy.Substring($oracleAt)
# A proxy that rethrows (`catch { throw }`) would turn the cmdlet's statement-terminating errors into
# script-terminating ones; report them as a cmdlet does.
$oracleRethrow = "} catch {`n        `$PSCmdlet.ThrowTerminatingError(`$_)`n    }"
$oracleProxy = $oracleProxy.Replace("} catch {`n        throw`n    }", $oracleRethrow)
Set-Item -Path function:global:Send-MailMessage -Value ([scriptblock]::Create($oracleProxy))
if ($global:OracleGraphBase) {
    $oracleIrm = [System.Management.Automation.ProxyCommand]::Create([System.Management.Automation.CommandMetadata]::new(
        (Get-Command -Name Microsoft.PowerShell.Utility\Invoke-RestMethod -CommandType Cmdlet -ErrorAction Stop)))
    $oracleIrmRedirect = @'
        $oracleUri = [string]$PSBoundParameters['Uri']
        if ($oracleUri -like 'https://graph.microsoft.com/*') {
            $PSBoundParameters['Uri'] = [uri]($global:OracleGraphBase + $oracleUri.Substring('https://graph.microsoft.com'.Length))
        }
'@
    $oracleAt = $oracleIrm.IndexOf('$wrappedCmd = ')
    $oracleIrm = $oracleIrm.Substring(0, $oracleAt) + $oracleIrmRedirect.TrimStart() + "`n        " + $oracleIrm.Substring($oracleAt)
    $oracleIrm = $oracleIrm.Replace("} catch {`n        throw`n    }", $oracleRethrow)
    Set-Item -Path function:global:Invoke-RestMethod -Value ([scriptblock]::Create($oracleIrm))
}
Remove-Variable -Name oracleProxy, oracleRedirect, oracleAt, oracleIrm, oracleIrmRedirect, oracleRethrow -ErrorAction SilentlyContinue
function global:Send-OracleMarker([string]$Id) {
    # The sink attributes what follows to this shape (EHLO oracle-marker-<id>), so does the Graph fake (a marker request).
    $tcp = [System.Net.Sockets.TcpClient]::new('127.0.0.1', [OracleSmtpShim]::Port)
    try {
        $stream = $tcp.GetStream()
        $reader = [System.IO.StreamReader]::new($stream)
        $null = $reader.ReadLine()
        $bytes = [System.Text.Encoding]::ASCII.GetBytes("EHLO oracle-marker-$Id`r`nQUIT`r`n")
        $stream.Write($bytes, 0, $bytes.Length)
        while ($null -ne $reader.ReadLine()) { }
    }
    finally { $tcp.Dispose() }
    if ($global:OracleGraphBase) {
        $null = Microsoft.PowerShell.Utility\Invoke-WebRequest -Uri ($global:OracleGraphBase + '/oracle/marker/' + $Id) -SkipHttpErrorCheck -ErrorAction Stop
    }
}
"""

# The batch runner: many shapes in one process, each in a fresh runspace of its own (a try/catch or
# trap around the script would change what a statement-terminating error does inside it). Exit codes
# as pwsh -File reports them: `exit N` -> N, an error that ends the script -> 1, else 0.
RUNNER = r"""
param([string]$PlanPath)
$oraclePlan = Get-Content -LiteralPath $PlanPath -Raw -Encoding utf8 | ConvertFrom-Json
$oracleBoot = @'
param([string]$Prelude, [string]$Id, [string]$Setup, [string]$Path, [hashtable]$Arguments, [string]$Cwd)
Set-Location -LiteralPath $Cwd
. $Prelude
Set-OracleShape $Id
Send-OracleMarker $Id
if ($Setup) { . ([scriptblock]::Create($Setup)) }
& $Path @Arguments *>&1
'@
function Write-OracleRecord([string]$Id, [string]$Kind, [string]$Text) {
    [Console]::Out.WriteLine((ConvertTo-Json -Compress -InputObject ([ordered]@{ oracle = $Id; kind = $Kind; text = $Text })))
}
$sessionState = [initialsessionstate]::CreateDefault2()
foreach ($item in $oraclePlan) {
    # Arguments are '-Name', 'value' pairs: splat them as named parameters, as `pwsh -File script -Name value` binds them.
    $arguments = @{}
    $list = @($item.args)
    for ($i = 0; $i -lt $list.Count; $i += 2) { $arguments[$list[$i].TrimStart('-')] = $list[$i + 1] }
    $runspace = [runspacefactory]::CreateRunspace($sessionState)
    $runspace.Open()
    $shell = [powershell]::Create()
    $shell.Runspace = $runspace
    $null = $shell.AddScript($oracleBoot).AddArgument('__PRELUDE__').AddArgument($item.id).AddArgument($item.setup)
    $null = $shell.AddArgument($item.path).AddArgument($arguments).AddArgument($item.cwd)
    $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
    Write-OracleRecord $item.id 'begin' ''
    $terminated = $false
    try { $shell.Invoke($null, $output) }
    catch {
        $terminated = $true
        $inner = $_.Exception
        if ($inner.InnerException) { $inner = $inner.InnerException }
        Write-OracleRecord $item.id 'terminated' $inner.Message
    }
    foreach ($record in $output) {
        if ($record -is [System.Management.Automation.ErrorRecord]) { Write-OracleRecord $item.id 'error' "$record" }
        elseif ($record -is [System.Management.Automation.WarningRecord]) { Write-OracleRecord $item.id 'warning' $record.Message }
        elseif ($record -is [System.Management.Automation.InformationRecord]) { Write-OracleRecord $item.id 'out' "$($record.MessageData)" }
        elseif ($record -is [System.Management.Automation.VerboseRecord] -or $record -is [System.Management.Automation.DebugRecord]) { }
        else { Write-OracleRecord $item.id 'out' "$record" }
    }
    foreach ($record in $shell.Streams.Error) { Write-OracleRecord $item.id 'error' "$record" }
    $code = 0
    $last = $runspace.SessionStateProxy.GetVariable('LASTEXITCODE')
    if ($terminated) { $code = 1 } elseif ($last) { $code = [int]$last }
    Write-OracleRecord $item.id 'end' "$code"
    $shell.Dispose()
    $runspace.Dispose()
}
"""

# The profile of an isolated run (`pwsh -File script.ps1`, real exit code). Placeholders: __PRELUDE__, __ID__, __SETUP__.
ISOLATED_PROFILE = r"""
. '__PRELUDE__'
Set-OracleShape '__ID__'
Send-OracleMarker '__ID__'
. '__SETUP__'
"""
