"""The judge of a run's fix plans. What it decides is what every report shows and what `fix` writes.

For every file with a fix it decides whether the file as it is parses (a file PowerShell's parser
rejects gets no safe fix: nothing could check the patch against it) and whether the patch of each
option set (the safe fixes; with --unsafe-fixes the unsafe ones too) parses no worse and keeps the
script's structure.

tree-sitter-powershell judges each file's patches in the worker that analysed it: no new ERROR or
MISSING node, the same param block and named blocks. When pwsh is installed, PowerShell's own
parser decides what tree-sitter cannot: whether a file tree-sitter does not read cleanly (it also
stumbles on about a quarter of valid scripts, GRAMMAR_NOTES.md) parses at all, and every patch
tree-sitter refuses. One pwsh process serves the whole run and reads each such file as soon as a
worker hands it in. ``--judge powershell`` asks PowerShell's parser about every file and patch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from scanner.migrate.diffs import Secrets, safe_diff
from scanner.migrate.judge import JudgeName, PatchJudge, TreeSitterJudge, default_judge
from scanner.migrate.patch import UNSAFE_REFUSAL, CallFix, FilePatch, FilePlan, apply_plan, file_patch, judge_patches, render
from scanner.migrate.syntax import problem_count
from scanner.model import Finding, FixApplicability, FixInfo, PatchView
from scanner.powershell import PowerShellError

# A file patch larger than this is not shown in a report (`fix --out` still writes it).
PATCH_VIEW_MAX = 256 * 1024


class JudgeUnavailable(Exception):
    """The judge asked for cannot run here (PowerShell's parser without pwsh)."""


def choose_judge(choice: str) -> PatchJudge:
    """The judge of a run: "auto" (PowerShell's parser where tree-sitter is unsure, when pwsh is
    installed; else tree-sitter), "powershell" (PowerShell's parser for every file; JudgeUnavailable
    without pwsh) or "tree-sitter"."""
    if choice == "tree-sitter":
        return TreeSitterJudge("chosen with --judge tree-sitter")
    judge = default_judge()
    if choice == "powershell" and judge.name is not JudgeName.POWERSHELL:
        raise JudgeUnavailable("--judge powershell: pwsh (PowerShell 7) is not installed; install it or use --judge auto")
    return judge


def describe(judge: PatchJudge, choice: str) -> str:
    """What the reports and `fix` say decided the patches."""
    if judge.name is JudgeName.POWERSHELL and choice != "powershell":
        return (f"tree-sitter-powershell, and {judge.description} for every file tree-sitter does not read cleanly "
                "and every patch it refuses")
    return judge.description


def rejected_reason(error: str) -> str:
    return (f"PowerShell's parser rejects this file as it is ({error[:160]}), so nothing can check that the patch "
            "parses no worse: review it before applying it")


@dataclass
class PlannedFile:
    """A file whose fix plan the run judges (and `fix` applies): its bytes as read, the plan, and
    the patch of each option set as judged so far."""

    raw: bytes
    encoding: str
    bom: bytes
    plan: FilePlan
    patches: dict[bool, FilePatch] = field(default_factory=dict)  # unsafe_fixes -> the patch it writes
    unclean: bool = True  # tree-sitter does not read the file cleanly: PowerShell's parser says whether it parses
    refused: bool = True  # tree-sitter refused a patch (or did not judge): PowerShell's parser judges the patches
    rejected: str = ""  # the parse error PowerShell's parser reports in the file as it is


def unsafe_present(plan: FilePlan) -> bool:
    return plan.offers_unsafe


def _apply(rel: str, planned: PlannedFile, judge: Optional[PatchJudge], deferred: bool) -> list[FilePatch]:
    """The patch of each option set (the unsafe set only when it differs), judged unless deferred."""
    planned.patches = {}
    made: list[FilePatch] = []
    both = unsafe_present(planned.plan)
    for unsafe_fixes in (False, True) if both else (False,):
        result = apply_plan(planned.plan, unsafe_fixes, judge=judge, defer_judge=deferred)
        patch = file_patch(rel, planned.raw, planned.encoding, planned.bom, result)
        planned.patches[unsafe_fixes] = patch
        made.append(patch)
    if not both:
        planned.patches[True] = planned.patches[False]
    return made


def prejudge(rel: str, planned: PlannedFile, choice: str) -> None:
    """tree-sitter's verdict on one file's patches (in the worker); what it cannot decide is marked
    for PowerShell's parser (unclean, refused)."""
    if choice == "powershell":
        return  # every file and patch goes to PowerShell's parser
    patches = _apply(rel, planned, TreeSitterJudge("in the worker"), deferred=False)
    planned.unclean = problem_count(planned.plan.text) > 0
    planned.refused = any(fix.refused and fix.refused != UNSAFE_REFUSAL for patch in patches for fix in patch.fixes)


def plan_texts(planned: PlannedFile) -> list[str]:
    """What PowerShell's parser reads of a file: the text as it is, and each option set's patch when
    it judges the patches."""
    plan = planned.plan
    texts = [plan.text]
    if not planned.refused:
        return texts
    for unsafe in (False, True):
        chosen = plan.chosen(unsafe)[1]
        if chosen:
            texts.append(render(plan.text, chosen, plan.style, plan.newline)[0])
    return texts


@dataclass
class JudgedFile:
    """One file's judged patches: what `fix` writes, and what `fix --unsafe-fixes` writes."""

    rel: str
    findings: list[Finding]
    planned: PlannedFile

    @property
    def patches(self) -> dict[bool, FilePatch]:
        return self.planned.patches


def needs_powershell(planned: PlannedFile, judge: PatchJudge) -> bool:
    """Whether PowerShell's parser has something to decide in the file: a patch tree-sitter refused,
    or whether a file tree-sitter does not read cleanly parses at all, which changes only its safe
    fixes (a rejected file's safe fixes become unsafe; an unsafe or display-only fix stays as it is).
    A file without either costs no pwsh start."""
    if judge.name is not JudgeName.POWERSHELL:
        return False
    return planned.refused or (planned.unclean and any(fix.applicability is FixApplicability.SAFE for fix in planned.plan.fixes))


def judge_plans(files: list[JudgedFile], judge: PatchJudge) -> tuple[PatchJudge, set[str]]:
    """PowerShell's parser decides the doubtful files (tree-sitter's verdict stands for the others),
    then each finding gets its final fix. Returns the judge that decided (tree-sitter when
    PowerShell's parser failed) and the files whose patches it may have changed here."""
    doubtful = [item for item in files if needs_powershell(item.planned, judge)]
    if doubtful:
        try:
            _powershell(doubtful, judge)
        except PowerShellError as error:
            # pwsh is there but could not judge: tree-sitter rather than unjudged edits.
            judge = TreeSitterJudge(f"PowerShell's parser failed: {error}")
            for item in doubtful:
                item.planned.rejected = ""
                _apply(item.rel, item.planned, judge, deferred=False)
    for item in files:
        _settle(item)
    return judge, {item.rel for item in doubtful}


def _powershell(files: list[JudgedFile], judge: PatchJudge) -> None:
    # The run handed each file's texts in as it came (prepare); the rest go in now.
    judge.prepare([text for item in files for text in plan_texts(item.planned)])
    for item, error in zip(files, judge.rejects([item.planned.plan.text for item in files])):
        item.planned.rejected = error
    patches: list[FilePatch] = []
    for item in files:
        planned = item.planned
        if planned.rejected:
            planned.plan.downgrade(rejected_reason(planned.rejected))
        if planned.refused:
            patches.extend(_apply(item.rel, planned, None, deferred=True))
        elif planned.rejected:
            _apply(item.rel, planned, TreeSitterJudge("in the worker"), deferred=False)  # the safe set changed
    judge_patches(patches, judge)


def _settle(item: JudgedFile) -> None:
    """Each finding's fix as judged: downgraded where the file does not parse, not available where
    the judge refused the edit (or `fix` could not write it)."""
    by_call = {id(fix.call): fix for fix in item.planned.plan.fixes}
    for finding in item.findings:
        planned = by_call.get(id(finding.call)) if finding.call is not None else None
        if planned is None:
            continue
        info = finding.fix
        if item.planned.rejected and info.applicability is FixApplicability.SAFE:
            info.applicability = FixApplicability.UNSAFE
            info.reason = f"{rejected_reason(item.planned.rejected)}; {info.reason}"
        if not info.available:
            continue
        applied = _applied(item.patches[info.applicability is FixApplicability.UNSAFE], planned)
        if applied is None or not applied.applied:
            why = (applied.refused if applied is not None else "") or "the judge refused the patch"
            finding.fix = FixInfo(False, FixApplicability.DISPLAY_ONLY, f"no automatic rewrite: {why}",
                                  info.graph_request, info.notes, info.snippet, None)


def _applied(patch: FilePatch, planned: CallFix) -> Optional[CallFix]:
    return next((fix for fix in patch.fixes if fix.call is planned.call), None)


def patch_views(item: JudgedFile, secrets: Secrets) -> list[PatchView]:
    """What a report shows of the file's patches: the safe one, and the one with the unsafe fixes
    when it differs (each a diff with every secret value masked)."""
    views: list[PatchView] = []
    by_call = {id(finding.call): finding for finding in item.findings if finding.call is not None}
    sets = [False, True] if item.patches[True] is not item.patches[False] else [False]
    for unsafe_fixes in sets:
        patch = item.patches[unsafe_fixes]
        if not patch.changed:
            continue
        diff: Optional[str]
        diff, applies = safe_diff(patch.rel, patch.text_before, patch.text_after, secrets)  # one diff, not two
        if diff is not None and len(diff) > PATCH_VIEW_MAX:
            diff = None
        prints = [by_call[id(fix.call)].fingerprint for fix in patch.fixes if fix.applied and id(fix.call) in by_call]
        views.append(PatchView(item.rel, unsafe_fixes, diff, applies, prints))
    return views
