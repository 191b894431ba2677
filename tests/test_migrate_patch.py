"""The patcher: golden before/after files for every call form, byte-exact encodings, safety, idempotency.

Golden files live in tests/fixtures/migrate/expected/: `<name>.fixed<ext>` is what the patcher
makes of each call form with `--unsafe-fixes` (module style) and `<name>.fixes.txt` lists each
call's fix safety. Most forms are written without a server or a password, a send the retirement does not touch,
which `fix` leaves alone (tested below and in test_one_analysis.py); to test the rewrite of every
form, the goldens patch such a call as one whose verdict is not known (unsafe).
Regenerate deliberately with SMTP2GRAPH_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.assess import assess
from scanner.check import calls_in_text
from scanner.files import decode, read_source
from scanner.migrate.mapping import map_call
from scanner.migrate.patch import FilePatch, patch_source, patch_text
from scanner.migrate.placement import IMPORT_LINE, header_end, import_edit
from scanner.migrate.safety import GRAPH_APIS, FixStyle, classify, fix_info
from scanner.migrate.syntax import problem_count
from scanner.model import (
    Api,
    BindKind,
    BoundParam,
    FixApplicability,
    Location,
    MailCall,
    Outcome,
    ServerClass,
)

FIXTURES = Path(__file__).parent / "fixtures" / "migrate"
EXPECTED = FIXTURES / "expected"
# Every call form the scanner binds: the scanner's own fixtures (one source for both test suites).
FORMS = Path(__file__).parent / "fixtures" / "scan"
INPUTS = sorted(FORMS.glob("*.ps*1")) + sorted((FIXTURES / "files").glob("*.ps*1"))
UPDATE = os.environ.get("SMTP2GRAPH_UPDATE_GOLDEN") == "1"


def fix_file(path: Path, style: FixStyle = FixStyle.MODULE, unsafe: bool = True, serverless: bool = False) -> FilePatch:
    """``serverless=True``: a call whose server the file does not name is patched as one whose verdict is
    not known (its server and credential may come from a profile), instead of being left alone."""
    source = read_source(path, path.parent)
    calls = calls_in_text(source.text, source.rel, source.is_data_file)
    assessments = [assess(call) if call.api not in GRAPH_APIS else None for call in calls]
    if serverless:
        assessments = [replace(a, breaks=None, outcome=Outcome.UNKNOWN)
                       if a is not None and a.breaks is False and a.server is ServerClass.UNKNOWN else a
                       for a in assessments]
    return patch_source(source.rel, source.raw, source.text, source.encoding, source.bom, source.newline,
                        calls, style, unsafe, assessments=assessments)


def fixes_summary(patch: FilePatch) -> str:
    lines = []
    for fix in patch.fixes:
        state = "applied" if fix.applied else "not-applied"
        lines.append(f"{fix.line} {fix.call.command} {fix.applicability.value} {state}")
    return "\n".join(lines) + "\n"


def golden_name(path: Path) -> str:
    group = "forms" if path.parent == FORMS else path.parent.name
    return f"{group}__{path.stem}"


@pytest.mark.parametrize("path", INPUTS, ids=[golden_name(p) for p in INPUTS])
def test_golden_before_after(path: Path) -> None:
    patch = fix_file(path, serverless=True)
    fixed = EXPECTED / f"{golden_name(path)}.fixed{path.suffix}"
    summary = EXPECTED / f"{golden_name(path)}.fixes.txt"
    if UPDATE:
        EXPECTED.mkdir(parents=True, exist_ok=True)
        fixed.write_bytes(patch.patched)
        summary.write_text(fixes_summary(patch), encoding="utf-8")
    assert patch.patched == fixed.read_bytes()
    assert fixes_summary(patch) == summary.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", INPUTS, ids=[golden_name(p) for p in INPUTS])
def test_fixing_fixed_output_changes_nothing(path: Path, tmp_path: Path) -> None:
    first = fix_file(path)
    again = tmp_path / path.name
    again.write_bytes(first.patched)
    second = fix_file(again)
    assert second.patched == first.patched
    assert not any(fix.applied for fix in second.fixes)


@pytest.mark.parametrize("path", INPUTS, ids=[golden_name(p) for p in INPUTS])
def test_patches_add_no_parse_errors(path: Path) -> None:
    patch = fix_file(path)
    assert problem_count(patch.text_after) <= problem_count(patch.text_before)


def _changed_ranges(before: bytes, after: bytes) -> tuple[bytes, bytes]:
    """The common prefix and suffix that an edit left alone."""
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(before), len(after)) - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return before[:prefix], before[len(before) - suffix:]


@pytest.mark.parametrize(
    ("name", "encoding_marker"),
    [
        ("crlf.ps1", b"\r\n"),
        ("utf8_bom.ps1", b"\xef\xbb\xbf"),
        ("utf16le_bom.ps1", b"\xff\xfe"),
        ("utf16be_bom.ps1", b"\xfe\xff"),
        ("cp1252.ps1", "é".encode("cp1252")),
    ],
)
def test_encoding_bom_and_line_endings_survive(name: str, encoding_marker: bytes) -> None:
    path = FIXTURES / "files" / name
    source = read_source(path, path.parent)
    patch = fix_file(path)
    assert patch.changed
    assert patch.patched.startswith(source.bom)
    assert encoding_marker in patch.patched
    # Decoding the patched bytes the same way gives exactly the patched text.
    assert decode(patch.patched)[0] == patch.text_after
    if source.newline == "\r\n":
        body = patch.text_after
        assert body.count("\r\n") == body.count("\n"), "a bare LF crept into a CRLF file"
    # Only the edits change bytes (the rename, the import line, the dropped -Credential).
    import difflib

    matcher = difflib.SequenceMatcher(None, patch.original, patch.patched, autojunk=False)
    kept = sum(size for _, _, size in matcher.get_matching_blocks())
    assert kept > 0.8 * len(patch.original)


def test_import_line_goes_after_requires_help_and_param() -> None:
    patch = fix_file(FIXTURES / "files" / "header_help_param.ps1")
    lines = patch.text_after.splitlines()
    index = lines.index(IMPORT_LINE)
    assert lines[index - 1] == ")"  # the end of param(...)
    assert lines[0] == "#requires -Version 5.1"


def test_import_line_goes_after_using_and_requires() -> None:
    patch = fix_file(FIXTURES / "files" / "using_and_requires.ps1")
    lines = patch.text_after.splitlines()
    # The comment right above the code describes it: the import goes before the comment, not between the two.
    assert lines[:4] == ["#Requires -Modules ActiveDirectory", "using namespace System.Net.Mail", IMPORT_LINE,
                         "# helper comment"]


def test_existing_import_is_not_duplicated() -> None:
    patch = fix_file(FIXTURES / "files" / "already_imported.ps1")
    assert patch.text_after.count("Import-Module Smtp2Graph") == 1
    assert "Send-GraphMailMessage -To 'ops@contoso.com'" in patch.text_after


def test_smtpclient_sends_in_expression_context_are_parenthesised() -> None:
    patch = fix_file(FIXTURES / "files" / "using_and_requires.ps1")
    assert "[void](Send-GraphMailMessage -MailMessage $mail)" in patch.text_after
    # The four-string overload sends the MailMessage SmtpClient would build (a $null body allowed, oracle F12).
    assert ("$null = (Send-GraphMailMessage -MailMessage ([System.Net.Mail.MailMessage]::new('svc@contoso.com', "
            "'ops@contoso.com', 'subject', $body)))") in patch.text_after


def test_unsafe_fixes_need_the_flag() -> None:
    path = FIXTURES / "files" / "behaviour_differences.ps1"
    safe_only = fix_file(path, unsafe=False)
    by_line = {fix.line: fix for fix in safe_only.fixes}
    assert by_line[2].applicability is FixApplicability.UNSAFE
    assert "Encoding Unicode" in by_line[2].reason and "OnFailure" not in by_line[2].reason
    assert not by_line[2].applied and "--unsafe-fixes" in by_line[2].refused
    assert by_line[3].applicability is FixApplicability.SAFE and by_line[3].applied
    with_flag = fix_file(path, unsafe=True)
    assert all(fix.applied for fix in with_flag.fixes)


def test_display_only_calls_are_left_alone_with_a_reason() -> None:
    patch = fix_file(FIXTURES / "files" / "display_only.ps1", unsafe=True)
    assert not patch.changed
    reasons = {fix.call.api: fix.reason for fix in patch.fixes}
    assert all(fix.applicability is FixApplicability.DISPLAY_ONLY for fix in patch.fixes)
    assert "no change needed" in reasons[Api.SEND_MAILMESSAGE]


@pytest.mark.parametrize("api", [Api.CDO, Api.MAILKIT, Api.OUTLOOK_COM, Api.SYSTEM_WEB_MAIL])
def test_apis_without_a_drop_in_are_display_only(api: Api) -> None:
    call = MailCall(api=api, command="$mail.Send", form="com-send", location=Location("a.ps1", 1, 1, 1, 10),
                    params={"To": BoundParam("To", "'a@contoso.com'", BindKind.LITERAL, "a@contoso.com")})
    applicability, reason = classify(call, None, map_call(call))
    assert applicability is FixApplicability.DISPLAY_ONLY
    assert "no drop-in rewrite" in reason
    info = fix_info(call, None)
    assert info.snippet is not None and "Invoke-RestMethod @sendParams" in info.snippet["invoke_restmethod"]


def test_a_patch_that_breaks_the_parse_is_refused() -> None:
    text = "Send-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject s -SmtpServer smtp.office365.com -Credential $c\n"
    calls = calls_in_text(text)
    # Pretend the recognizer reported a name span that cuts a string in half.
    calls[0].name_span = (calls[0].name_span[0], calls[0].name_span[1] + 6)
    result = patch_text(text, calls, unsafe_fixes=True)
    assert result.patched == text
    assert "would not parse cleanly" in result.fixes[0].refused


def test_inline_style_replaces_the_call_with_a_graph_request() -> None:
    path = FIXTURES / "files" / "header_help_param.ps1"
    patch = fix_file(path, style=FixStyle.INLINE)
    assert "Send-MailMessage -To" not in patch.text_after
    assert "Invoke-RestMethod -Method Post -Uri $uri" in patch.text_after
    assert "toRecipients = @(ConvertTo-GraphRecipient -Address @($To) -Errors $addressErrors)" in patch.text_after
    assert problem_count(patch.text_after) == 0
    assert all(fix.applicability is FixApplicability.SAFE for fix in patch.fixes)
    sdk = fix_file(path, style=FixStyle.INLINE_SDK)
    assert "Send-MgUserMail -UserId $graphMailbox -BodyParameter $bodyParameter" in sdk.text_after
    assert all("Connect-MgGraph" in fix.reason for fix in sdk.fixes)
    assert not fix_file(path, style=FixStyle.INLINE_SDK, unsafe=False).changed
    assert IMPORT_LINE not in sdk.text_after


def test_inline_style_refuses_pipeline_input_even_with_unsafe_fixes() -> None:
    # The oracle showed inline rewrites of piped calls losing the attachments and recipients (P7).
    path = FORMS / "smm_pipeline.ps1"
    patch = fix_file(path, style=FixStyle.INLINE, unsafe=True, serverless=True)
    piped = [fix for fix in patch.fixes if "Attachments" in fix.call.params
             and fix.call.params["Attachments"].kind.value == "pipeline"]
    assert piped and all(fix.applicability is FixApplicability.DISPLAY_ONLY and not fix.applied for fix in piped)
    assert all("pipeline input (Attachments) cannot be expanded inline" in fix.reason for fix in piped)


@pytest.mark.parametrize(
    ("text", "expected_prefix"),
    [
        ("$x = 1\n", ""),
        ("# just a comment\n$x = 1\n", ""),  # it describes $x = 1
        ("# a file header\n\n$x = 1\n", "# a file header"),
        ("#requires -Version 5.1\n# set x\n$x = 1\n", "#requires -Version 5.1"),
        ("param($a)\n\n# set x\n$x = 1\n", "param($a)"),
        ("<#\n.SYNOPSIS\nx\n#>\n$x = 1\n", "<#\n.SYNOPSIS\nx\n#>"),  # help stays first
        ("param($a)\n# only comments follow\n", "param($a)\n# only comments follow"),
        ("<#\n.SYNOPSIS\nx\n#>\nparam($a)\n$x = 1\n", "<#\n.SYNOPSIS\nx\n#>\nparam($a)"),
        ("[CmdletBinding()]\nparam(\n  [string]$a = ')'\n)\n$x\n", "[CmdletBinding()]\nparam(\n  [string]$a = ')'\n)"),
        ("[string]$x = 'not a param'\n", ""),
        ("param($a) # trailing\n$x\n", "param($a) # trailing"),
    ],
)
def test_header_end(text: str, expected_prefix: str) -> None:
    assert text[: header_end(text)] == expected_prefix


def test_import_edit_without_trailing_newline() -> None:
    edit = import_edit("param($a)", "\n")
    assert edit is not None and edit.replacement == "\n" + IMPORT_LINE


def test_a_send_the_retirement_does_not_touch_is_left_alone_even_with_unsafe_fixes() -> None:
    # No password and no server in the file: a relay is not affected, and Exchange Online without
    # SMTP AUTH fails already. fix keeps its hands off, as scan says "no change needed".
    patch = fix_file(FORMS / "smm_alias.ps1", unsafe=True)
    assert patch.fixes and not any(fix.applied for fix in patch.fixes)
    assert all(fix.reason.startswith("no change needed") for fix in patch.fixes)
    assert patch.patched == (FORMS / "smm_alias.ps1").read_bytes()
    # The same file with the server left open (the goldens' view) is patched.
    assert any(fix.applied for fix in fix_file(FORMS / "smm_alias.ps1", unsafe=True, serverless=True).fixes)
