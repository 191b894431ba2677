"""Helpers shared by the secret rules (SEC001–SEC004): the sinks a secret can feed (the file's mail
sends, which the engine found, and its token requests) and which rule a secret literal belongs to."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from scanner.analysis.literals import skip_spaces
from scanner.model import Confidence, MailCall
from scanner.rules import FileContext, Rule, RuleResult
from scanner.script import Script
from scanner.secrets import SecretKind, SecretLiteral
from scanner.structure import assigned_value_extent, statement_end

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


def token_requests(script: Script) -> list[Sink]:
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


def _in_comment(script: Script, offset: int) -> bool:
    return any(s <= offset < e for s, e in script.structure.masked.comments)


def _statement(script: Script, offset: int) -> tuple[int, int]:
    code = script.code
    start = max(code.rfind("\n", 0, offset), code.rfind(";", 0, offset)) + 1
    return start, statement_end(script.structure, offset)


def sinks(context: FileContext) -> list[Sink]:
    """Mail sends and token requests of the script, in text order (computed once per script: every
    secret rule asks)."""
    cached = context.script.memo.get("secret-sinks")
    if cached is None:
        cached = context.script.memo["secret-sinks"] = _sinks(context.script, context.calls)
    assert isinstance(cached, list)
    return cached


def _sinks(script: Script, calls: tuple[MailCall, ...]) -> list[Sink]:
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


def _assignments(script: Script) -> list[_Assignment]:
    cached = script.memo.get("secret-assignments")
    if cached is not None:
        assert isinstance(cached, list)
        return cached
    out: list[_Assignment] = []
    for m in _ASSIGNMENT.finditer(script.code):
        start, end = assigned_value_extent(script.structure, skip_spaces(script.text, m.end()))
        out.append(_Assignment(m.group(1).lower(), start, end))
    script.memo["secret-assignments"] = out
    return out


def _references(text: str, names: set[str]) -> bool:
    """Whether ``text`` uses any of the variables ``names``: one compiled alternation per set of names."""
    return bool(names) and _reference_pattern(frozenset(names)).search(text) is not None


@functools.lru_cache(maxsize=256)
def _reference_pattern(names: frozenset[str]) -> "re.Pattern[str]":
    alternation = "|".join(re.escape(n) for n in sorted(names))
    return re.compile(r"(?i)\$(?:\{)?(?:script:|global:|local:)?(?:" + alternation + r")(?![\w])")


def feeding_sink(script: Script, start: int, end: int, targets: list[Sink]) -> Optional[Sink]:
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


# --------------------------------------------------------------------------- secrets (SEC001–SEC004)

SEC_PLAINTEXT_SECURESTRING = "SEC001"
SEC_LITERAL_PASSWORD = "SEC002"
SEC_BASE64_PASSWORD = "SEC003"
SEC_CLIENT_SECRET = "SEC004"

_TOKEN_NAMES = re.compile(r"(?i)secret|token|apikey|api_key|assertion")
_NOT_A_SECRET = re.compile(r"""(?i)^['"](?:https?://|<[^>]*>$|\*+['"]$|\$)""")


def _fed_to_securestring(script: Script, name: str, after: int) -> bool:
    variable = re.escape(name.lstrip("$").split(":")[-1])
    pattern = re.compile(r"(?i)ConvertTo-SecureString\b[^\r\n|;]*?\$(?:script:|global:)?" + variable + r"\b[^\r\n|;]*-AsPlainText|ConvertTo-SecureString\b[^\r\n|;]*-AsPlainText[^\r\n|;]*?\$(?:script:|global:)?" + variable + r"\b")
    return pattern.search(script.code, after) is not None


def secret_rule_id(script: Script, secret: SecretLiteral) -> Optional[str]:
    """Which SEC rule a secret literal belongs to (None: not a secret after all, e.g. a URL)."""
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


def secret_results(rule: Rule, context: FileContext) -> list[RuleResult]:
    """Results of one SEC rule: secret literals of its kind in a script that sends mail or requests a token."""
    script = context.script
    mine = [s for s in context.secrets if secret_rule_id(script, s) == rule.id]
    if not mine:
        return []
    targets = sinks(context)
    if not targets:
        return []  # a password for something else is not this tool's business
    results: list[RuleResult] = []
    for secret in mine:
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
        results.append(RuleResult(secret.start, secret.end, message, rule.severity, Confidence.HIGH, ((sink.start, "sink"),)))
    return results
