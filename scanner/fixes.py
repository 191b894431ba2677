"""The `fix` part of each scan finding: safety, Graph request, snippets, and a preview diff of the edit.

The scan shows what `smtp2graph fix` would change at each call without re-parsing the file per
finding (that is the fix command's job, which refuses any edit that adds parse errors).
"""

from __future__ import annotations

import re
from typing import Optional

from scanner.files import dominant_newline
from scanner.findings import file_mask
from scanner.migrate.diffs import unified_diff
from scanner.migrate.edits import call_edit
from scanner.migrate.patch import CallFix, FilePlan, plan_fixes
from scanner.migrate.safety import GRAPH_APIS, FixStyle
from scanner.migrate.snippets import invoke_restmethod_snippet, send_mgusermail_snippet
from scanner.migrate.xoauth2 import KEY as XOAUTH2_KEY, mailkit_xoauth2_snippet, offers_xoauth2
from scanner.model import Assessment, Finding, FixApplicability, FixInfo, MailCall
from scanner.redact import Redactor
from scanner.safetext import LINE_MAX
from scanner.script import Script
from scanner.secrets import SecretLiteral, redact_value


def preview_diff(script: Script, call: MailCall) -> Optional[str]:
    """A unified diff of the module-style edit at this call (without the per-file Import-Module line)."""
    edit = call_edit(call, script.text)
    if edit is None:
        return None
    structure = script.structure
    first_line = structure.line_col(edit.start)[0]
    last_line = structure.line_col(max(edit.start, edit.end - 1))[0]
    start = structure.line_starts[first_line - 1]
    end = structure.line_starts[last_line] if last_line < len(structure.line_starts) else len(script.text)
    # A very long line (minified, generated) is shown as a window around the edit, as the report's excerpt is.
    lo = start if edit.start - start <= LINE_MAX else edit.start - LINE_MAX // 3
    hi = end if end - edit.end <= LINE_MAX else edit.end + LINE_MAX // 3
    # Both sides through the file's mask (scanner.masking): the diff shows what the report shows.
    mask = file_mask(script)
    text = script.text
    before = ("…" if lo > start else "") + mask.slice(text, lo, hi) + ("…\n" if hi < end else "")
    after = (("…" if lo > start else "") + mask.slice(text, lo, edit.start) + mask.redactor().redact(edit.replacement)
             + mask.slice(text, edit.end, hi) + ("…\n" if hi < end else ""))
    diff = unified_diff(script.path, before, after, context=0)
    # difflib numbers hunks from 1 within the excerpt; shift them to the file's line numbers.
    return _shift_hunks(diff, first_line - 1) if diff else None


def _shift_hunks(diff: str, offset: int) -> str:
    def shift(m: "re.Match[str]") -> str:
        a, b = int(m.group(1)) + offset, int(m.group(3)) + offset
        return f"@@ -{a}{m.group(2) or ''} +{b}{m.group(4) or ''} @@"

    return re.sub(r"@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", shift, diff)


# How much of the `fix` material a scan builds (the output format decides, scanner.run.fix_detail_for):
FULL = "full"  # snippets, Graph request, notes and the preview diff (JSON, HTML)
DIFF = "diff"  # safety, reason and the preview diff (SARIF)
NONE = "none"  # safety and reason only (terminal, concise, github, csv, xlsx, markdown)


def plan_file(
    script: Script, findings: list[Finding], style: FixStyle, detail: str, secret_texts: set[str],
    written: Optional[dict[int, MailCall]] = None, secrets: Optional[list[SecretLiteral]] = None,
) -> Optional[FilePlan]:
    """Plan the fixes of one script's call findings (scanner.migrate.patch) and give each finding what
    the report shows of its fix, every secret literal masked. Returns the plan when some call can be
    rewritten (the estate judges it; `fix` applies it), else None.

    ``detail`` limits the material to what the output shows; safety and reason are always computed.
    """
    calls: list[MailCall] = []
    assessments: list[Optional[Assessment]] = []
    index: dict[int, int] = {}
    for finding in findings:
        call = finding.call
        if call is not None and id(call) not in index:
            index[id(call)] = len(calls)
            calls.append(call)
            assessments.append(finding.assessment)
    if not calls:
        return None
    users = {id(f.call): f.credential_user for f in findings if f.call is not None}
    plan = plan_fixes(script.text, calls, assessments, style, dominant_newline(script.text), written, script.code, secrets,
                      credential_users=users, encoding=script.encoding)
    edited = {id(item.fix) for item in plan.edits}
    # Calls written alike get the same generated snippets: one string per file, not one per finding
    # (a generated one-line script of 20,000 identical calls would otherwise hold 20,000 copies).
    shared: dict[str, str] = {}
    for finding in findings:
        if finding.call is not None:
            fix = plan.fixes[index[id(finding.call)]]
            finding.fix = fix_info_of(script, fix, id(fix) in edited, detail, secret_texts, finding.assessment)
            if finding.fix.snippet:
                finding.fix.snippet = {name: shared.setdefault(code, code) for name, code in finding.fix.snippet.items()}
    return plan if plan.edits else None


def fix_info_of(script: Script, fix: CallFix, has_edit: bool, detail: str, secret_texts: set[str],
                assessment: Optional[Assessment] = None) -> FixInfo:
    """What a report shows of one call's planned fix: safety, reason and (``detail``) the material.

    A MailKit call that logs on to Exchange Online with a password also gets the display-only alternative that keeps
    MailKit with SMTP OAuth 2.0 (``mailkit_xoauth2``, scanner.migrate.xoauth2) beside the Graph snippets.
    """
    call = fix.call
    applicability, reason = fix.applicability, fix.reason
    if applicability is not FixApplicability.DISPLAY_ONLY and not has_edit:
        # Nothing `fix` could write: the call is left for a person, and the report says so.
        applicability, reason = FixApplicability.DISPLAY_ONLY, f"no automatic rewrite: {fix.refused or reason}"
    info = FixInfo(available=applicability is not FixApplicability.DISPLAY_ONLY, applicability=applicability, reason=reason)
    mapping = fix.mapping
    if detail == FULL and mapping is not None:
        info.notes = list(mapping.notes)
        if call.api not in GRAPH_APIS:
            info.graph_request = mapping.request
            info.snippet = {
                "invoke_restmethod": invoke_restmethod_snippet(mapping),
                "send_mgusermail": send_mgusermail_snippet(mapping),
            }
            if offers_xoauth2(call, assessment):
                info.snippet[XOAUTH2_KEY] = mailkit_xoauth2_snippet(call)
    if info.available and detail != NONE:
        diff = preview_diff(script, call)
        info.diff = redact_value(diff, secret_texts) if diff else None
    if info.snippet:
        info.snippet = {k: redact_value(v, secret_texts) for k, v in info.snippet.items()}
    if info.graph_request is not None and secret_texts:
        # Masked on the data, not on its JSON text: a secret holding a quote must not break the JSON.
        inner = {t[1:-1] if len(t) >= 2 and t[0] in "'\"" and t[-1] in "'\"" else t for t in secret_texts}
        Redactor(secret_texts | inner).redact_tree(info.graph_request)
    return info
