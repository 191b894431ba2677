"""Helpers shared by the whole-file rules (SEC001–SEC004, GRAPH002, GRAPH003, GRAPH005).

A whole-file rule reports a place that is not a mail call (a secret literal, a ConvertTo-Json),
so it builds its findings here the way the engine builds call findings: masked snippet and
context, a fingerprint without line numbers, severity overrides from the configuration.
"""

from __future__ import annotations

import functools
import re
import weakref
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from scanner.model import Confidence, Finding, Location, MailCall, RelatedLocation, Severity

CONTEXT_LINES = 3

# Where a script asks Entra ID (or a library that does) for a token.
_TOKEN_REQUEST = re.compile(
    r"(?i)login\.microsoftonline\.(?:com|us)|login\.partner\.microsoftonline\.cn|/oauth2(?:/v2\.0)?/token|"
    r"Connect-MgGraph\b|Get-MsalToken\b|AcquireTokenForClient\b|ConfidentialClientApplication"
)


@dataclass(frozen=True)
class Sink:
    """Something a secret can feed: a mail send or a token request, and the code that makes it up."""

    start: int
    end: int
    what: str
    references: str  # source text whose variables feed the sink (the call, its bound parameters)


def mail_calls(script: Any) -> list[MailCall]:
    """Every mail call of every recognizer in the script (whole-file rules need them all)."""
    from scanner.extract import RECOGNIZERS

    calls: list[MailCall] = []
    for recognizer in RECOGNIZERS:
        calls.extend(recognizer.find(script))
    return sorted(calls, key=lambda c: c.location.start)


def token_requests(script: Any) -> list[Sink]:
    """Token requests to Entra ID in code (not in comments), each with the statement that makes it."""
    found: list[Sink] = []
    assignments = _assignments(script)
    for m in _TOKEN_REQUEST.finditer(script.text):
        if _in_comment(script, m.start()):
            continue
        covering = [a for a in assignments if a.value_start <= m.start() < a.value_end]
        if covering:
            start, end = covering[-1].value_start, covering[-1].value_end
            # `$tokenUri = 'https://login…/token'`: the request is made where $tokenUri is used.
            pattern = re.compile(r"(?i)\$(?:script:|global:)?" + re.escape(covering[-1].target) + r"(?![\w])")
            for use in pattern.finditer(script.code):
                ustart, uend = _statement(script, use.start())
                if not (ustart <= start < uend):  # not the assignment itself
                    found.append(Sink(ustart, uend, "a Graph/Entra token request", script.text[ustart:uend]))
        else:
            start, end = _statement(script, m.start())
        found.append(Sink(start, end, "a Graph/Entra token request", script.text[start:end]))
    return found


def _in_comment(script: Any, offset: int) -> bool:
    return any(s <= offset < e for s, e in script.structure.masked.comments)


def _statement(script: Any, offset: int) -> tuple[int, int]:
    from scanner.structure import statement_end

    code = script.code
    start = max(code.rfind("\n", 0, offset), code.rfind(";", 0, offset)) + 1
    return start, statement_end(script.structure, offset)


_SINKS: "weakref.WeakKeyDictionary[Any, list[Sink]]" = weakref.WeakKeyDictionary()
_ASSIGNMENTS: "weakref.WeakKeyDictionary[Any, list[_Assignment]]" = weakref.WeakKeyDictionary()


def sinks(script: Any, calls: Optional[list[MailCall]] = None) -> list[Sink]:
    """Mail sends and token requests of the script, in text order (computed once per script)."""
    if calls is None:
        cached = _SINKS.get(script)
        if cached is None:
            cached = _sinks(script, mail_calls(script))
            _SINKS[script] = cached
        return cached
    return _sinks(script, calls)


def _sinks(script: Any, calls: list[MailCall]) -> list[Sink]:
    out: list[Sink] = []
    for call in calls:
        if not call.sent:
            continue
        start, end = call.call_span if call.call_span[1] > call.call_span[0] else (call.location.start, call.location.end)
        references = script.text[start:end] + "\n" + "\n".join(b.text for b in call.params.values())
        out.append(Sink(start, end, f"the {call.api.value} send ({call.command})", references))
    out.extend(token_requests(script))
    return sorted(out, key=lambda s: s.start)


@dataclass(frozen=True)
class _Assignment:
    target: str  # lower-case variable name (the base of `$a.b = …` too)
    value_start: int
    value_end: int


_ASSIGNMENT = re.compile(r"(?i)(?<![\w$])\$(?:script:|global:|local:)?(\w+)(?:\.\w+)*[ \t]*[+]?=(?!=)")


def _assignments(script: Any) -> list[_Assignment]:
    from scanner.analysis.literals import skip_spaces
    from scanner.structure import assigned_value_extent

    cached = _ASSIGNMENTS.get(script)
    if cached is not None:
        return cached
    out: list[_Assignment] = []
    for m in _ASSIGNMENT.finditer(script.code):
        start, end = assigned_value_extent(script.structure, skip_spaces(script.text, m.end()))
        out.append(_Assignment(m.group(1).lower(), start, end))
    _ASSIGNMENTS[script] = out
    return out


def _references(text: str, names: set[str]) -> bool:
    """Whether ``text`` uses any of the variables ``names``: one compiled alternation per set of names."""
    return bool(names) and _reference_pattern(frozenset(names)).search(text) is not None


@functools.lru_cache(maxsize=256)
def _reference_pattern(names: frozenset[str]) -> "re.Pattern[str]":
    alternation = "|".join(re.escape(n) for n in sorted(names))
    return re.compile(r"(?i)\$(?:\{)?(?:script:|global:|local:)?(?:" + alternation + r")(?![\w])")


def feeding_sink(script: Any, start: int, end: int, targets: list[Sink]) -> Optional[Sink]:
    """The sink a secret literal at ``[start, end)`` flows into, following variables, or None.

    The literal feeds a sink when it is written inside it, or when a variable assigned from it
    (directly or through further assignments, `$client.Credentials = $cred` included) is used by it.
    """
    inside = next((t for t in targets if t.start <= start < t.end), None)
    if inside is not None:
        return inside
    assignments = _assignments(script)
    tainted = {a.target for a in assignments if a.value_start <= start < a.value_end}
    for _ in range(8):
        grown = set(tainted)
        for a in assignments:
            if a.target not in grown and _references(script.text[a.value_start : a.value_end], tainted):
                grown.add(a.target)
        if grown == tainted:
            break
        tainted = grown
    if not tainted:
        return None
    return next((t for t in targets if _references(t.references, tainted)), None)


def _related(script: Any, offset: int, role: str) -> RelatedLocation:
    line, column = script.structure.line_col(offset)
    return RelatedLocation(script.path, int(line), int(column), role)


def file_finding(
    script: Any,
    rule: Any,
    start: int,
    end: int,
    message: str,
    severity: Severity,
    confidence: Confidence,
    secrets: Sequence[Any],
    config: Any,
    occurrences: dict[str, int],
    related: Sequence[tuple[int, str]] = (),
    call: Optional[MailCall] = None,
) -> Finding:
    """A finding at ``[start, end)`` of ``script`` with every secret literal masked."""
    from scanner.engine import fingerprint_of, normalized_text
    from scanner.secrets import redact

    from scanner.engine import excerpt

    structure = script.structure
    location = script.location(start, end)
    snippet = "\n".join(excerpt(script, location.line, location.end_line, (start, end), secrets)).strip()
    first = max(1, location.line - CONTEXT_LINES)
    last = min(len(structure.line_starts), location.end_line + CONTEXT_LINES)
    context = excerpt(script, first, last, (start, end), secrets)
    if call is not None:
        from scanner.secrets import redact_value

        texts = {script.text[s.start : s.end] for s in secrets}
        for bound in call.params.values():
            bound.text = redact_value(bound.text, texts)
    key = normalized_text(snippet)
    index = occurrences.get(rule.id + key, 0)
    occurrences[rule.id + key] = index + 1
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=config.severity(rule.id, severity),
        confidence=confidence,
        location=Location(location.path, location.line, location.column, location.end_line, location.end_column, location.start, location.end),
        message=message,
        snippet=snippet,
        call=call,
        related=[_related(script, offset, role) for offset, role in related],
        fingerprint=fingerprint_of(rule.id, script.path, key, index),
        context_start_line=first,
        context_lines=context,
    )


# --------------------------------------------------------------------------- secrets (SEC001–SEC004)

SEC_PLAINTEXT_SECURESTRING = "SEC001"
SEC_LITERAL_PASSWORD = "SEC002"
SEC_BASE64_PASSWORD = "SEC003"
SEC_CLIENT_SECRET = "SEC004"

_TOKEN_NAMES = re.compile(r"(?i)secret|token|apikey|api_key|assertion")
_NOT_A_SECRET = re.compile(r"""(?i)^['"](?:https?://|<[^>]*>$|\*+['"]$|\$)""")


def _fed_to_securestring(script: Any, name: str, after: int) -> bool:
    variable = re.escape(name.lstrip("$").split(":")[-1])
    pattern = re.compile(r"(?i)ConvertTo-SecureString\b[^\r\n|;]*?\$(?:script:|global:)?" + variable + r"\b[^\r\n|;]*-AsPlainText|ConvertTo-SecureString\b[^\r\n|;]*-AsPlainText[^\r\n|;]*?\$(?:script:|global:)?" + variable + r"\b")
    return pattern.search(script.code, after) is not None


def secret_rule_id(script: Any, secret: Any) -> Optional[str]:
    """Which SEC rule a secret literal belongs to (None: not a secret after all, e.g. a URL)."""
    from scanner.secrets import SecretKind

    value = script.text[secret.start : secret.end]
    if _NOT_A_SECRET.match(value) or len(value.strip("'\"")) < 3:
        return None
    kind = secret.kind
    if kind is SecretKind.BASE64:
        return SEC_BASE64_PASSWORD
    if kind is SecretKind.SECURESTRING_PLAINTEXT:
        return SEC_PLAINTEXT_SECURESTRING
    if kind is SecretKind.CLIENT_SECRET:
        return SEC_CLIENT_SECRET
    if kind is SecretKind.NAMED_VARIABLE:
        if secret.name.startswith("$") and _fed_to_securestring(script, secret.name, secret.end):
            return SEC_PLAINTEXT_SECURESTRING
        return SEC_CLIENT_SECRET if _TOKEN_NAMES.search(secret.name) else SEC_LITERAL_PASSWORD
    if kind is SecretKind.PARAMETER:
        return SEC_LITERAL_PASSWORD if secret.name.lower().lstrip("-") == "password" else SEC_CLIENT_SECRET
    return SEC_LITERAL_PASSWORD  # credential constructors, CDO sendpassword, MailKit Authenticate


_WHAT = {
    SEC_PLAINTEXT_SECURESTRING: "a literal password turned into a SecureString with ConvertTo-SecureString -AsPlainText",
    SEC_LITERAL_PASSWORD: "a literal password",
    SEC_BASE64_PASSWORD: "a base64-encoded literal used as a password (base64 is an encoding, not encryption)",
    SEC_CLIENT_SECRET: "a literal client secret or token",
}


def secret_findings(rule: Any, script: Any, secrets: list[Any], config: Any) -> list[Finding]:
    """Findings of one SEC rule: secret literals of its kind in a script that sends mail or requests a token."""
    mine = [s for s in secrets if secret_rule_id(script, s) == rule.id]
    if not mine:
        return []
    targets = sinks(script)
    if not targets:
        return []  # a password for something else is not this tool's business
    occurrences: dict[str, int] = {}
    findings: list[Finding] = []
    for secret in mine:
        from scanner.secrets import SecretKind

        sink = feeding_sink(script, secret.start, secret.end, targets)
        if sink is None and secret.kind is SecretKind.MAIL_PASSWORD:
            sink = next((t for t in targets if t.start > secret.start), targets[-1])  # a mail API's own password field
        if sink is None:
            continue  # a password for something else (New-LocalUser, a web site) is not this tool's business
        holder = secret.name if secret.name[:1] in "$-" or secret.name.isidentifier() else ""
        where = f" ({holder} = '***')" if holder else " (shown as '***')"
        message = (
            f"{_WHAT[rule.id][0].upper()}{_WHAT[rule.id][1:]} is written in the script{where}; this file uses it for "
            f"{sink.what} (line {script.line_of(sink.start)}). Anyone who can read the script or its history has it. "
            "Use a certificate or managed identity, or read the secret from SecretManagement / an environment variable, and rotate this one."
        )
        findings.append(
            file_finding(script, rule, secret.start, secret.end, message, rule.severity, Confidence.HIGH, secrets, config, occurrences, [(sink.start, "sink")])
        )
    return findings
