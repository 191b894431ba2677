"""The recognizers of the other mail APIs: MailKit, CDO, System.Web.Mail, Outlook COM and Graph.

Each fixture in tests/fixtures/breadth is a small script; the expectations below say which calls it
holds, under which canonical Send-MailMessage parameter names, and which look-alikes are not calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest
from typer.testing import CliRunner

from scanner.assess import assess, credential_kind
from scanner.check import calls_in_text
from scanner.cli import app
from scanner.model import Api, CredentialKind, MailCall, ServerClass

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "breadth"


def calls(name: str) -> list[MailCall]:
    path = FIXTURES / name
    return calls_in_text(path.read_text(encoding="utf-8"), name)


def value(call: MailCall, name: str) -> object:
    bound = call.params.get(name)
    return None if bound is None else bound.value


def text(call: MailCall, name: str) -> Optional[str]:
    bound = call.params.get(name)
    return None if bound is None else bound.text


# --------------------------------------------------------------------------- MailKit


def test_mailkit_client_connect_authenticate_send() -> None:
    (call,) = calls("mailkit_password.ps1")
    assert call.api is Api.MAILKIT
    assert call.form == "method" and call.location.line == 10
    assert value(call, "SmtpServer") == "smtp.office365.com"
    assert value(call, "Port") == 587
    assert value(call, "UseSsl") is True
    assert value(call, "From") == "Alerts <alerts@contoso.com>"  # MimeKit's (name, address) order
    assert value(call, "To") == "ops@contoso.com"
    assert value(call, "Subject") == "Queue length"
    assert value(call, "BodyAsHtml") is True
    # The password argument of Authenticate() is never copied into the bound text.
    assert "MailKit-Example-Pa55" not in (text(call, "Credential") or "")
    assert credential_kind(call) is CredentialKind.EXPLICIT
    verdict = assess(call)
    assert verdict.server is ServerClass.EXO_SUBMISSION and verdict.breaks is True


def test_mailkit_oauth2_keeps_working() -> None:
    (call,) = calls("mailkit_oauth.ps1")
    assert call.api is Api.MAILKIT
    verdict = assess(call)
    assert verdict.breaks is False
    assert "XOAUTH2" in verdict.verdict
    assert verdict.severity.value == "low"


def test_mailkit_short_names_under_using_namespace_are_not_system_net_mail() -> None:
    found = calls("mailkit_using_namespace.ps1")
    assert [c.api for c in found] == [Api.MAILKIT]
    (call,) = found
    assert value(call, "SmtpServer") == "relay.contoso.local"
    assert value(call, "To") == "Ops <ops@contoso.com>"
    assert assess(call).server is ServerClass.OTHER


def test_mailkit_backed_cmdlets_bind_to_canonical_names() -> None:
    found = calls("mailkit_cmdlets.ps1")
    # Send-EmailMessage -Graph goes through Graph, not SMTP: not a MailKit send.
    assert [(c.api, c.command, c.location.line) for c in found] == [
        (Api.MAILKIT, "Send-MailKitMessage", 1),
        (Api.MAILKIT, "Send-EmailMessage", 2),
    ]
    kit, mailozaurr = found
    assert value(kit, "SmtpServer") == "smtp.office365.com"
    assert value(kit, "To") == "ops@contoso.com"  # -RecipientList
    assert value(kit, "BodyAsHtml") is True  # -HTMLBody
    assert value(kit, "UseSsl") is True
    assert value(mailozaurr, "SmtpServer") == "smtp.office365.com"  # -Server
    assert value(mailozaurr, "UseSsl") is True  # -SecureSocketOptions StartTls
    assert value(mailozaurr, "Body") == "low"  # -Text
    for call in found:
        assert assess(call).breaks is True


def test_mailkit_imap_and_mentions_are_not_senders() -> None:
    assert calls("mailkit_imap_only.ps1") == []


# --------------------------------------------------------------------------- CDO


def test_cdo_message_sent_with_configuration_fields() -> None:
    (call,) = calls("cdo_send.ps1")
    assert call.api is Api.CDO and call.form == "com-send" and call.sent
    assert call.location.line == 15
    assert value(call, "SmtpServer") == "smtp.office365.com"
    assert value(call, "Port") == 587
    assert value(call, "UseSsl") is True
    assert value(call, "From") == "alerts@contoso.com"
    assert value(call, "To") == ["ops@contoso.com", "dba@contoso.com"]  # CDO separates with ;
    assert value(call, "Attachments") == "C:\\reports\\backup.log"
    assert "Cdo-Example-Pa55" not in " ".join(b.text for b in call.params.values())
    assert credential_kind(call) is CredentialKind.EXPLICIT
    assert assess(call).breaks is True


def test_cdo_configured_but_not_sent_is_reported_with_low_confidence() -> None:
    (call,) = calls("cdo_configured_only.ps1")
    assert call.form == "com-configured" and not call.sent
    assert call.confidence.value == "low"
    assert value(call, "SmtpServer") == "exch01.contoso.local"


def test_cdo_ntlm_to_on_premises_exchange_keeps_working() -> None:
    (call,) = calls("cdo_ntlm_onprem.ps1")
    assert credential_kind(call) is CredentialKind.DEFAULT_LOGON
    verdict = assess(call)
    assert verdict.server is ServerClass.OTHER and verdict.breaks is False
    assert "on-premises Exchange keeps working" in verdict.migration


def test_cdo_reading_an_eml_file_is_not_a_sender() -> None:
    assert calls("cdo_read_eml.ps1") == []


# --------------------------------------------------------------------------- System.Web.Mail


def test_system_web_mail_message_with_cdo_fields() -> None:
    (call,) = calls("webmail_message.ps1")
    assert call.api is Api.SYSTEM_WEB_MAIL and call.location.line == 12
    assert value(call, "SmtpServer") == "smtp.office365.com"
    assert value(call, "To") == ["helpdesk@contoso.com", "security@contoso.com"]
    assert value(call, "BodyAsHtml") is True
    assert credential_kind(call) is CredentialKind.EXPLICIT
    verdict = assess(call)
    assert verdict.breaks is True
    assert "PowerShell 7" in verdict.verdict


def test_system_web_mail_four_argument_send_and_mentions() -> None:
    (call,) = calls("webmail_four_args.ps1")  # the commented-out call and the string are not calls
    assert call.location.line == 2
    assert [value(call, n) for n in ("From", "To", "Subject", "Body")] == ["batch@contoso.com", "ops@contoso.com", "Batch finished", "All good"]
    assert value(call, "SmtpServer") == "relay.contoso.local"
    verdict = assess(call)
    assert verdict.breaks is False
    assert verdict.severity.value == "medium"  # fails on PowerShell 7 regardless


# --------------------------------------------------------------------------- Outlook COM


def test_outlook_mail_item_sent() -> None:
    (call,) = calls("outlook_send.ps1")
    assert call.api is Api.OUTLOOK_COM and call.sent and call.location.line == 9
    assert value(call, "To") == ["team@contoso.com", "lead@contoso.com", "manager@contoso.com"]
    assert value(call, "BodyAsHtml") is True
    assert value(call, "Attachments") == "C:\\status.xlsx"
    verdict = assess(call)
    assert verdict.breaks is False and verdict.severity.value == "low"
    assert "new Outlook" in verdict.verdict


def test_outlook_calendar_items_are_not_mail_and_display_is_info() -> None:
    found = calls("outlook_display_and_calendar.ps1")
    # the running Outlook (GetActiveObject) sends as well
    assert [(c.form, c.location.line, c.sent) for c in found] == [("com-display", 7, False), ("com-send", 11, True)]
    assert assess(found[0]).severity.value == "info"


# --------------------------------------------------------------------------- Graph


def test_graph_rest_uri_forms() -> None:
    found = calls("graph_uri_forms.ps1")
    summary = [(c.api, c.command, c.form, c.location.line, value(c, "From")) for c in found]
    assert summary == [
        (Api.GRAPH_SENDMAIL, "Invoke-RestMethod", "rest", 4, "literal@contoso.com"),  # literal URI
        (Api.GRAPH_SENDMAIL, "Invoke-RestMethod", "rest", 5, "reports@contoso.com"),  # expandable string
        (Api.GRAPH_SENDMAIL, "Invoke-RestMethod", "rest", 6, "reports@contoso.com"),  # -f format
        (Api.GRAPH_SENDMAIL, "Invoke-WebRequest", "rest", 8, "reports@contoso.com"),  # concatenation in a variable
        (Api.GRAPH_SENDMAIL, "Invoke-RestMethod", "rest-splat", 10, "splat@contoso.com"),  # Uri key of a splat
        (Api.GRAPH_SENDMAIL, "Invoke-MgGraphRequest", "rest", 11, "reports@contoso.com"),  # $($sender)
        (Api.GRAPH_SENDMAIL, "irm", "rest-draft-send", 12, "reports@contoso.com"),  # /messages/{id}/send
        (Api.GRAPH_SENDMAIL, "Invoke-MgGraphRequest", "rest", 13, "reports@contoso.com"),  # relative URI
    ]
    first = found[0]
    assert value(first, "Subject") == "Report"
    assert value(first, "To") == ["ops@contoso.com"]
    assert value(first, "ContentType") == "application/json"
    assert assess(first).severity.value == "info"


def test_graph_look_alikes_are_not_sends() -> None:
    assert calls("graph_not_sends.ps1") == []


def test_graph_sdk_cmdlets_and_draft_then_send() -> None:
    found = calls("graph_sdk.ps1")
    assert [(c.api, c.command, c.form, c.location.line) for c in found] == [
        (Api.SEND_MGUSERMAIL, "Send-MgUserMail", "sdk", 13),
        (Api.SEND_MGUSERMAIL, "Send-MgBetaUserMail", "sdk", 14),
        (Api.SEND_MGUSERMAIL, "Send-MgUserMessage", "sdk-draft-send", 16),
    ]
    mail, beta, draft = found
    assert value(mail, "From") == "changes@contoso.com"
    assert value(mail, "To") == ["cab@contoso.com", "ops@contoso.com"]
    assert value(mail, "Subject") == "Change approved"
    assert value(beta, "From") is None and text(beta, "From") == "$env:SENDER"
    assert value(draft, "From") == "drafts@contoso.com"
    assert value(draft, "Subject") == "Change approved"  # New-MgUserMessage -BodyParameter $params.Message
    assert any(r.role == "draft" and r.line == 15 for r in draft.related)


def test_data_files_hold_no_calls() -> None:
    source = (FIXTURES / "cdo_send.ps1").read_text(encoding="utf-8")
    assert calls_in_text(source, "settings.psd1", is_data_file=True) == []


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.ps1")))
def test_every_fixture_parses_cleanly(name: str) -> None:
    """The fixtures are valid PowerShell, so a finding never depends on parse recovery."""
    import tree_sitter as ts
    import tree_sitter_powershell as tsp

    tree = ts.Parser(ts.Language(tsp.language())).parse((FIXTURES / name).read_bytes())
    assert not tree.root_node.has_error, name


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.ps1")))
def test_crlf_and_bom_do_not_change_what_is_found(name: str) -> None:
    source = (FIXTURES / name).read_text(encoding="utf-8")
    from scanner.files import decode

    windows, encoding, _ = decode(b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode("utf-8"))
    assert encoding == "utf-8-sig"
    plain = [(c.api, c.form, c.location.line, sorted(c.params)) for c in calls_in_text(source, name)]
    crlf = [(c.api, c.form, c.location.line, sorted(c.params)) for c in calls_in_text(windows, name)]
    assert crlf == plain


def test_recall_does_not_depend_on_a_clean_parse() -> None:
    """`Mock … -MockWith {}` breaks tree-sitter's parse of the function; every send is still found."""
    path = FIXTURES / "broken" / "all_apis_after_parse_error.ps1"
    source = path.read_text(encoding="utf-8")
    from scanner.script import Script

    assert Script(source).parsed.has_error
    found = calls_in_text(source, path.name)
    assert [(c.api.value, c.location.line) for c in found] == [
        ("cdo", 5),
        ("mailkit", 8),
        ("outlook-com", 11),
        ("system-web-mail", 12),
        ("graph-sendmail", 13),
        ("send-mgusermail", 14),
    ]


def test_mailozaurr_graph_on_one_path_or_switched_off_is_still_an_smtp_send() -> None:
    """A splat that sets Graph on one branch only used to hide the whole call (the other branch sends by
    SMTP with a password); so did -Graph:$false."""
    found = calls("mailozaurr_graph_on_one_path.ps1")
    assert [(c.api, c.command, c.location.line) for c in found] == [
        (Api.MAILKIT, "Send-EmailMessage", 9),
        (Api.MAILKIT, "Send-EmailMessage", 10),
    ]
    splatted, switched_off = found
    assert any("-Graph is set on some paths only" in note for note in splatted.notes)
    assert "Graph" not in splatted.params and "Graph" not in switched_off.params
    assert value(switched_off, "SmtpServer") == "smtp.office365.com"
    assert assess(switched_off).breaks is True


def test_a_client_made_again_before_any_send_is_not_a_second_sender() -> None:
    """`$smtp = New-Object …SmtpClient` at the top of a function and again just before the send: the first
    one was reported as a client "never sent" (found in a public MailKit wrapper). One made in an `if`
    and another in its `else` both reach the send after them: that first one is still reported."""
    mailkit = calls_in_text(
        "function Send-It {\n    $smtp = New-Object MailKit.Net.Smtp.SmtpClient\n    $message = New-Object MimeKit.MimeMessage\n"
        "    $smtp = New-Object MailKit.Net.Smtp.SmtpClient\n    $smtp.Connect('smtp.office365.com', 587)\n"
        "    $smtp.Authenticate($cred)\n    $smtp.Send($message)\n}\n", "w.ps1")
    assert [(c.api, c.sent, c.location.line) for c in mailkit] == [(Api.MAILKIT, True, 7)]
    net = calls_in_text(
        "$d = New-Object System.Net.Mail.SmtpClient('relay.contoso.com')\n"
        "$d = New-Object System.Net.Mail.SmtpClient('smtp.office365.com')\n"
        "$d.Send('a@contoso.com', 'b@contoso.com', 's', 'b')\n"
        "if ($x) { $c = New-Object System.Net.Mail.SmtpClient('a.contoso.com') } else { $c = New-Object System.Net.Mail.SmtpClient('b.contoso.com') }\n"
        "$c.Send('a@contoso.com', 'b@contoso.com', 's', 'b')\n", "n.ps1")
    assert sorted((c.sent, c.location.line) for c in net) == [(False, 4), (True, 3), (True, 5)]


def test_a_cdo_message_a_function_builds_and_returns_is_sent_where_its_caller_sends_it() -> None:
    """`function New-AlertMessage { $m = New-Object -ComObject CDO.Message; …; return $m }`, then
    `$msg = New-AlertMessage -From … ; $msg.Send()`: reported as configured "but no .Send() in this file",
    at the factory and again at its call site. Now one send, where it happens, with the factory's
    configuration and what the call site passes for its parameters."""
    found = calls("cdo_factory.ps1")
    assert [(c.api, c.sent, c.location.line) for c in found] == [(Api.CDO, True, 16)]
    (call,) = found
    assert value(call, "SmtpServer") == "smtp.office365.com"
    assert value(call, "From") == "alerts@contoso.com"  # -From of the factory call, through $m.From = $From
    assert any("built and configured by New-AlertMessage" in note for note in call.notes)
    assert assess(call).breaks is True


def test_a_returned_client_is_found_in_a_windows_file_too() -> None:
    """A function that builds and returns an SmtpClient (`$c` alone on its last line): with CRLF line
    ends the `$c\\r` line did not count as returning it, and the send through it was missed."""
    source = (FIXTURES / "smtpclient_factory.ps1").read_text(encoding="utf-8")
    for text in (source, source.replace("\n", "\r\n")):
        found = calls_in_text(text, "smtpclient_factory.ps1")
        assert [(c.api, c.sent, c.location.line) for c in found] == [(Api.SMTPCLIENT, True, 8)]
        assert assess(found[0]).breaks is True


def test_an_smtpclient_made_by_a_cast_is_a_client() -> None:
    """`[System.Net.Mail.SmtpClient]'smtp.office365.com'` calls SmtpClient(string host): the send through
    it was missed. A typed parameter or variable (`[SmtpClient]$c`) builds nothing."""
    found = calls_in_text(
        "$smtp = [System.Net.Mail.SmtpClient]'smtp.office365.com'\n$smtp.Port = 587; $smtp.EnableSsl = $true\n"
        "$smtp.Credentials = $cred.GetNetworkCredential()\n$smtp.Send('ops@contoso.com', 'it@contoso.com', 'Nightly', 'done')\n"
        "function Send-Through([System.Net.Mail.SmtpClient]$client) { $client.Timeout = 5 }\n"
        "[System.Net.Mail.SmtpClient]$typed = $null\n", "cast.ps1")
    assert [(c.api, c.sent, c.location.line) for c in found] == [(Api.SMTPCLIENT, True, 4)]
    assert value(found[0], "SmtpServer") == "smtp.office365.com"
    assert assess(found[0]).breaks is True


def test_a_mailmessage_a_function_builds_and_returns_gives_the_send_its_sender() -> None:
    """`$msg = New-Email -From … -To …` (a helper that builds a MailMessage and returns it), then
    `$client.Send($msg)`: the message was "not built in this file", so the sender was left to decide.
    Now its settings come from the helper, with what the call site passes, and what the caller sets after."""
    found = calls("smtpclient_message_factory.ps1")
    assert [(c.api, c.sent, c.location.line) for c in found] == [(Api.SMTPCLIENT, True, 14)]
    (call,) = found
    assert value(call, "From") == "backup@contoso.com"
    assert value(call, "To") == "it@contoso.com"
    assert value(call, "Subject") == "Backup done"
    assert value(call, "Body") == "All good"  # set by the caller on the returned message
    assert any("built by New-Email" in note for note in call.notes)
    assert assess(call).breaks is True


def test_a_send_after_a_param_block_or_a_statement_block_or_through_a_command_variable_is_found() -> None:
    """`Start-Job { param($m) Send-MailMessage @m }` on one line, `if (…) {…} Send-MailMessage …`, and
    `& $sender …` after `$sender = Get-Command Send-MailMessage` were missed (the call did not start a line
    or a pipeline). PowerShell's parser reads the same commands; a word after a script block passed as an
    argument is one more argument, and a variable never set to the cmdlet invokes something else."""
    found = calls("sends_after_param_and_through_a_variable.ps1")
    assert [(c.api, c.command, c.form, c.location.line) for c in found] == [
        (Api.SEND_MAILMESSAGE, "Send-MailMessage", "splat", 8),
        (Api.SEND_MAILMESSAGE, "$sender", "call-operator", 12),
        (Api.SEND_MAILMESSAGE, "Send-MailMessage", "splat", 15),
    ]
    assert value(found[1], "SmtpServer") == "smtp.office365.com" and assess(found[1]).breaks is True
    quoted = calls_in_text("$cmd = 'Microsoft.PowerShell.Utility\\Send-MailMessage'\n& $cmd -To a@contoso.com -SmtpServer relay.contoso.com\n"
                           "$cmd = 'Write-Output'\n& $cmd 'not a send'\n", "q.ps1")
    assert [(c.command, c.location.line, value(c, "SmtpServer")) for c in quoted] == [("$cmd", 2, "relay.contoso.com")]
    assert calls_in_text("& $cmd -To a@contoso.com\n$cmd = Get-Command Send-MailMessage\n", "late.ps1") == []


def test_a_send_through_a_command_variable_is_not_rewritten() -> None:
    """The variable may name another command on another path: the fix says so and leaves the call to the admin."""
    path = FIXTURES / "sends_after_param_and_through_a_variable.ps1"
    result = CliRunner().invoke(app, ["scan", str(path), "-f", "json", "--no-cache", "--exit-zero", "-q"])
    document = json.loads(result.stdout)
    by_line = {f["line"]: f for f in document["findings"] if f["rule"] == "SMTP001"}
    assert by_line[12]["fix"]["applicability"] == "display-only"
    assert "invoked through a variable (& $sender)" in by_line[12]["fix"]["reason"]
    assert by_line[15]["fix"]["applicability"] == "safe"


def test_an_smtpclient_in_csharp_compiled_by_add_type_is_found_and_left_to_rewrite_by_hand() -> None:
    """C# handed to Add-Type (directly or through a variable) that makes a System.Net.Mail.SmtpClient was not
    seen at all. Its host, port, EnableSsl and credential decide the verdict; the C# literal password never
    reaches a report; C# that is only printed is no send."""
    found = calls("smtpclient_add_type_csharp.ps1")
    assert [(c.api, c.form, c.command, c.location.line) for c in found] == [
        (Api.SMTPCLIENT, "add-type-csharp", "smtp.Send", 11),
        (Api.SMTPCLIENT, "add-type-csharp", "client.Send", 22),
    ]
    exo, relay = found
    assert value(exo, "SmtpServer") == "smtp.office365.com" and value(exo, "Port") == 587 and value(exo, "UseSsl") is True
    assert assess(exo).breaks is True and credential_kind(exo) is CredentialKind.EXPLICIT
    assert value(relay, "SmtpServer") == "relay.corp.contoso.com" and credential_kind(relay) is CredentialKind.DEFAULT_LOGON
    assert assess(relay).breaks is False
    result = CliRunner().invoke(app, ["scan", str(FIXTURES / "smtpclient_add_type_csharp.ps1"), "-f", "json", "--no-cache", "--exit-zero", "-q"])
    assert "Qu3ue-Watch!" not in result.stdout
    document = json.loads(result.stdout)
    smtp = [f for f in document["findings"] if f["rule"] == "SMTP002"]
    assert [f["line"] for f in smtp] == [11, 22]
    assert all(f["fix"]["applicability"] == "display-only" and "C# source compiled with Add-Type" in f["fix"]["reason"] for f in smtp)
    assert "in C# source compiled by Add-Type" in smtp[0]["message"]


def test_command_line_smtp_tools_are_found_with_their_server_and_log_on() -> None:
    """blat, sendEmail, mailsend (through Start-Process) and curl with an smtp:// URL were not seen: they log
    on with the password they are given. A relay without a log-on is not affected, an OAuth bearer token
    keeps working; curl for a web page, a name in text and a function of the script are no sends."""
    found = calls("native_smtp_tools.ps1")
    assert [(c.api, c.command, c.location.line) for c in found] == [
        (Api.NATIVE_SMTP, "blat.exe", 5),
        (Api.NATIVE_SMTP, "sendEmail.exe", 9),
        (Api.NATIVE_SMTP, "mailsend.exe", 12),
        (Api.NATIVE_SMTP, "curl.exe", 15),
        (Api.NATIVE_SMTP, "curl.exe", 16),
    ]
    blat, send_email, mailsend, relay, oauth = found
    assert value(blat, "SmtpServer") == "smtp.office365.com" and value(blat, "Port") == 587 and value(blat, "From") == "jobs@contoso.com"
    assert value(send_email, "Port") == 587 and value(mailsend, "SmtpServer") == "smtp.office365.com"
    assert all(assess(c).breaks is True and credential_kind(c) is CredentialKind.EXPLICIT for c in (blat, send_email, mailsend))
    assert value(relay, "SmtpServer") == "relay.corp.contoso.com" and credential_kind(relay) is CredentialKind.NONE
    assert assess(relay).breaks is False and assess(oauth).breaks is False
    result = CliRunner().invoke(app, ["scan", str(FIXTURES / "native_smtp_tools.ps1"), "-f", "json", "--no-cache", "--exit-zero", "-q"])
    assert "Nightly-Copy#77" not in result.stdout
    smtp = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SMTP007"]
    assert [f["line"] for f in smtp] == [5, 9, 12, 15, 16]
    assert all(f["fix"]["applicability"] == "display-only" for f in smtp)


def test_blat_without_a_server_uses_the_profile_blat_install_saved() -> None:
    """`blat -install -server … -u … -pw …` saves a profile in the registry (no mail is sent there); a later
    `blat -to …` without -server sends with it. Without an -install in the file the profile is unknown:
    the call may log on, so it is undecided rather than "without a password"."""
    saved = calls_in_text("blat.exe -install -server smtp.office365.com -port 587 -f jobs@contoso.com -u jobs@contoso.com -pw $pw\n"
                          "blat.exe -to ops@contoso.com -subject 'Local IP' -body x\n", "saved.ps1")
    assert [(c.command, c.location.line) for c in saved] == [("blat.exe", 2)]
    assert value(saved[0], "SmtpServer") == "smtp.office365.com" and assess(saved[0]).breaks is True
    (unknown,) = calls_in_text("blat.exe -to ops@contoso.com -subject 'Local IP' -body x\n", "profile.ps1")
    assert credential_kind(unknown) is CredentialKind.UNKNOWN and assess(unknown).breaks is None


def test_an_smtpclient_set_up_by_a_property_table_keeps_its_server_and_log_on() -> None:
    """`New-Object …SmtpClient -Property @{ Host = …; Credentials = … }` (written or in a variable) and a cast
    from a hashtable set the client's properties in one go: the client was read as having no server and no
    log-on ("a relay is not affected", a wrong verdict) or, for the cast, not found at all."""
    found = calls("smtpclient_property_tables.ps1")
    assert [(c.api, c.location.line) for c in found] == [(Api.SMTPCLIENT, 6), (Api.SMTPCLIENT, 14), (Api.SMTPCLIENT, 17), (Api.SMTPCLIENT, 21)]
    office, relay, cast, note = found
    assert value(note, "From") == "scanner-notes@contoso.com" and value(note, "Subject") == "Scan notes"  # a message's -Property
    for call in (office, cast):
        assert value(call, "SmtpServer") == "smtp.office365.com" and value(call, "Port") == 587 and value(call, "UseSsl") is True
        assert credential_kind(call) is CredentialKind.EXPLICIT and assess(call).breaks is True
    assert value(relay, "SmtpServer") == "relay.corp.contoso.com" and credential_kind(relay) is CredentialKind.DEFAULT_LOGON
    assert assess(relay).breaks is False


def test_a_splat_built_by_adding_tables_keeps_every_key() -> None:
    """`$p = $base + @{ From = … }` (PowerShell adds the tables' keys): the splat was "built by an expression"
    and the call undecided; now the keys of both, and a missing operand still leaves it unknown."""
    (call,) = calls_in_text(
        "$base = @{ SmtpServer = 'smtp.office365.com'; Port = 587; UseSsl = $true; Credential = $cred }\n"
        "$p = $base + @{ From = 'a@contoso.com'; To = 'b@contoso.com'; Subject = 's' }\n"
        "Send-MailMessage @p\n", "sum.ps1")
    assert value(call, "SmtpServer") == "smtp.office365.com" and value(call, "From") == "a@contoso.com"
    assert assess(call).breaks is True
    (unknown,) = calls_in_text("$p = $fromElsewhere + @{ From = 'a@contoso.com' }\nSend-MailMessage @p\n", "part.ps1")
    assert value(unknown, "From") == "a@contoso.com" and assess(unknown).breaks is None


def test_a_script_blocks_parameters_take_the_values_of_its_argument_list() -> None:
    """`Invoke-Command { param($Server, $Credential) Send-MailMessage -SmtpServer $Server … } -ArgumentList 'smtp…', $cred`
    and `Start-Job { param($m) Send-MailMessage @m } -ArgumentList $mail` (the list before or after the block):
    the values were unknown in the block; a block nobody runs with -ArgumentList stays unknown."""
    remote, relay, unrun = calls_in_text(
        "Invoke-Command -ComputerName app01 -ScriptBlock {\n"
        "    param($Server, $Credential)\n"
        "    Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject r -SmtpServer $Server -Port 587 -UseSsl -Credential $Credential\n"
        "} -ArgumentList 'smtp.office365.com', $cred\n"
        "Invoke-Command -ComputerName app01 -ArgumentList 'relay.corp.contoso.com' -ScriptBlock {\n"
        "    param($Server)\n"
        "    Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject r2 -SmtpServer $Server\n"
        "}\n"
        "$sb = { param($Server) Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject x -SmtpServer $Server }\n", "blocks.ps1")
    assert value(remote, "SmtpServer") == "smtp.office365.com" and assess(remote).breaks is True
    assert value(relay, "SmtpServer") == "relay.corp.contoso.com" and assess(relay).breaks is False
    assert value(unrun, "SmtpServer") is None
    (job,) = calls_in_text(
        "$mail = @{ From = 'a@contoso.com'; To = 'b@contoso.com'; Subject = 's'; SmtpServer = 'smtp.office365.com'; Credential = $cred; UseSsl = $true }\n"
        "Start-Job -ScriptBlock { param($m) Send-MailMessage @m } -ArgumentList $mail | Wait-Job\n", "job.ps1")
    assert value(job, "SmtpServer") == "smtp.office365.com" and assess(job).breaks is True


def test_send_pnpmail_through_smtp_is_found_with_its_server_and_log_on() -> None:
    """PnP PowerShell's Send-PnPMail sends through SMTP with -Server (a log-on when -Username/-Password are
    given) and, in the older SharePointPnPPowerShellOnline module, with -From/-Password to its default
    smtp.office365.com; without -Server it uses Graph or SharePoint, and a name in a string is no call."""
    found = calls("pnp_send_mail.ps1")
    assert [(c.api, c.command, c.location.line) for c in found] == [
        (Api.PNP_MAIL, "Send-PnPMail", 6),
        (Api.PNP_MAIL, "Send-PnPMail", 10),
        (Api.PNP_MAIL, "SharePointPnPPowerShellOnline\\Send-PnPMail", 13),
    ]
    legacy, splatted, direct = found
    assert value(legacy, "SmtpServer") == "smtp.office365.com" and legacy.params["SmtpServer"].kind.value == "default"
    assert assess(legacy).breaks is True and credential_kind(legacy) is CredentialKind.EXPLICIT
    assert (value(splatted, "SmtpServer"), value(splatted, "Port")) == ("smtp.office365.com", 587)
    assert assess(splatted).breaks is True and splatted.params["Credential"].text == "'spjobs@fabrikam.com'"
    assert credential_kind(direct) is CredentialKind.NONE and assess(direct).breaks is False
    result = CliRunner().invoke(app, ["scan", str(FIXTURES / "pnp_send_mail.ps1"), "-f", "json", "--no-cache", "--exit-zero", "-q"])
    assert "Quota-Alert#2026" not in result.stdout  # the splatted password is masked everywhere
    data = json.loads(result.stdout)
    pnp = [f for f in data["findings"] if f["rule"] == "SMTP008"]
    assert [(f["line"], f["assessment"]["breaks"]) for f in pnp] == [(6, True), (10, True), (13, False)]
    assert all(f["fix"]["applicability"] == "display-only" and f["sender"] == "spjobs@fabrikam.com" for f in pnp)
