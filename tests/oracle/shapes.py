"""The call shapes the oracle runs: the generated matrix, plus every fixture and example `fix` patches.

Each shape is a small folder: the script (written for the oracle, in its own words), the files it
attaches or reads, and the stubs both runs share (a credential from Import-Clixml, Windows-only
cmdlets). Shapes print markers ("sent", "caught", ...) so the control-flow comparison can see which
branch ran. Nothing here depends on the date, the machine or the network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Both runs: a stored credential (Import-Clixml / Get-Credential never prompt or read a real file).
COMMON_SETUP = r"""
function global:Import-Clixml { param([Parameter(Position = 0, ValueFromPipeline = $true)][string]$Path, [string]$LiteralPath)
    [pscredential]::new('svc@contoso.com', (ConvertTo-SecureString -String 'stub-not-a-password' -AsPlainText -Force)) }
function global:Get-Credential { param([Parameter(Position = 0)]$Credential, [string]$Message, [string]$UserName)
    [pscredential]::new('svc@contoso.com', (ConvertTo-SecureString -String 'stub-not-a-password' -AsPlainText -Force)) }
"""

CRED = "$cred = Import-Clixml -Path (Join-Path $PSScriptRoot 'smtp-cred.xml')"
SERVER = "-SmtpServer 'smtp.office365.com' -Port 587 -UseSsl -Credential $cred"
ATTACHMENT_FILES: dict[str, bytes] = {
    "report.csv": b"Server,FreeGB\r\nFS01,120.5\r\nFS02,88\r\n",
    "notes.txt": "Zürich — état des lieux ✓\n".encode("utf-8"),
    "logo.png": bytes(range(256)) * 3,
    "data[1].txt": b"bracketed name\n",
    "recipients.csv": b"To,Subject,Body\r\nops@contoso.com,Disk FS01,FS01 is low\r\nit-ops@contoso.com,Disk FS02,FS02 is low\r\n",
}


FLOW_CATEGORIES = {"try/catch", "trap", "function", "script module", "begin/process/end", "wrapper"}


@dataclass(frozen=True)
class Shape:
    """One call shape: a folder with an entry script, run once per side and failure mode."""

    name: str
    category: str
    script: str  # the entry script's text (written as UTF-8 with BOM)
    files: dict[str, bytes] = field(default_factory=dict)
    setup: str = ""  # PowerShell run in the global scope before the script, on both sides
    entry: str = "script.ps1"
    args: tuple[str, ...] = ()
    isolate: bool = False  # control flow needs its own process (exit codes, trap, uncaught errors)
    retry: bool = False  # also run with Graph answering 429 then 503
    source: str = "matrix"  # "matrix", or the repository path of the fixture / example
    copy_from: str = ""  # repository file copied verbatim as the entry (fixtures and examples)
    # The original side when PowerShell 7 cannot run the script as written (a stand-in with the same
    # meaning). No shape needs one today: the pipeline-by-property-name shapes once had a per-object
    # reference, which neither 5.1 nor 7.6 does (see smm-pipe-csv); they now compare what the cmdlet does.
    reference: str = ""
    original_refuses: bool = False  # the original sends nothing by design (the comparison is that both refuse)
    bom: bool = True  # the entry script is written as UTF-8 with a BOM (False: without, as many scripts are)

    @property
    def failures(self) -> tuple[str, ...]:
        """Graph failure modes this shape runs: 403 always; 404 where control flow is the point; 429-then-503 on `retry`."""
        modes = ["403"]
        if self.retry or self.isolate or self.category in FLOW_CATEGORIES:
            modes.append("404")
        if self.retry:
            modes.append("429-503")
        return tuple(modes)


def _smm(name: str, category: str, call: str, *, before: str = "", after: str = "'sent'", isolate: bool = False,
         retry: bool = False, files: tuple[str, ...] = (), setup: str = "", reference_call: str = "") -> Shape:
    text = "\n".join(part for part in (CRED, before, call, after) if part) + "\n"
    reference = "\n".join(part for part in (CRED, before, reference_call, after) if part) + "\n" if reference_call else ""
    return Shape(name, category, text, {f: ATTACHMENT_FILES[f] for f in files}, setup, isolate=isolate, retry=retry,
                 reference=reference)


BASIC = "-To 'ops@contoso.com' -From 'alerts@contoso.com'"


def send_mailmessage_shapes() -> list[Shape]:
    s: list[Shape] = []
    add = s.append
    add(_smm("smm-named", "named", f"Send-MailMessage {BASIC} -Subject 'Nightly' -Body 'All jobs finished.' {SERVER}",
             retry=True))
    add(_smm("smm-html", "named", f"Send-MailMessage {BASIC} -Subject 'Nightly' -Body '<p>All <b>green</b></p>' -BodyAsHtml {SERVER}"))
    add(_smm("smm-cc-bcc", "named", f"Send-MailMessage -To 'ops@contoso.com', 'it-ops@contoso.com' -Cc 'lead@contoso.com' "
             f"-Bcc 'audit@contoso.com', 'archive@contoso.com' -From 'alerts@contoso.com' -Subject 'Copies' -Body 'x' {SERVER}"))
    add(_smm("smm-display-names", "named", "Send-MailMessage -To 'Ops Team <ops@contoso.com>' -Cc '\"Doe, John\" <john.doe@contoso.com>' "
             f"-From 'Contoso Alerts <alerts@contoso.com>' -Subject 'Names' -Body 'x' {SERVER}"))
    add(dataclasses.replace(_smm("smm-comma-list", "named", f"Send-MailMessage -To 'ops@contoso.com,it-ops@contoso.com' "
                                 f"-From 'alerts@contoso.com' -Subject 'Comma list' -Body 'x' {SERVER}"), original_refuses=True))
    add(_smm("smm-reply-to", "named", f"Send-MailMessage {BASIC} -ReplyTo 'helpdesk@contoso.com' -Subject 'Reply here' -Body 'x' {SERVER}"))
    add(_smm("smm-priority-high", "named", f"Send-MailMessage {BASIC} -Subject 'Urgent' -Body 'x' -Priority High {SERVER}"))
    add(_smm("smm-priority-low", "named", f"Send-MailMessage {BASIC} -Subject 'FYI' -Body 'x' -Priority Low {SERVER}"))
    add(_smm("smm-dno-onsuccess", "named", f"Send-MailMessage {BASIC} -Subject 'Receipt' -Body 'x' -DeliveryNotificationOption OnSuccess {SERVER}"))
    add(_smm("smm-dno-onfailure-only", "named", f"Send-MailMessage {BASIC} -Subject 'Bounce only' -Body 'x' -DeliveryNotificationOption OnFailure {SERVER}"))
    add(_smm("smm-dno-onfailure", "named", f"Send-MailMessage {BASIC} -Subject 'Bounce' -Body 'x' -DeliveryNotificationOption OnFailure, Delay {SERVER}"))
    add(_smm("smm-attachments", "named", f"Send-MailMessage {BASIC} -Subject 'Files' -Body 'x' "
             f"-Attachments (Join-Path $PSScriptRoot 'report.csv'), (Join-Path $PSScriptRoot 'logo.png') {SERVER}",
             files=("report.csv", "logo.png")))
    add(_smm("smm-attachment-relative", "named", f"Send-MailMessage {BASIC} -Subject 'Relative' -Body 'x' -Attachments 'notes.txt' {SERVER}",
             files=("notes.txt",)))
    add(dataclasses.replace(_smm("smm-attachment-brackets", "named", f"Send-MailMessage {BASIC} -Subject 'Brackets' -Body 'x' "
                                 f"-Attachments (Join-Path $PSScriptRoot 'data[1].txt') {SERVER}", files=("data[1].txt",)),
                            original_refuses=True))
    add(_smm("smm-non-ascii", "named", "Send-MailMessage -To 'Zoë Brontë <zoe@contoso.com>' -From 'Relatórios <reports@contoso.com>' "
             f"-Subject 'Relatório diário — Zürich ✓' -Body 'Olá, ça va? 日本語のテキスト' {SERVER}"))
    add(dataclasses.replace(_smm("smm-non-ascii-bomless", "named", f"Send-MailMessage {BASIC} -Subject 'Résumé — Zürich' "
                                 f"-Body 'Prêt à partir' {SERVER}"), bom=False))
    # From is the user name of a credential the script builds: --unsafe-fixes writes that mailbox into -From.
    add(_smm("smm-from-credential-user", "named", "Send-MailMessage -To 'ops@contoso.com' -From $mailCred.UserName "
             "-Subject 'From the credential' -Body 'x' -SmtpServer 'smtp.office365.com' -Port 587 -UseSsl -Credential $mailCred",
             before="$mailCred = New-Object System.Management.Automation.PSCredential('svc@contoso.com', "
                    "(New-Object System.Security.SecureString))"))
    add(_smm("smm-encoding", "named", f"Send-MailMessage {BASIC} -Subject 'Encodage é' -Body 'Größe' -Encoding UTF8 {SERVER}"))
    add(_smm("smm-positional", "positional", "Send-MailMessage 'ops@contoso.com' 'Positional' 'Body by position' 'smtp.office365.com' "
             "-From 'alerts@contoso.com' -Port 587 -UseSsl -Credential $cred"))
    add(_smm("smm-aliases", "named", f"Send-MailMessage {BASIC} -sub 'Aliases' -Body '<i>x</i>' -BAH -DNO OnSuccess "
             "-ComputerName 'smtp.office365.com' -Port 587 -UseSsl -Credential $cred"))
    add(_smm("smm-prefixes", "named", "Send-MailMessage -To 'ops@contoso.com' -Fr 'alerts@contoso.com' -Subj 'Prefixes' -Body 'x' "
             "-Pri High -SmtpS 'smtp.office365.com' -Po 587 -UseS -Cred $cred"))
    add(_smm("smm-colon-switch", "named", f"Send-MailMessage {BASIC} -Subject 'Colon' -Body '<b>x</b>' -BodyAsHtml:$true "
             "-SmtpServer 'smtp.office365.com' -Port:587 -UseSsl:$true -Credential:$cred"))
    add(_smm("smm-variables", "named", "Send-MailMessage -To $to -From $from -Subject $subject -Body $body " + SERVER,
             before="$to = @('ops@contoso.com', 'it-ops@contoso.com')\n$from = 'alerts@contoso.com'\n"
                    "$subject = 'From variables'\n$body = \"Line one`nLine two\""))
    add(_smm("smm-here-string", "named", f"Send-MailMessage {BASIC} -Subject 'Here-string' -Body $html -BodyAsHtml {SERVER}",
             before="$html = @\"\n<html><body>\n<h1>Report</h1>\n<p>Servers: 3</p>\n</body></html>\n\"@"))
    add(_smm("smm-backtick", "named", "Send-MailMessage `\n    -To 'ops@contoso.com' `\n    -From 'alerts@contoso.com' `\n"
             "    -Subject 'Backticks' `\n    -Body 'x' `\n    -SmtpServer 'smtp.office365.com' -Port 587 -UseSsl -Credential $cred"))
    add(_smm("smm-loop", "named", "foreach ($server in 'FS01', 'FS02') {\n    Send-MailMessage "
             f"{BASIC} -Subject \"Disk low on $server\" -Body \"$server is below 10%\" {SERVER}\n    \"sent $server\"\n}}",
             after=""))
    # splats
    splat = ("$mail = @{\n    To         = 'ops@contoso.com'\n    From       = 'alerts@contoso.com'\n    Subject    = 'Splatted'\n"
             "    Body       = 'From a hashtable'\n    SmtpServer = 'smtp.office365.com'\n    Port       = 587\n    UseSsl     = $true\n"
             "    Credential = $cred\n}")
    add(_smm("smm-splat", "splat", "Send-MailMessage @mail", before=splat))
    add(_smm("smm-splat-named", "splat + named", "Send-MailMessage @mail -Cc 'lead@contoso.com' -Priority High -BodyAsHtml",
             before=splat))
    add(_smm("smm-splat-conditional", "splat", "Send-MailMessage @mail", before=splat + "\nif ($true) { $mail['Cc'] = 'cfo@contoso.com' }\n"
             "if ($false) { $mail['Bcc'] = 'never@contoso.com' }"))
    add(_smm("smm-splat-attachments", "splat", "Send-MailMessage @mail", before=splat + "\n$mail.Attachments = @((Join-Path $PSScriptRoot 'report.csv'))",
             files=("report.csv",)))
    add(_smm("smm-splat-ordered", "splat", "Send-MailMessage @mail", before=splat.replace("$mail = @{", "$mail = [ordered]@{")))
    # defaults
    defaults = ("$PSDefaultParameterValues['Send-MailMessage:SmtpServer'] = 'smtp.office365.com'\n"
                "$PSDefaultParameterValues['Send-MailMessage:Port'] = 587\n"
                "$PSDefaultParameterValues['Send-MailMessage:UseSsl'] = $true\n"
                "$PSDefaultParameterValues['Send-MailMessage:Credential'] = $cred")
    add(_smm("smm-defaults-server", "$PSDefaultParameterValues", f"Send-MailMessage {BASIC} -Subject 'Defaults' -Body 'x'", before=defaults))
    add(_smm("smm-defaults-from", "$PSDefaultParameterValues", f"Send-MailMessage -To 'ops@contoso.com' -Subject 'Default From' -Body 'x' {SERVER}",
             before="$PSDefaultParameterValues['Send-MailMessage:From'] = 'Contoso Reports <reports@contoso.com>'"))
    add(_smm("smm-defaults-wildcard", "$PSDefaultParameterValues", f"Send-MailMessage -To 'ops@contoso.com' -Subject 'Wildcard default' -Body 'x' {SERVER}",
             before="$PSDefaultParameterValues['Send-Mail*:From'] = 'alerts@contoso.com'\n"
                    "$PSDefaultParameterValues['Send-MailMessage:Priority'] = 'High'"))
    add(_smm("smm-defaults-scriptblock", "$PSDefaultParameterValues", f"Send-MailMessage {BASIC} -Body 'x' {SERVER}",
             before="$PSDefaultParameterValues['Send-MailMessage:Subject'] = { 'Computed ' + 'subject' }"))
    add(_smm("smm-defaults-attachments", "$PSDefaultParameterValues", f"Send-MailMessage {BASIC} -Subject 'Default attachment' -Body 'x' {SERVER}",
             before="$PSDefaultParameterValues['Send-MailMessage:Attachments'] = (Join-Path $PSScriptRoot 'report.csv')",
             files=("report.csv",)))
    add(_smm("smm-psemailserver", "$PSEmailServer", f"Send-MailMessage {BASIC} -Subject 'PSEmailServer' -Body 'x' -Port 587 -UseSsl -Credential $cred",
             before="$PSEmailServer = 'smtp.office365.com'"))
    # pipeline
    add(_smm("smm-pipe-gci", "pipeline (Get-ChildItem)", f"Get-ChildItem -Path $PSScriptRoot -Filter *.csv |\n    Send-MailMessage {BASIC} "
             f"-Subject 'CSV files' -Body 'attached' {SERVER}", files=("report.csv",)))
    add(_smm("smm-pipe-gci-many", "pipeline (Get-ChildItem)", f"Get-ChildItem -Path $PSScriptRoot -Include *.csv, *.txt -Recurse | Sort-Object Name |\n"
             f"    Send-MailMessage {BASIC} -Subject 'Many files' -Body 'attached' {SERVER}", files=("report.csv", "notes.txt")))
    add(_smm("smm-pipe-strings", "pipeline (by value)", f"'report.csv', 'notes.txt' | Send-MailMessage {BASIC} -Subject 'Paths' -Body 'x' {SERVER}",
             files=("report.csv", "notes.txt")))
    # To/Subject/Body from pipeline objects: nothing is sent, by design of the cmdlet. Windows PowerShell 5.1's
    # Send-MailMessage takes no parameter by property name (only Attachments, by value): To and Subject are
    # missing mandatory parameters. PowerShell 6.1+ binds them by property name (PR #6911) but builds the message
    # in BeginProcessing, before any pipeline value binds (issue #7591, never fixed): 7.6 stops the statement with
    # a NullReferenceException. Both refuse; the patched call must refuse too (statement-terminating, 'sent' after it).
    add(dataclasses.replace(_smm("smm-pipe-csv", "pipeline (by property name)", "Import-Csv -Path (Join-Path $PSScriptRoot 'recipients.csv') |\n"
                                 f"    Send-MailMessage -From 'alerts@contoso.com' {SERVER}", files=("recipients.csv",), retry=True),
                            original_refuses=True))
    add(dataclasses.replace(_smm("smm-pipe-object", "pipeline (by property name)", "[pscustomobject]@{ To = 'ops@contoso.com'; Cc = 'lead@contoso.com'; "
                                 "Subject = 'From an object'; Body = 'bound by name'; Priority = 'High' } |\n"
                                 f"    Send-MailMessage -From 'alerts@contoso.com' {SERVER}"), original_refuses=True))
    add(dataclasses.replace(_smm("smm-pipe-object-attachments", "pipeline (by property name)", "[pscustomobject]@{ To = 'ops@contoso.com'; Subject = 'Object attachments'; "
                                 "Attachments = (Join-Path $PSScriptRoot 'notes.txt') } |\n"
                                 f"    Send-MailMessage -From 'alerts@contoso.com' -Body 'x' {SERVER}", files=("notes.txt",)),
                            original_refuses=True))
    # functions, modules, named blocks
    add(_smm("smm-in-function", "function", "Send-Report -To 'ops@contoso.com' -Text 'from a function'",
             before="function Send-Report {\n    param([string]$To, [string]$Text)\n"
                    f"    Send-MailMessage -To $To -From 'reports@contoso.com' -Subject 'Function' -Body $Text {SERVER}\n}}"))
    add(_smm("smm-advanced-function", "function", "'ops@contoso.com', 'it-ops@contoso.com' | Send-Report",
             before="function Send-Report {\n    [CmdletBinding()]\n    param([Parameter(ValueFromPipeline)][string]$To)\n"
                    f"    process {{\n        Send-MailMessage -To $To -From 'reports@contoso.com' -Subject 'Per recipient' -Body 'x' {SERVER}\n"
                    "        \"sent $To\"\n    }\n}", after=""))
    add(_smm("smm-wrapper-psbound", "wrapper", "Send-Notice -To 'ops@contoso.com' -Subject 'Wrapped' -Body 'x'",
             before="function Send-Notice {\n    param([string[]]$To, [string]$Subject, [string]$Body)\n"
                    "    Send-MailMessage @PSBoundParameters -From 'alerts@contoso.com' " + SERVER + "\n}"))
    add(_smm("smm-wrapper-alias", "wrapper", f"Send-Notice {BASIC} -Subject 'Alias' -Body 'x' {SERVER}",
             before="Set-Alias -Name Send-Notice -Value Send-MailMessage"))
    module = ("function Send-TeamMail {\n    param([string]$Subject, [string]$Body)\n    $settings = @{\n"
              "        To = 'team@contoso.com'; From = 'Team Bot <bot@contoso.com>'; SmtpServer = 'smtp.office365.com'\n"
              "        Port = 587; UseSsl = $true; Credential = $script:cred\n    }\n"
              "    Send-MailMessage @settings -Subject $Subject -Body $Body\n}\n"
              "$script:cred = Import-Clixml -Path 'team-cred.xml'\nExport-ModuleMember -Function Send-TeamMail\n")
    s.append(Shape("smm-script-module", "script module",
                   "Import-Module (Join-Path $PSScriptRoot 'TeamMail.psm1') -Force\nSend-TeamMail -Subject 'From a module' -Body 'x'\n'sent'\n",
                   {"TeamMail.psm1": module.encode()}))
    s.append(Shape("smm-script-module-eap", "script module",
                   "$ErrorActionPreference = 'Stop'\nImport-Module (Join-Path $PSScriptRoot 'TeamMail.psm1') -Force\n"
                   "try {\n    Send-TeamMail -Subject 'Module, Stop' -Body 'x'\n    'sent'\n}\ncatch {\n    'caught'\n}\n",
                   {"TeamMail.psm1": module.encode()}))
    s.append(Shape("smm-begin-process-end", "begin/process/end",
                   "param([Parameter(ValueFromPipeline = $true)][string[]]$Line = @('first', 'second'))\n"
                   "begin {\n    " + CRED + "\n    $lines = @()\n}\nprocess {\n    $lines += $Line\n}\nend {\n"
                   f"    Send-MailMessage {BASIC} -Subject 'Collected' -Body ($lines -join \"`n\") {SERVER}\n    'sent'\n}}\n"))
    s.append(Shape("smm-cmdletbinding-blocks", "begin/process/end",
                   "[CmdletBinding()]\nparam(\n    [string]$To = 'ops@contoso.com'\n)\nbegin {\n    " + CRED + "\n}\n"
                   f"process {{\n    Send-MailMessage -To $To -From 'alerts@contoso.com' -Subject 'Blocks' -Body 'x' {SERVER}\n}}\n"
                   "end {\n    'sent'\n}\n"))
    # control flow
    add(_smm("smm-eap-stop-try", "try/catch", f"try {{\n    Send-MailMessage {BASIC} -Subject 'Stop' -Body 'x' {SERVER}\n    'sent'\n}}\n"
             "catch {\n    'caught'\n}", before="$ErrorActionPreference = 'Stop'", after="'after'", retry=True))
    add(_smm("smm-erroraction-stop-try", "try/catch", f"try {{\n    Send-MailMessage {BASIC} -Subject 'EA Stop' -Body 'x' {SERVER} -ErrorAction Stop\n"
             "    'sent'\n}\ncatch {\n    'caught'\n}", after="'after'", retry=True))
    add(_smm("smm-try-no-stop", "try/catch", f"try {{\n    Send-MailMessage {BASIC} -Subject 'No stop' -Body 'x' {SERVER}\n    'sent'\n}}\n"
             "catch {\n    'caught'\n}", after="'after'"))
    # A typed catch that reads the SmtpException's StatusCode (550 from SMTP, 403/404 from Graph: MailboxUnavailable).
    add(_smm("smm-catch-typed-status", "try/catch", f"try {{\n    Send-MailMessage {BASIC} -Subject 'Typed' -Body 'x' {SERVER} -ErrorAction Stop\n"
             "    'sent'\n}\ncatch [System.Net.Mail.SmtpException] {\n    'smtp failed ' + $_.Exception.StatusCode\n}\n"
             "catch {\n    'other failure ' + $_.Exception.GetType().Name\n}", after="'after'"))
    add(_smm("smm-errorvariable", "try/catch", f"Send-MailMessage {BASIC} -Subject 'ErrorVariable' -Body 'x' {SERVER} -ErrorVariable sendError "
             "-ErrorAction SilentlyContinue\nif ($sendError) { 'failed' } else { 'sent' }", after=""))
    add(_smm("smm-dollar-question", "try/catch", f"Send-MailMessage {BASIC} -Subject 'Status' -Body 'x' {SERVER}\n"
             "if ($?) { 'sent' } else { 'failed' }", after=""))
    add(_smm("smm-trap-continue", "trap", f"Send-MailMessage {BASIC} -Subject 'Trap' -Body 'x' {SERVER}",
             before="$ErrorActionPreference = 'Stop'\ntrap {\n    'trapped'\n    continue\n}", isolate=True))
    add(_smm("smm-trap-break", "trap", f"Send-MailMessage {BASIC} -Subject 'Trap break' -Body 'x' {SERVER}",
             before="trap {\n    'trapped'\n    break\n}\n$ErrorActionPreference = 'Stop'", isolate=True))
    add(_smm("smm-exit-code", "try/catch", f"try {{\n    Send-MailMessage {BASIC} -Subject 'Exit code' -Body 'x' {SERVER} -ErrorAction Stop\n"
             "}\ncatch {\n    'caught'\n    exit 2\n}", after="'sent'\nexit 0", isolate=True, retry=True))
    add(_smm("smm-uncaught-stop", "try/catch", f"Send-MailMessage {BASIC} -Subject 'Uncaught' -Body 'x' {SERVER}",
             before="$ErrorActionPreference = 'Stop'", isolate=True))
    add(_smm("smm-function-eap", "function", "try {\n    Send-Alert\n    'sent'\n} catch {\n    'caught'\n}",
             before="function Send-Alert {\n    $ErrorActionPreference = 'Stop'\n"
                    f"    Send-MailMessage {BASIC} -Subject 'Function Stop' -Body 'x' {SERVER}\n}}"))
    return s


SC_CLIENT = ("$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n$smtp.EnableSsl = $true\n"
             "$smtp.Credentials = $cred.GetNetworkCredential()")
SC_MESSAGE = ("$msg = New-Object System.Net.Mail.MailMessage\n$msg.From = 'alerts@contoso.com'\n$msg.To.Add('ops@contoso.com')\n"
              "$msg.Subject = 'SmtpClient'\n$msg.Body = 'Sent with System.Net.Mail'")


def _sc(name: str, category: str, extra: str = "", *, send: str = "$smtp.Send($msg)", after: str = "'sent'",
        message: str = SC_MESSAGE, files: tuple[str, ...] = (), isolate: bool = False, retry: bool = False) -> Shape:
    text = "\n".join(part for part in (CRED, SC_CLIENT, message, extra, send, after) if part) + "\n"
    return Shape(name, category, text, {f: ATTACHMENT_FILES[f] for f in files}, isolate=isolate, retry=retry)


def smtpclient_shapes() -> list[Shape]:
    s: list[Shape] = []
    add = s.append
    add(_sc("sc-basic", "SmtpClient + MailMessage", retry=True))
    add(_sc("sc-four-strings", "SmtpClient (4 strings)", message="", send="$smtp.Send('alerts@contoso.com', 'ops@contoso.com', 'Four strings', 'Body text')"))
    add(_sc("sc-ctor-message", "SmtpClient + MailMessage", message="$msg = New-Object System.Net.Mail.MailMessage('alerts@contoso.com', 'ops@contoso.com', 'Constructor', 'Body')"))
    add(_sc("sc-attachments", "MailMessage.Attachments", "$msg.Attachments.Add((New-Object System.Net.Mail.Attachment((Join-Path $PSScriptRoot 'report.csv'))))\n"
            "$msg.Attachments.Add((New-Object System.Net.Mail.Attachment((Join-Path $PSScriptRoot 'logo.png'), 'image/png')))",
            files=("report.csv", "logo.png")))
    add(_sc("sc-attachment-stream", "MailMessage.Attachments", "$bytes = [System.Text.Encoding]::UTF8.GetBytes('in memory ü')\n"
            "$stream = New-Object System.IO.MemoryStream(,$bytes)\n"
            "$msg.Attachments.Add((New-Object System.Net.Mail.Attachment($stream, 'memo.txt', 'text/plain')))"))
    add(_sc("sc-alternate-views", "MailMessage.AlternateViews", "$html = [System.Net.Mail.AlternateView]::CreateAlternateViewFromString('<p>HTML view</p>', $null, 'text/html')\n"
            "$msg.AlternateViews.Add($html)"))
    add(_sc("sc-inline-image", "MailMessage.AlternateViews", "$view = [System.Net.Mail.AlternateView]::CreateAlternateViewFromString('<img src=\"cid:logo\">', $null, 'text/html')\n"
            "$logo = New-Object System.Net.Mail.LinkedResource((Join-Path $PSScriptRoot 'logo.png'), 'image/png')\n$logo.ContentId = 'logo'\n"
            "$view.LinkedResources.Add($logo)\n$msg.AlternateViews.Add($view)", files=("logo.png",)))
    add(_sc("sc-headers-x", "MailMessage.Headers", "$msg.Headers.Add('X-Ticket', 'INC-1042')\n$msg.Headers.Add('X-Source', 'oracle')"))
    add(_sc("sc-headers-other", "MailMessage.Headers", "$msg.Headers.Add('Keywords', 'backup, nightly')"))
    add(_sc("sc-reply-to-list", "MailMessage.ReplyToList", "$msg.ReplyToList.Add('helpdesk@contoso.com')\n$msg.ReplyToList.Add('Service Desk <desk@contoso.com>')"))
    add(_sc("sc-reply-to-obsolete", "MailMessage.ReplyToList", "$msg.ReplyTo = New-Object System.Net.Mail.MailAddress('helpdesk@contoso.com')"))
    add(_sc("sc-priority", "MailMessage.Priority", "$msg.Priority = [System.Net.Mail.MailPriority]::High"))
    add(_sc("sc-priority-low", "MailMessage.Priority", "$msg.Priority = 'Low'"))
    add(_sc("sc-html", "MailMessage.IsBodyHtml", "$msg.IsBodyHtml = $true\n$msg.Body = '<h1>Status</h1><p>green</p>'"))
    add(_sc("sc-sender", "MailMessage.Sender", "$msg.Sender = New-Object System.Net.Mail.MailAddress('shared@contoso.com')"))
    add(_sc("sc-sender-display", "MailMessage.Sender", "$msg.From = New-Object System.Net.Mail.MailAddress('alerts@contoso.com', 'Contoso Alerts')\n"
            "$msg.Sender = New-Object System.Net.Mail.MailAddress('shared@contoso.com', 'Shared Box')"))
    add(_sc("sc-cc-bcc", "SmtpClient + MailMessage", "$msg.CC.Add('lead@contoso.com')\n$msg.Bcc.Add('audit@contoso.com')\n$msg.To.Add('Second <second@contoso.com>')"))
    add(_sc("sc-dno", "SmtpClient + MailMessage", "$msg.DeliveryNotificationOptions = [System.Net.Mail.DeliveryNotificationOptions]::OnSuccess"))
    add(_sc("sc-non-ascii", "SmtpClient + MailMessage", "$msg.From = New-Object System.Net.Mail.MailAddress('alerts@contoso.com', 'Relatórios Zürich')\n"
            "$msg.Subject = 'Ação necessária — ✓'\n$msg.Body = 'Größe: 日本語'\n$msg.SubjectEncoding = [System.Text.Encoding]::UTF8\n"
            "$msg.BodyEncoding = [System.Text.Encoding]::UTF8"))
    add(_sc("sc-void-cast", "SmtpClient + MailMessage", send="[void]$smtp.Send($msg)\n$null = $smtp.Send('alerts@contoso.com', 'ops@contoso.com', 'Second', 'x')"))
    s.append(Shape("sc-using-namespace", "SmtpClient + MailMessage",
                   "using namespace System.Net.Mail\n" + CRED + "\n$client = [SmtpClient]::new('smtp.office365.com', 587)\n$client.EnableSsl = $true\n"
                   "$client.Credentials = $cred.GetNetworkCredential()\n$mail = [MailMessage]::new('alerts@contoso.com', 'ops@contoso.com', 'Using', 'x')\n"
                   "$client.Send($mail)\n'sent'\n"))
    add(_sc("sc-in-function", "function", send="Send-Status -Client $smtp -Message $msg",
            extra="function Send-Status {\n    param($Client, $Message)\n    $Client.Send($Message)\n}"))
    add(_sc("sc-try-catch", "try/catch", send="try {\n    $smtp.Send($msg)\n    'sent'\n}\ncatch {\n    'caught'\n}", after="'after'", retry=True))
    add(_sc("sc-catch-typed", "try/catch", send="try {\n    $smtp.Send($msg)\n    'sent'\n}\ncatch [System.Net.Mail.SmtpException] {\n"
            "    'smtp failed'\n}\ncatch {\n    'other failure'\n}", after="'after'"))
    # The SmtpException inside SmtpClient's MethodInvocationException, and its StatusCode.
    add(_sc("sc-catch-typed-status", "try/catch", send="try {\n    $smtp.Send($msg)\n    'sent'\n}\n"
            "catch [System.Net.Mail.SmtpException] {\n    $e = $_.Exception\n"
            "    while ($null -ne $e.InnerException -and -not ($e -is [System.Net.Mail.SmtpException])) { $e = $e.InnerException }\n"
            "    'smtp failed ' + $e.StatusCode\n}\ncatch {\n    'other failure'\n}", after="'after'"))
    add(_sc("sc-uncaught", "try/catch", send="$smtp.Send($msg)", isolate=True))
    add(_sc("sc-exit-code", "try/catch", send="try {\n    $smtp.Send($msg)\n}\ncatch {\n    'caught'\n    exit 3\n}", after="'sent'", isolate=True))
    add(_sc("sc-finally-dispose", "try/catch", send="try {\n    $smtp.Send($msg)\n    'sent'\n}\nfinally {\n    $msg.Dispose()\n    $smtp.Dispose()\n    'disposed'\n}",
            after=""))
    return s


# --- fixtures and examples (copied verbatim; stubs stand in for Windows-only commands) ------------

def repository_shapes() -> list[Shape]:
    mig = "tests/fixtures/migrate/files/"
    s: list[Shape] = []

    def fixture(file: str, *, args: tuple[str, ...] = (), setup: str = "", files: tuple[str, ...] = ()) -> None:
        s.append(Shape("fixture-" + Path(file).stem.replace("_", "-"), "fixture", "", {f: ATTACHMENT_FILES[f] for f in files}, setup,
                       entry=Path(file).name, args=args, source=mig + file, copy_from=mig + file))

    for name in ("already_imported.ps1", "behaviour_differences.ps1", "cp1252.ps1", "crlf.ps1", "display_only.ps1",
                 "header_help_param.ps1", "multiline_backtick.ps1", "using_and_requires.ps1", "utf16be_bom.ps1",
                 "utf16le_bom.ps1", "utf8_bom.ps1"):
        fixture(name)
    # cp1252.ps1 sends from a non-ASCII local part ('café@' as Windows PowerShell 5.1 reads the ANSI file, 'caf\ufffd@'
    # as PowerShell 7 reads it, as UTF-8): SmtpClient (SevenBit) refuses it on both, so the original never sends.
    s[:] = [dataclasses.replace(shape, original_refuses=True) if shape.name == "fixture-cp1252" else shape for shape in s]
    # $c comes from the caller's scope (it is never assigned in the script).
    fixture("no_trailing_newline.ps1", args=("-To", "ops@contoso.com"),
            setup="$global:c = Import-Clixml -Path 'smtp-cred.xml'")
    # The module reads $script:cred, which it never assigns: the driver sets it, as the team's loader would.
    s.append(Shape("fixture-module-functions", "fixture", "$module = Import-Module (Join-Path $PSScriptRoot 'module_functions.psm1') -Force -PassThru\n"
                   "& $module { $script:cred = Import-Clixml -Path 'smtp-cred.xml' }\n"
                   "Send-Alert -Text 'module fixture'\n'sent'\n", source=mig + "module_functions.psm1",
                   copy_from=mig + "module_functions.psm1", entry="script.ps1"))
    s.append(Shape("example-mailtools", "example", "Import-Module (Join-Path $PSScriptRoot 'MailTools.psm1') -Force\n"
                   "Send-ReportMail -To 'ops@contoso.com' -Subject 'Weekly' -Body 'Report body' -Attachments (Join-Path $PSScriptRoot 'report.csv')\n"
                   "'sent'\n", {"report.csv": ATTACHMENT_FILES["report.csv"]}, "$env:ProgramData = '/tmp'",
                   source="examples/modules/MailTools.psm1", copy_from="examples/modules/MailTools.psm1"))
    s.append(Shape("example-service-alert", "example", "", {}, "$env:COMPUTERNAME = 'SRV01'\n"
                   "function global:Get-Service { param([string[]]$Name) foreach ($n in $Name) { [pscustomobject]@{ Name = $n; Status = 'Stopped' } } }",
                   entry="Send-ServiceAlert.ps1", source="examples/monitoring/Send-ServiceAlert.ps1",
                   copy_from="examples/monitoring/Send-ServiceAlert.ps1"))
    s.append(Shape("example-welcome-mail", "example", "", {"First-Day-Checklist.pdf": b"%PDF-1.4\n% checklist\n" + bytes(range(200))},
                   entry="New-UserWelcomeMail.ps1", args=("-UserPrincipalName", "jane.doe@contoso.com", "-DisplayName", "Jane Doe"),
                   source="examples/onboarding/New-UserWelcomeMail.ps1", copy_from="examples/onboarding/New-UserWelcomeMail.ps1"))
    s.append(Shape("example-disk-report", "example", "", {}, "$env:TEMP = (Join-Path (Get-Location) 'tmp')\n"
                   "function global:Get-CimInstance { param($ClassName, $ComputerName, $Filter)\n"
                   "    [pscustomobject]@{ SystemName = $ComputerName; DeviceID = 'C:'; FreeSpace = 20GB; Size = 100GB } }",
                   entry="Nightly-DiskReport.ps1", source="examples/reports/Nightly-DiskReport.ps1",
                   copy_from="examples/reports/Nightly-DiskReport.ps1"))
    s.append(Shape("example-license-summary", "example", "", {"licences.txt": "E3: 120 used of 150\nE5: 12 used of 20\n".encode()},
                   "function global:Get-StoredCredential { param($Target) [pscredential]::new('licensing@contoso.com', "
                   "(ConvertTo-SecureString -String 'stub-not-a-password' -AsPlainText -Force)) }",
                   entry="Weekly-LicenseSummary.ps1", source="examples/reports/Weekly-LicenseSummary.ps1",
                   copy_from="examples/reports/Weekly-LicenseSummary.ps1"))
    return s


def all_shapes() -> list[Shape]:
    shapes = send_mailmessage_shapes() + smtpclient_shapes() + repository_shapes()
    names = [shape.name for shape in shapes]
    assert len(names) == len(set(names)), "shape names must be unique"
    return shapes


def matrix_count() -> int:
    """Generated shapes (the issue asks for at least 60 besides the fixtures and examples)."""
    return sum(1 for shape in all_shapes() if shape.source == "matrix")
