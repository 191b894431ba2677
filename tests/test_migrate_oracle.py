"""Round-trip oracle: scanning a patched file finds a Send-GraphMailMessage call that binds the same message.

For every fixture, the examples folder and generated combinations of Send-MailMessage parameter forms
(hypothesis): the patched text parses with no new errors, and every applied fix has a
Send-GraphMailMessage call in the patched text whose bound message parameters equal the original's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.check import calls_in_text
from scanner.files import read_source
from scanner.migrate.mapping import MESSAGE_PARAMS
from scanner.migrate.patch import patch_text
from scanner.migrate.safety import FixStyle
from scanner.migrate.syntax import problem_count
from scanner.model import Api, BindKind, MailCall

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_FILES = sorted(
    [*(ROOT / "tests" / "fixtures" / "migrate").glob("files/*.ps*1"),
     *(ROOT / "tests" / "fixtures" / "scan").glob("*.ps1"),
     *(ROOT / "examples").rglob("*.ps1"),
     *(ROOT / "examples").rglob("*.psm1")]
)

Signature = tuple[tuple[str, str, str], ...]


def signature(call: MailCall) -> Signature:
    """The message a call sends: each message parameter's text and static value.

    SMTP-only parameters are left out, and so are values from $PSDefaultParameterValues written for
    Send-MailMessage: the scanner binds those to Send-MailMessage only, while the module applies them
    at run time (its Pester tests cover that).
    """
    names = [name for name in MESSAGE_PARAMS if name in call.params and call.params[name].kind is not BindKind.DEFAULT]
    # SmtpClient.Send(from, to, subject, body) is patched into -MailMessage ([MailMessage]::new(from, to, subject, body)).
    four = ("From", "To", "Subject", "Body")
    if call.api is Api.SMTPCLIENT and "MailMessage" not in call.params and all(n in call.params for n in four):
        return (("MailMessage.new", " | ".join(call.params[n].text.strip() for n in four), ""),)
    built = call.params.get("MailMessage")
    prefix = "([System.Net.Mail.MailMessage]::new("
    if built is not None and built.text.strip().startswith(prefix) and built.text.strip().endswith("))"):
        from scanner.lexer import split_arguments

        inner = built.text.strip()[len(prefix) : -2]
        parts = [inner[a:b].strip() for a, b in split_arguments(inner, 0, len(inner))]
        return (("MailMessage.new", " | ".join(parts), ""),)
    if call.api is Api.SMTPCLIENT and "MailMessage" in call.params:
        names = ["MailMessage"]
    return tuple((name, call.params[name].text, repr(call.params[name].value)) for name in names)


def check_round_trip(text: str, path: str = "<text>") -> int:
    """Patch ``text`` (module style, unsafe fixes on) and check the oracle; return how many fixes applied."""
    calls = calls_in_text(text, path)
    result = patch_text(text, calls, unsafe_fixes=True)
    assert problem_count(result.patched) <= problem_count(text), result.patched
    applied = [fix.call for fix in result.fixes if fix.applied]
    expected = Counter(signature(call) for call in applied)
    graph_calls = [call for call in calls_in_text(result.patched, path) if call.api is Api.GRAPH_SENDMAIL]
    found = Counter(signature(call) for call in graph_calls)
    missing = expected - found
    assert not missing, f"no Send-GraphMailMessage call binds {list(missing)}\n--- patched:\n{result.patched}"
    before = sum(1 for call in calls if call.api is Api.GRAPH_SENDMAIL)
    assert len(graph_calls) == before + len(applied)
    return len(applied)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.relative_to(ROOT).as_posix() for p in FIXTURE_FILES])
def test_round_trip_on_every_fixture(path: Path) -> None:
    source = read_source(path, path.parent)
    check_round_trip(source.text, source.rel)


def test_round_trip_covers_the_examples() -> None:
    total = sum(check_round_trip(read_source(p, p.parent).text) for p in FIXTURE_FILES if "examples" in p.parts)
    assert total >= 5


# --------------------------------------------------------------------------- generated Send-MailMessage calls

# name → (aliases, unambiguous prefixes among Send-MailMessage's parameters and the common ones, position)
PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int | None]] = {
    "To": ((), (), 0),
    "Subject": (("sub",), ("Subj",), 1),
    "Body": ((), (), 2),
    "SmtpServer": (("ComputerName",), ("Smtp",), 3),
    "From": ((), ("Fr",), None),
    "Cc": ((), (), None),
    "Bcc": ((), ("Bc",), None),
    "Attachments": (("PsPath",), ("Attach",), None),
    "BodyAsHtml": (("BAH",), ("BodyAs",), None),
    "Priority": ((), ("Prio",), None),
    "DeliveryNotificationOption": (("DNO",), ("Deliv",), None),
    "Encoding": (("BE",), ("Enc",), None),
    "Credential": ((), ("Cred",), None),
    "UseSsl": ((), ("UseS",), None),
    "Port": ((), ("Po",), None),
}
SWITCHES = {"BodyAsHtml", "UseSsl"}
VALUES: dict[str, list[str]] = {
    "To": ["'ops@contoso.com'", '"Ops Team <ops@contoso.com>"', "$to", "'a@contoso.com', 'b@contoso.com'",
           "ops@contoso.com", "$cfg.To"],
    "Subject": ["'Nightly report'", '"Report $(Get-Date -Format d)"', "$subject", "Done"],
    "Body": ["'All good.'", "$body", '"Line one`nLine two"', "($lines -join \"`n\")"],
    "SmtpServer": ["'smtp.office365.com'", "smtp.office365.com", "$server"],
    "From": ["'reports@contoso.com'", "'Reports <reports@contoso.com>'", "$from"],
    "Cc": ["'cc@contoso.com'", "$cc"],
    "Bcc": ["'audit@contoso.com'"],
    "Attachments": ["'C:\\reports\\daily.csv'", "$files", "\"$PSScriptRoot\\out.csv\""],
    "Priority": ["High", "'Low'", "$prio"],
    "DeliveryNotificationOption": ["OnSuccess", "'OnSuccess, OnFailure'"],
    "Encoding": ["UTF8", "([System.Text.Encoding]::UTF8)"],
    "Credential": ["$cred", "(Get-Credential)"],
    "Port": ["587", "$port"],
}
COMMANDS = ["Send-MailMessage", "send-mailmessage", "Microsoft.PowerShell.Utility\\Send-MailMessage",
            "& 'Send-MailMessage'"]


@st.composite
def send_mailmessage_scripts(draw: st.DrawFn) -> str:
    optional = [name for name in PARAMETERS if name != "To"]
    chosen = ["To"] + draw(st.lists(st.sampled_from(optional), unique=True, max_size=8))
    values = {name: ("$true" if name in SWITCHES else draw(st.sampled_from(VALUES[name]))) for name in chosen}
    splat_names = set(draw(st.lists(st.sampled_from(chosen), unique=True, max_size=4))) if draw(st.booleans()) else set()
    positional_upto = draw(st.integers(min_value=-1, max_value=3))
    arguments: list[str] = []
    # Positional values must come in order 0.. without gaps, and before named ones for readability.
    for position, name in enumerate(("To", "Subject", "Body", "SmtpServer")):
        if position > positional_upto or name not in chosen or name in splat_names:
            break
        arguments.append(values[name])
        chosen = [item for item in chosen if item != name]
    for name in chosen:
        if name in splat_names:
            continue
        aliases, prefixes, _ = PARAMETERS[name]
        spelled = draw(st.sampled_from([name, name.lower(), name.upper(), *aliases, *prefixes]))
        value = values[name]
        if name in SWITCHES:
            arguments.append(f"-{spelled}" if draw(st.booleans()) else f"-{spelled}:$true")
        elif draw(st.integers(min_value=0, max_value=4)) == 0 and value.startswith("$") and "," not in value:
            arguments.append(f"-{spelled}:{value}")
        else:
            arguments.append(f"-{spelled} {value}")
    lines = ["$to = 'ops@contoso.com'", "$cfg = @{ To = 'ops@contoso.com' }", "$cred = Get-Credential"]
    if splat_names:
        entries = "; ".join(f"{name} = {values[name] if name not in SWITCHES else '$true'}" for name in sorted(splat_names))
        lines.append(f"$mail = @{{ {entries} }}")
        arguments.insert(len([a for a in arguments if not a.startswith("-")]), "@mail")
    command = draw(st.sampled_from(COMMANDS))
    separator = " `\n    " if draw(st.booleans()) else " "
    lines.append(command + " " + separator.join(arguments))
    if draw(st.booleans()):
        lines = ["[CmdletBinding()]", "param([string]$subject = 'x')", *lines]
    newline = "\r\n" if draw(st.booleans()) else "\n"
    return newline.join(lines) + newline


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(send_mailmessage_scripts())
def test_round_trip_on_generated_send_mailmessage_calls(script: str) -> None:
    calls = calls_in_text(script)
    assert any(call.api is Api.SEND_MAILMESSAGE for call in calls), script
    check_round_trip(script)


@st.composite
def smtpclient_scripts(draw: st.DrawFn) -> str:
    client = draw(st.sampled_from(["$smtp", "$client", "$script:mailer"]))
    construct = draw(st.sampled_from([
        f"{client} = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)",
        f"{client} = [System.Net.Mail.SmtpClient]::new('smtp.office365.com')",
        f"{client} = New-Object -TypeName System.Net.Mail.SmtpClient -ArgumentList 'smtp.office365.com', 587",
    ]))
    lines = [construct, f"{client}.EnableSsl = $true", f"{client}.Credentials = $cred"]
    if draw(st.booleans()):
        lines += ["$msg = New-Object System.Net.Mail.MailMessage",
                  "$msg.From = 'svc@contoso.com'", "$msg.To.Add('ops@contoso.com')", "$msg.Subject = 'x'"]
        send = f"{client}.Send($msg)"
    else:
        args = draw(st.sampled_from(["'svc@contoso.com', 'ops@contoso.com', 'subject', 'body'",
                                     "$from, $to, \"Report $(Get-Date)\", $body"]))
        send = f"{client}.Send({args})"
    prefix = draw(st.sampled_from(["", "[void]", "$null = ", "try { ", "if ($ok) { "]))
    suffix = " }" if prefix.endswith("{ ") else ""
    lines.append(prefix + send + suffix)
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smtpclient_scripts())
def test_round_trip_on_generated_smtpclient_sends(script: str) -> None:
    applied = check_round_trip(script)
    assert applied == 1, script


def test_inline_style_keeps_the_call_count_and_parses() -> None:
    text = (ROOT / "tests" / "fixtures" / "migrate" / "files" / "header_help_param.ps1").read_text()
    result = patch_text(text, calls_in_text(text), style=FixStyle.INLINE, unsafe_fixes=True)
    assert problem_count(result.patched) == 0
    assert not [call for call in calls_in_text(result.patched) if call.api is Api.SEND_MAILMESSAGE]
