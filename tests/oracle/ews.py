"""The differential oracle for EWS sends (issue 24, item 3): original against a local EWS fake, patched against Graph.

Two kinds of shape:

- SOAP `CreateItem` requests posted with Invoke-RestMethod / Invoke-WebRequest: the original runs with
  the two web cmdlets redirected (a ProxyCommand, as the SMTP oracle redirects Send-MailMessage) from
  `…/EWS/Exchange.asmx` to tests/fakes/ews.py, which records the CreateItem it receives;
- EWS Managed API sends. The Managed API is not served by the package registry this project
  reaches (NuGet answers NU1101 for Microsoft.Exchange.WebServices), so these run with a stand-in
  compiled from tests/oracle/ews_managed_api.cs: the same type and member names, and a Send() that
  posts a real CreateItem to the EWS fake. It proves the rewrite against the stand-in's behaviour
  (what it implements: the members these shapes use), not against Microsoft's DLL.

For each shape:

1. the original runs in pwsh against the EWS fake, which records the CreateItem it receives;
2. the patch is the one scanner.migrate.ews_fix writes (with `Import-Module Smtp2Graph` above it,
   as the fix writer adds), run against the Graph fake through the generated module;
3. the two messages compare field by field (compare.FIELDS), and the runs' output, error count,
   termination and exit code compare, in the success mode and in a failure mode (EWS refusing with
   403, as Exchange Online does once EWS is off; Graph answering 403).

Shapes are written for smtp2graph. Nothing here reaches a host but 127.0.0.1.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fakes.ews import FakeEws
from fakes.tenant import FakeTenant
from scanner.check import calls_in_text
from scanner.migrate.ews_fix import edit_for
from scanner.model import Api
from scanner.powershell import find_pwsh

from .compare import Difference, Flow, Normalized, compare_flow, compare_messages, from_graph
from .tenant import APP_ID, SECRET, TENANT, OracleTenant

EWS_URL = "https://outlook.office365.com/EWS/Exchange.asmx"
FAILURE = "403"

_ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header><t:RequestServerVersion Version="Exchange2016" /></soap:Header>
  <soap:Body>
    <m:CreateItem MessageDisposition="{disposition}">{folder}
      <m:Items>
        <t:Message>
          <t:Subject>{subject}</t:Subject>
          <t:Body BodyType="{body_type}">{body}</t:Body>{importance}
{recipients}
          <t:From><t:Mailbox><t:EmailAddress>{sender}</t:EmailAddress></t:Mailbox></t:From>
        </t:Message>
      </m:Items>
    </m:CreateItem>
  </soap:Body>
</soap:Envelope>"""


def envelope(*, subject: str, body: str, sender: str = "reports@contoso.com", disposition: str = "SendAndSaveCopy",
             body_type: str = "Text", importance: str = "", **recipients: list[str]) -> str:
    """A CreateItem request written the way scripts write them (values already XML-escaped by the caller)."""
    blocks = []
    for element in ("ToRecipients", "CcRecipients", "BccRecipients", "ReplyTo"):
        addresses = recipients.get(element, [])
        if addresses:
            boxes = "".join(f"<t:Mailbox><t:EmailAddress>{a}</t:EmailAddress></t:Mailbox>" for a in addresses)
            blocks.append(f"          <t:{element}>{boxes}</t:{element}>")
    folder = "\n      <m:SavedItemFolderId><t:DistinguishedFolderId Id=\"sentitems\" /></m:SavedItemFolderId>" if disposition == "SendAndSaveCopy" else ""
    return _ENVELOPE.format(disposition=disposition, folder=folder, subject=subject, body=body, body_type=body_type,
                            importance=f"\n          <t:Importance>{importance}</t:Importance>" if importance else "",
                            recipients="\n".join(blocks), sender=sender)


@dataclass(frozen=True)
class EwsShape:
    name: str
    script: str
    managed: bool = False  # uses the EWS Managed API (runs with the stand-in of tests/oracle/ews_managed_api.cs)


BEARER = "$token = 'oracle-not-a-token'\n$headers = @{ Authorization = \"Bearer $token\" }\n"


def shapes() -> list[EwsShape]:
    """The SOAP send shapes the oracle runs."""
    out = []
    soap = envelope(subject="Nightly export", body="The export finished at 02:10.", ToRecipients=["ops@contoso.com", "dba@contoso.com"],
                    CcRecipients=["lead@contoso.com"])
    out.append(EwsShape("soap-irm-save-copy", BEARER + f"$request = @'\n{soap}\n'@\n"
                        f"$response = Invoke-RestMethod -Uri '{EWS_URL}' -Method Post -ContentType 'text/xml; charset=utf-8' "
                        "-Headers $headers -Body $request\n'sent'\n"))
    soap = envelope(subject="$subject", body="&lt;p&gt;Disk &lt;b&gt;FS01&lt;/b&gt; is at 91%&lt;/p&gt;", body_type="HTML", disposition="SendOnly",
                    importance="High", ToRecipients=["storage@contoso.com"], BccRecipients=["audit@contoso.com"], ReplyTo=["helpdesk@contoso.com"])
    out.append(EwsShape("soap-iwr-send-only-expanded", BEARER + "$subject = 'Disk space warning'\n"
                        f"$request = @\"\n{soap}\n\"@\n"
                        f"$null = Invoke-WebRequest -Uri '{EWS_URL}' -Method Post -ContentType 'text/xml' -Headers $headers "
                        "-Body $request -UseBasicParsing\n'sent'\n"))
    soap = envelope(subject="Zürich — état des sauvegardes ✓", body="Größe: 12 GB; 日本語", ToRecipients=["ops@contoso.com"])
    out.append(EwsShape("soap-irm-non-ascii", BEARER + f"$request = @'\n{soap}\n'@\n"
                        f"$null = Invoke-RestMethod -Uri '{EWS_URL}' -Method Post -ContentType 'text/xml; charset=utf-8' "
                        "-Headers $headers -Body ([System.Text.Encoding]::UTF8.GetBytes($request))\n'sent'\n"))
    soap = envelope(subject="Job failed", body="See the log.", ToRecipients=["oncall@contoso.com"])
    out.append(EwsShape("soap-irm-try-catch", BEARER + f"$request = @'\n{soap}\n'@\n"
                        "try {\n"
                        f"    $null = Invoke-RestMethod -Uri '{EWS_URL}' -Method Post -ContentType 'text/xml' -Headers $headers -Body $request -ErrorAction Stop\n"
                        "    'sent'\n} catch {\n    'caught'\n}\n"))
    soap = envelope(subject="Weekly summary", body="All green.", disposition="SendOnly", ToRecipients=["team@contoso.com"])
    out.append(EwsShape("soap-irm-function", BEARER + "function Send-EwsRequest([string]$Xml) {\n"
                        f"    Invoke-RestMethod -Uri '{EWS_URL}' -Method Post -ContentType 'text/xml' -Headers $headers -Body $Xml | Out-Null\n"
                        "}\n"
                        f"$weekly = @'\n{soap}\n'@\n"
                        "Send-EwsRequest -Xml $weekly\n'sent'\n"))
    out.extend(managed_shapes())
    return out


MANAGED_SETUP = ("$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService([Microsoft.Exchange.WebServices.Data.ExchangeVersion]::Exchange2016)\n"
                 f"$svc.Url = New-Object System.Uri('{EWS_URL}')\n"
                 "$svc.Credentials = New-Object Microsoft.Exchange.WebServices.Data.OAuthCredentials('oracle-not-a-token')\n"
                 "$svc.ImpersonatedUserId = New-Object Microsoft.Exchange.WebServices.Data.ImpersonatedUserId("
                 "[Microsoft.Exchange.WebServices.Data.ConnectingIdType]::SmtpAddress, 'reports@contoso.com')\n")


def managed_shapes() -> list[EwsShape]:
    """EWS Managed API sends (run with the stand-in assembly: the real one is not served here)."""
    msg = "$m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($svc)\n"
    return [
        EwsShape("managed-save-copy-all-fields", MANAGED_SETUP + msg +
                 "$m.Subject = 'Quarterly access review'\n$m.Body = '<p>Please review <b>your</b> team.</p>'\n"
                 "[void]$m.ToRecipients.Add('managers@contoso.com')\n[void]$m.ToRecipients.Add('Audit Team', 'audit@contoso.com')\n"
                 "[void]$m.CcRecipients.Add('hr@contoso.com')\n[void]$m.BccRecipients.Add('archive@contoso.com')\n"
                 "[void]$m.ReplyTo.Add('iam@contoso.com')\n$m.Importance = [Microsoft.Exchange.WebServices.Data.Importance]::High\n"
                 "$m.SendAndSaveCopy()\n'sent'\n", managed=True),
        EwsShape("managed-text-body-loop", MANAGED_SETUP + msg +
                 "$m.Subject = 'Patch window tonight'\n"
                 "$m.Body = New-Object Microsoft.Exchange.WebServices.Data.MessageBody([Microsoft.Exchange.WebServices.Data.BodyType]::Text, \"Servers reboot at 22:00.`nSave your work.\")\n"
                 "foreach ($team in 'ops@contoso.com', 'dev@contoso.com', 'qa@contoso.com') { $null = $m.ToRecipients.Add($team) }\n"
                 "$m.Send()\n'sent'\n", managed=True),
        EwsShape("managed-try-catch", MANAGED_SETUP + msg +
                 "$m.Subject = 'Certificate renewed'\n$m.Body = 'Done.'\n$null = $m.ToRecipients.Add('pki@contoso.com')\n"
                 "try {\n    $m.Send()\n    'sent'\n} catch {\n    'caught'\n}\n'after'\n", managed=True),
        EwsShape("managed-function-service", MANAGED_SETUP +
                 "function Send-Notice($Service, [string]$To, [string]$Subject) {\n"
                 "    $n = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($Service)\n"
                 "    $n.Subject = $Subject\n    $n.Body = \"Automatic notice: $Subject\"\n    [void]$n.ToRecipients.Add($To)\n"
                 "    $n.SendAndSaveCopy()\n}\n"
                 "Send-Notice -Service $svc -To 'ops@contoso.com' -Subject 'Queue drained'\n'sent'\n", managed=True),
        EwsShape("managed-no-try-failure-continues",
                 MANAGED_SETUP + msg + "$m.Subject = 'Nightly'\n$m.Body = 'ok'\n$null = $m.ToRecipients.Add('ops@contoso.com')\n"
                 "$m.Send()\n'after'\n", managed=True),
    ]


# --------------------------------------------------------------------------- patching (what `fix` will write)


@dataclass
class Patched:
    text: str
    applied: int
    reason: str = ""


def patch(text: str, path: str) -> Patched:
    """The module-style patch of every EWS send of ``text`` (ews_fix's edits, the import line above them)."""
    calls = [c for c in calls_in_text(text, path) if c.api is Api.EWS and c.sent]
    edits = [e for e in (edit_for(c, text) for c in calls) if e is not None]
    if not edits:
        return Patched(text, 0, "no EWS send with a drop-in rewrite" if calls else "no EWS send found")
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return Patched("Import-Module Smtp2Graph\n" + text, len(edits))


# --------------------------------------------------------------------------- running


REDIRECT = r"""
$PSStyle.OutputRendering = 'PlainText'
$oracleRethrow = "} catch {`n        `$PSCmdlet.ThrowTerminatingError(`$_)`n    }"
foreach ($oracleName in 'Invoke-RestMethod', 'Invoke-WebRequest') {
    $oracleProxy = [System.Management.Automation.ProxyCommand]::Create([System.Management.Automation.CommandMetadata]::new(
        (Get-Command -Name "Microsoft.PowerShell.Utility\$oracleName" -CommandType Cmdlet -ErrorAction Stop)))
    $oracleRedirect = @'
        if ([string]$PSBoundParameters['Uri'] -match '(?i)/EWS/Exchange\.asmx$') { $PSBoundParameters['Uri'] = [uri]'__EWS__' }
'@
    $oracleAt = $oracleProxy.IndexOf('$wrappedCmd = ')
    $oracleProxy = $oracleProxy.Substring(0, $oracleAt) + $oracleRedirect.TrimStart() + "`n        " + $oracleProxy.Substring($oracleAt)
    $oracleProxy = $oracleProxy.Replace("} catch {`n        throw`n    }", $oracleRethrow)
    Set-Item -Path "function:global:$oracleName" -Value ([scriptblock]::Create($oracleProxy))
}
Remove-Variable -Name oracleProxy, oracleRedirect, oracleAt, oracleName, oracleRethrow -ErrorAction SilentlyContinue
"""


def _env(root: Path, ca: Path, kit: Optional[Path] = None, tenant: Optional[FakeTenant] = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root / "home"), "TMPDIR": str(root), "LANG": "C.UTF-8",
        "NO_COLOR": "1", "TERM": "dumb", "POWERSHELL_TELEMETRY_OPTOUT": "1", "POWERSHELL_UPDATECHECK": "Off",
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1",
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
        "SSL_CERT_FILE": str(ca),
    }
    for name in ("DOTNET_ROOT", "SMTP2GRAPH_TOOLS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    (root / "home").mkdir(exist_ok=True)
    if kit is not None and tenant is not None:
        env["PSModulePath"] = str(kit)
        env["SMTP2GRAPH_CLIENT_SECRET"] = SECRET
        env["SMTP2GRAPH_AUTHORITY_HOST"] = tenant.base_url
        env["SMTP2GRAPH_GRAPH_ENDPOINT"] = tenant.base_url
    return env


def _stand_in(root: Path, pwsh: str) -> Path:
    """Compile the EWS Managed API stand-in (tests/oracle/ews_managed_api.cs) once per run."""
    source = Path(__file__).with_name("ews_managed_api.cs")
    out = root / "OracleEwsManagedApi.dll"
    builder = root / "build-ews.ps1"
    builder.write_text("param([string]$Source, [string]$Out)\n"
                       "Add-Type -TypeDefinition (Get-Content -LiteralPath $Source -Raw) -OutputAssembly $Out -ReferencedAssemblies System.Net.Http, System.Net.Primitives, System.Collections, System.Runtime -ErrorAction Stop\n", encoding="utf-8")
    done = subprocess.run([pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(builder), str(source), str(out)],
                          capture_output=True, text=True, timeout=180, env=_env(root, root / "none.pem"))
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"cannot build the EWS Managed API stand-in: {done.stderr.strip()[:600]}")
    return out


def _managed_prelude(folder: Path, name: str, dll: Path, target: str) -> Path:
    path = folder / name
    path.write_text(f"$PSStyle.OutputRendering = 'PlainText'\nAdd-Type -Path '{dll}' -ErrorAction Stop\n[OracleEws]::Target = '{target}'\n",
                    encoding="utf-8-sig")
    return path


def _run(pwsh: str, script: Path, env: dict[str, str], prelude: Optional[Path]) -> Flow:
    command = (f". '{prelude}'; " if prelude is not None else "") + f"& '{script}'"
    done = subprocess.run([pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", command], capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=180, env=env, cwd=str(script.parent))
    output = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith(("WARNING: ", "VERBOSE: "))]
    stderr = done.stderr.strip()
    return Flow(output=output, errors=1 if stderr else 0, exit_code=done.returncode, raw_errors=[stderr] if stderr else [])


def from_ews(entry: dict[str, Any]) -> Normalized:
    """A CreateItem the EWS fake recorded, in the fields compare.FIELDS names."""
    values: dict[str, Any] = {}
    values["From"] = f"<{entry['from']}>" if entry["from"] else ""
    values["Sender"] = ""
    for field_name, key in (("To", "to"), ("Cc", "cc"), ("Bcc", "bcc"), ("Reply-To", "reply_to")):
        values[field_name] = tuple(a if a.endswith(">") else f"<{a}>" for a in entry[key])
    values["Bcc"] = tuple(f"<{a.split('<', 1)[1]}" for a in values["Bcc"])  # Graph's side keeps no Bcc names either
    values["Subject"] = entry["subject"]
    values["Body"] = entry["body"].replace("\r\n", "\n").rstrip("\n")
    values["HTML"] = entry["body_type"].lower() == "html"
    values["Attachments"] = ()
    values["Alternate views"] = ()
    values["Importance"] = entry["importance"].lower()
    values["Delivery receipt"] = False
    values["Other notifications"] = ""
    values["Headers"] = ()
    values["Sent Items copy"] = entry["disposition"] == "SendAndSaveCopy"
    return Normalized(values)


@dataclass
class EwsOutcome:
    shape: EwsShape
    patched: bool
    reason: str = ""
    message_diffs: list[Difference] = field(default_factory=list)
    flow_diffs: dict[str, list[Difference]] = field(default_factory=dict)
    original_messages: int = 0
    graph_messages: int = 0
    patched_text: str = ""
    raw: dict[str, list[str]] = field(default_factory=dict)

    @property
    def differences(self) -> list[str]:
        return [f"message: {d}" for d in self.message_diffs] + [f"{mode}: {d}" for mode, diffs in self.flow_diffs.items() for d in diffs]


def _kit(root: Path) -> Path:
    kit = root / "kit"
    made = subprocess.run([sys.executable, "-m", "scanner", "kit", str(kit)], cwd=root, capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        raise RuntimeError(f"smtp2graph kit failed: {made.stderr.strip()[:400]}")
    example = (kit / "Smtp2Graph" / "Smtp2Graph.config.example.psd1").read_text(encoding="utf-8-sig")
    config = example.replace("'contoso.onmicrosoft.com'", f"'{TENANT}'").replace("'00000000-0000-0000-0000-000000000000'", f"'{APP_ID}'")
    (kit / "Smtp2Graph" / "Smtp2Graph.config.psd1").write_text(config, encoding="utf-8")
    return kit


def run_ews_oracle(selected: Optional[list[EwsShape]] = None, keep: Optional[Path] = None) -> list[EwsOutcome]:
    """Run every shape: original against the EWS fake and patched against the Graph fake, ok and 403 modes."""
    pwsh = find_pwsh()
    if pwsh is None:
        raise RuntimeError("pwsh (PowerShell 7) is not installed: run `bash .ci/install-powershell`")
    root = Path(tempfile.mkdtemp(prefix="smtp2graph-ews-oracle-")) if keep is None else keep
    root.mkdir(parents=True, exist_ok=True)
    outcomes = []
    try:
        kit = _kit(root)
        chosen = selected or shapes()
        dll = _stand_in(root, pwsh) if any(shape.managed for shape in chosen) else None
        for shape in chosen:
            folder = root / shape.name
            folder.mkdir(parents=True, exist_ok=True)
            original = folder / "original.ps1"
            original.write_text(shape.script, encoding="utf-8-sig")
            result = patch(shape.script, f"{shape.name}.ps1")
            outcome = EwsOutcome(shape, result.applied > 0, result.reason, patched_text=result.text)
            outcomes.append(outcome)
            if not outcome.patched:
                continue
            patched = folder / "patched.ps1"
            patched.write_text(result.text, encoding="utf-8-sig")
            flows: dict[tuple[str, str], Flow] = {}
            messages: dict[str, list[Normalized]] = {}
            for mode in ("ok", FAILURE):
                with FakeEws(mode="ok" if mode == "ok" else "blocked") as ews:
                    if shape.managed and dll is not None:
                        prelude = _managed_prelude(folder, f"stand-in-{mode}.ps1", dll, ews.url)
                    else:
                        prelude = folder / f"redirect-{mode}.ps1"
                        prelude.write_text(REDIRECT.replace("__EWS__", ews.url), encoding="utf-8-sig")
                    flows[("original", mode)] = _run(pwsh, original, _env(root, ews.ca_path), prelude)
                    if mode == "ok":
                        messages["original"] = [from_ews(entry) for entry in ews.sent]
                tenant = OracleTenant(mode).start()
                try:
                    # The patched script still builds the EWS objects (the DLL stays installed); sending through EWS is a tripwire.
                    patched_prelude = _managed_prelude(folder, "stand-in-patched.ps1", dll, "") if shape.managed and dll is not None else None
                    flows[("patched", mode)] = _run(pwsh, patched, _env(root, tenant.ca_path, kit, tenant), patched_prelude)
                    if mode == "ok":
                        messages["patched"] = [from_graph(entry) for entry in tenant.sent]
                finally:
                    tenant.stop()
            outcome.original_messages, outcome.graph_messages = len(messages["original"]), len(messages["patched"])
            outcome.message_diffs = compare_messages(messages["original"], messages["patched"])
            for mode in ("ok", FAILURE):
                outcome.flow_diffs[mode] = compare_flow(flows[("original", mode)], flows[("patched", mode)])
                outcome.raw[mode] = flows[("original", mode)].raw_errors + flows[("patched", mode)].raw_errors
            if not messages["original"]:
                outcome.reason = "the original sent nothing: " + "; ".join(flows[("original", "ok")].raw_errors)[:400]
        return outcomes
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def render(outcomes: list[EwsOutcome]) -> str:
    lines = []
    for o in outcomes:
        state = "not patched: " + o.reason if not o.patched else ("ok" if not o.differences and not o.reason else "; ".join(o.differences + ([o.reason] if o.reason else [])))
        lines.append(f"{o.shape.name}: {state}")
    return "\n".join(lines)


__all__ = ["EwsShape", "shapes", "patch", "run_ews_oracle", "render", "from_ews", "html"]
