"""Rewrite mail calls to Graph: minimal edits on the decoded text, written back byte for byte.

The default *module* style renames `Send-MailMessage` to `Send-GraphMailMessage`, turns SmtpClient
`$client.Send(...)` into `Send-GraphMailMessage -MailMessage ...` (or named parameters for the
four-string overload) and adds one `Import-Module Smtp2Graph` line after the script's header
(`#requires`, comment-based help, `using`, `[CmdletBinding()] param(...)`). The *inline* styles
replace each call with the expanded Graph request. Every edit is re-parsed: an edit that adds an
ERROR or MISSING node is not applied and the fix says why. Unchanged bytes stay unchanged
(encoding, BOM, line endings), and fixing fixed output changes nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from enum import Enum

from scanner.lexer import LexError, skip_balanced, skip_block_comment, skip_line_comment, split_arguments
from scanner.migrate.mapping import GraphMapping, map_call, ps_expression
from scanner.migrate.snippets import invoke_restmethod_snippet, message_lines, send_mgusermail_snippet
from scanner.migrate.syntax import problem_count
from scanner.model import (
    Api,
    Assessment,
    BindKind,
    Confidence,
    FixApplicability,
    FixInfo,
    MailCall,
    ServerClass,
)

MODULE_COMMAND = "Send-GraphMailMessage"
IMPORT_LINE = "Import-Module Smtp2Graph -ErrorAction Stop"
_IMPORT_PRESENT = re.compile(r"(?im)^[ \t]*Import-Module\s+(?:-Name\s+)?['\"]?(?:[^\s'\"]*[\\/])?Smtp2Graph(?:\.psd1)?['\"]?(?:\s|;|$)")
_PATCHABLE_APIS = (Api.SEND_MAILMESSAGE, Api.SMTPCLIENT)
_GRAPH_APIS = (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL)
_EXCHANGE_ONLINE = (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS)


class FixStyle(str, Enum):
    MODULE = "module"  # Send-GraphMailMessage from the generated module: the smallest diff
    INLINE = "inline"  # expanded Invoke-RestMethod request at each call
    INLINE_SDK = "inline-sdk"  # expanded Send-MgUserMail call at each call


@dataclass
class CallFix:
    """What the fixer decided for one call, and whether the edit went in."""

    call: MailCall
    applicability: FixApplicability
    reason: str
    mapping: GraphMapping | None = None
    applied: bool = False
    refused: str = ""  # why a wanted edit was not applied (parse check, unsafe without --unsafe-fixes)

    @property
    def line(self) -> int:
        return self.call.location.line


@dataclass
class TextEdit:
    start: int
    end: int
    replacement: str


@dataclass
class PatchedText:
    """The outcome for one decoded text."""

    original: str
    patched: str
    fixes: list[CallFix] = field(default_factory=list)
    import_added: bool = False

    @property
    def changed(self) -> bool:
        return self.patched != self.original


# --------------------------------------------------------------------------- fix safety


def _is_plain_send(call: MailCall) -> bool:
    """SmtpClient `.Send(...)` (not SendAsync / SendMailAsync, which callers await or hook)."""
    if call.api is not Api.SMTPCLIENT:
        return True
    return call.form != "method-async" and not call.command.lower().endswith("async")


def classify(call: MailCall, assessment: Assessment | None, mapping: GraphMapping,
             style: FixStyle = FixStyle.MODULE) -> tuple[FixApplicability, str]:
    """Fix safety for one call: safe, unsafe (needs --unsafe-fixes) or display-only, with the reason."""
    if call.api in _GRAPH_APIS:
        return FixApplicability.DISPLAY_ONLY, "already sends through Microsoft Graph; nothing to rewrite"
    if call.api not in _PATCHABLE_APIS:
        return (FixApplicability.DISPLAY_ONLY,
                f"{call.api.value} has no drop-in rewrite: replace it by hand with the Graph snippet (smtp2graph snippet)")
    if call.form == "shadowing-function":
        return (FixApplicability.DISPLAY_ONLY,
                "a function named Send-MailMessage shadows the cmdlet here; the calls inside it are fixed one by one")
    if not call.sent:
        return (FixApplicability.DISPLAY_ONLY,
                "a mail client is configured but nothing in this file sends with it (after smtp2graph fix it is unused)")
    if not _is_plain_send(call):
        return (FixApplicability.DISPLAY_ONLY,
                f"{call.command} is asynchronous (callbacks / tasks); rewrite it by hand with the Graph snippet")
    if assessment is not None and assessment.breaks is False:
        return FixApplicability.DISPLAY_ONLY, f"no change needed: {assessment.verdict}"
    reasons: list[str] = []
    if call.in_error_region:
        reasons.append("the call sits in a region tree-sitter could not parse")
    if call.confidence is Confidence.LOW:
        reasons.append("the call was recognised with low confidence")
    unresolved = [name for name, bound in call.params.items() if bound.kind is BindKind.UNRESOLVED]
    if unresolved:
        reasons.append("unresolved " + ", ".join(unresolved))
    if assessment is not None:
        if assessment.server is ServerClass.OUTLOOK_CONSUMER:
            reasons.append("the sender is a consumer Outlook.com account, which an app cannot send as; use a Microsoft 365 mailbox")
        elif assessment.server not in _EXCHANGE_ONLINE:
            reasons.append(f"the SMTP server is not known to be Exchange Online ({assessment.server_text or 'not shown'}); "
                           "Graph changes the mail path if it is another relay")
    if style is not FixStyle.MODULE:
        reasons.extend(_inline_blockers(call))
    if style is FixStyle.INLINE_SDK:
        reasons.append("Send-MgUserMail needs an app-only Connect-MgGraph session before the call; add one")
    lost = [note.text for note in mapping.note_items if note.kind.value == "lost"]
    reasons.extend(lost)
    if reasons:
        return FixApplicability.UNSAFE, "; ".join(dict.fromkeys(reasons))
    if style is FixStyle.MODULE and call.api is Api.SMTPCLIENT:
        return FixApplicability.SAFE, "SmtpClient.Send becomes Send-GraphMailMessage with the same message; nothing lost"
    if style is FixStyle.MODULE:
        return FixApplicability.SAFE, "drop-in rename to Send-GraphMailMessage: same parameters, nothing lost"
    return FixApplicability.SAFE, "every parameter is known at the call: the expanded request sends the same message"


def _inline_blockers(call: MailCall) -> list[str]:
    out: list[str] = []
    kinds = {bound.kind for bound in call.params.values()}
    if BindKind.PIPELINE in kinds:
        out.append("pipeline input cannot be expanded inline")
    if BindKind.SPLAT in kinds or BindKind.DEFAULT in kinds:
        out.append("values from a splat or a default are copied to the call site; review them")
    if any(bound.conditional for bound in call.params.values()):
        out.append("parameters set only on some code paths")
    return out


def fix_info(call: MailCall, assessment: Assessment | None, style: FixStyle = FixStyle.MODULE) -> FixInfo:
    """The JSON report's `fix` for one call: safety, the Graph request, notes and both snippets."""
    mapping = map_call(call)
    applicability, reason = classify(call, assessment, mapping, style)
    snippet: dict[str, str] | None = None
    if call.api not in _GRAPH_APIS:
        snippet = {
            "invoke_restmethod": invoke_restmethod_snippet(mapping),
            "send_mgusermail": send_mgusermail_snippet(mapping),
        }
    return FixInfo(
        available=applicability is not FixApplicability.DISPLAY_ONLY,
        applicability=applicability,
        reason=reason,
        graph_request=mapping.request if call.api not in _GRAPH_APIS else None,
        notes=list(mapping.notes),
        snippet=snippet,
    )


# --------------------------------------------------------------------------- edits


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a method call's `( ... )` (quotes and brackets respected)."""
    return [text[start:end] for start, end in split_arguments(text, 0, len(text))]


def _command_argument(text: str) -> str:
    """An expression as a command argument (parenthesised unless it is already one token)."""
    return ps_expression(text)


def _statement_context(text: str, start: int) -> bool:
    """True when the call starts a statement (nothing but `{`, `;` or a keyword before it on its line)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].rstrip()
    return before == "" or before.endswith(("{", ";")) or before.lower() in ("else", "try", "finally")


def _smtpclient_replacement(call: MailCall, text: str) -> str | None:
    """`$client.Send($m)` → `Send-GraphMailMessage -MailMessage $m`; the 4-string overload → named parameters."""
    start, end = call.call_span
    name_start, name_end = call.name_span
    if not (start <= name_start < name_end <= end):
        return None
    rest = text[name_end:end].strip()
    if not (rest.startswith("(") and rest.endswith(")")):
        return None
    args = _split_arguments(rest[1:-1])
    if len(args) == 1 and args[0]:
        command = f"{MODULE_COMMAND} -MailMessage {_command_argument(args[0])}"
    elif len(args) == 4 and all(args):
        names = ("From", "To", "Subject", "Body")
        command = MODULE_COMMAND + "".join(f" -{n} {_command_argument(a)}" for n, a in zip(names, args))
    else:
        return None
    return command if _statement_context(text, start) else f"({command})"


def _rename_replacement(call: MailCall, text: str) -> str | None:
    start, end = call.name_span
    if end <= start:
        return None
    written = text[start:end]
    if written[:1] in "'\"" and written[-1:] == written[:1]:
        return written[0] + MODULE_COMMAND + written[0]
    if written[:1] in "'\"":
        return None
    return MODULE_COMMAND


def _indent_of_line(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    match = re.match(r"[ \t]*", text[line_start:offset])
    return match.group(0) if match else ""


def _inline_replacement(call: MailCall, mapping: GraphMapping, text: str, style: FixStyle, newline: str) -> str:
    indent = _indent_of_line(text, call.call_span[0])
    inner = indent + "    "
    lines = [f"# smtp2graph: {call.command} rewritten to Microsoft Graph sendMail ({style.value})"]
    lines += [f"# Note: {note}" for note in mapping.notes]
    lines += message_lines(mapping)
    save = "$true" if mapping.save_to_sent_items else "$false"
    if style is FixStyle.INLINE:
        lines += [
            f"$request = @{{ message = $message; saveToSentItems = {save} }}",
            "$json = ConvertTo-Json -InputObject $request -Depth 10",
            "$uri = 'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString($sender).Replace('%40', '@') + '/sendMail'",
            "$headers = @{ Authorization = 'Bearer ' + (Get-Smtp2GraphToken) }",
            "$null = Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application/json' "
            "-Body ([System.Text.Encoding]::UTF8.GetBytes($json))",
        ]
    else:
        lines += [
            "# Needs an app-only Connect-MgGraph session with Mail.Send before this point.",
            f"$bodyParameter = @{{ message = $message; saveToSentItems = {save} }}",
            "Send-MgUserMail -UserId $sender -BodyParameter $bodyParameter",
        ]
    body = newline.join((inner + line) if line else "" for line in lines)
    # A child scope keeps the helper functions and variables out of the script's own.
    return "& {" + newline + body + newline + indent + "}"


def _edit_for(call: MailCall, mapping: GraphMapping, text: str, style: FixStyle, newline: str) -> TextEdit | None:
    if style is not FixStyle.MODULE:
        start, end = call.call_span
        if end <= start:
            return None
        return TextEdit(start, end, _inline_replacement(call, mapping, text, style, newline))
    if call.api is Api.SMTPCLIENT:
        replacement = _smtpclient_replacement(call, text)
        if replacement is None:
            return None
        return TextEdit(call.call_span[0], call.call_span[1], replacement)
    replacement = _rename_replacement(call, text)
    if replacement is None:
        return None
    return TextEdit(call.name_span[0], call.name_span[1], replacement)


def call_edit(call: MailCall, text: str, style: FixStyle = FixStyle.MODULE, newline: str = "\n") -> TextEdit | None:
    """The edit that rewrites one call in ``text`` (not parse-checked; patch_text does that), or None."""
    return _edit_for(call, map_call(call), text, style, newline)


# --------------------------------------------------------------------------- where the import goes


def _skip_comment(text: str, index: int) -> int:
    if text.startswith("<#", index):
        return skip_block_comment(text, index)
    return skip_line_comment(text, index)


def _skip_balanced(text: str, index: int) -> int:
    """Index just past the bracket that closes the one at ``index``; len(text) when unbalanced."""
    try:
        return skip_balanced(text, index)
    except LexError:
        return len(text)


def _skip_trivia(text: str, index: int) -> int:
    while index < len(text):
        if text[index] in " \t\r\n\ufeff":
            index += 1
        elif text.startswith("<#", index) or text[index] == "#":
            index = _skip_comment(text, index)
        else:
            break
    return index


_PARAM = re.compile(r"param\s*\(", re.I)
_USING = re.compile(r"using\s+(namespace|module|assembly)\b", re.I)


def header_end(text: str) -> int:
    """Offset just past the script header: comments, #requires, using lines, attributes and param()."""
    end = 0
    index = _skip_trivia(text, 0)
    end = _end_of_comments(text, 0, index)
    while index < len(text):
        if _USING.match(text, index):
            line_end = text.find("\n", index)
            index = len(text) if line_end < 0 else line_end
            end = index
        elif text[index] == "[":
            # Attributes count only when a param block follows them.
            probe = index
            while probe < len(text) and text[probe] == "[":
                probe = _skip_trivia(text, _skip_balanced(text, probe))
            if not _PARAM.match(text, probe):
                break
            index = probe
            continue
        elif _PARAM.match(text, index):
            open_paren = text.index("(", index)
            index = _skip_balanced(text, open_paren)
            end = index
        else:
            break
        following = _skip_trivia(text, index)
        end = max(end, _end_of_comments(text, index, following))
        index = following
    return end


def _end_of_comments(text: str, start: int, stop: int) -> int:
    """End of the last comment between ``start`` and ``stop`` (``start`` when there is none)."""
    end = start
    index = start
    while index < stop:
        if text.startswith("<#", index) or text[index] == "#":
            index = _skip_comment(text, index)
            end = index
        else:
            index += 1
    return end


def import_edit(text: str, newline: str) -> TextEdit | None:
    """The one `Import-Module Smtp2Graph` line, after the header; None when the script already has it."""
    if _IMPORT_PRESENT.search(text):
        return None
    end = header_end(text)
    if end == 0:
        return TextEdit(0, 0, IMPORT_LINE + newline)
    line_end = text.find("\n", end)
    if line_end < 0:
        return TextEdit(len(text), len(text), newline + IMPORT_LINE + (newline if text.endswith("\n") else ""))
    if text[end:line_end].strip():
        # Code follows the header on the same line: put the import on its own line before it.
        return TextEdit(end, end, newline + IMPORT_LINE + newline)
    return TextEdit(line_end + 1, line_end + 1, IMPORT_LINE + newline)


# --------------------------------------------------------------------------- applying


def _apply(text: str, edit: TextEdit) -> str:
    return text[: edit.start] + edit.replacement + text[edit.end :]


def patch_text(
    text: str,
    calls: list[MailCall],
    assessments: list[Assessment | None] | None = None,
    style: FixStyle = FixStyle.MODULE,
    unsafe_fixes: bool = False,
    newline: str = "\n",
) -> PatchedText:
    """Apply the fixes the options allow to ``text``; each edit must not add parse errors."""
    if assessments is None:
        from scanner.assess import assess

        assessments = [assess(call) if call.api not in _GRAPH_APIS else None for call in calls]
    fixes: list[CallFix] = []
    wanted: list[tuple[CallFix, TextEdit]] = []
    for call, assessment in zip(calls, assessments, strict=True):
        mapping = map_call(call)
        applicability, reason = classify(call, assessment, mapping, style)
        fix = CallFix(call, applicability, reason, mapping)
        fixes.append(fix)
        if applicability is FixApplicability.DISPLAY_ONLY:
            continue
        if applicability is FixApplicability.UNSAFE and not unsafe_fixes:
            fix.refused = "unsafe: pass --unsafe-fixes to apply"
            continue
        edit = _edit_for(call, mapping, text, style, newline)
        if edit is None:
            fix.refused = "the call's text has a shape the fixer does not rewrite"
            continue
        wanted.append((fix, edit))
    baseline = problem_count(text)
    patched = text
    # Right to left, so earlier offsets stay valid; overlapping edits (a call inside another) are skipped.
    last_start = len(text) + 1
    for fix, edit in sorted(wanted, key=lambda item: item[1].start, reverse=True):
        if edit.end > last_start:
            fix.refused = "overlaps another rewritten call"
            continue
        candidate = _apply(patched, edit)
        if problem_count(candidate) > baseline:
            fix.refused = "the rewritten call would not parse cleanly (tree-sitter reports new ERROR/MISSING nodes)"
            continue
        patched = candidate
        fix.applied = True
        last_start = edit.start
    result = PatchedText(text, patched, fixes)
    needs_module = any(fix.applied for fix in fixes) and style is not FixStyle.INLINE_SDK
    if needs_module:
        edit = import_edit(patched, newline)
        if edit is not None:
            candidate = _apply(patched, edit)
            if problem_count(candidate) <= baseline:
                result.patched = candidate
                result.import_added = True
            else:
                # Without the import the renamed calls cannot run: undo everything.
                for fix in fixes:
                    if fix.applied:
                        fix.applied = False
                        fix.refused = "the Import-Module line would not parse cleanly here"
                result.patched = text
    return result


def unified_diff(rel: str, before: str, after: str) -> str:
    """A unified diff of two decoded texts (line endings shown as LF)."""
    lines = difflib.unified_diff(
        before.replace("\r\n", "\n").splitlines(keepends=True),
        after.replace("\r\n", "\n").splitlines(keepends=True),
        fromfile=f"a/{rel}",
        tofile=f"b/{rel}",
    )
    out = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return out


# --------------------------------------------------------------------------- files


_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be", "cp1252": "cp1252"}


def encode_text(text: str, encoding: str, bom: bytes) -> bytes:
    """Encode decoded text back the way it was read (BOM included)."""
    codec = _CODECS.get(encoding, "utf-8")
    if codec == "cp1252":
        try:
            return bom + text.encode("cp1252")
        except UnicodeEncodeError:
            # The reader fell back to latin-1 for bytes cp1252 leaves undefined.
            return bom + text.encode("latin-1")
    return bom + text.encode(codec, "surrogatepass")


@dataclass
class FilePatch:
    """One file: its bytes before and after, and the fix decided for each call in it."""

    rel: str
    original: bytes
    patched: bytes
    text_before: str
    text_after: str
    fixes: list[CallFix] = field(default_factory=list)
    error: str = ""  # why the file could not be patched at all

    @property
    def changed(self) -> bool:
        return self.patched != self.original

    def diff(self) -> str:
        """Unified diff of the change (empty when nothing changes), secret literals masked.

        The diff is shown on a terminal or saved as a review artefact: a password on a context
        line must not travel with it (the patched file itself keeps the script's text).
        """
        if not self.changed:
            return ""
        from scanner.engine import file_secret_values
        from scanner.redact import Redactor
        from scanner.script import Script

        secrets = file_secret_values(Script(self.text_before, self.rel))
        return Redactor(secrets).redact(unified_diff(self.rel, self.text_before, self.text_after))


def patch_source(
    rel: str,
    raw: bytes,
    text: str,
    encoding: str,
    bom: bytes,
    newline: str,
    calls: list[MailCall],
    style: FixStyle = FixStyle.MODULE,
    unsafe_fixes: bool = False,
) -> FilePatch:
    """Patch one decoded file; the result's bytes differ from ``raw`` only inside the edits."""
    result = patch_text(text, calls, style=style, unsafe_fixes=unsafe_fixes, newline=newline)
    if not result.changed:
        return FilePatch(rel, raw, raw, text, text, result.fixes)
    if encode_text(text, encoding, bom) != raw:
        for fix in result.fixes:
            if fix.applied:
                fix.applied = False
                fix.refused = f"the file does not round-trip through {encoding} (invalid bytes); fix it by hand"
        return FilePatch(rel, raw, raw, text, text, result.fixes,
                         error=f"does not round-trip through {encoding}: not patched")
    try:
        patched = encode_text(result.patched, encoding, bom)
    except UnicodeEncodeError:
        for fix in result.fixes:
            fix.applied = False
            fix.refused = f"the rewritten text cannot be written in {encoding}"
        return FilePatch(rel, raw, raw, text, text, result.fixes, error=f"cannot encode the patch in {encoding}")
    return FilePatch(rel, raw, patched, text, result.patched, result.fixes)
