"""Checks one script: the recognizers find its mail calls, each call is assessed, every enabled
rule gives its verdicts and results, and the framework (``scanner.findings``) builds the findings,
masks secrets, fingerprints them and applies the script's suppressions."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Optional

from scanner.assess import assess
from scanner.declared import EstateFacts
from scanner.extract import RECOGNIZERS, Recognizer, may_find
from scanner.findings import (
    LEGACY_APIS,
    apply_suppressions,
    assign_fingerprints,
    call_finding,
    file_mask,
    file_secret_values,
    result_finding,
)
from scanner.fixes import FULL, plan_file
from scanner.migrate.patch import FilePlan
from scanner.migrate.safety import FixStyle
from scanner.model import Api, Assessment, Finding, MailCall, UnusedSuppression
from scanner.masking import SourceMask
from scanner.ruleconfig import RuleConfig
from scanner.rules import FileContext, Rule, RuleResult, Verdict, catalogue
from scanner.script import Script
from scanner.secrets import find_secrets

# Calls that get a verdict: the legacy APIs, and Graph calls (already migrated: "not affected").
ASSESSED_APIS = LEGACY_APIS | {Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL}


def find_calls(script: Script, recognizers: Optional[list[Recognizer]] = None) -> dict[str, list[MailCall]]:
    """The calls each recognizer finds in ``script`` (every recognizer whose tokens it holds, by default)."""
    chosen = RECOGNIZERS if recognizers is None else recognizers
    return {r.name: r.find(script) for r in chosen if may_find(r, script)}


def in_source_order(found: dict[str, list[MailCall]]) -> list[MailCall]:
    calls = [call for calls in found.values() for call in calls]
    calls.sort(key=lambda c: (c.location.start, c.api.value))
    return calls


def calls_in_text(text: str, path: str = "<text>", is_data_file: bool = False) -> list[MailCall]:
    """Every mail call the recognizers find in ``text``, in source order."""
    return in_source_order(find_calls(Script(text, path, is_data_file)))


@dataclass
class FileAnalysis:
    findings: list[Finding] = field(default_factory=list)
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)  # in memory only: never cached, never reported
    # The fix plan of the calls the findings report (suppressed ones left out), when one can be
    # rewritten: the estate judges it and `fix` applies it. In memory only: it holds the text.
    plan: Optional[FilePlan] = None
    # What of the file any output may show (in memory only; the plan's diffs pass through it).
    mask: Optional[SourceMask] = None


def analyze_script(
    script: Script, config: RuleConfig, estate: Optional[EstateFacts] = None, fix_detail: str = FULL,
    fix_style: FixStyle = FixStyle.MODULE,
) -> FileAnalysis:
    """Findings of every enabled rule on one script, with suppressions applied, and the fix plan.

    ``fix_detail``: how much fix material each finding gets (scanner.fixes FULL, DIFF, NONE);
    ``fix_style``: how the plan rewrites the calls (the scan's reports show the module style).
    """
    rules = [r for r in catalogue().values() if config.enabled(r.id, script.path)]
    file_rules = [r for r in rules if r.file_check is not None]
    wanted_apis = {api for r in rules for api in r.apis}
    # A recognizer runs only on a file holding one of its tokens: by its contract (scanner.extract) a
    # file without them cannot hold a call it finds, and most files use one mail API, not seven.
    # Whole-file rules see every call of the file (a secret feeds whichever send it feeds).
    recognizers = [r for r in RECOGNIZERS if file_rules or set(r.apis) & wanted_apis]
    found = find_calls(script, recognizers)
    calls = in_source_order(found)
    analysis = FileAnalysis()
    if not calls and not file_rules:
        return analysis
    secrets = find_secrets(script)
    secret_texts = {script.text[s.start : s.end] for s in secrets}
    findings: list[Finding] = []
    call_findings: list[Finding] = []
    # The findings' calls get their secrets masked; an inline rewrite is built from the call as written.
    written: dict[int, MailCall] = {} if fix_style is FixStyle.MODULE else {id(c): copy.deepcopy(c) for c in calls}
    # Every rule judges the calls as the script writes them; only then are findings built, which mask the
    # calls' bound values in place (a rule must never judge a value another rule's finding masked).
    verdicts: list[tuple[MailCall, Rule, Optional[Assessment], Verdict]] = []
    for call in calls:
        interested = [rule for rule in rules if call.api in rule.apis]
        if not interested:
            continue
        assessment = assess(call, estate or script.estate) if call.api in ASSESSED_APIS else None
        for rule in interested:
            verdict = rule.check(call, assessment)
            if verdict is not None:
                verdicts.append((call, rule, assessment, verdict))
    file_results: list[tuple[Rule, list[RuleResult]]] = []
    if file_rules:
        context = FileContext(script, tuple(calls), {name: tuple(c) for name, c in found.items()}, tuple(secrets))
        for rule in file_rules:
            assert rule.file_check is not None
            file_results.append((rule, list(rule.file_check(context))))
    for call, rule, assessment, verdict in verdicts:
        finding = call_finding(script, rule, call, assessment, verdict, secrets, secret_texts, config)
        findings.append(finding)
        call_findings.append(finding)
    for rule, results in file_results:
        occurrences: dict[str, int] = {}
        findings.extend(result_finding(script, rule, result, secrets, config, occurrences) for result in results)
    analysis.secret_values = file_secret_values(script, secrets)
    # The file's mask (built by the first finding's excerpt; a file without findings needs none).
    mask = analysis.mask = file_mask(script, secrets) if findings else None
    if mask:
        # Mask before anything leaves this function (the cache stores what it returns).
        mask.redactor().redact_tree(findings)
    assign_fingerprints(findings)
    analysis.findings, analysis.unused_suppressions = apply_suppressions(script, findings)
    kept = {id(f) for f in analysis.findings}
    planned = [f for f in call_findings if id(f) in kept]
    if planned:
        analysis.plan = plan_file(script, planned, fix_style, fix_detail, secret_texts, written, secrets)
        if mask is not None and mask:
            mask.redactor().redact_tree([f.fix for f in planned])
    return analysis
