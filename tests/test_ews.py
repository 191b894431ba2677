"""EWS senders (issue 24, items 1 and 2): each shape of tests/fixtures/ews found, bound and assessed.

The fixtures are small scripts written for smtp2graph: the EWS Managed API (URL, Autodiscover,
impersonation, functions, replies and forwards), SOAP CreateItem/SendItem posted five ways, a web
service proxy, reads only, negatives, a UTF-16 and a Windows-1252 file, a settings file and a
declared estate fact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.assess_ews import BLOCKED_TEXT, OFF_TEXT
from scanner.cli import app
from scanner.check import analyze_script
from scanner.declared import EstateFacts, HostFact
from scanner.estate.prefilter import default_prefilter
from scanner.ruleconfig import RuleConfig
from scanner.files import read_source
from scanner.model import Api, CredentialKind, Finding, ServerClass
from scanner.script import Script

FIXTURES = Path(__file__).parent / "fixtures" / "ews"
runner = CliRunner()


def findings(name: str, estate: EstateFacts | None = None) -> list[Finding]:
    path = FIXTURES / name
    source = read_source(path, FIXTURES)
    return analyze_script(Script(source.text, source.rel), RuleConfig(), estate).findings


def sends(name: str, estate: EstateFacts | None = None) -> list[Finding]:
    return [f for f in findings(name, estate) if f.rule == "EWS001"]


def value(finding: Finding, name: str) -> object:
    assert finding.call is not None
    bound = finding.call.params.get(name)
    return None if bound is None else bound.value


def test_managed_api_send_binds_every_canonical_field_and_breaks_in_exchange_online() -> None:
    (send,) = sends("managed_exo_password.ps1")
    assert send.call is not None and send.call.api is Api.EWS and send.call.form == "send-and-save-copy"
    assert send.location.line == 18
    assert value(send, "Subject") == "Weekly capacity"
    assert value(send, "To") == ["storage-team@contoso.com", "dba@contoso.com"]
    assert (value(send, "Cc"), value(send, "Bcc"), value(send, "ReplyTo")) == ("lead@contoso.com", "audit@contoso.com", "helpdesk@contoso.com")
    assert value(send, "Body") == "<p>Volumes are <b>fine</b>.</p>" and value(send, "BodyAsHtml") is True  # EWS reads a string as HTML
    assert value(send, "Priority") == "High" and value(send, "Attachments") == "C:\\Reports\\capacity.csv"
    assert value(send, "SaveToSentItems") is True
    # No From on the message: the credential's own mailbox sends.
    assert send.sender == "capacity@contoso.com" and send.credential_user == "capacity@contoso.com"
    assessment = send.assessment
    assert assessment is not None and assessment.breaks is True and assessment.server is ServerClass.EXO_EWS
    assert assessment.credential is CredentialKind.EXPLICIT
    assert BLOCKED_TEXT in assessment.verdict and OFF_TEXT in assessment.verdict and "October 2022" in assessment.verdict
    assert send.severity.value == "high"


def test_the_password_of_web_credentials_is_a_secret_and_reaches_no_report(tmp_path: Path) -> None:
    rules = {f.rule for f in findings("managed_exo_password.ps1")}
    assert "SEC002" in rules
    (tmp_path / "job.ps1").write_bytes((FIXTURES / "managed_exo_password.ps1").read_bytes())
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    assert "Winter-Harbour-42" not in result.stdout
    assert any(f["rule"] == "EWS001" for f in json.loads(result.stdout)["findings"])


def test_an_oauth_token_literal_given_to_ews_is_a_secret() -> None:
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fixture-token-body.signature-part"
    text = (
        "$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
        f"$svc.Credentials = New-Object Microsoft.Exchange.WebServices.Data.OAuthCredentials('{token}')\n"
        "$m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($svc)\n$m.ToRecipients.Add('a@contoso.com')\n$m.Send()\n"
    )
    analysis = analyze_script(Script(text, "t.ps1"), RuleConfig())
    assert token in analysis.secret_values
    assert all(token not in " ".join(f.context_lines) + f.snippet for f in analysis.findings)


def test_autodiscover_of_a_microsoft_365_domain_with_oauth_and_impersonation() -> None:
    (send,) = sends("managed_autodiscover_oauth.ps1")
    assert send.call is not None and send.call.form == "send"
    assert send.sender == "payroll@contoso.com"  # the impersonated mailbox
    assert value(send, "To") == "Staff <all-staff@contoso.com>"
    assert value(send, "BodyAsHtml") is False and value(send, "Body") == "Your payslips are on the portal."
    assert value(send, "SaveToSentItems") is False
    assert value(send, "Authentication") == "oauth" and value(send, "AppId") == "5e0c1a8f-2b7d-4c36-9a41-0f3e8d6b7c21"
    assert send.assessment is not None and send.assessment.breaks is True and send.assessment.credential is CredentialKind.OAUTH
    assert "October 2022" not in send.assessment.verdict


def test_on_premises_exchange_is_not_affected() -> None:
    (send,) = sends("managed_onprem_default.ps1")
    assert send.assessment is not None and send.assessment.breaks is False
    assert send.assessment.server is ServerClass.EWS_ON_PREMISES and send.assessment.credential is CredentialKind.DEFAULT_LOGON
    assert send.sender == "backup@fabrikam.local" and value(send, "BodyAsHtml") is False
    assert send.severity.value == "low"


def test_an_endpoint_from_a_parameter_may_break_and_says_what_decides_it() -> None:
    (send,) = sends("managed_unknown_url.ps1")
    assessment = send.assessment
    assert assessment is not None and assessment.breaks is None and assessment.server is ServerClass.UNKNOWN
    assert BLOCKED_TEXT in assessment.verdict and OFF_TEXT in assessment.verdict
    assert assessment.undecided and assessment.undecided[0].declare.startswith('[assume] "$EwsEndpoint"')
    assert send.call is not None and any("not Sent Items" in note for note in send.call.notes)


def test_sends_through_functions_take_the_service_and_message_of_the_call_site() -> None:
    notice, handed = sends("managed_functions.ps1")
    assert notice.location.line == 14 and notice.assessment is not None and notice.assessment.breaks is True
    assert notice.call is not None and any("Send-Notice's -Service" in note for note in notice.call.notes)
    assert handed.location.line == 18 and value(handed, "Subject") == "Handed over" and value(handed, "To") == "it@contoso.com"
    assert handed.assessment is not None and handed.assessment.server is ServerClass.EXO_EWS


def test_replies_and_forwards_that_send_and_the_reads_around_them() -> None:
    found = findings("managed_reply_forward.ps1")
    forms = [(f.rule, f.call.form if f.call else "") for f in found]
    assert forms == [("EWS002", "other-ews-use"), ("EWS001", "reply"), ("EWS001", "forward")]
    reply, forward = found[1], found[2]
    # The token's flow cannot be followed inside the file (OAuthCredentials($token)): a body, free text, is
    # masked there (issue 22); the reply still binds it.
    assert value(reply, "ReplyAll") is True and value(reply, "Body") == "***"
    assert value(forward, "To") == "second-line@contoso.com" and value(forward, "SaveToSentItems") is True
    assert found[0].severity.value == "info"


@pytest.mark.parametrize(
    "name,form,server,breaks,credential",
    [
        ("soap_invoke_webrequest.ps1", "soap-createitem", ServerClass.EXO_EWS, True, CredentialKind.EXPLICIT),
        ("soap_dotnet_clients.ps1", "soap-senditem", ServerClass.EWS_ON_PREMISES, False, CredentialKind.DEFAULT_LOGON),
        ("soap_httpclient_bearer.ps1", "soap-createitem", ServerClass.EXO_EWS, True, CredentialKind.OAUTH),
        ("soap_webrequest.ps1", "soap-createitem", ServerClass.EWS_ON_PREMISES, False, CredentialKind.EXPLICIT),
        ("proxy_send.ps1", "web-service-proxy", ServerClass.EWS_ON_PREMISES, False, CredentialKind.DEFAULT_LOGON),
    ],
)
def test_soap_and_proxy_sends(name: str, form: str, server: ServerClass, breaks: bool, credential: CredentialKind) -> None:
    (send,) = sends(name)
    assert send.call is not None and send.call.form == form
    assert send.assessment is not None and send.assessment.server is server and send.assessment.breaks is breaks
    assert send.assessment.credential is credential


def test_a_soap_create_item_binds_the_message_and_an_expanded_variable() -> None:
    (send,) = sends("soap_invoke_webrequest.ps1")
    assert value(send, "Subject") == "Certificate expiry"  # `$subject` inside the here-string, followed to its value
    assert value(send, "To") == ["pki@contoso.com", "web@contoso.com"] and value(send, "Cc") == "lead@contoso.com"
    # The credential comes from Import-Clixml (outside the file): the envelope, free text in a file with a
    # credential sink, stays masked (issue 22); its addresses and the subject followed to `$subject` are shown.
    assert value(send, "Body") == "***" and value(send, "BodyAsHtml") is False
    assert value(send, "SaveToSentItems") is True
    assert send.related and send.related[0].role == "post"
    (bearer,) = sends("soap_httpclient_bearer.ps1")
    assert value(bearer, "Body") == "<b>main</b> is red" and value(bearer, "BodyAsHtml") is True


def test_reads_only_is_one_information_finding() -> None:
    found = findings("reads_only.ps1")
    assert [f.rule for f in found] == ["EWS002"]
    other = found[0]
    assert other.severity.value == "info" and other.call is not None and not other.call.sent
    assert other.assessment is not None and other.assessment.breaks is True and OFF_TEXT in other.assessment.verdict
    assert not other.fix.available


def test_negatives_comments_docs_drafts_and_other_reply_methods() -> None:
    assert [f.rule for f in findings("negatives.ps1") if f.rule.startswith("EWS")] == []


@pytest.mark.parametrize("name,subject", [("encoded_utf16.ps1", "Relevé mensuel – Zürich"), ("encoded_cp1252.ps1", "Résumé de la sauvegarde – état « terminé »")])
def test_utf16_and_windows_1252_files(name: str, subject: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    assert default_prefilter().matches(raw)
    (send,) = sends(name)
    assert value(send, "Subject") == subject


def test_the_endpoint_and_sender_from_a_settings_file() -> None:
    result = runner.invoke(app, ["scan", str(FIXTURES / "configtree"), "-f", "json", "--no-cache", "--jobs", "1"])
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "EWS001" and finding["call"]["api"] == "ews"
    assert finding["assessment"]["server"] == "exchange-online-ews" and finding["assessment"]["breaks"] is True
    assert finding["call"]["params"]["EwsUrl"]["source"] == "settings.json: Exchange.EwsUrl"
    assert finding["sender"] == "inventory-bot@contoso.com"


def test_autodiscover_of_a_vanity_domain_is_unknown_until_the_estate_declares_it() -> None:
    (unknown,) = sends("declared/autodiscover.ps1")
    assert unknown.assessment is not None and unknown.assessment.breaks is None
    assert unknown.assessment.undecided[0].declare.startswith('exchange-online-hosts = ["contoso.com"]')
    (cloud,) = sends("declared/autodiscover.ps1", EstateFacts(hosts=(HostFact("contoso.com", True),)))
    assert cloud.assessment is not None and cloud.assessment.breaks is True and cloud.assessment.declared
    (onprem,) = sends("declared/autodiscover.ps1", EstateFacts(hosts=(HostFact("contoso.com", False),)))
    assert onprem.assessment is not None and onprem.assessment.breaks is False


def test_json_report_names_the_api_and_canonical_params(tmp_path: Path) -> None:
    (tmp_path / "a.ps1").write_bytes((FIXTURES / "managed_autodiscover_oauth.ps1").read_bytes())
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["call"]["api"] == "ews" and finding["assessment"]["credential"] == "oauth"
    assert {"From", "To", "Subject", "Body", "BodyAsHtml"} <= set(finding["call"]["params"])
    # The module-style rewrite exists; AutodiscoverUrl stays behind and still calls Exchange: a reviewer decides.
    assert finding["fix"]["applicability"] == "unsafe" and finding["fix"]["snippet"]
    assert "AutodiscoverUrl stays in the script" in finding["fix"]["reason"]


def test_other_items_that_send_a_meeting_cancellation_and_a_copy() -> None:
    cancel, copy = sends("managed_other_items.ps1")
    assert cancel.call is not None and cancel.call.form == "meeting-message" and cancel.location.line == 8
    assert value(cancel, "Body") == "The review moves to next week."
    assert copy.call is not None and copy.call.form == "send" and copy.location.line == 12
    assert value(copy, "To") == "archive@contoso.com" and value(copy, "SaveToSentItems") is False
    assert all(f.assessment is not None and f.assessment.breaks is False for f in (cancel, copy))  # on-premises
