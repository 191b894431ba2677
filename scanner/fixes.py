"""The `fix` part of each scan finding: safety, Graph request, snippets, and a preview diff of the edit.

The scan shows what `smtp2graph fix` would change at each call without re-parsing the file per
finding (that is the fix command's job, which refuses any edit that adds parse errors).
"""

from __future__ import annotations

import difflib
from typing import Optional

from scanner.model import Assessment, FixApplicability, FixInfo, MailCall
from scanner.script import Script
from scanner.secrets import redact_value


def preview_diff(script: Script, call: MailCall) -> Optional[str]:
    """A unified diff of the module-style edit at this call (without the per-file Import-Module line)."""
    from scanner.migrate.edits import call_edit

    edit = call_edit(call, script.text)
    if edit is None:
        return None
    structure = script.structure
    first_line = structure.line_col(edit.start)[0]
    last_line = structure.line_col(max(edit.start, edit.end - 1))[0]
    start = structure.line_starts[first_line - 1]
    end = structure.line_starts[last_line] if last_line < len(structure.line_starts) else len(script.text)
    # A very long line (minified, generated) is shown as a window around the edit, as the report's excerpt is.
    from scanner.safetext import LINE_MAX

    lo = start if edit.start - start <= LINE_MAX else edit.start - LINE_MAX // 3
    hi = end if end - edit.end <= LINE_MAX else edit.end + LINE_MAX // 3
    before = ("…" if lo > start else "") + script.text[lo:hi] + ("…\n" if hi < end else "")
    after = ("…" if lo > start else "") + script.text[lo : edit.start] + edit.replacement + script.text[edit.end : hi] + ("…\n" if hi < end else "")
    lines = difflib.unified_diff(
        before.replace("\r\n", "\n").splitlines(keepends=True),
        after.replace("\r\n", "\n").splitlines(keepends=True),
        f"a/{script.path}",
        f"b/{script.path}",
        n=0,
    )
    diff = "".join(lines)
    # difflib numbers hunks from 1 within the excerpt; shift them to the file's line numbers.
    return _shift_hunks(diff, first_line - 1) if diff else None


def _shift_hunks(diff: str, offset: int) -> str:
    import re

    def shift(m: "re.Match[str]") -> str:
        a, b = int(m.group(1)) + offset, int(m.group(3)) + offset
        return f"@@ -{a}{m.group(2) or ''} +{b}{m.group(4) or ''} @@"

    return re.sub(r"@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", shift, diff)


# How much of the `fix` material a scan builds (the output format decides, scanner.run.fix_detail_for):
FULL = "full"  # snippets, Graph request, notes and the preview diff (JSON, HTML)
DIFF = "diff"  # safety, reason and the preview diff (SARIF)
NONE = "none"  # safety and reason only (terminal, concise, github, csv, xlsx, markdown)


def fix_for(script: Script, call: MailCall, assessment: Optional[Assessment], secret_texts: set[str], detail: str = FULL) -> FixInfo:
    """Fix safety and migration material for one finding, with every secret literal masked.

    ``detail`` limits the material to what the output shows; safety and reason are always computed.
    """
    from scanner.migrate.safety import FixStyle, alternate_views_reason, fix_info

    info = fix_info(call, assessment, material=detail == FULL)
    views = alternate_views_reason(call, script.code, FixStyle.MODULE) if info.available else ""
    if views:
        # What `fix` says of the same call (it reads the whole file): one body in Graph, so the message changes.
        info.reason = views if info.applicability is not FixApplicability.UNSAFE else f"{views}; {info.reason}"
        info.applicability = FixApplicability.UNSAFE
    if info.available and detail != NONE:
        diff = preview_diff(script, call)
        info.diff = redact_value(diff, secret_texts) if diff else None
    if info.snippet:
        info.snippet = {k: redact_value(v, secret_texts) for k, v in info.snippet.items()}
    if info.graph_request is not None and secret_texts:
        # Masked on the data, not on its JSON text: a secret holding a quote must not break the JSON.
        from scanner.redact import Redactor

        inner = {t[1:-1] if len(t) >= 2 and t[0] in "'\"" and t[-1] in "'\"" else t for t in secret_texts}
        Redactor(secret_texts | inner).redact_tree(info.graph_request)
    return info
