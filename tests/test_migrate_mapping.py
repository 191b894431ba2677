"""The Send-MailMessage → Graph sendMail mapping: every parameter, display names, and what cannot be kept."""

from __future__ import annotations

from typing import Optional

import pytest

from scanner.migrate.mapping import (
    content_type_for,
    file_name_of,
    map_call,
    parse_recipient,
    ps_expression,
    ps_quote,
    split_addresses,
)
from scanner.model import Api, BindKind, BoundParam, Location, MailCall

Value = Optional[str | bool | int | list[str]]


def bound(name: str, text: str, value: Value = None, kind: BindKind = BindKind.LITERAL, **extra: object) -> BoundParam:
    return BoundParam(name=name, text=text, kind=kind, value=value, **extra)  # type: ignore[arg-type]


def call(*params: BoundParam, api: Api = Api.SEND_MAILMESSAGE) -> MailCall:
    return MailCall(
        api=api,
        command="Send-MailMessage",
        form="named",
        location=Location("a.ps1", 1, 1, 1, 40),
        params={param.name: param for param in params},
    )


BASE = (
    bound("From", "'alerts@contoso.com'", "alerts@contoso.com"),
    bound("To", "'ops@contoso.com'", "ops@contoso.com"),
    bound("Subject", "'Nightly'", "Nightly"),
)


def message(mapping_request: dict[str, object]) -> dict[str, object]:
    inner = mapping_request["message"]
    assert isinstance(inner, dict)
    return inner


def test_minimal_call_is_lossless_and_sends_as_from() -> None:
    mapping = map_call(call(*BASE, bound("Body", "'done'", "done")))
    assert mapping.sender == "alerts@contoso.com"
    assert mapping.sender_text == "'alerts@contoso.com'"
    assert mapping.lossless
    assert mapping.request == {
        "message": {
            "subject": "Nightly",
            "body": {"contentType": "Text", "content": "done"},
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
        },
        "saveToSentItems": False,
    }


@pytest.mark.parametrize(
    ("text", "address", "name"),
    [
        ("ops@contoso.com", "ops@contoso.com", ""),
        ("Ops Team <ops@contoso.com>", "ops@contoso.com", "Ops Team"),
        ('"Doe, Jane" <jane@contoso.com>', "jane@contoso.com", "Doe, Jane"),
        ("<bare@contoso.com>", "bare@contoso.com", ""),
        ("  Spaced   <s@contoso.com>  ", "s@contoso.com", "Spaced"),
    ],
)
def test_parse_recipient_handles_display_names(text: str, address: str, name: str) -> None:
    recipient = parse_recipient(text)
    assert (recipient.address, recipient.name) == (address, name)


def test_split_addresses_respects_quotes_and_angle_brackets() -> None:
    assert split_addresses('"Doe, Jane" <j@c.com>, b@c.com;c@c.com') == ['"Doe, Jane" <j@c.com>', "b@c.com", "c@c.com"]


def test_recipient_arrays_and_comma_strings_become_graph_recipients() -> None:
    mapping = map_call(
        call(
            bound("From", "'Alerts <Alerts@Contoso.com>'", "Alerts <Alerts@Contoso.com>"),
            bound("To", "'Ops <ops@contoso.com>','b@contoso.com'", ["Ops <ops@contoso.com>", "b@contoso.com"]),
            bound("Cc", "'c1@contoso.com,c2@contoso.com'", "c1@contoso.com,c2@contoso.com"),
            bound("Bcc", "'audit@contoso.com'", "audit@contoso.com"),
            bound("ReplyTo", "'help@contoso.com'", "help@contoso.com"),
        )
    )
    body = message(mapping.request)
    assert body["toRecipients"] == [
        {"emailAddress": {"address": "ops@contoso.com", "name": "Ops"}},
        {"emailAddress": {"address": "b@contoso.com"}},
    ]
    # Send-MailMessage reads each string as one address: 'c1,c2' is refused at run time (a FormatException), so
    # it is kept for run time (oracle F10), with a note; SmtpClient's MailMessage(from, to) splits it.
    assert body["ccRecipients"] == "@('c1@contoso.com,c2@contoso.com')"
    assert any("'c1@contoso.com,c2@contoso.com' is not one address per string" in note for note in mapping.notes)
    smtpclient = map_call(call(bound("From", "'a@contoso.com'", "a@contoso.com"),
                               bound("Cc", "'c1@contoso.com,c2@contoso.com'", "c1@contoso.com,c2@contoso.com"),
                               api=Api.SMTPCLIENT))
    assert message(smtpclient.request)["ccRecipients"] == [
        {"emailAddress": {"address": "c1@contoso.com"}},
        {"emailAddress": {"address": "c2@contoso.com"}},
    ]
    assert body["bccRecipients"] == [{"emailAddress": {"address": "audit@contoso.com"}}]
    assert body["replyTo"] == [{"emailAddress": {"address": "help@contoso.com"}}]
    # The mailbox in the URL is lower-cased; `from` keeps the display name the script used.
    assert mapping.sender == "alerts@contoso.com"
    assert body["from"] == {"emailAddress": {"address": "Alerts@Contoso.com", "name": "Alerts"}}
    assert any("ReplyTo" in note and "6.2" in note for note in mapping.notes)


def test_dynamic_values_are_kept_as_powershell_text() -> None:
    mapping = map_call(
        call(
            bound("From", "$from", kind=BindKind.EXPRESSION),
            bound("To", "$recipients", kind=BindKind.EXPRESSION),
            bound("Subject", '"Report $(Get-Date)"', kind=BindKind.EXPRESSION),
            bound("Body", "$html", kind=BindKind.EXPRESSION),
        )
    )
    assert mapping.sender is None
    assert mapping.sender_text == "$from"
    body = message(mapping.request)
    assert body["subject"] == '"Report $(Get-Date)"'
    assert body["toRecipients"] == "$recipients"
    assert body["body"] == {"contentType": "Text", "content": "$html"}


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [("$true", True, "HTML"), ("", True, "HTML"), ("$false", False, "Text")],
)
def test_body_as_html_sets_the_content_type(text: str, value: bool, expected: str) -> None:
    mapping = map_call(call(*BASE, bound("BodyAsHtml", text, value)))
    body = message(mapping.request)["body"]
    assert isinstance(body, dict)
    assert body["contentType"] == expected


def test_body_as_html_from_a_variable_is_decided_at_run_time() -> None:
    mapping = map_call(call(*BASE, bound("BodyAsHtml", "$isHtml", kind=BindKind.EXPRESSION)))
    assert mapping.content_type is not None
    assert mapping.content_type.ps == "$(if ($isHtml) { 'HTML' } else { 'Text' })"


@pytest.mark.parametrize(
    ("value", "importance"),
    [("High", "high"), ("low", "low"), ("Normal", "normal"), ("[System.Net.Mail.MailPriority]::High", "high")],
)
def test_priority_maps_to_importance(value: str, importance: str) -> None:
    mapping = map_call(call(*BASE, bound("Priority", value, value)))
    assert message(mapping.request)["importance"] == importance
    assert mapping.lossless


def test_dynamic_priority_is_lower_cased_at_run_time() -> None:
    mapping = map_call(call(*BASE, bound("Priority", "$level", kind=BindKind.EXPRESSION)))
    assert message(mapping.request)["importance"] == "([string]$level).ToLower()"


def test_delivery_notification_on_failure_asks_for_what_exchange_online_does_anyway() -> None:
    # Issue 23 item 6: Exchange Online sends the sender a non-delivery report for any message it cannot deliver
    # (Microsoft Learn, "Email non-delivery reports in Exchange Online"), a Graph send included: nothing is lost.
    mapping = map_call(call(*BASE, bound("DeliveryNotificationOption", "OnSuccess, OnFailure", "OnSuccess, OnFailure")))
    assert message(mapping.request)["isDeliveryReceiptRequested"] is True
    assert mapping.lossless
    assert any("OnFailure" in note and "non-delivery report" in note for note in mapping.notes)
    failure_only = map_call(call(*BASE, bound("DeliveryNotificationOption", "OnFailure", "OnFailure")))
    assert failure_only.lossless and "isDeliveryReceiptRequested" not in message(failure_only.request)


def test_delivery_notification_delay_and_never_are_lost() -> None:
    for option in ("Delay", "Never", "OnFailure, Delay"):
        mapping = map_call(call(*BASE, bound("DeliveryNotificationOption", option, option)))
        assert not mapping.lossless, option
        assert any("no equivalent" in note for note in mapping.notes), option


def test_delivery_notification_list_value() -> None:
    mapping = map_call(call(*BASE, bound("DeliveryNotificationOption", "'OnSuccess','Delay'", ["OnSuccess", "Delay"])))
    assert message(mapping.request)["isDeliveryReceiptRequested"] is True
    assert any("Delay" in note for note in mapping.notes)


def test_delivery_notification_on_success_alone_is_lossless() -> None:
    mapping = map_call(call(*BASE, bound("DeliveryNotificationOption", "OnSuccess", "OnSuccess")))
    assert mapping.lossless


def test_encoding_other_than_utf8_is_a_behaviour_difference() -> None:
    lossy = map_call(call(*BASE, bound("Encoding", "Unicode", "Unicode")))
    assert not lossy.lossless
    assert any("UTF-8" in note for note in lossy.notes)
    utf8 = map_call(call(*BASE, bound("Encoding", "([System.Text.Encoding]::UTF8)", kind=BindKind.EXPRESSION)))
    assert utf8.lossless, utf8.notes
    assert map_call(call(*BASE, bound("Encoding", "UTF8", "UTF8"))).lossless


def test_attachments_become_file_attachments_with_name_and_content_type() -> None:
    mapping = map_call(
        call(*BASE, bound("Attachments", "'C:\\reports\\daily.csv','/tmp/x.PDF'", ["C:\\reports\\daily.csv", "/tmp/x.PDF"]))
    )
    attachments = message(mapping.request)["attachments"]
    assert isinstance(attachments, list)
    assert [item["name"] for item in attachments] == ["daily.csv", "x.PDF"]
    assert [item["contentType"] for item in attachments] == ["text/csv", "application/pdf"]
    assert all(item["@odata.type"] == "#microsoft.graph.fileAttachment" for item in attachments)
    assert "ReadAllBytes('C:\\reports\\daily.csv')" in attachments[0]["contentBytes"]
    assert any("Mail.ReadWrite" in note for note in mapping.notes)
    # Size is only known at run time, and the module handles big files: not a lost behaviour.
    assert mapping.lossless


def test_pipeline_attachments_are_noted() -> None:
    mapping = map_call(call(*BASE, bound("Attachments", "Get-ChildItem *.log", kind=BindKind.PIPELINE)))
    assert mapping.attachments_expression == "$attachments"
    assert any("pipeline" in note for note in mapping.notes)


def test_headers_keep_x_headers_and_drop_the_rest() -> None:
    mapping = map_call(
        call(*BASE, bound("Headers", "@{ 'X-Run-Id' = '42'; Keywords = 'daily'; \"X-Env\" = $env }",
                          kind=BindKind.EXPRESSION))
    )
    headers = message(mapping.request)["internetMessageHeaders"]
    assert headers == [{"name": "X-Run-Id", "value": "42"}, {"name": "X-Env", "value": "$env"}]
    assert not mapping.lossless
    assert any("Keywords" in note for note in mapping.notes)


def test_more_than_five_x_headers_are_cut() -> None:
    values = [f"X-H{i}: v{i}" for i in range(7)]
    mapping = map_call(call(*BASE, bound("Headers", "$h", values)))
    headers = message(mapping.request)["internetMessageHeaders"]
    assert isinstance(headers, list) and len(headers) == 5
    assert any("X-H5, X-H6" in note for note in mapping.notes)


def test_smtp_only_parameters_are_informational() -> None:
    mapping = map_call(
        call(
            *BASE,
            bound("SmtpServer", "smtp.office365.com", "smtp.office365.com"),
            bound("Port", "587", 587),
            bound("UseSsl", "$true", True),
            bound("Credential", "$cred", kind=BindKind.EXPRESSION),
        )
    )
    assert mapping.lossless
    assert any("SmtpServer, Port, UseSsl, Credential no longer matter" in note for note in mapping.notes)


def test_unresolved_parameters_are_not_lossless_and_defaults_are_noted() -> None:
    unresolved = map_call(call(*BASE, bound("Cc", "", kind=BindKind.UNRESOLVED, reason="splat @extra from Get-Config")))
    assert not unresolved.lossless
    assert any("splat @extra" in note for note in unresolved.notes)
    defaulted = map_call(
        call(
            bound("From", "'a@contoso.com'", "a@contoso.com", kind=BindKind.DEFAULT,
                  reason="$PSDefaultParameterValues['Send-MailMessage:From']"),
            bound("To", "'b@contoso.com'", "b@contoso.com"),
        )
    )
    # The module applies Send-MailMessage defaults itself, so nothing is lost; the note says so.
    assert defaulted.lossless
    assert any("applies defaults written for Send-MailMessage" in note for note in defaulted.notes)


def test_smtpclient_mail_message_is_built_at_run_time() -> None:
    mapping = map_call(
        call(bound("MailMessage", "$msg", kind=BindKind.EXPRESSION), api=Api.SMTPCLIENT)
    )
    assert mapping.mail_message == "$msg"
    assert mapping.sender is None
    assert mapping.sender_text == "$msg.From.Address"
    assert mapping.request == {"message": "$msg", "saveToSentItems": False}


def test_smtpclient_four_string_overload_maps_like_named_parameters() -> None:
    mapping = map_call(
        call(
            bound("From", "'svc@contoso.com'", "svc@contoso.com", kind=BindKind.POSITIONAL),
            bound("To", "'ops@contoso.com'", "ops@contoso.com", kind=BindKind.POSITIONAL),
            bound("Subject", "'s'", "s", kind=BindKind.POSITIONAL),
            bound("Body", "$b", kind=BindKind.POSITIONAL),
            api=Api.SMTPCLIENT,
        )
    )
    assert mapping.sender == "svc@contoso.com"
    assert message(mapping.request)["body"] == {"contentType": "Text", "content": "$b"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$a", "$a"),
        ("$env:USERNAME", "$env:USERNAME"),
        ("$cfg.Mail.To", "$cfg.Mail.To"),
        ("$PSScriptRoot\\out.csv", '"$PSScriptRoot\\out.csv"'),
        ("'a', $b", "('a', $b)"),
        ("(Get-Date)", "(Get-Date)"),
        ("(1) + (2)", "((1) + (2))"),
        ("(')' + $x)", "(')' + $x)"),
        ("Hello", '"Hello"'),
        ('"x $y"', '"x $y"'),
        ("42", "42"),
    ],
)
def test_ps_expression_turns_command_mode_text_into_an_expression(text: str, expected: str) -> None:
    assert ps_expression(text) == expected


def test_ps_quote_doubles_straight_and_curly_single_quotes() -> None:
    assert ps_quote("O'Brien \u2019s") == "'O''Brien \u2019\u2019s'"


def test_file_name_and_content_type_helpers() -> None:
    assert file_name_of("C:\\a\\b\\c.XLSX") == "c.XLSX"
    assert content_type_for("c.XLSX").endswith("spreadsheetml.sheet")
    assert content_type_for("noext") == "application/octet-stream"


def test_values_resolved_from_variables_show_the_value_but_generate_the_variable() -> None:
    mapping = map_call(
        call(
            bound("From", "$from", "alerts@contoso.com", kind=BindKind.SPLAT),
            bound("To", "$To", "ops@contoso.com", kind=BindKind.SPLAT, reason="value from param default"),
            bound("Subject", "$subject", "Nightly", kind=BindKind.EXPRESSION),
            bound("Attachments", "$files", ["C:\\r\\a.csv"], kind=BindKind.EXPRESSION),
        )
    )
    body = message(mapping.request)
    # People read the resolved values in the report ...
    assert mapping.sender == "alerts@contoso.com"
    assert body["toRecipients"] == [{"emailAddress": {"address": "ops@contoso.com"}}]
    assert body["subject"] == "Nightly"
    # ... while generated code keeps the variables, which a caller may have overridden.
    assert not mapping.sender_is_literal
    assert mapping.recipients["toRecipients"].expression == "$To"
    assert mapping.subject is not None and mapping.subject.ps == "$subject"
    assert mapping.attachments_expression == "$files"


def test_resolved_mail_message_is_shown_but_converted_at_run_time() -> None:
    mapping = map_call(
        call(
            bound("MailMessage", "$message", kind=BindKind.EXPRESSION),
            bound("From", "'monitoring@contoso.com'", "monitoring@contoso.com", reason="$message.From = (line 11)"),
            bound("To", "'oncall@contoso.com'", "oncall@contoso.com", reason="$message.To.Add() (line 12)"),
            api=Api.SMTPCLIENT,
        )
    )
    assert message(mapping.request)["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]
    assert mapping.sender == "monitoring@contoso.com"
    # Code reads the object when it runs: recipients added later (in a loop, say) are not lost.
    assert mapping.mail_message == "$message"


def test_a_conditional_constant_is_shown_parsed_and_noted() -> None:
    cc = bound("Cc", "'cfo@contoso.com'", "cfo@contoso.com", kind=BindKind.SPLAT, line=18)
    cc.conditional = True
    mapping = map_call(call(*BASE, cc))
    assert message(mapping.request)["ccRecipients"] == [{"emailAddress": {"address": "cfo@contoso.com"}}]
    assert any("Cc is set only on some code paths (line 18)" in note for note in mapping.notes)
