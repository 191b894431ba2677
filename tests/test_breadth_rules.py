"""The rules of issue 3 on the breadth fixtures: which findings, where, and what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.extract.graph import container_depth, json_depth_issues, variable_depth
from scanner.model import Finding
from scanner.rules import catalogue
from scanner.script import Script

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "breadth"
NEW_RULES = ("SMTP003", "SMTP004", "SMTP005", "SMTP006", "GRAPH002", "GRAPH003", "GRAPH004", "GRAPH005", "SEC001", "SEC002", "SEC003", "SEC004")


def findings(name: str, config: Optional[RuleConfig] = None, text: str = "") -> list[Finding]:
    source = text or (FIXTURES / name).read_text(encoding="utf-8")
    return analyze_script(Script(source, name), config or RuleConfig()).findings


def summary(found: list[Finding], *rules: str) -> list[tuple[str, int]]:
    return sorted((f.rule, f.location.line) for f in found if not rules or f.rule in rules)


def test_every_new_rule_is_in_the_catalogue_with_docs() -> None:
    rules = catalogue()
    for rule_id in NEW_RULES:
        rule = rules[rule_id]
        assert rule.bad and rule.good
        assert "## Why is this bad?" in rule.docs()


# (fixture, rule ids looked at, expected (rule, line) pairs)
EXPECTED = [
    ("mailkit_password.ps1", ("SMTP003", "SEC002"), [("SEC002", 9), ("SMTP003", 10)]),
    ("mailkit_cmdlets.ps1", ("SMTP003",), [("SMTP003", 1), ("SMTP003", 2)]),
    ("mailkit_imap_only.ps1", NEW_RULES, []),
    ("cdo_send.ps1", ("SMTP004", "SEC002"), [("SEC002", 12), ("SMTP004", 15)]),
    ("cdo_read_eml.ps1", NEW_RULES, []),
    ("webmail_message.ps1", ("SMTP005", "SEC002"), [("SEC002", 10), ("SMTP005", 12)]),
    ("outlook_send.ps1", ("SMTP006",), [("SMTP006", 9)]),
    ("graph_json_depth.ps1", ("GRAPH002",), [("GRAPH002", 12), ("GRAPH002", 13), ("GRAPH002", 19)]),
    ("graph_me_app_only.ps1", ("GRAPH003",), [("GRAPH003", 2)]),
    ("graph_me_delegated.ps1", ("GRAPH003",), []),
    ("graph_content_types.ps1", ("GRAPH004",), [("GRAPH004", 2), ("GRAPH004", 3)]),
    ("graph_attachment.ps1", ("GRAPH005",), [("GRAPH005", 3)]),
    ("graph_attachment_checked.ps1", ("GRAPH005",), []),
    ("secrets_mail.ps1", ("SEC001", "SEC002", "SEC003", "SEC004"), [("SEC001", 2), ("SEC001", 5), ("SEC002", 4), ("SEC003", 6), ("SEC003", 8)]),
    ("secrets_token.ps1", ("SEC001", "SEC002", "SEC003", "SEC004"), [("SEC004", 1), ("SEC004", 4)]),
    ("secrets_unrelated.ps1", NEW_RULES, []),
]


@pytest.mark.parametrize("name,rules,expected", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_fixture_findings(name: str, rules: tuple[str, ...], expected: list[tuple[str, int]]) -> None:
    assert summary(findings(name), *rules) == expected


# --------------------------------------------------------------------------- GRAPH002 depth


def _depth(source: str) -> int:
    script = Script(source)
    return variable_depth(script, "m", len(source))


@pytest.mark.parametrize(
    "source,depth",
    [
        ("$m = 'text'\n", 0),
        ("$m = @{ a = 1 }\n", 1),
        ("$m = @{ message = @{ subject = 's' } }\n", 2),
        # message > toRecipients (array) > item > emailAddress: ConvertTo-Json needs -Depth 4
        ("$m = @{ message = @{ toRecipients = @(@{ emailAddress = @{ address = 'a' } }) } }\n", 5),
        # a comma list is an array too
        ("$m = @{ message = @{ toRecipients = @{ emailAddress = @{ address = 'a' } }, @{ emailAddress = @{ address = 'b' } } } }\n", 5),
        # recipients built in a loop with +=, then referenced by variable
        ("$to = @()\nforeach ($a in $x) { $to += @{ emailAddress = @{ address = $a } } }\n$m = @{ message = @{ toRecipients = $to } }\n", 5),
        # .Add() on a list
        ("$to = New-Object System.Collections.ArrayList\n$null = $to.Add(@{ emailAddress = @{ address = 'a' } })\n$m = @{ toRecipients = $to }\n", 4),
        # [ordered] and [pscustomobject] literals count like hashtables
        ("$m = [ordered]@{ message = [pscustomobject]@{ subject = 's' } }\n", 2),
        # a variable assigned from itself does not loop forever
        ("$m = @{ self = $m }\n", 1),
    ],
)
def test_container_depth(source: str, depth: int) -> None:
    assert _depth(source) == depth


def test_container_depth_of_an_inline_literal() -> None:
    source = "@{ a = @(1, 2) } | ConvertTo-Json\n"
    script = Script(source)
    assert container_depth(script, 0, source.index(" |")) == 2


def test_json_depth_issue_details() -> None:
    issues = json_depth_issues(Script((FIXTURES / "graph_json_depth.ps1").read_text(encoding="utf-8")))
    assert [(i.given, i.needed) for i in issues] == [(None, 4), (3, 4), (None, None)]
    # the first one feeds the sendMail call on line 17
    assert issues[0].feeds


def test_json_depth_messages_say_what_to_do() -> None:
    found = [f for f in findings("graph_json_depth.ps1") if f.rule == "GRAPH002"]
    assert "System.Collections.Hashtable" in found[0].message and "-Depth 4" in found[0].message
    assert "-Depth 3 is too small" in found[1].message
    assert found[2].confidence.value == "medium"


# --------------------------------------------------------------------------- GRAPH003 / GRAPH004 / GRAPH005


@pytest.mark.parametrize(
    "token_line",
    [
        "$t = Invoke-RestMethod -Method Post -Uri $tokenUri -Body @{ grant_type = 'client_credentials'; client_id = $id; client_secret = $env:S }",
        "Connect-MgGraph -ClientId $id -TenantId $tenant -CertificateThumbprint $thumb",
        "Connect-MgGraph -Identity",
        "$t = Get-MsalToken -ClientId $id -TenantId $tenant -ClientCertificate $cert",
    ],
)
def test_me_sendmail_with_each_app_only_flow(token_line: str) -> None:
    source = token_line + "\nInvoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body $b\n"
    hits = [f for f in findings("inline.ps1", text=source) if f.rule == "GRAPH003"]
    assert [(f.location.line, [r.role for r in f.related]) for f in hits] == [(2, ["token"])]


def test_commented_app_only_flow_does_not_count() -> None:
    source = "# Connect-MgGraph -ClientId $id -CertificateThumbprint $t\nConnect-MgGraph -Scopes Mail.Send\nInvoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body $b\n"
    assert [f for f in findings("inline.ps1", text=source) if f.rule == "GRAPH003"] == []


def test_content_type_from_a_headers_variable() -> None:
    source = (
        "$h = @{ Authorization = \"Bearer $t\"; 'Content-Type' = 'application\\json' }\n"
        "Invoke-RestMethod -Method Post -Uri \"https://graph.microsoft.com/v1.0/users/$u/sendMail\" -Headers $h -Body $j\n"
    )
    hits = [f for f in findings("inline.ps1", text=source) if f.rule == "GRAPH004"]
    assert len(hits) == 1 and "backslash" in hits[0].message


@pytest.mark.parametrize("guard", ["if ($f.Length -gt 3MB) { throw 'big' }", "if ((Get-Item $p).Length -ge 3145728) { return }", "# createUploadSession below\n$s = Invoke-RestMethod -Uri \"$base/attachments/createUploadSession\""])
def test_attachment_size_guards(guard: str) -> None:
    source = guard + "\n$a = @{ name = 'x'; contentBytes = [Convert]::ToBase64String([IO.File]::ReadAllBytes($p)) }\nSend-MgUserMail -UserId $u -BodyParameter $m\n"
    assert [f for f in findings("inline.ps1", text=source) if f.rule == "GRAPH005"] == []


def test_attachment_read_with_get_content_bytes() -> None:
    source = "$raw = Get-Content -Path $p -Encoding Byte -Raw\n$a = @{ name = 'x'; contentBytes = [Convert]::ToBase64String($raw) }\nSend-MgUserMail -UserId $u -BodyParameter $m\n"
    assert summary(findings("inline.ps1", text=source), "GRAPH005") == [("GRAPH005", 2)]


# --------------------------------------------------------------------------- SEC


def test_secret_findings_point_at_the_sink_and_never_show_the_value() -> None:
    found = [f for f in findings("secrets_mail.ps1") if f.rule.startswith("SEC")]
    assert found
    source = (FIXTURES / "secrets_mail.ps1").read_text(encoding="utf-8")
    for finding in found:
        assert finding.related and finding.related[0].role == "sink"
        assert f"(line {finding.related[0].line})" in finding.message
        for literal in ("Example-Pa55", "U2VjM"):
            assert literal not in finding.message and literal not in finding.snippet
            assert all(literal not in line for line in finding.context_lines)
        assert "***" in finding.snippet
    assert "Sec1-Example-Pa55" in source  # the fixture does hold the literal


# (secret line, the line of the send or token request it flows into)
FLOWS = [
    (2, 14),  # $smtpPassword -> ConvertTo-SecureString -> $fromVariable -> -Credential (New-Object PSCredential(…, $fromVariable))
    (4, 12),  # NetworkCredential -> $network -> $smtp.Credentials = $network -> $smtp.Send()
    (5, 13),  # PSCredential(…, ConvertTo-SecureString 'x') -> $ps -> -Credential $ps
    (6, 17),  # base64 -> $decoded -> $relayCredential -> $relay.Credentials -> $relay.Send()
    (8, 18),  # base64 -> $password -> inline ConvertTo-SecureString in -Credential
]


def test_secrets_are_followed_to_the_send_they_feed() -> None:
    found = sorted((f.location.line, f.related[0].line) for f in findings("secrets_mail.ps1") if f.rule.startswith("SEC"))
    # line 1 goes to New-LocalUser only: a secret, but not one that feeds mail, so not reported
    assert found == FLOWS


def test_client_secret_followed_through_a_hashtable_to_the_token_request() -> None:
    found = sorted((f.location.line, f.related[0].line) for f in findings("secrets_token.ps1") if f.rule == "SEC004")
    assert found == [(1, 3), (4, 5)]


def test_secret_values_that_are_urls_are_not_secrets() -> None:
    found = [f for f in findings("secrets_token.ps1") if f.rule.startswith("SEC")]
    assert all(f.location.line != 6 for f in found)  # $tokenEndpoint = 'https://…'


def test_file_findings_fingerprints_survive_line_shifts() -> None:
    source = (FIXTURES / "secrets_token.ps1").read_text(encoding="utf-8")
    before = {f.rule + f.snippet: f.fingerprint for f in findings("s.ps1", text=source)}
    after = {f.rule + f.snippet: f.fingerprint for f in findings("s.ps1", text="# a new header line\n\n" + source)}
    assert before == after and len(set(before.values())) == len(before)


def test_severity_override_and_ignore_apply_to_file_rules() -> None:
    config = RuleConfig(ignore=("SEC001",), severity_overrides=(("SEC002", "critical"),))
    found = findings("secrets_mail.ps1", config)
    assert not [f for f in found if f.rule == "SEC001"]
    assert {f.severity.value for f in found if f.rule == "SEC002"} == {"critical"}


def test_inline_suppression_applies_to_file_rules() -> None:
    source = "$clientSecret = 'Sup-Example~Secret'  # smtp2graph: ignore[SEC004] rotated, test tenant\nConnect-MgGraph -ClientSecretCredential $c\n"
    assert [f for f in findings("inline.ps1", text=source) if f.rule == "SEC004"] == []
