"""The framework that turns what a rule says into Findings: the masked snippet and excerpt, the
fingerprint (no line numbers), the configured severity, suppressions, the sender and credential
user of a call. Rules return verdicts (per call) and RuleResults (whole file); only this module
builds a Finding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from scanner.analysis.literals import constructor_arguments, literal_or_none
from scanner.analysis.resolve import resolve_variable
from scanner.model import Api, Assessment, BoundParam, Finding, Location, MailCall, UnusedSuppression
from scanner.ruleconfig import RuleConfig
from scanner.safetext import CLIP_MARK as _CLIP_MARK, LINE_MAX
from scanner.rules import Rule, RuleResult, Verdict
from scanner.rules.sec_support import secret_rule_id
from scanner.script import Script
from scanner.masking import SourceMask, harmless, role_of_name, source_mask
from scanner.redact import MASK
from scanner.secrets import SecretLiteral, find_secrets, redact_value, secret_values

LEGACY_APIS = {Api.SEND_MAILMESSAGE, Api.SMTPCLIENT, Api.MAILKIT, Api.CDO, Api.SYSTEM_WEB_MAIL, Api.OUTLOOK_COM, Api.EWS, Api.NATIVE_SMTP, Api.PNP_MAIL}
CONTEXT_LINES = 3
SNIPPET_MAX_LINES = 20


def file_secret_values(script: Script, secrets: Optional[Sequence[SecretLiteral]] = None) -> set[str]:
    """Every secret value of one script: what reaches a credential sink, and each literal a SEC rule reports."""
    values = set(secret_values(script))
    for secret in find_secrets(script) if secrets is None else secrets:
        if secret_rule_id(script, secret) is not None:
            literal = script.text[secret.start : secret.end]
            values.add(literal[1:-1] if len(literal) >= 2 and literal[0] in "'\"" and literal[-1] in "'\"" else literal)
    return {v for v in values if len(v.strip()) >= 3}


def file_mask(script: Script, secrets: Optional[Sequence[SecretLiteral]] = None) -> SourceMask:
    """The mask every piece of ``script``'s text passes through before it leaves the scanner
    (scanner.masking), with the literals the SEC rules report (computed once per script)."""
    memo = script.memo.get("file_mask")
    if isinstance(memo, SourceMask):
        return memo
    literals = list(find_secrets(script) if secrets is None else secrets)
    mask = source_mask(script, file_secret_values(script, literals), [(s.start, s.end) for s in literals])
    script.memo["file_mask"] = mask
    return mask


def assign_fingerprints(findings: list[Finding]) -> None:
    """Fingerprints of one file's findings, from their (masked) snippets: rule, path, text and occurrence."""
    occurrences: dict[tuple[str, str], int] = {}
    for finding in findings:
        key = (finding.rule, normalized_text(finding.snippet))
        index = occurrences.get(key, 0)
        occurrences[key] = index + 1
        finding.fingerprint = fingerprint_of(finding.rule, finding.location.path, key[1], index)


_SUPPRESSION = re.compile(r"#\s*smtp2graph:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?", re.I)


@dataclass
class _Suppression:
    line: int
    rules: tuple[str, ...]  # empty: every rule
    used: bool = False


def _suppressions(script: Script) -> list[_Suppression]:
    found = []
    for start, end in script.structure.masked.comments:
        for m in _SUPPRESSION.finditer(script.text, start, end):
            rules = tuple(r.strip().upper() for r in (m.group(1) or "").split(",") if r.strip())
            found.append(_Suppression(script.line_of(m.start()), rules))
    return found


def apply_suppressions(script: Script, findings: list[Finding]) -> tuple[list[Finding], list[UnusedSuppression]]:
    """The findings no `# smtp2graph: ignore[...]` comment of the script suppresses, and the comments
    that suppressed nothing (reported, so stale ones get removed)."""
    suppressions = _suppressions(script)
    if not suppressions:
        return findings, []
    kept = []
    for finding in findings:
        line = finding.location.line
        hit = next(
            (s for s in suppressions if s.line in (line, line - 1) and (not s.rules or finding.rule.upper() in s.rules)),
            None,
        )
        if hit is not None:
            hit.used = True
            continue
        kept.append(finding)
    return kept, [UnusedSuppression(script.path, s.line, s.rules) for s in suppressions if not s.used]


def normalized_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def fingerprint_of(rule: str, path: str, normalized: str, index: int) -> str:
    """Stable across unrelated edits: no line numbers, only the rule, file, call text and its occurrence."""
    return hashlib.sha256(f"{rule}\0{path}\0{normalized}\0{index}".encode("utf-8", "surrogatepass")).hexdigest()


_ADDRESS = re.compile(r"<?([^\s<>'\"]+@[^\s<>'\"]+?)>?$")


def sender_address(call: MailCall) -> Optional[str]:
    """The static sender mailbox (address part, lower-case), if the script shows it."""
    text = call.static_text("From")
    if not text:
        return None
    m = _ADDRESS.search(text.strip())
    return m.group(1).lower() if m else None


_CRED_USER = re.compile(r"(?i)-UserName\s+['\"]?([^\s'\"]+)")


def credential_user(script: Script, call: MailCall) -> Optional[str]:
    """The user name of the call's credential when the file builds it from a literal (or a variable holding one)."""

    bound = call.params.get("Credential")
    if bound is None:
        return None
    text = bound.text
    m = re.fullmatch(r"\$(?:script:|global:)?([\w]+)", text.strip())
    if m:
        found = resolve_variable(script, m.group(1), call.location.start)
        text = found.text if found is not None else ""
    user: Optional[str] = None
    arguments = constructor_arguments(re.sub(r"(?i)\.GetNetworkCredential\(\)$", "", text.strip()))
    if arguments:  # New-Object PSCredential('user', $pw) / [Net.NetworkCredential]::new($user, $pw)
        first = arguments[0].strip()
        user = literal_or_none(first)
        variable = re.fullmatch(r"\$(?:script:|global:)?([\w]+)", first)
        if user is None and variable:
            found = resolve_variable(script, variable.group(1), call.location.start)
            user = found.value if found is not None and isinstance(found.value, str) else None
    else:
        um = _CRED_USER.search(text)
        user = um.group(1) if um else None
    return user.lower() if user and "$" not in user else None





def excerpt(script: Script, first: int, last: int, focus: tuple[int, int], secrets: Sequence[SecretLiteral]) -> list[str]:
    """Lines ``first``..``last`` (1-based) through the file's mask, each long line clipped around ``focus`` (offsets)."""
    structure = script.structure
    text = script.text
    starts = structure.line_starts
    mask = file_mask(script, secrets)
    out: list[str] = []
    for number in range(first, last + 1):
        start = starts[number - 1]
        end = starts[number] if number < len(starts) else len(text)
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        out.append(_clipped(text, start, end, focus, mask.slice))
    return out


def _clipped(text: str, start: int, end: int, focus: tuple[int, int], masked: Callable[[str, int, int], str]) -> str:
    if end - start <= LINE_MAX:
        return masked(text, start, end)
    if focus[1] > start and focus[0] < end:  # the line holds the finding: a window around it
        lo = max(start, focus[0] - LINE_MAX // 3)
        hi = min(end, max(focus[1], focus[0]) + LINE_MAX // 3)
        hi = min(hi, lo + LINE_MAX * 2)
    else:
        lo, hi = start, start + LINE_MAX
    body = masked(text, lo, hi)
    return (_CLIP_MARK if lo > start else "") + body + (_CLIP_MARK if hi < end else "")


def _mask_where_written(script: Script, mask: SourceMask, bound: BoundParam, span: tuple[int, int]) -> None:
    """A bound parameter's text as the mask shows it where the script writes it (in the call, else on its
    line: a splat's key), by position like the snippet; its static value goes with it when masked."""
    text = script.text
    where = text.find(bound.text, span[0], span[1]) if bound.text else -1
    if where < 0 and bound.line >= 1 and bound.text:
        starts = script.structure.line_starts
        if bound.line <= len(starts):
            line_start = starts[bound.line - 1]
            line_end = starts[bound.line] if bound.line < len(starts) else len(text)
            where = text.find(bound.text, line_start, line_end)
    if where < 0:
        return  # not written as such (a default, a value from a configuration file): masked by value
    shown = mask.slice(text, where, where + len(bound.text))
    if shown != bound.text:
        written, bound.text = bound.text, shown

        def hidden(value: str) -> bool:
            # Written there (a literal the mask hides), or a value the mask hides elsewhere; a value followed
            # from a variable to a literal shown where it stands (`$subject` in a masked here-string) stays.
            if any(secret in value for secret in mask.secrets):
                return True
            if harmless(role_of_name(bound.name), value):
                return False  # an address as To, a host as SmtpServer, a subject as Subject
            return bool(value) and (value in written or value.strip() in mask.literals)

        if isinstance(bound.value, str) and hidden(bound.value):
            bound.value = MASK
        elif isinstance(bound.value, list):
            bound.value = [MASK if isinstance(v, str) and hidden(v) else v for v in bound.value]


def call_finding(
    script: Script, rule: Rule, call: MailCall, assessment: Optional[Assessment], verdict: Verdict,
    secrets: list[SecretLiteral], secret_texts: set[str], config: RuleConfig,
) -> Finding:
    """The finding of a rule's verdict on one call: masked snippet, parameters and excerpt (its fix comes
    from the file's fix plan, scanner.fixes)."""
    start, end = call.call_span
    if end <= start:
        start, end = call.location.start, call.location.end
    mask = file_mask(script, secrets)
    if end - start > LINE_MAX * SNIPPET_MAX_LINES:
        snippet_lines = mask.slice(script.text, start, start + LINE_MAX * SNIPPET_MAX_LINES).splitlines() + ["…"]
    else:
        snippet_lines = mask.slice(script.text, start, end).splitlines()
    snippet_lines = [line if len(line) <= LINE_MAX else line[:LINE_MAX] + _CLIP_MARK for line in snippet_lines]
    snippet = "\n".join(snippet_lines[:SNIPPET_MAX_LINES]) + ("\n…" if len(snippet_lines) > SNIPPET_MAX_LINES else "")
    for bound in call.params.values():
        _mask_where_written(script, mask, bound, (start, end))
        bound.text = redact_value(bound.text, secret_texts)
        if isinstance(bound.value, str) and bound.value in {t.strip("'\"") for t in secret_texts}:
            bound.value = "***"
    mask.redactor().redact_tree(call.params)
    first = max(1, call.location.line - CONTEXT_LINES)
    last = min(len(script.structure.line_starts), call.location.end_line + CONTEXT_LINES)
    context = excerpt(script, first, last, (start, end), secrets)
    related = list(call.related)
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=config.severity(rule.id, verdict.severity),
        confidence=verdict.confidence or call.confidence,
        location=call.location,
        message=verdict.message,
        snippet=snippet,
        call=call,
        assessment=assessment,
        related=related,
        context_start_line=first,
        context_lines=context,
        sender=sender_address(call),
        credential_user=credential_user(script, call),
    )


def result_finding(
    script: Script, rule: Rule, result: RuleResult, secrets: list[SecretLiteral], config: RuleConfig, occurrences: dict[str, int],
) -> Finding:
    """The finding of a whole-file rule's result at ``[start, end)`` of ``script``, every secret literal masked.

    ``occurrences`` counts the rule's results of this file with the same text (the fingerprint's index).
    """
    structure = script.structure
    location = script.location(result.start, result.end)
    focus = (result.start, result.end)
    snippet = "\n".join(excerpt(script, location.line, location.end_line, focus, secrets)).strip()
    first = max(1, location.line - CONTEXT_LINES)
    last = min(len(structure.line_starts), location.end_line + CONTEXT_LINES)
    context = excerpt(script, first, last, focus, secrets)
    if result.call is not None:
        texts = {script.text[s.start : s.end] for s in secrets}
        mask = file_mask(script, secrets)
        for bound in result.call.params.values():
            _mask_where_written(script, mask, bound, result.call.call_span)
            bound.text = redact_value(bound.text, texts)
        mask.redactor().redact_tree(result.call.params)
    key = normalized_text(snippet)
    index = occurrences.get(rule.id + key, 0)
    occurrences[rule.id + key] = index + 1
    related = script.related(result.related)
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=config.severity(rule.id, result.severity),
        confidence=result.confidence,
        location=Location(location.path, location.line, location.column, location.end_line, location.end_column, location.start, location.end),
        message=result.message,
        snippet=snippet,
        call=result.call,
        related=related,
        fingerprint=fingerprint_of(rule.id, script.path, key, index),
        context_start_line=first,
        context_lines=context,
    )
