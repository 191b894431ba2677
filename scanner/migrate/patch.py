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

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from scanner.assess import assess
from scanner.findings import credential_user
from scanner.lexer import mask
from scanner.migrate.contexts import BlockContext, RunsElsewhere, runs_elsewhere
from scanner.migrate.diffs import safe_diff, safe_unified_diff
from scanner.migrate.edits import TextEdit, credential_removal, edit_for, from_replacement
from scanner.migrate.judge import TreeSitterJudge
from scanner.migrate.mapping import (
    ASCII_CHANGE,
    ASCII_CHANGE_BOMLESS,
    GraphMapping,
    credential_sender,
    credential_variable,
    map_call,
)
from scanner.migrate.placement import IMPORT_PRESENT, import_edits_in_body
from scanner.migrate.safety import (
    GRAPH_APIS,
    RESIGN_HINT,
    FixStyle,
    alternate_views_reason,
    classify,
    credential_lines,
    credential_from_note,
    inline_refusal,
    is_signed,
    missing_module_notes,
)
from scanner.migrate.syntax import problem_count, remember_edits
from scanner.model import (
    Api,
    Assessment,
    FixApplicability,
    MailCall,
)
from scanner.script import Script
from scanner.secrets import SecretLiteral

if TYPE_CHECKING:
    from scanner.migrate.judge import PatchJudge


@dataclass
class CallFix:
    """What the fixer decided for one call, and whether the edit went in."""

    call: MailCall
    applicability: FixApplicability
    reason: str
    mapping: GraphMapping | None = None
    applied: bool = False
    refused: str = ""  # why a wanted edit was not applied (parse check, unsafe without --unsafe-fixes)
    notes: list[str] = field(default_factory=list)  # what a reviewer should know about the edit (no secrets)

    @property
    def line(self) -> int:
        return self.call.location.line


@dataclass
class PatchedText:
    """The outcome for one decoded text."""

    original: str
    patched: str
    fixes: list[CallFix] = field(default_factory=list)
    import_added: bool = False
    style: FixStyle = FixStyle.MODULE
    newline: str = "\n"
    candidates: list[CallEdit] = field(default_factory=list)  # the edits wanted, before judging

    @property
    def changed(self) -> bool:
        return self.patched != self.original


# --------------------------------------------------------------------------- applying


def _apply(text: str, edit: TextEdit) -> str:
    return text[: edit.start] + edit.replacement + text[edit.end :]


@dataclass
class CallEdit:
    """The text edits of one call, and the scope whose top needs the import (None: the file).

    ``unsafe_edits`` go in only with --unsafe-fixes, even when the call's own fix is safe: a change offered beside
    it that a reviewer must look at (the sender the report resolved written into -From). So does ``bom``: a UTF-8
    BOM at the start of the file (one per file, however many calls ask for it).
    """

    fix: CallFix
    edits: list[TextEdit]
    scope: BlockContext | None = None
    unsafe_edits: list[TextEdit] = field(default_factory=list)
    bom: bool = False  # planned: --unsafe-fixes also gives the file a UTF-8 BOM; chosen: the file gets one

    @property
    def start(self) -> int:
        return min(edit.start for edit in self.edits)

    @property
    def end(self) -> int:
        return max(edit.end for edit in self.edits)


def render(text: str, chosen: list[CallEdit], style: FixStyle, newline: str,
           imports: bool = True) -> tuple[str, bool]:
    """``text`` with the chosen call edits and the imports they need; (patched, an import was added)."""
    edits = [edit for item in chosen for edit in item.edits]
    import_added = False
    if imports and chosen and style is not FixStyle.INLINE_SDK:
        file_calls = [item.start for item in chosen if item.scope is None]
        if file_calls:
            inserted = import_edits_in_body(text, 0, len(text), file_calls, newline)
            edits.extend(inserted)
            import_added = import_added or bool(inserted)
        blocks: dict[int, list[CallEdit]] = {}
        for item in chosen:
            if item.scope is not None:
                blocks.setdefault(item.scope.open_brace, []).append(item)
        for open_brace, items in blocks.items():
            scope = items[0].scope
            assert scope is not None
            if IMPORT_PRESENT.search(text, open_brace, scope.close):
                continue
            inserted = import_edits_in_body(text, open_brace + 1, scope.close, [i.start for i in items], newline)
            edits.extend(inserted)
            import_added = import_added or bool(inserted)
    # Right to left; at one offset the replacement goes first so an insertion lands before it.
    patched = text
    applied = sorted(edits, key=lambda e: (e.start, e.end > e.start), reverse=True)
    for edit in applied:
        patched = _apply(patched, edit)
    lineage = [(edit.start, edit.end, edit.replacement) for edit in applied]
    if any(item.bom for item in chosen) and not patched.startswith(BOM):
        patched = BOM + patched  # before everything, the import included: the file's first bytes (EF BB BF in UTF-8)
        lineage.append((0, 0, BOM))
    remember_edits(text, lineage, patched)  # the judge parses the patch incrementally
    return patched, import_added


BOM = "\ufeff"


# Why an unsafe fix is not applied without the option (an option set's choice, not a judge's refusal).
UNSAFE_REFUSAL = "unsafe: pass --unsafe-fixes to apply"


@dataclass
class FilePlan:
    """The fix plan of one file: each call's fix safety and reason, and the edits that would make the
    fix (safe and unsafe alike; the options choose, the judge checks). Nothing is applied here."""

    text: str
    style: FixStyle
    newline: str
    fixes: list[CallFix] = field(default_factory=list)  # one per call, in the order given
    edits: list[CallEdit] = field(default_factory=list)  # the calls that can be rewritten

    @property
    def offers_unsafe(self) -> bool:
        """Whether --unsafe-fixes changes more than the safe set: an unsafe fix, or an unsafe change beside a safe one."""
        return any(item.fix.applicability is FixApplicability.UNSAFE or item.unsafe_edits or item.bom for item in self.edits)

    def downgrade(self, reason: str) -> None:
        """Every safe fix of the file becomes unsafe, for ``reason`` (a reviewer must look first)."""
        for fix in self.fixes:
            if fix.applicability is FixApplicability.SAFE:
                fix.applicability = FixApplicability.UNSAFE
                fix.reason = f"{reason}; {fix.reason}"

    def chosen(self, unsafe_fixes: bool) -> tuple[list[CallFix], list[CallEdit]]:
        """The fixes of one application (copies: each application records its own outcome) and the
        edits it applies: the safe ones, with ``unsafe_fixes`` the unsafe ones too; of two
        overlapping edits (a call inside another) the outer one."""
        copies = {id(fix): replace(fix, notes=list(fix.notes)) for fix in self.fixes}
        for fix in copies.values():
            if fix.applicability is FixApplicability.UNSAFE and not unsafe_fixes:
                fix.refused = UNSAFE_REFUSAL
        wanted = [CallEdit(copies[id(item.fix)], item.edits + (item.unsafe_edits if unsafe_fixes else []), item.scope,
                           bom=item.bom and unsafe_fixes)
                  for item in self.edits if unsafe_fixes or item.fix.applicability is not FixApplicability.UNSAFE]
        kept: list[CallEdit] = []
        for item in sorted(wanted, key=lambda e: (e.start, -e.end)):
            if kept and item.start < kept[-1].end:
                item.fix.refused = "overlaps another rewritten call"
                continue
            kept.append(item)
        return [copies[id(fix)] for fix in self.fixes], kept


def plan_fixes(text: str, calls: list[MailCall], assessments: list[Assessment | None], style: FixStyle,
               newline: str, written: dict[int, MailCall] | None = None, code: str | None = None,
               secrets: Sequence[SecretLiteral] | None = None,
               credential_users: dict[int, str | None] | None = None, encoding: str | None = None) -> FilePlan:
    """Fix safety for every call and the edit of each call that can be rewritten.

    ``written``: the calls as the script writes them, by id of ``calls`` (whose secrets a report has
    masked): an inline rewrite carries the call's values, so it is built from those. ``code`` (the
    masked text) and ``secrets`` (its secret literals) when the caller has them already.
    ``credential_users``: each call's credential user name as its finding has it (by id of ``calls``): a From
    that is that credential's user name resolves to it, as in the report's sender list. ``encoding``: how the
    file was read (scanner.files.decode): "utf-8" is UTF-8 without a BOM, which Windows PowerShell 5.1 reads in
    the ANSI code page.
    """
    if code is None:
        code = mask(text).code
    signed = is_signed(text)
    credential_notes: list[str] | None = None
    script: Script | None = None
    plan = FilePlan(text, style, newline)
    for call, assessment in zip(calls, assessments, strict=True):
        mapping = map_call(call)
        applicability, reason = classify(call, assessment, mapping, style)
        fix = CallFix(call, applicability, reason, mapping)
        plan.fixes.append(fix)
        if applicability is FixApplicability.DISPLAY_ONLY:
            continue
        context = runs_elsewhere(code, call.call_span[0]) if call.call_span[1] > call.call_span[0] else None
        extra: list[str] = []
        if context is not None:
            if context.kind is RunsElsewhere.REMOTE:
                extra.append(f"the call runs on another computer ({context.what}): the Smtp2Graph module and its "
                             "settings must be installed there; the patch imports it inside that script block")
            elif style is FixStyle.MODULE:
                fix.notes.append(f"the call runs in {context.what}, a new session: the patch imports Smtp2Graph "
                                 "inside that script block")
        views = alternate_views_reason(call, code, style)
        if views:
            extra.append(views)
        if signed:
            extra.append("the file carries an Authenticode signature block (# SIG # Begin signature block): any "
                         "change invalidates it, so under an AllSigned or RemoteSigned policy the patched script "
                         "will not run until it is re-signed; " + RESIGN_HINT)
        if extra:
            fix.reason = "; ".join([*extra, reason] if applicability is FixApplicability.UNSAFE else extra)
            fix.applicability = FixApplicability.UNSAFE
        blocker = inline_refusal(call, mapping, text) if style is not FixStyle.MODULE else ""
        if blocker:
            fix.applicability = FixApplicability.DISPLAY_ONLY
            fix.reason = blocker
            continue
        if call.api is Api.SEND_MAILMESSAGE or (call.api is Api.SMTPCLIENT and "Credential" in call.params):
            if credential_notes is None:
                credential_notes = [f"line {line} ({label})" for line, label in credential_lines(text, code, secrets)]
            if credential_notes and ("Credential" in call.params or call.api is Api.SMTPCLIENT):
                fix.notes.append("after the migration the mail call no longer needs the SMTP credential: review "
                                 "(and remove once nothing else uses them) " + ", ".join(credential_notes))
        source = written.get(id(call), call) if written else call
        edit = edit_for(source, mapping if source is call else map_call(source), text, style, newline)
        if edit is None:
            fix.refused = ("the command is invoked through a variable (& " + call.command + "), which may name another command "
                           "on another path: rename it to Send-GraphMailMessage by hand" if call.command.startswith("$")
                           else "the call's text has a shape the fixer does not rewrite")
            continue
        edits = [edit]
        if style is FixStyle.MODULE and call.api is Api.SEND_MAILMESSAGE:
            removal = credential_removal(call, text)
            if removal is not None and not (removal.start < edit.end and edit.start < removal.end):
                edits.append(removal)
                fix.notes.append("-Credential is dropped from the call: Graph sends with the app's token")
        if style is FixStyle.MODULE:
            fix.notes.extend(missing_module_notes(call, code, text))
        unsafe_edits: list[TextEdit] = []
        if call.api is Api.SEND_MAILMESSAGE and "From" in call.params:
            credential = call.params.get("Credential")
            user = None
            if credential is not None and credential_variable(call.params["From"].text) is not None:
                if credential_users is not None:
                    user = credential_users.get(id(call))
                else:
                    # What the call's finding would hold (scanner.findings.credential_user), for callers without one.
                    script = script or Script(text)
                    user = credential_user(script, call)
            sender = credential_sender(call.params["From"].text, credential.text if credential is not None else "", user)
            offered = from_replacement(call, text, sender) if sender and style is FixStyle.MODULE else None
            if offered is not None and any(offered.start < e.end and e.start < offered.end for e in edits):
                offered = None
            note = credential_from_note(call, code, text, sender, offer=offered is not None)
            if note:
                fix.notes.append(note)
                if offered is not None:
                    unsafe_edits.append(offered)
        wants_bom = False
        if encoding == "utf-8" and ASCII_CHANGE in fix.reason and not text.isascii():
            wants_bom = bomless_utf8(fix, text)
        scope = context if context is not None and style is not FixStyle.INLINE_SDK else None
        plan.edits.append(CallEdit(fix, edits, scope, unsafe_edits, wants_bom))
    return plan


BOM_NOTE = ("--unsafe-fixes also gives the file a UTF-8 BOM (a change of its own, shown on line 1 of the diff), so "
            "that Windows PowerShell 5.1 reads it as UTF-8 and recipients see the real characters there too; review "
            "it: on 5.1 every other non-ASCII string of the script changes as well (to what it says)")
SHEBANG_NOTE = ("the file starts with #!: a BOM before it would stop it running as a program on Linux and macOS, so "
                "none is offered; on Windows PowerShell 5.1, save it as UTF-8 with a BOM or keep its text ASCII")


def bomless_utf8(fix: CallFix, text: str) -> bool:
    """Say what a BOM-less UTF-8 file means on Windows PowerShell 5.1 (issue 23, item 5); whether to offer a BOM.

    5.1 reads a script without a BOM in the ANSI code page (about_Character_Encoding), so a non-ASCII Subject or
    Body is already mojibake when it runs: Send-MailMessage sent it as '?', a Graph send carries the mojibake. The
    reason "recipients see the real characters" holds on PowerShell 7 only; a BOM makes it hold on 5.1 too.
    """
    fix.reason = fix.reason.replace(ASCII_CHANGE, ASCII_CHANGE_BOMLESS)
    if fix.mapping is not None:
        fix.mapping.notes = [note.replace(ASCII_CHANGE, ASCII_CHANGE_BOMLESS) for note in fix.mapping.notes]
    if text.startswith("#!"):
        fix.notes.append(SHEBANG_NOTE)
        return False
    fix.notes.append(BOM_NOTE)
    return True


def patch_text(
    text: str,
    calls: list[MailCall],
    assessments: list[Assessment | None] | None = None,
    style: FixStyle = FixStyle.MODULE,
    unsafe_fixes: bool = False,
    newline: str = "\n",
    judge: PatchJudge | None = None,
    defer_judge: bool = False,
    encoding: str | None = None,
) -> PatchedText:
    """Apply the fixes the options allow to ``text``; the result must parse no worse and keep its structure.

    The judge is tree-sitter unless given. With ``defer_judge`` nothing is checked here: the caller
    judges a whole run at once (:func:`judge_patches`), as the PowerShell judge does. ``encoding``: how the
    text was read (scanner.files.decode), when it came from a file.
    """
    if assessments is None:
        assessments = [assess(call) if call.api not in GRAPH_APIS else None for call in calls]
    plan = plan_fixes(text, calls, assessments, style, newline, encoding=encoding)
    return apply_plan(plan, unsafe_fixes, judge, defer_judge)


def apply_plan(plan: FilePlan, unsafe_fixes: bool = False, judge: PatchJudge | None = None,
               defer_judge: bool = False) -> PatchedText:
    """One application of a plan: the edits ``unsafe_fixes`` allows, judged (unless deferred)."""
    text, style, newline = plan.text, plan.style, plan.newline
    fixes, wanted = plan.chosen(unsafe_fixes)
    result = PatchedText(text, text, fixes, style=style, newline=newline, candidates=wanted)
    if defer_judge:
        result.patched, result.import_added = render(text, wanted, style, newline)
        for item in wanted:
            item.fix.applied = True
        return result

    chosen_judge = judge or TreeSitterJudge("the default judge here")
    if chosen_judge.name.value == "tree-sitter" and wanted and problem_count(render(text, wanted, style, newline, imports=False)[0]) > problem_count(text):
        # One edit at a time: an edit that adds ERROR nodes is refused, the others still go in.
        baseline = problem_count(text)
        accepted: list[CallEdit] = []
        for item in reversed(wanted):
            candidate, _ = render(text, [*accepted, item], style, newline, imports=False)
            if problem_count(candidate) > baseline:
                item.fix.refused = "the rewritten call would not parse cleanly (tree-sitter reports new ERROR/MISSING nodes)"
                continue
            accepted.append(item)
        wanted = accepted
    apply_judged(result, wanted, chosen_judge)
    return result


def apply_judged(result: PatchedText, chosen: list[CallEdit], judge: PatchJudge) -> None:
    """Render ``chosen`` into ``result`` when the judge accepts it, else refuse every one of them."""
    patched, import_added = render(result.original, chosen, result.style, result.newline)
    verdict = judge.judge([(result.original, patched)])[0] if chosen else None
    set_outcome(result, chosen, patched, import_added, verdict.reason if verdict and not verdict.ok else "")


def set_outcome(result: PatchedText, chosen: list[CallEdit], patched: str, import_added: bool, refusal: str) -> None:
    """Record which call edits went in (all of ``chosen``, or none with ``refusal``)."""
    for item in result.candidates:
        item.fix.applied = False
    if refusal or not chosen:
        for item in chosen:
            item.fix.refused = refusal or item.fix.refused
        result.patched, result.import_added = result.original, False
        return
    for item in chosen:
        item.fix.applied = True
        item.fix.refused = ""
    result.patched, result.import_added = patched, import_added


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
    result: PatchedText | None = None
    encoding: str = "utf-8"
    bom: bytes = b""

    @property
    def changed(self) -> bool:
        return self.patched != self.original

    def diff(self, secrets: set[str]) -> str:
        """Unified diff of the change (empty when nothing changes) that `git apply` accepts, secrets kept out.

        The diff is shown on a terminal or saved as a review artefact: a password must not travel
        with it. ``secrets`` are the secret values the analysis found (this file's and the run's).
        Context lines never hold a secret (the context shrinks around them); a secret on a changed
        line is masked, and then that hunk cannot apply (:meth:`diff_applies` says so).
        """
        if not self.changed:
            return ""
        return safe_unified_diff(self.rel, self.text_before, self.text_after, secrets)

    def diff_applies(self, secrets: set[str]) -> bool:
        """False when a secret sits on a changed line or right after one, so the preview cannot `git apply`."""
        if not self.changed:
            return True
        return safe_diff(self.rel, self.text_before, self.text_after, secrets)[1]

    def finish(self) -> None:
        """Encode the judged text back the way the file was read (or say why it cannot be)."""
        result = self.result
        if result is None:
            return
        if not result.changed:
            self.patched, self.text_after = self.original, self.text_before
            return
        try:
            self.patched = encode_text(result.patched, self.encoding, self.bom)
        except UnicodeEncodeError:
            for fix in self.fixes:
                if fix.applied:
                    fix.applied = False
                    fix.refused = f"the rewritten text cannot be written in {self.encoding}"
            self.patched, self.text_after = self.original, self.text_before
            self.error = f"cannot encode the patch in {self.encoding}"
            return
        self.text_after = result.patched


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
    judge: PatchJudge | None = None,
    defer_judge: bool = False,
    assessments: list[Assessment | None] | None = None,
) -> FilePatch:
    """Patch one decoded file; the result's bytes differ from ``raw`` only inside the edits.

    With ``defer_judge`` the file is patched unjudged; :func:`judge_patches` must judge it.
    ``assessments`` (one per call, None for "not assessed") default to each call's own verdict.
    """
    result = patch_text(text, calls, style=style, unsafe_fixes=unsafe_fixes, newline=newline,
                        judge=judge, defer_judge=defer_judge, assessments=assessments, encoding=encoding)
    return file_patch(rel, raw, encoding, bom, result)


def file_patch(rel: str, raw: bytes, encoding: str, bom: bytes, result: PatchedText) -> FilePatch:
    """The file's bytes before and after an application of its plan (``result``, judged or deferred)."""
    text = result.original
    patch = FilePatch(rel, raw, raw, text, text, result.fixes, result=result, encoding=encoding, bom=bom)
    if not result.changed:
        return patch
    if encode_text(text, encoding, bom) != raw:
        for fix in result.fixes:
            if fix.applied:
                fix.applied = False
                fix.refused = f"the file does not round-trip through {encoding} (invalid bytes); fix it by hand"
        result.patched, result.candidates = text, []
        patch.error = f"does not round-trip through {encoding}: not patched"
        return patch
    patch.finish()
    return patch


def judge_patches(patches: list[FilePatch], judge: PatchJudge) -> None:
    """Judge every deferred patch of a run in (at most) three batches, keeping each call edit the judge accepts.

    Batch 1 judges each file with all its edits. For a file the judge refuses, batch 2 tries each
    call edit alone (with the import it needs), and batch 3 judges the edits that passed, together.
    """
    pending = [p for p in patches if p.result is not None and p.result.changed and p.result.candidates]
    if not pending:
        return
    first = judge.judge([(p.text_before, p.result.patched) for p in pending if p.result is not None])
    failing: list[tuple[FilePatch, str]] = []
    for patch, verdict in zip(pending, first):
        if verdict.ok:
            patch.finish()
        else:
            failing.append((patch, verdict.reason))
    if not failing:
        return
    singles: list[tuple[FilePatch, CallEdit, str]] = []
    for patch, _ in failing:
        result = patch.result
        assert result is not None
        for item in result.candidates:
            singles.append((patch, item, render(result.original, [item], result.style, result.newline)[0]))
    second = judge.judge([(patch.text_before, text) for patch, _, text in singles])
    passed: dict[int, list[CallEdit]] = {}
    for (patch, item, _), verdict in zip(singles, second):
        if verdict.ok:
            passed.setdefault(id(patch), []).append(item)
        else:
            item.fix.refused = verdict.reason
    combined: list[tuple[FilePatch, list[CallEdit], str, bool, str]] = []
    for patch, reason in failing:
        result = patch.result
        assert result is not None
        kept = passed.get(id(patch), [])
        for item in result.candidates:
            if item not in kept:
                item.fix.applied = False
                item.fix.refused = item.fix.refused or reason
        if kept:
            text, added = render(result.original, kept, result.style, result.newline)
            combined.append((patch, kept, text, added, reason))
        else:
            set_outcome(result, [], result.original, False, "")
            patch.finish()
    third = judge.judge([(patch.text_before, text) for patch, _, text, _, _ in combined]) if combined else []
    for (patch, kept, text, added, reason), verdict in zip(combined, third):
        result = patch.result
        assert result is not None
        set_outcome(result, kept, text, added, "" if verdict.ok else verdict.reason)
        patch.finish()
