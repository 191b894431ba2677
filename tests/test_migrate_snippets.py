"""Invoke-RestMethod and Send-MgUserMail snippets: correct requests that always parse cleanly."""

from __future__ import annotations

from typing import Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.migrate.mapping import map_call
from scanner.migrate.snippets import invoke_restmethod_snippet, send_mgusermail_snippet
from scanner.migrate.syntax import parse_problems
from scanner.model import Api, BindKind, BoundParam, Location, MailCall

Value = Optional[str | bool | int | list[str]]


def bound(name: str, text: str, value: Value = None, kind: BindKind = BindKind.LITERAL) -> BoundParam:
    return BoundParam(name=name, text=text, kind=kind, value=value)


def make_call(*params: BoundParam, api: Api = Api.SEND_MAILMESSAGE) -> MailCall:
    return MailCall(
        api=api,
        command="Send-MailMessage",
        form="named",
        location=Location("a.ps1", 1, 1, 1, 1),
        params={param.name: param for param in params},
    )


FULL = make_call(
    bound("From", "'Alerts <alerts@contoso.com>'", "Alerts <alerts@contoso.com>"),
    bound("To", "'ops@contoso.com','b@contoso.com'", ["ops@contoso.com", "b@contoso.com"]),
    bound("Cc", "$cc", kind=BindKind.EXPRESSION),
    bound("Subject", "'Nightly'", "Nightly"),
    bound("Body", "$html", kind=BindKind.EXPRESSION),
    bound("BodyAsHtml", "$true", True),
    bound("Attachments", "'C:\\r\\daily.csv'", "C:\\r\\daily.csv"),
    bound("Priority", "High", "High"),
    bound("SmtpServer", "smtp.office365.com", "smtp.office365.com"),
)


def test_invoke_restmethod_snippet_builds_a_correct_request() -> None:
    snippet = invoke_restmethod_snippet(map_call(FULL))
    assert parse_problems(snippet) == []
    assert "$token = Get-Smtp2GraphToken" in snippet
    assert "ConvertTo-Json -InputObject $request -Depth 10" in snippet
    assert "ContentType = 'application/json'" in snippet
    assert "[System.Text.Encoding]::UTF8.GetBytes($json)" in snippet
    assert "'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString($graphMailbox)" in snippet
    assert "/sendMail'" in snippet
    assert "$graphMailbox = 'alerts@contoso.com'" in snippet
    assert "[Convert]::ToBase64String([System.IO.File]::ReadAllBytes(" in snippet
    assert "name = 'daily.csv'" in snippet and "contentType = 'application/octet-stream'" in snippet  # as Send-MailMessage attaches it
    assert "@{ emailAddress = @{ address = 'ops@contoso.com' } }" in snippet
    # A dynamic recipient list is parsed at run time by the helper the snippet defines.
    assert "function ConvertTo-GraphRecipient" in snippet
    assert "ccRecipients = @(ConvertTo-GraphRecipient -Address @($cc))" in snippet
    assert "importance = 'high'" in snippet
    assert "saveToSentItems = $false" in snippet


def test_send_mgusermail_snippet_uses_body_parameter() -> None:
    snippet = send_mgusermail_snippet(map_call(FULL))
    assert parse_problems(snippet) == []
    assert "Send-MgUserMail -UserId $graphMailbox -BodyParameter $bodyParameter" in snippet
    assert "Import-Module Microsoft.Graph.Users.Actions" in snippet
    assert "Invoke-RestMethod" not in snippet


def test_dynamic_from_is_reduced_to_the_mailbox_address() -> None:
    mapping = map_call(make_call(bound("From", "$cfg.From", kind=BindKind.EXPRESSION), bound("To", "'a@b.c'", "a@b.c")))
    snippet = invoke_restmethod_snippet(mapping)
    assert "$graphMailbox = (New-Object System.Net.Mail.MailAddress -ArgumentList ([string]$cfg.From)).Address" in snippet
    assert parse_problems(snippet) == []


def test_missing_sender_is_a_visible_placeholder() -> None:
    snippet = invoke_restmethod_snippet(map_call(make_call(bound("To", "'a@b.c'", "a@b.c"))))
    assert "# TODO: the script names no sender" in snippet
    assert parse_problems(snippet) == []


def test_mail_message_snippet_converts_the_object_at_run_time() -> None:
    mapping = map_call(make_call(bound("MailMessage", "$msg", kind=BindKind.EXPRESSION), api=Api.SMTPCLIENT))
    for snippet in (invoke_restmethod_snippet(mapping), send_mgusermail_snippet(mapping)):
        assert parse_problems(snippet) == []
        assert "$mailMessage = $msg" in snippet
        assert "$attachment.ContentStream.CopyTo($buffer)" in snippet


def test_notes_are_carried_as_comments() -> None:
    mapping = map_call(make_call(bound("From", "'a@b.c'", "a@b.c"), bound("To", "'a@b.c'", "a@b.c"),
                                 bound("Encoding", "Unicode", "Unicode")))
    snippet = invoke_restmethod_snippet(mapping)
    assert "# Note: Encoding Unicode: Graph always sends UTF-8" in snippet


# ---------------------------------------------------------------- property: every mapping's snippets parse

# Constant strings as a script could hold them: quotes of every kind, $, backticks, braces, non-ASCII, newlines.
static_text = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 @.<>,;:-_'\"`$(){}[]#\\/\u2018\u2019\u201c\u201d\u00e9\u00fc\u4e2d\n\t")),
    min_size=0,
    max_size=30,
)
addresses = st.sampled_from(
    ["ops@contoso.com", "Ops Team <ops@contoso.com>", '"Doe, Jane" <jane@contoso.com>', "o'brien@contoso.com",
     "a@b.c,d@e.f"]
)
expressions = st.sampled_from(
    ["$x", "$cfg.Mail.To", "$env:MAIL_TO", '"Report $(Get-Date -Format d)"', "(Get-Content -Raw $p)",
     "$PSScriptRoot\\out.csv", "'a@b.c', $extra", "$list[0]", "${weird name}", "bareword",
     "$a + $b", "@($one, $two)", "$($x.Trim())"]
)


@st.composite
def param_value(draw: st.DrawFn, name: str, address: bool) -> BoundParam:
    choice = draw(st.integers(min_value=0, max_value=2))
    if choice == 0:
        text = draw(addresses if address else static_text)
        return bound(name, "'" + text.replace("'", "''") + "'", text)
    if choice == 1:
        items = draw(st.lists(addresses if address else static_text, min_size=1, max_size=3))
        return bound(name, ",".join("'" + item.replace("'", "''") + "'" for item in items), items)
    return bound(name, draw(expressions), kind=BindKind.EXPRESSION)


@st.composite
def mail_calls(draw: st.DrawFn) -> MailCall:
    params: list[BoundParam] = []
    for name, is_address in (("From", True), ("To", True), ("Cc", True), ("Bcc", True), ("ReplyTo", True),
                             ("Subject", False), ("Body", False), ("Attachments", False)):
        if draw(st.booleans()):
            params.append(draw(param_value(name, is_address)))
    if draw(st.booleans()):
        params.append(draw(st.sampled_from([bound("BodyAsHtml", "$true", True), bound("BodyAsHtml", "$html",
                                                                                    kind=BindKind.EXPRESSION)])))
    if draw(st.booleans()):
        level = draw(st.sampled_from(["High", "Low", "Normal", "$prio"]))
        params.append(bound("Priority", level, None if level.startswith("$") else level))
    if draw(st.booleans()):
        params.append(draw(st.sampled_from([
            bound("DeliveryNotificationOption", "OnSuccess, OnFailure", "OnSuccess, OnFailure"),
            bound("DeliveryNotificationOption", "$dno", kind=BindKind.EXPRESSION),
        ])))
    if draw(st.booleans()):
        params.append(draw(st.sampled_from([
            bound("Headers", "@{ 'X-A' = 'b'; Keywords = $k }", kind=BindKind.EXPRESSION),
            bound("Headers", "$h", ["X-Run: 1", "Importance: high"]),
        ])))
    if draw(st.booleans()):
        params.append(bound("Attachments", "Get-ChildItem *.log", kind=BindKind.PIPELINE))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        params = [bound("MailMessage", draw(expressions), kind=BindKind.EXPRESSION)]
    return make_call(*params)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mail_calls())
def test_every_generated_snippet_parses_cleanly(mail_call: MailCall) -> None:
    mapping = map_call(mail_call)
    for snippet in (invoke_restmethod_snippet(mapping), send_mgusermail_snippet(mapping)):
        problems = parse_problems(snippet)
        assert problems == [], f"{problems}\n{snippet}"


def _calls_of_every_fixture() -> list[tuple[str, MailCall]]:
    from pathlib import Path

    from scanner.check import calls_in_text
    from scanner.files import read_source

    root = Path(__file__).resolve().parent.parent
    files = [*sorted((root / "examples").rglob("*.ps*1")),
             *sorted((root / "tests" / "fixtures" / "scan").glob("*.ps1")),
             *sorted((root / "tests" / "fixtures" / "migrate").rglob("*.ps*1"))]
    out: list[tuple[str, MailCall]] = []
    for path in files:
        source = read_source(path, path.parent)
        out.extend((f"{source.rel}:{call.location.line}", call)
                   for call in calls_in_text(source.text, source.rel, source.is_data_file))
    return out


def test_snippets_for_every_recognised_call_parse_cleanly() -> None:
    from scanner.assess import assess
    from scanner.migrate.safety import fix_info

    checked = 0
    for where, mail_call in _calls_of_every_fixture():
        info = fix_info(mail_call, assess(mail_call))
        if info.snippet is None:
            continue
        # A script's own expression can hold syntax tree-sitter mis-parses (an unquoted `Name, Status` list);
        # the snippet copies it verbatim, so only such calls may carry the same problem.
        inherited = any(parse_problems(f"$value = {bound.text}\n") for bound in mail_call.params.values())
        for flavour, snippet in info.snippet.items():
            if not inherited:
                assert parse_problems(snippet) == [], f"{where} {flavour}\n{snippet}"
            checked += 1
    assert checked >= 40
