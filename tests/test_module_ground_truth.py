"""Send-GraphMailMessage against the real Send-MailMessage / SmtpClient of pwsh 7.6: same binding outcome, same failure.

Each case is one call written twice: as the legacy script has it (sent to a local aiosmtpd sink on 127.0.0.1) and
as the patched script has it (sent by the generated module to the fake tenant). The sink refuses the sender
nobody@contoso.com with 550 5.7.30, as Exchange Online refuses basic authentication, and the fake tenant does not
know that mailbox either, so the same call fails on both sides. Compared per case: whether a message went out, its
recipients, attachment names and content types, whether the failure was terminating, how many errors the caller saw, and whether
the statement after the call ran. This is the ground truth behind the module's pipeline and failure semantics
(issue 11, items 2, 3 and 7); the differential oracle of the patcher covers whole scripts.

Known, intended difference (not a case here, tested in the Pester suite): -Credential $null is accepted (the
cmdlet refuses it).
"""

from __future__ import annotations

import json
import socket
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner.estate.senders import SenderPlan
from scanner.migrate.kit import write_kit
from scanner.powershell import run_pwsh

pytestmark = pytest.mark.pwsh


class _Sink:
    """aiosmtpd handler: records each message; refuses the unknown sender as Exchange Online refuses basic auth."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        if address.lower() == "nobody@contoso.com":
            return "550 5.7.30 Basic authentication is not supported for Client Submission"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({
            "subject": str(parsed["Subject"]),
            "to": sorted(a.lower() for a in envelope.rcpt_tos),
            "attachments": sorted((part.get_filename(), part.get_content_type()) for part in parsed.iter_attachments()),
        })
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[_Sink, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# (name, original call, patched call). {S} = -SmtpServer/-Port of the sink, {D} = the case's folder.
SAME = object()
CASES: list[tuple[str, str, Any]] = [
    ("named", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'named' -Body 'b' {S}; 'AFTER'", SAME),
    ("files-piped", "Get-ChildItem -LiteralPath '{D}' -Filter '*.log' | {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'files-piped' {S}; 'AFTER'", SAME),
    ("attachments-property", "[pscustomobject]@{{ Attachments = '{D}/a.log'; Subject = 'ignored' }} | {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'attachments-property' {S}; 'AFTER'", SAME),
    ("to-only-piped", "[pscustomobject]@{{ To = 'ops@contoso.com'; Subject = 'to-only-piped' }} | {CMD} -From 'alerts@contoso.com' {S}; 'AFTER'", SAME),
    ("from-only-piped", "[pscustomobject]@{{ To = 'ops@contoso.com'; From = 'alerts@contoso.com'; Subject = 'from-only-piped' }} | {CMD} {S}; 'AFTER'", SAME),
    ("row-without-attachments", "[pscustomobject]@{{ Subject = 'row' }} | {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'row-without-attachments' {S}; 'AFTER'", SAME),
    ("missing-attachment", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'missing-attachment' -Attachments '{D}/none.txt' {S}; 'AFTER'", SAME),
    ("wildcard-two-files", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'wildcard-two-files' -Attachments '{D}/*.log' {S}; 'AFTER'", SAME),
    # -Attachments resolves as a wildcard (PathUtils.ResolveFilePath): [ ] is a character class, '*' must match one file.
    ("brackets-literal-only", "Set-Content -LiteralPath '{D}/data[1].txt' -Value 'x'; {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'brackets-literal-only' -Attachments '{D}/data[1].txt' {S}; 'AFTER'", SAME),
    ("brackets-matching", "Set-Content -LiteralPath '{D}/data[1].txt' -Value 'x'; Set-Content -LiteralPath '{D}/data1.txt' -Value 'y'; {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'brackets-matching' -Attachments '{D}/data[1].txt' {S}; 'AFTER'", SAME),
    ("brackets-escaped", "Set-Content -LiteralPath '{D}/data[1].txt' -Value 'x'; {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'brackets-escaped' -Attachments '{D}/data`[1`].txt' {S}; 'AFTER'", SAME),
    ("files-piped-brackets", "Set-Content -LiteralPath '{D}/data[1].txt' -Value 'x'; Get-ChildItem -LiteralPath '{D}' -Filter 'data*' | {CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'files-piped-brackets' {S}; 'AFTER'", SAME),
    ("wildcard-one-file", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'wildcard-one-file' -Attachments '{D}/a.*' {S}; 'AFTER'", SAME),
    ("wildcard-no-file", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'wildcard-no-file' -Attachments '{D}/*.pdf' {S}; 'AFTER'", SAME),
    ("relative-attachment", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'relative-attachment' -Attachments 'b.log' {S}; 'AFTER'", SAME),
    ("attachment-missing-folder", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'attachment-missing-folder' -Attachments '{D}/none/x.txt' {S}; 'AFTER'", SAME),
    ("attachment-is-folder", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'attachment-is-folder' -Attachments '{D}' {S}; 'AFTER'", SAME),
    # Send-MailMessage reads the addresses (reporting a bad one) before the attachments: both errors reach the caller.
    ("bad-address-and-missing-attachment", "{CMD} -To 'x,y@contoso.com', 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'bad-address-and-missing-attachment' -Attachments '{D}/none.txt' {S}; 'AFTER'", SAME),
    ("no-recipient-and-missing-attachment", "{CMD} -To 'x,y@contoso.com' -From 'alerts@contoso.com' -Subject 'no-recipient-and-missing-attachment' -Attachments '{D}/none.txt' {S}; 'AFTER'", SAME),
    ("attachment-not-file-system", "{CMD} -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'attachment-not-file-system' -Attachments 'env:PATH' {S}; 'AFTER'", SAME),
    # SmtpClient (SevenBit) refuses an address whose local part is not ASCII: nothing is sent (an SmtpException).
    ("non-ascii-from", "{CMD} -To 'ops@contoso.com' -From ('caf' + [char]0xE9 + '@contoso.com') -Subject 'non-ascii-from' {S}; 'AFTER'", SAME),
    ("non-ascii-to-and-good", "{CMD} -To ('caf' + [char]0xE9 + '@contoso.com'), 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'non-ascii-to-and-good' {S}; 'AFTER'", SAME),
    ("non-ascii-cc", "{CMD} -To 'ops@contoso.com' -Cc ('caf' + [char]0xE9 + '@contoso.com') -From 'alerts@contoso.com' -Subject 'non-ascii-cc' {S}; 'AFTER'", SAME),
    ("non-ascii-bcc", "{CMD} -To 'ops@contoso.com' -Bcc ('caf' + [char]0xE9 + '@contoso.com') -From 'alerts@contoso.com' -Subject 'non-ascii-bcc' {S}; 'AFTER'", SAME),
    ("non-ascii-reply-to", "{CMD} -To 'ops@contoso.com' -ReplyTo ('caf' + [char]0xE9 + '@contoso.com') -From 'alerts@contoso.com' -Subject 'non-ascii-reply-to' {S}; 'AFTER'", SAME),
    ("non-ascii-stop-catch", "try {{ {CMD} -To 'ops@contoso.com' -From ('caf' + [char]0xE9 + '@contoso.com') -Subject 'non-ascii-stop-catch' {S} -ErrorAction Stop; 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'", SAME),
    ("non-ascii-display-name-only", "{CMD} -To ('Caf' + [char]0xE9 + ' <ops@contoso.com>') -From 'alerts@contoso.com' -Subject 'non-ascii-display-name-only' {S}; 'AFTER'", SAME),
    ("comma-list", "{CMD} -To 'ops@contoso.com,lead@contoso.com' -From 'alerts@contoso.com' -Subject 'comma-list' {S}; 'AFTER'", SAME),
    ("comma-list-and-good", "{CMD} -To 'ops@contoso.com,lead@contoso.com', 'it@contoso.com' -From 'alerts@contoso.com' -Subject 'comma-list-and-good' {S}; 'AFTER'", SAME),
    ("bad-from", "{CMD} -To 'ops@contoso.com' -From 'not an address' -Subject 'bad-from' {S}; 'AFTER'", SAME),
    ("refused-continue", "$ErrorActionPreference = 'Continue'; {CMD} -To 'ops@contoso.com' -From 'nobody@contoso.com' -Subject 'refused-continue' {S}; 'AFTER'", SAME),
    ("refused-silently", "$ErrorActionPreference = 'SilentlyContinue'; {CMD} -To 'ops@contoso.com' -From 'nobody@contoso.com' -Subject 'refused-silently' {S}; 'AFTER'", SAME),
    ("refused-stop-catch", "$ErrorActionPreference = 'Stop'; try {{ {CMD} -To 'ops@contoso.com' -From 'nobody@contoso.com' -Subject 'refused-stop-catch' {S}; 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'", SAME),
    ("refused-erroraction-stop", "try {{ {CMD} -To 'ops@contoso.com' -From 'nobody@contoso.com' -Subject 'refused-erroraction-stop' {S} -ErrorAction Stop; 'SENT' }} catch {{ 'CAUGHT' }}; 'AFTER'", SAME),
    ("smtpclient-refused",
     "$m = New-Object System.Net.Mail.MailMessage 'nobody@contoso.com', 'ops@contoso.com', 'smtpclient-refused', 'b'; "
     "$c = New-Object System.Net.Mail.SmtpClient '127.0.0.1', {PORT}; try {{ $c.Send($m); 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'",
     "$m = New-Object System.Net.Mail.MailMessage 'nobody@contoso.com', 'ops@contoso.com', 'smtpclient-refused', 'b'; "
     "try {{ Send-GraphMailMessage -MailMessage $m; 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'"),
    ("smtpclient-non-ascii-from",
     "$m = New-Object System.Net.Mail.MailMessage ('caf' + [char]0xE9 + '@contoso.com'), 'ops@contoso.com', 'smtpclient-non-ascii-from', 'b'; "
     "$c = New-Object System.Net.Mail.SmtpClient '127.0.0.1', {PORT}; try {{ $c.Send($m); 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'",
     "$m = New-Object System.Net.Mail.MailMessage ('caf' + [char]0xE9 + '@contoso.com'), 'ops@contoso.com', 'smtpclient-non-ascii-from', 'b'; "
     "try {{ Send-GraphMailMessage -MailMessage $m; 'SENT' }} catch [System.Net.Mail.SmtpException] {{ 'CAUGHT' }}; 'AFTER'"),
    ("smtpclient-non-ascii-sender",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-non-ascii-sender', 'b'; $m.Sender = ('caf' + [char]0xE9 + '@contoso.com'); "
     "$c = New-Object System.Net.Mail.SmtpClient '127.0.0.1', {PORT}; $c.Send($m); 'AFTER'",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-non-ascii-sender', 'b'; $m.Sender = ('caf' + [char]0xE9 + '@contoso.com'); "
     "Send-GraphMailMessage -MailMessage $m; 'AFTER'"),
    ("smtpclient-non-ascii-reply-to",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-non-ascii-reply-to', 'b'; $m.ReplyToList.Add(('caf' + [char]0xE9 + '@contoso.com')); "
     "$c = New-Object System.Net.Mail.SmtpClient '127.0.0.1', {PORT}; try {{ $c.Send($m); 'SENT' }} catch {{ 'CAUGHT' }}; 'AFTER'",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-non-ascii-reply-to', 'b'; $m.ReplyToList.Add(('caf' + [char]0xE9 + '@contoso.com')); "
     "try {{ Send-GraphMailMessage -MailMessage $m; 'SENT' }} catch {{ 'CAUGHT' }}; 'AFTER'"),
    ("smtpclient-sent",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-sent', 'b'; "
     "$c = New-Object System.Net.Mail.SmtpClient '127.0.0.1', {PORT}; $c.Send($m); 'AFTER'",
     "$m = New-Object System.Net.Mail.MailMessage 'alerts@contoso.com', 'ops@contoso.com', 'smtpclient-sent', 'b'; "
     "Send-GraphMailMessage -MailMessage $m; 'AFTER'"),
]

RUNNER = r"""
$WarningPreference = 'SilentlyContinue'
Import-Module -Name $args[0]
$cases = Get-Content -LiteralPath $args[1] -Raw | ConvertFrom-Json
$results = foreach ($case in $cases) {
    foreach ($side in @('original', 'patched')) {
        Set-Location -LiteralPath $case.folder
        $Error.Clear()
        $terminating = $false
        $output = @()
        try { $output = @(& ([scriptblock]::Create($case.$side)) 2>$null) }
        catch { $terminating = $true }
        $firstType = ''
        $firstMessage = ""
        $firstId = ''
        $firstText = ''
        $innerType = ''
        if ($Error.Count -gt 0) {
            $firstType = $Error[0].Exception.GetType().Name; $firstMessage = $Error[0].Exception.Message
            $firstId = ($Error[0].FullyQualifiedErrorId -split ',')[0]; $firstText = $Error[0].ToString()
            if ($null -ne $Error[0].Exception.InnerException) { $innerType = $Error[0].Exception.InnerException.GetType().Name }
        }
        [pscustomobject]@{ name = $case.name; side = $side; terminating = $terminating; errors = $Error.Count;
            firstType = $firstType; message = $firstMessage; errorId = $firstId; text = $firstText; innerType = $innerType
            output = @($output | ForEach-Object { "$_" }) }
    }
}
ConvertTo-Json -InputObject @($results) -Depth 4
"""


def _graph_sent(fake: FakeTenant, subject: str) -> list[dict[str, Any]]:
    found = []
    for entry in fake.sent:
        message = entry.get("message") or {}
        if message.get("subject") != subject:
            continue
        found.append({
            "subject": subject,
            "to": sorted(r["emailAddress"]["address"].lower() for r in message.get("toRecipients", [])),
            "attachments": sorted((a["name"], a.get("contentType")) for a in message.get("attachments", [])),
        })
    return found


def test_patched_calls_bind_send_and_fail_like_send_mailmessage_and_smtpclient(
    tmp_path: Path, tenant: FakeTenant, sink: tuple[_Sink, int], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    handler, port = sink
    write_kit(tmp_path / "kit", SenderPlan())
    for name, value in {
        "SMTP2GRAPH_TENANT_ID": TENANT, "SMTP2GRAPH_CLIENT_ID": APP_ID, "SMTP2GRAPH_AUTH": "ClientSecret",
        "SMTP2GRAPH_CLIENT_SECRET": SECRET, "SMTP2GRAPH_AUTHORITY_HOST": tenant.base_url,
        "SMTP2GRAPH_GRAPH_ENDPOINT": tenant.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    cases = []
    for name, original, patched in CASES:
        folder = tmp_path / "cases" / name
        folder.mkdir(parents=True)
        (folder / "a.log").write_text("first\n", encoding="utf-8")
        (folder / "b.log").write_text("second\n", encoding="utf-8")
        fill = {"D": folder.as_posix(), "PORT": str(port)}
        cases.append({
            "name": name,
            "folder": str(folder),
            "original": original.format(CMD="Send-MailMessage", S=f"-SmtpServer 127.0.0.1 -Port {port}", **fill),
            "patched": (original if patched is SAME else patched).format(CMD="Send-GraphMailMessage", S="", **fill),
        })
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases), encoding="utf-8")
    run = run_pwsh(RUNNER, args=[str(tmp_path / "kit" / "Smtp2Graph" / "Smtp2Graph.psd1"), str(cases_file)], timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    results = {(r["name"], r["side"]): r for r in json.loads(run.stdout)}

    differences = []
    for name, _, _ in CASES:
        original, patched = results[(name, "original")], results[(name, "patched")]
        smtp = sorted((m for m in handler.messages if m["subject"] == name), key=str)
        graph = sorted(_graph_sent(tenant, name), key=str)
        if smtp != graph:
            differences.append(f"{name}: sent {smtp} vs {graph}")
        for field in ("terminating", "output"):
            if original[field] != patched[field]:
                differences.append(f"{name}: {field} {original[field]} vs {patched[field]}")
        if not original["terminating"] and original["errors"] != patched["errors"]:
            differences.append(f"{name}: errors {original['errors']} vs {patched['errors']}")
        if original["errors"] and "Smtp" in original["firstType"] and "Smtp" not in patched["firstType"]:
            differences.append(f"{name}: error type {original['firstType']} vs {patched['firstType']}")
        # Where the cmdlet stops on its own input (attachments, From), the same exception type, error id and
        # message reach the caller.
        if original["terminating"] and original["firstType"] in ("FileNotFoundException", "FormatException",
                                                                 "PSInvalidOperationException", "DirectoryNotFoundException",
                                                                 "UnauthorizedAccessException"):
            if original["firstType"] != patched["firstType"] or patched["errors"] != original["errors"]:
                differences.append(f"{name}: stopped with {original['firstType']} vs {patched['firstType']}"
                                   f" ({patched['errors']} errors)")
            for field in ("errorId", "text"):
                if original[field] != patched[field]:
                    differences.append(f"{name}: {field} {original[field]!r} vs {patched[field]!r}")
        # A non-ASCII local part: SmtpClient's own SmtpException and message, as a send failure (Send-MailMessage:
        # non-terminating, its error id 'SmtpException'; SmtpClient.Send: terminating).
        if "ASCII local-parts" in original["message"]:
            if "ASCII local-parts" not in patched["message"] or "Smtp" not in patched["firstType"] + patched["innerType"]:
                differences.append(f"{name}: refused with {original['firstType']} {original['message']!r}"
                                   f" vs {patched['firstType']} {patched['message']!r}")
            if original["errorId"] != patched["errorId"]:
                differences.append(f"{name}: errorId {original['errorId']!r} vs {patched['errorId']!r}")
    assert differences == []
    # The cases exercise what they claim: some send, some stop, some report and go on.
    assert [m["subject"] for m in handler.messages].count("files-piped") == 1
    assert results[("to-only-piped", "original")]["terminating"]
    assert results[("refused-continue", "original")]["errors"] == 1
    assert results[("refused-stop-catch", "original")]["output"] == ["CAUGHT", "AFTER"]
    assert results[("smtpclient-refused", "original")]["output"] == ["CAUGHT", "AFTER"]
    assert results[("brackets-literal-only", "original")]["errorId"] == "FileOpenFailure"
    assert results[("bad-address-and-missing-attachment", "original")]["errors"] == 2
    assert [m["attachments"] for m in handler.messages if m["subject"] == "brackets-matching"] == [[("data1.txt", "application/octet-stream")]]
    assert [m["attachments"] for m in handler.messages if m["subject"] == "brackets-escaped"] == [[("data[1].txt", "application/octet-stream")]]
    for name in ("non-ascii-from", "non-ascii-to-and-good", "non-ascii-cc", "non-ascii-bcc", "non-ascii-reply-to"):
        assert "ASCII local-parts" in results[(name, "original")]["message"], name
        assert not results[(name, "original")]["terminating"] and results[(name, "original")]["errors"] == 1, name
    assert results[("non-ascii-stop-catch", "original")]["output"] == ["CAUGHT", "AFTER"]
    assert results[("smtpclient-non-ascii-from", "original")]["output"] == ["CAUGHT", "AFTER"]
    assert results[("smtpclient-non-ascii-sender", "original")]["terminating"]
    assert [m["subject"] for m in handler.messages].count("non-ascii-display-name-only") == 1
