"""The EWS fix plans (issue 24, item 3): the Send-GraphMailMessage edit of each EWS send and its safety.

scanner.migrate.ews_fix is not wired into `smtp2graph fix` yet (the hook in patch.py is the lead's, see
docs/ews.md); these tests call it directly, and the EWS oracle (tests/oracle/ews.py) runs what it writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.assess import assess
from scanner.check import calls_in_text
from scanner.files import read_source
from scanner.migrate.ews_fix import classify, edit_for
from scanner.migrate.syntax import problem_count
from scanner.model import Api, FixApplicability, MailCall

FIXTURES = Path(__file__).parent / "fixtures" / "ews"


def ews_sends(name: str) -> tuple[str, list[MailCall]]:
    source = read_source(FIXTURES / name, FIXTURES)
    return source.text, [c for c in calls_in_text(source.text, source.rel) if c.api is Api.EWS]


def apply(text: str, call: MailCall) -> str:
    edit = edit_for(call, text)
    assert edit is not None
    return text[: edit.start] + edit.replacement + text[edit.end :]


@pytest.mark.parametrize(
    "name,applicability,reason",
    [
        ("managed_exo_password.ps1", FixApplicability.SAFE, "the send becomes Send-GraphMailMessage"),
        ("managed_autodiscover_oauth.ps1", FixApplicability.UNSAFE, "AutodiscoverUrl stays"),
        ("managed_unknown_url.ps1", FixApplicability.DISPLAY_ONLY, "sending mailbox is not known"),
        ("managed_onprem_default.ps1", FixApplicability.DISPLAY_ONLY, "no change needed"),
        ("soap_httpclient_bearer.ps1", FixApplicability.DISPLAY_ONLY, "sending mailbox is not known"),
        ("soap_dotnet_clients.ps1", FixApplicability.DISPLAY_ONLY, "SendItem sends a draft"),
        ("proxy_send.ps1", FixApplicability.DISPLAY_ONLY, "web service proxy"),
        ("reads_only.ps1", FixApplicability.DISPLAY_ONLY, "no fix"),
    ],
)
def test_fix_safety_per_finding(name: str, applicability: FixApplicability, reason: str) -> None:
    _, calls = ews_sends(name)
    got = classify(calls[0], assess(calls[0]))
    assert got[0] is applicability and reason in got[1]


def test_replies_forwards_and_mailbox_items_are_display_only() -> None:
    _, calls = ews_sends("managed_reply_forward.ps1")
    kinds = {c.form: classify(c, assess(c)) for c in calls}
    assert kinds["reply"][0] is FixApplicability.DISPLAY_ONLY and "/reply" in kinds["reply"][1]
    assert kinds["forward"][0] is FixApplicability.DISPLAY_ONLY and "/forward" in kinds["forward"][1]
    _, items = ews_sends("managed_other_items.ps1")
    assert all(classify(c, assess(c))[0] is FixApplicability.DISPLAY_ONLY for c in items)


def test_a_partial_mapping_is_unsafe_and_says_what_is_lost() -> None:
    text = (
        "$s = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
        "$s.Url = 'https://outlook.office365.com/EWS/Exchange.asmx'\n"
        "$s.Credentials = New-Object Microsoft.Exchange.WebServices.Data.OAuthCredentials($t)\n"
        "$s.ImpersonatedUserId = New-Object Microsoft.Exchange.WebServices.Data.ImpersonatedUserId('SmtpAddress', 'ops@contoso.com')\n"
        "$m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($s)\n"
        "$m.ToRecipients.Add('a@contoso.com')\n$m.SetExtendedProperty($tag, 'x')\n"
        "$m.SendAndSaveCopy($archiveFolderId)\n"
    )
    (call,) = [c for c in calls_in_text(text, "p.ps1") if c.api is Api.EWS]
    applicability, reason = classify(call, assess(call))
    assert applicability is FixApplicability.UNSAFE
    assert "extended property" in reason and "Sent Items only" in reason


def test_managed_api_edit_reads_the_message_at_run_time() -> None:
    text, (call,) = ews_sends("managed_exo_password.ps1")
    patched = apply(text, call)
    line = next(l for l in patched.splitlines() if "Send-GraphMailMessage" in l)
    assert line.startswith("Send-GraphMailMessage -MailMessage (& { $smtp2graphMessage = [System.Net.Mail.MailMessage]::new(); "
                           "$smtp2graphMessage.From = 'capacity@contoso.com'; foreach ($smtp2graphAddress in $note.ToRecipients)")
    for part in ("$note.CcRecipients", "$note.BccRecipients", "$note.ReplyTo", "$smtp2graphMessage.Subject = $note.Subject",
                 "[string]$note.Body.Text", "[string]$note.Body.BodyType -ne 'Text'", "foreach ($smtp2graphFile in $note.Attachments)",
                 "[string]$note.Importance -in 'High', 'Low'"):
        assert part in line
    assert line.endswith("$smtp2graphMessage }) -SaveToSentItems")
    assert "SendAndSaveCopy" not in patched
    assert problem_count(patched) <= problem_count(text)
    # Everything else stays byte for byte.
    edit = edit_for(call, text)
    assert edit is not None and patched[: edit.start] == text[: edit.start]


@pytest.mark.pwsh
def test_managed_api_edit_parses_in_powershell() -> None:
    from scanner.powershell import parse_scripts

    text, (call,) = ews_sends("managed_exo_password.ps1")
    (shape,) = parse_scripts([apply(text, call)])
    assert not shape.errors


def test_soap_edit_replaces_the_post_with_the_request_values() -> None:
    text = (
        "$subject = 'Backup report'\n"
        "$req = @\"\n<soap:Envelope><soap:Body><m:CreateItem MessageDisposition=\"SendAndSaveCopy\"><m:Items><t:Message>\n"
        "<t:Subject>$subject</t:Subject><t:Body BodyType=\"HTML\">&lt;b&gt;done&lt;/b&gt;</t:Body>\n"
        "<t:ToRecipients><t:Mailbox><t:EmailAddress>ops@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients>\n"
        "<t:From><t:Mailbox><t:EmailAddress>backup@contoso.com</t:EmailAddress></t:Mailbox></t:From>\n"
        "</t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>\n\"@\n"
        "$r = Invoke-RestMethod -Uri 'https://outlook.office365.com/EWS/Exchange.asmx' -Method Post -Body $req -ContentType 'text/xml' -Headers @{ Authorization = \"Bearer $t\" }\n"
        "'sent'\n"
    )
    (call,) = [c for c in calls_in_text(text, "s.ps1") if c.api is Api.EWS]
    assert classify(call, assess(call))[0] is FixApplicability.UNSAFE  # the SOAP response is gone for code that reads it
    patched = apply(text, call)
    assert ("$r = Send-GraphMailMessage -From 'backup@contoso.com' -To 'ops@contoso.com' -Subject $subject "
            "-Body '<b>done</b>' -BodyAsHtml -SaveToSentItems\n'sent'\n") in patched
