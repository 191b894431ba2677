"""Generate a reproducible synthetic PowerShell estate for the smtp2graph benchmark.

The corpus imitates what an admin points the scanner at: a share or monorepo full of
PowerShell that mostly does not send mail (advanced functions, classes and enums, DSC
configurations, Pester tests, big generated data files, modules and manifests), in the
encodings and line endings real estates have (UTF-16 LE with BOM, CRLF, UTF-8 BOM), with
about 2% of files that send mail in the forms GRAMMAR_NOTES.md lists, and some files that
only *mention* mail (Exchange mailbox admin, `-Properties mail`, comments) so a byte
prefilter has realistic false positives to cope with.

Everything is built from string templates filled from one seeded `random.Random`, so the
same seed and sizes give byte-identical corpora and 200 MB takes seconds, not minutes.

Usage:
    python bench/gen_corpus.py --out DIR --size-mb 200 --files 20000 --seed 1 [--mail-dense]

Next to the files the generator writes `DIR/.bench-manifest.json` (a hidden, non-PowerShell
file the scanner does not read) describing every file: shape, encoding, line ending, whether
it sends mail and how, whether `.gitignore` excludes it, and whether it should parse cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

# Bump when the output for a given seed changes, so cached corpora are regenerated.
GENERATOR_VERSION = 5
MANIFEST_NAME = ".bench-manifest.json"
POWERSHELL_SUFFIXES = (".ps1", ".psm1", ".psd1")


class Shape(str, Enum):
    """The kind of file; each has its own template family."""

    SCRIPT = "script"  # a top-level automation script with param(), pipelines, logging
    FUNCTIONS = "functions"  # advanced functions with comment-based help
    CLASSES = "classes"  # classes and enums
    DSC = "dsc"  # Configuration / Node blocks
    PESTER = "pester"  # *.Tests.ps1, some with `Mock X -MockWith {}`
    MODULE = "module"  # .psm1 with functions and Export-ModuleMember
    MANIFEST = "manifest"  # .psd1 module manifest
    DATA = "data"  # big generated data tables / long hashtables
    EXCHANGE = "exchange"  # mailbox administration: says "mail" a lot, never sends any
    PARSE_ERRORS = "parse-errors"  # constructs tree-sitter-powershell 0.26.4 mis-parses


class Encoding(str, Enum):
    """How a file's text is stored on disk."""

    UTF8 = "utf-8"
    UTF8_BOM = "utf-8-bom"
    UTF16LE_BOM = "utf-16le-bom"
    CP1252 = "cp1252"


class Eol(str, Enum):
    LF = "lf"
    CRLF = "crlf"


class MailForm(str, Enum):
    """How a mail-sending file sends mail (GRAMMAR_NOTES.md lists these forms)."""

    NAMED = "send-mailmessage-named"
    SPLAT = "send-mailmessage-splat"
    POSITIONAL = "send-mailmessage-positional"
    COLON_BOUND = "send-mailmessage-colon-bound"
    CONTINUATION = "send-mailmessage-backtick-continuation"
    CALL_OPERATOR = "send-mailmessage-call-operator"
    MODULE_QUALIFIED = "send-mailmessage-module-qualified"
    PIPELINE = "send-mailmessage-pipeline-attachments"
    DEFAULTS = "send-mailmessage-psdefaultparametervalues"
    UNQUOTED_LIST = "send-mailmessage-unquoted-to-list"
    EN_DASH = "send-mailmessage-en-dash"
    SMTPCLIENT_NEW_OBJECT = "smtpclient-new-object"
    SMTPCLIENT_NEW = "smtpclient-static-new"
    SMTPCLIENT_TYPENAME = "smtpclient-typename-argumentlist"


@dataclass(frozen=True)
class FileRecord:
    """One generated file, as recorded in the manifest."""

    path: str  # relative to the corpus root, '/' separators
    shape: str
    encoding: str
    eol: str
    bytes: int
    sends_mail: bool
    mail_forms: List[str]
    mentions_mail: bool  # contains the word "mail" without sending any
    mentions_api: bool  # names a mail API (Send-MailMessage, SmtpClient) in comments/strings/help only
    ignored: bool  # excluded by the corpus .gitignore
    expect_clean_parse: bool  # False when the file deliberately holds mis-parsed constructs


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate; equal specs give byte-identical corpora."""

    size_mb: float
    files: int
    seed: int
    mail_dense: bool = False
    mail_fraction: float = 0.02


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------

VERBS = ("Get", "Set", "New", "Remove", "Update", "Test", "Invoke", "Export", "Import", "Sync", "Start", "Stop",
         "Convert", "Resolve", "Backup", "Restore", "Register", "Publish", "Find", "Clear")
NOUNS = ("Inventory", "Certificate", "UserAccount", "DiskReport", "ServiceState", "Backup", "Share", "Printer",
         "License", "Group", "Computer", "Firewall", "Patch", "Schedule", "VmSnapshot", "Database", "Website",
         "AppPool", "Quota", "AuditLog", "Token", "Registry", "Cluster", "Endpoint", "Baseline", "Tenant")
PREFIXES = ("Ctso", "Fab", "Nw", "Adm", "Ops", "Corp", "It", "Inf", "Sec", "Hr")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
         "lima", "metro", "nova", "orbit", "pixel", "quartz", "river", "summit", "tango", "umbra", "vector",
         "willow", "xenon", "yonder", "zephyr")
TEAMS = ("infra", "identity", "messaging", "database", "network", "security", "desktop", "cloud", "finance-it",
         "helpdesk", "devops", "storage")
SERVERS = ("smtp.office365.com", "smtp.contoso.com", "relay.fabrikam.local", "contoso-com.mail.protection.outlook.com",
           "smtp-mail.outlook.com", "10.0.4.25", "exch01.corp.contoso.com", "smtp.azurecomm.net")
DOMAINS = ("contoso.com", "fabrikam.com", "northwind.example", "corp.contoso.com")
CMDLETS = ("Get-ChildItem", "Get-Item", "Get-Service", "Get-Process", "Get-CimInstance", "Get-Content",
           "Test-Path", "Get-Date", "Get-Acl", "Get-ItemProperty", "Resolve-Path", "Get-Location")

_NON_ASCII_WORDS = ("Résumé", "Café", "Müller", "Señor", "Zürich", "Crème", "naïve", "Ærø")


def _pascal(rng: random.Random) -> str:
    return rng.choice(WORDS).capitalize() + rng.choice(WORDS).capitalize()


def _func_name(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)}-{rng.choice(PREFIXES)}{rng.choice(NOUNS)}"


def _address(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@{rng.choice(DOMAINS)}"


def _guid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --------------------------------------------------------------------------------------
# Building blocks (each returns PowerShell text ending in a newline). All of these parse
# cleanly with tree-sitter-powershell 0.26.4 unless their name says otherwise.
# --------------------------------------------------------------------------------------


def unit_advanced_function(rng: random.Random) -> str:
    """An advanced function with comment-based help, validation attributes and begin/process/end."""
    name = _func_name(rng)
    noun = rng.choice(NOUNS)
    p1, p2 = _pascal(rng), _pascal(rng)
    cmd = rng.choice(CMDLETS)
    limit = rng.randint(2, 500)
    return f"""
function {name} {{
    <#
    .SYNOPSIS
        {rng.choice(VERBS)}s the {noun.lower()} records for one or more computers.
    .DESCRIPTION
        Collects {noun.lower()} data, filters it by {p1} and returns one object per item.
        Written for the {rng.choice(TEAMS)} team; see the runbook for the schedule.
    .PARAMETER ComputerName
        The computers to query. Defaults to the local computer.
    .PARAMETER {p1}
        Only items whose name matches this wildcard are returned.
    .EXAMPLE
        {name} -ComputerName srv{rng.randint(1, 99):02d} -{p1} '{rng.choice(WORDS)}*'
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    [OutputType([pscustomobject])]
    param(
        [Parameter(ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]$ComputerName = $env:COMPUTERNAME,

        [Parameter()]
        [ValidateSet('{rng.choice(WORDS)}', '{rng.choice(WORDS)}', '{rng.choice(WORDS)}')]
        [string]${p1} = '*',

        [ValidateRange(1, {limit})]
        [int]${p2} = {rng.randint(1, limit)}
    )
    begin {{
        $results = New-Object System.Collections.ArrayList
        Write-Verbose "Starting {name} at $(Get-Date -Format o)"
    }}
    process {{
        foreach ($computer in $ComputerName) {{
            if (-not $PSCmdlet.ShouldProcess($computer, '{rng.choice(VERBS)} {noun}')) {{
                continue
            }}
            try {{
                $items = {cmd} -ErrorAction Stop | Where-Object {{ $_.Name -like ${p1} }}
                foreach ($item in $items) {{
                    $row = [pscustomobject]@{{
                        ComputerName = $computer
                        Name         = $item.Name
                        {p2}   = ${p2}
                        Checked      = (Get-Date)
                    }}
                    [void]$results.Add($row)
                }}
            }}
            catch {{
                Write-Warning "Could not query ${{computer}}: $($_.Exception.Message)"
            }}
        }}
    }}
    end {{
        $results | Sort-Object -Property ComputerName | Select-Object -First ${p2}
    }}
}}
"""


def unit_simple_function(rng: random.Random) -> str:
    """A short helper function with switch and string formatting."""
    name = _func_name(rng)
    a, b, c = rng.sample(WORDS, 3)
    return f"""
function {name} {{
    param([string]$Value, [switch]$Strict)
    switch -Wildcard ($Value) {{
        '{a}*' {{ return '{a.upper()}' }}
        '{b}*' {{ return '{b.upper()}' }}
        default {{
            if ($Strict) {{ throw "Unknown value '$Value' for {name}" }}
            return ('{{0}}-{{1:D4}}' -f '{c}', {rng.randint(0, 9999)})
        }}
    }}
}}
"""


def unit_class(rng: random.Random) -> str:
    """A class with properties, a constructor, a static member and methods."""
    cname = rng.choice(PREFIXES) + rng.choice(NOUNS)
    p1, p2 = _pascal(rng), _pascal(rng)
    return f"""
class {cname} {{
    [string]${p1}
    [int]${p2} = {rng.randint(0, 100)}
    hidden [datetime]$Created
    static [string]$Source = '{rng.choice(TEAMS)}'

    {cname}([string]$value) {{
        $this.{p1} = $value
        $this.Created = Get-Date
    }}

    [string] Describe() {{
        return ('{{0}} ({{1}}) from {{2}}' -f $this.{p1}, $this.{p2}, [{cname}]::Source)
    }}

    [bool] IsStale([int]$days) {{
        return ((Get-Date) - $this.Created).TotalDays -gt $days
    }}
}}
"""


def unit_enum(rng: random.Random) -> str:
    """A plain enum (the `: long` and `[Flags()]` forms mis-parse, so they live in unit_parse_errors)."""
    name = rng.choice(PREFIXES) + rng.choice(NOUNS) + "State"
    members = rng.sample(WORDS, rng.randint(3, 7))
    body = "\n".join(f"    {m.capitalize()} = {i}" for i, m in enumerate(members))
    return f"\nenum {name} {{\n{body}\n}}\n"


def unit_dsc(rng: random.Random) -> str:
    """A DSC configuration with Node blocks and common resources."""
    name = _pascal(rng) + "Config"
    feature = rng.choice(("Web-Server", "RSAT-AD-Tools", "Telnet-Client", "FS-DFS-Namespace", "NET-Framework-45-Core"))
    svc = rng.choice(("W32Time", "Spooler", "WinRM", "BITS", "wuauserv"))
    return f"""
Configuration {name} {{
    param(
        [string[]]$NodeName = 'localhost'
    )
    Import-DscResource -ModuleName PSDesiredStateConfiguration

    Node $NodeName {{
        WindowsFeature {feature.replace('-', '')} {{
            Name   = '{feature}'
            Ensure = 'Present'
        }}
        Service {svc}Service {{
            Name        = '{svc}'
            StartupType = 'Automatic'
            State       = 'Running'
        }}
        File {rng.choice(WORDS).capitalize()}Folder {{
            DestinationPath = 'C:\\Ops\\{rng.choice(WORDS)}'
            Type            = 'Directory'
            Ensure          = 'Present'
        }}
        Registry Disable{rng.choice(WORDS).capitalize()} {{
            Key       = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\{rng.choice(PREFIXES)}\\{rng.choice(NOUNS)}'
            ValueName = '{_pascal(rng)}'
            ValueData = '{rng.randint(0, 1)}'
            ValueType = 'Dword'
        }}
    }}
}}
"""


def unit_pester(rng: random.Random, empty_mock: bool) -> str:
    """A Pester Describe block; `empty_mock` uses `-MockWith {}`, which tree-sitter mis-parses."""
    func = _func_name(rng)
    mocked = rng.choice(CMDLETS)
    mock = f"Mock {mocked} -MockWith {{}}" if empty_mock else f"Mock {mocked} -MockWith {{ return $null }}"
    return f"""
Describe '{func}' {{
    BeforeAll {{
        $script:expected = '{rng.choice(WORDS)}'
    }}
    Context 'when the {rng.choice(NOUNS).lower()} exists' {{
        It 'returns one object per item' {{
            {mock}
            $result = {func} -Name $script:expected
            $result | Should -Not -BeNullOrEmpty
            Should -Invoke {mocked} -Times 1 -Exactly
        }}
        It 'throws on bad input' {{
            {{ {func} -Name '' }} | Should -Throw
        }}
    }}
}}
"""


def unit_script_body(rng: random.Random) -> str:
    """Top-level automation: logging, pipelines, a splat to a non-mail cmdlet, a REST call."""
    share = rng.choice(WORDS)
    days = rng.randint(7, 90)
    return f"""
$logFile = Join-Path -Path $env:TEMP -ChildPath ('{share}-{{0:yyyyMMdd}}.log' -f (Get-Date))
function Write-Log {{
    param([string]$Message, [string]$Level = 'INFO')
    $line = '{{0:u}} [{{1}}] {{2}}' -f (Get-Date), $Level, $Message
    Add-Content -Path $logFile -Value $line
}}

$copyParams = @{{
    Path        = '\\\\fs{rng.randint(1, 9):02d}\\{share}\\in'
    Destination = '\\\\fs{rng.randint(1, 9):02d}\\{share}\\archive'
    Recurse     = $true
    Force       = $true
}}
$old = Get-ChildItem -Path $copyParams.Path -File |
    Where-Object {{ $_.LastWriteTime -lt (Get-Date).AddDays(-{days}) }} |
    Sort-Object -Property Length -Descending
foreach ($file in $old) {{
    # 1048576, not 1MB: tree-sitter-powershell 0.26.4 mis-parses `$x / 1MB` (see unit_parse_errors).
    $sizeMb = [math]::Round($file.Length / 1048576, 2)
    Write-Log -Message "Archiving $($file.FullName) ($sizeMb MB)"
}}
Copy-Item @copyParams
$status = Invoke-RestMethod -Uri 'https://status.{rng.choice(DOMAINS)}/api/v{rng.randint(1, 3)}/{share}' -Method Get -TimeoutSec 30
if ($status.state -ne 'ok') {{
    Write-Log -Message "Status endpoint reports $($status.state)" -Level 'WARN'
}}
"""


def unit_exchange_admin(rng: random.Random) -> str:
    """Mailbox administration and AD lookups: the word "mail" everywhere, no mail sent."""
    quota = rng.randint(2, 99)
    return f"""
# Mailbox housekeeping for the {rng.choice(TEAMS)} team. Users are told by mail (handled by HR, not here).
$mailboxes = Get-Mailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox
foreach ($mbx in $mailboxes) {{
    $stats = Get-MailboxStatistics -Identity $mbx.UserPrincipalName
    if ($stats.TotalItemSize.Value.ToGB() -gt {quota}) {{
        Set-Mailbox -Identity $mbx.UserPrincipalName -ProhibitSendQuota '{quota + 1}GB' -IssueWarningQuota '{quota}GB'
    }}
}}
$users = Get-ADUser -Filter {{ Enabled -eq $true }} -Properties 'mail', 'department'
$noMail = $users | Where-Object {{ -not $_.mail }}
Write-Output ('{{0}} users have no mail attribute' -f $noMail.Count)
$contact = New-MailContact -Name '{_pascal(rng)}' -ExternalEmailAddress '{_address(rng)}'
Set-MailboxAutoReplyConfiguration -Identity '{_address(rng)}' -AutoReplyState Disabled
"""


def unit_mentions_mail(rng: random.Random) -> str:
    """A comment and a string that say mail/email/smtp without any call that sends."""
    return f"""
# NOTE: the old version of this script sent an e-mail from here; the monitoring system
# now raises the alert instead. Keep the 'mail' column for the report consumers.
$columns = @('Name', 'Owner', 'mail', 'Department')
$contactHint = 'Questions: {_address(rng)} (shared mailbox)'
Write-Verbose $contactHint
"""


def unit_mentions_api(rng: random.Random) -> str:
    """Mail API names in a comment, a string and a help lookup: passes a byte prefilter, is not a call."""
    return f"""
# Send-MailMessage is obsolete (https://aka.ms/SendMailMessage); alerts go through the monitoring system now.
$deprecated = 'System.Net.Mail.SmtpClient is not used by this script any more'
Get-Help Send-MailMessage -Parameter SmtpServer | Out-Null
Write-Verbose "{rng.choice(WORDS)}: $deprecated"
"""


def unit_data_rows(rng: random.Random, rows: int) -> str:
    """A long generated array of objects, like exported inventory data."""
    parts = [f"\n$Inventory{rng.randint(1, 999)} = @(\n"]
    w = WORDS
    r = rng.random
    for i in range(rows):
        parts.append(
            f"    [pscustomobject]@{{ Id = {i}; Name = '{w[int(r() * 26)]}-{i:05d}'; Site = '{w[int(r() * 26)]}'; "
            f"Cores = {1 + int(r() * 64)}; MemoryGB = {4 * (1 + int(r() * 64))}; Owner = '{w[int(r() * 26)]}' }}\n"
        )
    parts.append(")\n")
    return "".join(parts)


def unit_long_hashtable(rng: random.Random, entries: int) -> str:
    """A long generated lookup hashtable (site code → settings)."""
    parts = [f"\n$SiteMap{rng.randint(1, 999)} = @{{\n"]
    w = WORDS
    r = rng.random
    for i in range(entries):
        parts.append(
            f"    '{w[int(r() * 26)]}{i:05d}' = @{{ Subnet = '10.{int(r() * 255)}.{int(r() * 255)}.0/24'; "
            f"Gateway = '10.{int(r() * 255)}.{int(r() * 255)}.1'; Tier = {int(r() * 4)} }}\n"
        )
    parts.append("}\n")
    return "".join(parts)


def unit_module_footer(functions: Sequence[str]) -> str:
    """The Export-ModuleMember line of a .psm1."""
    names = ", ".join(f"'{f}'" for f in functions) or "'*'"
    return f"\nExport-ModuleMember -Function @({names})\n"


def unit_manifest(rng: random.Random, module: str, functions: Sequence[str]) -> str:
    """A module manifest (.psd1)."""
    exports = ", ".join(f"'{f}'" for f in functions) or "'*'"
    tags = ", ".join(f"'{t}'" for t in rng.sample(WORDS, 3))
    return f"""@{{
    RootModule        = '{module}.psm1'
    ModuleVersion     = '{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 200)}'
    GUID              = '{_guid(rng)}'
    Author            = '{rng.choice(TEAMS)} team'
    CompanyName       = 'Contoso'
    Copyright         = '(c) Contoso. All rights reserved.'
    Description       = 'Helpers for {rng.choice(NOUNS).lower()} automation.'
    PowerShellVersion = '5.1'
    RequiredModules   = @('Microsoft.PowerShell.Management')
    FunctionsToExport = @({exports})
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
    PrivateData       = @{{
        PSData = @{{
            Tags       = @({tags})
            ProjectUri = 'https://git.contoso.com/{rng.choice(TEAMS)}/{module}'
        }}
    }}
}}
"""


def unit_parse_errors(rng: random.Random) -> str:
    """Constructs tree-sitter-powershell 0.26.4 mis-parses (GRAMMAR_NOTES.md), valid PowerShell all the same."""
    choices = (
        f"$settings = Get-Content $PSScriptRoot\\{rng.choice(WORDS)}.json | ConvertFrom-Json\n",
        "Get-Process | Select-Object -Property Name, Id, WorkingSet\n",
        "$map = [System.Collections.Generic.Dictionary[[string],[int]]]::new()\n",
        "$names = $items.ForEach({ $_.Name })\n",
        f"Invoke-{rng.choice(NOUNS)} -Param1 'x' -Param2 'y'\n",
        "[Flags()] enum Permission {\n    Read = 1\n    Write = 2\n}\n",
        "enum BigCode : long {\n    Small = 1\n    Large = 4294967296\n}\n",
        "$report = Import-Csv $HOME/reports/latest.csv\n",
        "$totalGb = (Get-ChildItem -Recurse | Measure-Object -Property Length -Sum).Sum / 1GB\n",
    )
    picked = rng.sample(choices, rng.randint(1, 3))
    return "\n" + "".join(picked)


# --------------------------------------------------------------------------------------
# Mail-sending blocks
# --------------------------------------------------------------------------------------


def unit_mail(rng: random.Random, form: MailForm) -> str:
    """One mail-sending block in the given form."""
    to, frm, server = _address(rng), _address(rng), rng.choice(SERVERS)
    subject = f"{rng.choice(NOUNS)} report"
    port = rng.choice((25, 587, 587, 2525))
    if form is MailForm.NAMED:
        return f"""
$cred = Get-StoredCredential -Target '{rng.choice(WORDS)}-smtp'
$body = Get-Content -Path $reportPath -Raw
Send-MailMessage -To '{to}' -From '{frm}' -Subject "{subject} $(Get-Date -Format d)" -Body $body -BodyAsHtml -SmtpServer '{server}' -Port {port} -UseSsl -Credential $cred
"""
    if form is MailForm.SPLAT:
        return f"""
$mailParams = @{{
    To         = @('{to}', '{_address(rng)}')
    From       = '{frm}'
    Subject    = '{subject}'
    Body       = ($rows | ConvertTo-Html -Fragment | Out-String)
    BodyAsHtml = $true
    SmtpServer = '{server}'
    Port       = {port}
    UseSsl     = $true
    Credential = $smtpCredential
}}
Send-MailMessage @mailParams -ErrorAction Stop
"""
    if form is MailForm.POSITIONAL:
        return f"\nSend-MailMessage '{to}' '{subject}' 'See attached.' '{server}' -From '{frm}' -Attachments $csvPath\n"
    if form is MailForm.COLON_BOUND:
        return (f"\n$to = '{to}'\nSend-MailMessage -To:$to -From:'{frm}' -Subject:'{subject}' "
                f"-SmtpServer:'{server}' -Port:{port}\n")
    if form is MailForm.CONTINUATION:
        return f"""
Send-MailMessage -To '{to}' `
    -From '{frm}' `
    -Subject '{subject}' `
    -Body "Job finished with $errorCount errors" `
    -SmtpServer '{server}' `
    -Priority High
"""
    if form is MailForm.CALL_OPERATOR:
        return f"\n& 'Send-MailMessage' -To '{to}' -From '{frm}' -Subject '{subject}' -SmtpServer '{server}'\n"
    if form is MailForm.MODULE_QUALIFIED:
        return (f"\nMicrosoft.PowerShell.Utility\\Send-MailMessage -To '{to}' -From '{frm}' "
                f"-Subject '{subject}' -SmtpServer '{server}' -Encoding UTF8\n")
    if form is MailForm.PIPELINE:
        return (f"\nGet-ChildItem -Path $logDir -Filter *.log | Send-MailMessage -To '{to}' -From '{frm}' "
                f"-Subject '{subject}' -SmtpServer '{server}'\n")
    if form is MailForm.DEFAULTS:
        return f"""
$PSEmailServer = '{server}'
$PSDefaultParameterValues['Send-MailMessage:From'] = '{frm}'
Send-MailMessage -To '{to}' -Subject '{subject}' -Body 'Nightly run complete.'
"""
    if form is MailForm.UNQUOTED_LIST:
        # Deliberately the mis-parsed form: recall must not depend on a clean parse.
        return f"\nSend-MailMessage -To {to},{_address(rng)} -From {frm} -Subject 'Alert' -SmtpServer {server}\n"
    if form is MailForm.EN_DASH:
        return f"\nSend-MailMessage \u2013To '{to}' \u2013From '{frm}' \u2013Subject '{subject}' \u2013SmtpServer '{server}'\n"
    if form is MailForm.SMTPCLIENT_NEW_OBJECT:
        return f"""
$smtp = New-Object System.Net.Mail.SmtpClient('{server}', {port})
$smtp.EnableSsl = $true
$smtp.Credentials = New-Object System.Net.NetworkCredential($smtpUser, $smtpPassword)
$msg = New-Object System.Net.Mail.MailMessage
$msg.From = '{frm}'
$msg.To.Add('{to}')
$msg.Subject = '{subject}'
$msg.Body = $html
$msg.IsBodyHtml = $true
$smtp.Send($msg)
$msg.Dispose()
"""
    if form is MailForm.SMTPCLIENT_NEW:
        return f"""
$client = [System.Net.Mail.SmtpClient]::new('{server}')
$client.Port = {port}
$client.UseDefaultCredentials = $true
$client.Send('{frm}', '{to}', '{subject}', $summary)
"""
    if form is MailForm.SMTPCLIENT_TYPENAME:
        return f"""
$relay = New-Object -TypeName System.Net.Mail.SmtpClient -ArgumentList '{server}', {port}
$relay.Send('{frm}', '{to}', '{subject}', 'Disk space is low.')
"""
    raise ValueError(f"unknown mail form {form}")


def _wrap_in_function(rng: random.Random, block: str) -> str:
    """Put a block inside a function body, as real scripts usually do."""
    indented = "\n".join("    " + line if line.strip() else line for line in block.strip("\n").split("\n"))
    return f"\nfunction Send-{rng.choice(NOUNS)}Notice {{\n    param($reportPath)\n{indented}\n}}\n"


# --------------------------------------------------------------------------------------
# Corpus planning
# --------------------------------------------------------------------------------------

# Share of files per shape (the DATA files are few but large: see _plan_sizes).
SHAPE_WEIGHTS: Dict[Shape, float] = {
    Shape.SCRIPT: 0.27,
    Shape.FUNCTIONS: 0.20,
    Shape.CLASSES: 0.07,
    Shape.DSC: 0.06,
    Shape.PESTER: 0.13,
    Shape.MODULE: 0.09,
    Shape.MANIFEST: 0.06,
    Shape.DATA: 0.01,
    Shape.EXCHANGE: 0.05,
    Shape.PARSE_ERRORS: 0.06,
}
ENCODING_WEIGHTS: Dict[Tuple[Encoding, Eol], float] = {
    (Encoding.UTF8, Eol.LF): 0.80,
    (Encoding.UTF8, Eol.CRLF): 0.09,
    (Encoding.UTF8_BOM, Eol.CRLF): 0.04,
    (Encoding.UTF16LE_BOM, Eol.CRLF): 0.04,
    (Encoding.CP1252, Eol.CRLF): 0.03,
}
# Fraction of files that mention mail without sending any (besides the EXCHANGE shape).
MENTIONS_MAIL_FRACTION = 0.05
# Fraction of files placed under the .gitignore'd folders.
IGNORED_FRACTION = 0.01
# Share of the corpus bytes that the few big DATA files hold.
DATA_BYTES_SHARE = 0.2


def _allocate(rng: random.Random, n: int, weights: Dict, guarantee_each: bool = True) -> List:
    """Exactly distribute n slots by weight (every key at least once when n allows), in shuffled order."""
    keys = list(weights)
    total = sum(weights.values())
    counts = {k: int(n * weights[k] / total) for k in keys}
    if guarantee_each and n >= len(keys):
        for k in keys:
            counts[k] = max(counts[k], 1)
    # Hand out the remainder to the heaviest keys, take any excess from the heaviest too.
    by_weight = sorted(keys, key=lambda k: -weights[k])
    i = 0
    while sum(counts.values()) < n:
        counts[by_weight[i % len(keys)]] += 1
        i += 1
    while sum(counts.values()) > n:
        k = max(keys, key=lambda k: counts[k])
        counts[k] -= 1
    slots = [k for k in keys for _ in range(counts[k])]
    rng.shuffle(slots)
    return slots


def _plan_sizes(rng: random.Random, shapes: Sequence[Shape], total_bytes: int) -> List[int]:
    """Target size per file: a long-tailed (log-normal) spread, with the DATA files holding ~20% of the bytes."""
    data_idx = [i for i, s in enumerate(shapes) if s is Shape.DATA]
    other_idx = [i for i, s in enumerate(shapes) if s is not Shape.DATA]
    sizes = [0] * len(shapes)
    data_bytes = int(total_bytes * DATA_BYTES_SHARE) if data_idx else 0
    for idx_list, budget, sigma in ((data_idx, data_bytes, 0.5), (other_idx, total_bytes - data_bytes, 0.9)):
        if not idx_list:
            continue
        raw = [rng.lognormvariate(0.0, sigma) for _ in idx_list]
        scale = budget / sum(raw)
        for i, r in zip(idx_list, raw):
            sizes[i] = max(300, int(r * scale))
    return sizes


def _projects(rng: random.Random, n_files: int) -> List[str]:
    """Project folders ('team/project'), about 40 files each, as a monorepo or share has."""
    names: List[str] = []
    seen: set = set()
    while len(names) < max(1, n_files // 40):
        name = f"{rng.choice(TEAMS)}/{rng.choice(WORDS)}-{rng.choice(NOUNS).lower()}"
        if name in seen:
            name = f"{name}-{len(names)}"
        seen.add(name)
        names.append(name)
    return names


def _folder_for(rng: random.Random, projects: Sequence[str], shape: Shape, ignored: bool, module: str) -> str:
    """A nested folder for one file: project, then a role folder, sometimes a sub-area."""
    project = rng.choice(projects)
    if ignored:
        return f"{project}/" + rng.choice(("build/out", "build/staging"))
    if shape in (Shape.MODULE, Shape.MANIFEST):
        return f"{project}/modules/{module}"
    if shape is Shape.PESTER:
        return f"{project}/tests"
    if shape is Shape.DSC:
        return f"{project}/dsc"
    if shape is Shape.DATA:
        return f"{project}/data"
    # Sub-areas come from a small per-project set, so folders hold several files each.
    area = rng.choice(("", "", "reports", "maintenance", "onboarding", "legacy/v1", "legacy/v2/archive"))
    return f"{project}/scripts" + (f"/{area}" if area else "")


# --------------------------------------------------------------------------------------
# File bodies
# --------------------------------------------------------------------------------------


def _body_units(rng: random.Random, shape: Shape) -> Tuple[Callable[[], str], bool]:
    """The unit producer for a shape, and whether the shape parses cleanly."""
    if shape is Shape.SCRIPT:
        return (lambda: rng.choice((unit_script_body, unit_simple_function, unit_advanced_function))(rng)), True
    if shape in (Shape.FUNCTIONS, Shape.MODULE):
        return (lambda: rng.choice((unit_advanced_function, unit_simple_function))(rng)), True
    if shape is Shape.CLASSES:
        return (lambda: rng.choice((unit_class, unit_class, unit_enum))(rng)), True
    if shape is Shape.DSC:
        return (lambda: unit_dsc(rng)), True
    if shape is Shape.EXCHANGE:
        return (lambda: rng.choice((unit_exchange_admin, unit_simple_function))(rng)), True
    if shape is Shape.PARSE_ERRORS:
        return (lambda: rng.choice((unit_parse_errors, unit_simple_function, unit_script_body))(rng)), False
    raise ValueError(shape)


def _build_text(rng: random.Random, shape: Shape, target: int, index: int, module: str,
                mail_forms: Sequence[MailForm], mentions_mail: bool,
                mentions_api: bool = False) -> Tuple[str, bool, List[str]]:
    """Return (text, expect_clean_parse, exported function names) for one file of about `target` characters."""
    # No tool or product name here: a header saying "smtp..." in every file would defeat any prefilter.
    header = f"# {module} / file {index:06d} - synthetic benchmark corpus (bench/gen_corpus.py)\n"
    parts: List[str] = [header]
    size = len(header)
    clean = True
    exported: List[str] = []

    if shape is Shape.MANIFEST:
        funcs = [_func_name(rng) for _ in range(rng.randint(2, 12))]
        parts.append(unit_manifest(rng, module, funcs))
        size += len(parts[-1])
        # Manifests can be long (big FileList / exports); pad with a data-style hashtable when asked for more.
        if size < target and not mail_forms:
            parts.append("# Build metadata\n" + unit_long_hashtable(rng, max(1, (target - size) // 90))
                         .replace("\n$SiteMap", "\n$BuildMap", 1))
        # A .psd1 cannot hold statements in real life; keep mail out of manifests (the planner ensures it).
        return "".join(parts), True, funcs

    if shape is Shape.DATA:
        rows = max(1, target // 150)
        if rng.random() < 0.5:
            parts.append(unit_data_rows(rng, rows))
        else:
            parts.append(unit_long_hashtable(rng, max(1, target // 90)))
        for form in mail_forms:
            parts.append(unit_mail(rng, form))
        return "".join(parts), all(f is not MailForm.UNQUOTED_LIST for f in mail_forms), exported

    if shape is Shape.PESTER:
        empty_mock = rng.random() < 0.5
        clean = not empty_mock
        parts.append("\nBeforeAll {\n    . $PSCommandPath.Replace('.Tests.ps1', '.ps1')\n}\n")
        produce: Callable[[], str] = lambda: unit_pester(rng, empty_mock)  # noqa: E731
    else:
        produce, clean = _body_units(rng, shape)
        if shape is Shape.PARSE_ERRORS:
            # At least one mis-parsed construct, whatever the unit draw below picks.
            parts.append(unit_parse_errors(rng))
        if shape is Shape.SCRIPT and rng.random() < 0.6:
            parts.append(f"[CmdletBinding()]\nparam(\n    [string]$ConfigPath = (Join-Path $PSScriptRoot "
                         f"'{rng.choice(WORDS)}.json'),\n    [switch]$WhatIfMode\n)\n")

    # Where mail blocks and mail mentions go: somewhere among the body units, not always at the end.
    insert_at = rng.random()
    mail_text = "".join(unit_mail(rng, f) if rng.random() < 0.5 else _wrap_in_function(rng, unit_mail(rng, f))
                        for f in mail_forms)
    mention_text = (unit_mentions_mail(rng) if mentions_mail else "") + (unit_mentions_api(rng) if mentions_api else "")
    reserved = len(mail_text) + len(mention_text)
    inserted = False
    # Stop half a unit early on average, so files land near their target instead of always above it.
    units = 0
    # At least one body unit: a file holding only param() has no statements, which the grammar rejects.
    while size + reserved + 600 < target or units == 0:
        units += 1
        unit = produce()
        if shape is Shape.MODULE and unit.startswith("\nfunction "):
            exported.append(unit[len("\nfunction "):unit.index(" {")])
        parts.append(unit)
        size += len(unit)
        if not inserted and size >= insert_at * target:
            parts.append(mail_text + mention_text)
            inserted = True
    if not inserted:
        parts.append(mail_text + mention_text)
    if shape is Shape.MODULE:
        parts.append(unit_module_footer(exported))
    if any(f is MailForm.UNQUOTED_LIST for f in mail_forms):
        clean = False
    return "".join(parts), clean, exported


def _encode(text: str, encoding: Encoding, eol: Eol) -> bytes:
    if eol is Eol.CRLF:
        text = text.replace("\n", "\r\n")
    if encoding is Encoding.UTF8:
        return text.encode("utf-8")
    if encoding is Encoding.UTF8_BOM:
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if encoding is Encoding.UTF16LE_BOM:
        return b"\xff\xfe" + text.encode("utf-16-le")
    # cp1252 cannot hold the en dash forms' siblings from other code pages; replace what it cannot encode.
    return text.encode("cp1252", errors="replace")


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


def generate(out: Path, spec: CorpusSpec) -> List[FileRecord]:
    """Write the corpus described by `spec` into `out` (which must be empty or absent) and return its manifest."""
    rng = random.Random(f"smtp2graph-bench/{GENERATOR_VERSION}/{spec.seed}/{spec.size_mb}/{spec.files}/{spec.mail_dense}")
    n = spec.files
    total_bytes = int(spec.size_mb * 1024 * 1024)
    # A manifest holds data only and cannot send mail, so the mail-dense corpus has none.
    weights = {s: w for s, w in SHAPE_WEIGHTS.items() if not (spec.mail_dense and s is Shape.MANIFEST)}
    shapes: List[Shape] = _allocate(rng, n, weights)
    encodings: List[Tuple[Encoding, Eol]] = _allocate(rng, n, ENCODING_WEIGHTS)
    sizes = _plan_sizes(rng, shapes, total_bytes)

    # Which files send mail: manifests never do (a .psd1 holds data only).
    candidates = [i for i, s in enumerate(shapes) if s is not Shape.MANIFEST]
    if spec.mail_dense:
        mail_idx = set(candidates)
    else:
        want = max(1, round(n * spec.mail_fraction))
        mail_idx = set(rng.sample(candidates, min(want, len(candidates))))
    forms = list(MailForm)
    mail_plan: Dict[int, List[MailForm]] = {}
    for k, i in enumerate(sorted(mail_idx)):
        # Cycle through the forms so even a small corpus holds every one; some files send twice.
        first = forms[k % len(forms)]
        mail_plan[i] = [first] + ([rng.choice(forms)] if rng.random() < 0.15 else [])
    non_mail = [i for i in range(n) if i not in mail_idx and shapes[i] not in (Shape.MANIFEST, Shape.DATA)]
    mention_idx = set(rng.sample(non_mail, min(len(non_mail), max(1, round(n * MENTIONS_MAIL_FRACTION)))))
    # One in ten of those also names a mail API without calling it: prefilter hits that must not become findings.
    api_mention_idx = set(sorted(mention_idx)[::10])
    ignorable = [i for i in range(n) if shapes[i] is not Shape.DATA]
    ignored_idx = set(rng.sample(ignorable, min(len(ignorable), max(1, round(n * IGNORED_FRACTION))))) if n >= 20 else set()

    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: output folder is not empty")
    out.mkdir(parents=True, exist_ok=True)
    (out / ".gitignore").write_text("# build output and editor backups\nbuild/\n*.bak\n", encoding="utf-8")

    records: List[FileRecord] = []
    used_paths: set = set()
    projects = _projects(rng, n)
    for i in range(n):
        shape = shapes[i]
        encoding, eol = encodings[i]
        module = rng.choice(PREFIXES) + rng.choice(NOUNS)
        folder = _folder_for(rng, projects, shape, i in ignored_idx, module)
        forms_i = mail_plan.get(i, [])
        text, clean, _ = _build_text(rng, shape, sizes[i], i, module, forms_i, i in mention_idx,
                                     i in api_mention_idx)
        if encoding is Encoding.CP1252 or (encoding is not Encoding.UTF8 and rng.random() < 0.3):
            # Non-ASCII text is what makes the encoding matter: a name in a comment.
            text = text.replace("\n", f"\n# Owner: {rng.choice(_NON_ASCII_WORDS)}\n", 1)
        if shape is Shape.MANIFEST:
            stem, suffix = module, ".psd1"
        elif shape is Shape.MODULE:
            stem, suffix = module, ".psm1"
        elif shape is Shape.PESTER:
            stem, suffix = f"{_func_name(rng)}.Tests", ".ps1"
        elif shape is Shape.DATA:
            stem, suffix = f"{rng.choice(WORDS)}-{rng.choice(NOUNS).lower()}-data", rng.choice((".ps1", ".psd1"))
            if forms_i:
                suffix = ".ps1"  # a .psd1 is data that never runs: mail calls in one send nothing
        else:
            stem, suffix = _func_name(rng) if shape is Shape.FUNCTIONS else f"{rng.choice(WORDS)}-{rng.choice(NOUNS).lower()}", ".ps1"
        rel = f"{folder}/{stem}{suffix}"
        if rel in used_paths:
            rel = f"{folder}/{stem}-{i:06d}{suffix}"
        used_paths.add(rel)
        if i in ignored_idx and rng.random() < 0.3:
            # Editor backups next to the real scripts, caught by the *.bak pattern.
            rel = f"{folder.rsplit('/build/', 1)[0]}/scripts/{stem}{suffix}.bak"
            if rel in used_paths:
                rel = rel.replace(".bak", f"-{i:06d}.bak")
            used_paths.add(rel)
        data = _encode(text, encoding, eol)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        lowered = text.lower()
        records.append(FileRecord(
            path=rel,
            shape=shape.value,
            encoding=encoding.value,
            eol=eol.value,
            bytes=len(data),
            sends_mail=bool(forms_i),
            mail_forms=[f.value for f in forms_i],
            mentions_mail=not forms_i and "mail" in lowered,
            mentions_api=i in api_mention_idx,
            ignored=i in ignored_idx,
            expect_clean_parse=clean,
        ))
    write_manifest(out, spec, records)
    return records


def write_manifest(out: Path, spec: CorpusSpec, records: Sequence[FileRecord]) -> None:
    """Write the manifest atomically (it doubles as the 'corpus is complete' marker)."""
    payload = {
        "generator_version": GENERATOR_VERSION,
        "spec": asdict(spec),
        "files": [asdict(r) for r in records],
    }
    tmp = out / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, out / MANIFEST_NAME)


def read_manifest(out: Path) -> Tuple[CorpusSpec, List[FileRecord]]:
    """Read a corpus manifest written by `generate`."""
    payload = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    if payload.get("generator_version") != GENERATOR_VERSION:
        raise ValueError(f"{out}: corpus from generator version {payload.get('generator_version')}, "
                         f"expected {GENERATOR_VERSION}")
    return CorpusSpec(**payload["spec"]), [FileRecord(**r) for r in payload["files"]]


def ensure_corpus(out: Path, spec: CorpusSpec) -> List[FileRecord]:
    """Return the corpus at `out`, generating it first unless a complete one for the same spec is there."""
    try:
        existing_spec, records = read_manifest(out)
        if existing_spec == spec:
            return records
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if out.exists():
        shutil.rmtree(out)
    return generate(out, spec)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate a reproducible synthetic PowerShell estate.")
    parser.add_argument("--out", type=Path, required=True, help="output folder (must be empty or absent)")
    parser.add_argument("--size-mb", type=float, default=200.0, help="approximate total size in MiB")
    parser.add_argument("--files", type=int, default=20000, help="number of files")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed + sizes = same bytes)")
    parser.add_argument("--mail-dense", action="store_true", help="every file (except manifests) sends mail")
    args = parser.parse_args(argv)
    if args.files < 1 or args.size_mb <= 0:
        print("gen_corpus: --files must be >= 1 and --size-mb > 0", file=sys.stderr)
        return 2
    spec = CorpusSpec(size_mb=args.size_mb, files=args.files, seed=args.seed, mail_dense=args.mail_dense)
    start = time.perf_counter()
    try:
        records = generate(args.out, spec)
    except FileExistsError as exc:
        print(f"gen_corpus: {exc}", file=sys.stderr)
        return 2
    total = sum(r.bytes for r in records)
    mail = sum(r.sends_mail for r in records)
    print(f"{args.out}: {len(records)} files, {total / 1048576:.1f} MiB, {mail} send mail "
          f"({100 * mail / len(records):.1f}%), {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
