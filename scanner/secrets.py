"""Secret literals in a script (passwords, client secrets, tokens) and how to mask them in any output.

Every piece of source text that leaves the scanner (snippets, context lines, bound parameter text)
goes through ``redact`` so that no secret written in a script reaches a report, a log or a patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from scanner.extract.commands import CommandSpec, ParameterSpec, bind_arguments, find_command_sites, lex_call
from scanner.extract.objects import find_constructions
from scanner.lexer import SINGLE_QUOTES, DOUBLE_QUOTES
from scanner.resolve import skip_spaces
from scanner.script import Script
from scanner.structure import assigned_value_extent

MASK = "***"


class SecretKind(str, Enum):
    SECURESTRING_PLAINTEXT = "securestring-plaintext"  # ConvertTo-SecureString 'x' -AsPlainText
    CREDENTIAL_PASSWORD = "credential-password"  # NetworkCredential('u', 'x')
    NAMED_VARIABLE = "named-variable"  # $password = 'x'
    CLIENT_SECRET = "client-secret"  # client_secret = 'x' / client_secret=x in a body
    PARAMETER = "parameter"  # -Password 'x', -ClientSecret 'x'
    BASE64 = "base64"  # [Convert]::FromBase64String('…') used as a password
    MAIL_PASSWORD = "mail-password"  # CDO sendpassword field, MailKit .Authenticate('u', 'x')


@dataclass(frozen=True)
class SecretLiteral:
    start: int
    end: int
    kind: SecretKind
    name: str  # the variable, parameter or key that holds it


_CONVERT_SPEC = CommandSpec(
    "ConvertTo-SecureString",
    (
        ParameterSpec("String", position=0),
        ParameterSpec("AsPlainText", switch=True),
        ParameterSpec("Force", switch=True),
        ParameterSpec("Key"),
        ParameterSpec("SecureKey"),
    ),
)
# Searched on the lower-cased code: a case-insensitive regex that may start at any word is the
# slowest thing a scan can do.
_SECRET_WORD = re.compile(r"password|passwd|pwd|secret|token|apikey|api_key|passphrase|pass\b|pass(?=[ \t'\"]*=)|pw\b|pw(?=[ \t'\"]*=)")
_WORD_CHARS = re.compile(r"\w*")
_ASSIGNED = re.compile(r"['\"]?[ \t]*=(?!=)")
_SCOPE = re.compile(r"\$(?:script:|global:|env:)?$")
_DESCRIBES_A_SECRET = re.compile(
    r"(?i)(?:name|names|path|file|url|uri|endpoint|id|variable|var|env|vault|store|length|expiry|expires|type|header)$"
)
_SECRET_PARAMETER = re.compile(r"(?i)(?<![\w])-(Password|ClientSecret|Secret|AccessToken|Token|ApiKey)(?::)?[ \t]+")
_CLIENT_SECRET_IN_STRING = re.compile(r"(?i)(client_secret|password|access_token|refresh_token|client_assertion)=([^&\s'\"`]+)")
_QUOTES = SINGLE_QUOTES + DOUBLE_QUOTES
# CDO / System.Web.Mail: Fields.Item('…/sendpassword').Value = 'x', Fields['…/sendpassword'] = 'x', Fields.Add('…/sendpassword', 'x')
_CDO_PASSWORD = re.compile(r"(?i)cdo/configuration/sendpassword['\"][ \t]*(?:[)\]][ \t]*(?:\.Value[ \t]*)?=(?!=)|,)[ \t]*")
_AUTHENTICATE = re.compile(r"(?i)\.Authenticate(?:Async)?[ \t]*\(")


def _is_quoted_literal(text: str) -> bool:
    t = text.strip()
    if len(t) < 2 or t[0] not in _QUOTES:
        return False
    if t[0] in DOUBLE_QUOTES and "$" in t:
        return False  # "$env:X" and "$pw" are references, not secrets
    return t[-1] in _QUOTES


def _literal_span(script: Script, start: int, end: int) -> tuple[int, int] | None:
    text = script.text
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    segment = text[start:end]
    if _is_quoted_literal(segment) and len(segment) > 2:
        return start, end
    m = re.search(r"(?i)FromBase64String\(\s*(['\"][^'\"]+['\"])\s*\)", segment)
    if m:
        return start + m.start(1), start + m.end(1)
    return None


def _variable_literal(script: Script, start: int, end: int) -> tuple[int, int] | None:
    """The literal a `$variable` password argument was assigned, whatever the variable's name."""
    from scanner.resolve import resolve_variable

    m = re.fullmatch(r"\$(?:script:|global:|local:)?(\w+)", script.text[start:end].strip())
    if m is None:
        return None
    found = resolve_variable(script, m.group(1), start)
    if found is None:
        return None
    return _literal_span(script, found.start, found.start + len(found.text))


def _named_assignments(script: Script) -> list[tuple[str, bool, int]]:
    """(name, is a $variable, offset after `=`) for `$password = …`, `ClientSecret = …`, `'api_key' = …`."""
    low = script.structure.code_lower
    code = script.code
    found: list[tuple[str, bool, int]] = []
    seen: set[int] = set()
    for m in _SECRET_WORD.finditer(low):
        if m.group() in ("pass", "pw"):
            # Only as its own word: $pass, $smtpPass, $mail_pw; not $compass or $bypass.
            i = m.start()
            if i > 0 and (code[i - 1].isalnum() and not (code[i].isupper() and code[i - 1].islower())):
                continue
        start = m.start()
        while start > 0 and (low[start - 1].isalnum() or low[start - 1] == "_"):
            start -= 1
        if start in seen:
            continue
        end = _WORD_CHARS.match(low, m.end()).end()  # type: ignore[union-attr]
        assigned = _ASSIGNED.match(low, end)
        if assigned is None:
            continue
        seen.add(start)
        scope = _SCOPE.search(low, max(0, start - 8), start)
        name = code[start:end]
        if scope is not None:
            found.append((name, True, assigned.end()))
            continue
        before = start - 1
        if before >= 0 and low[before] in "'\"":
            before -= 1
        if before >= 0 and (low[before].isalnum() or low[before] in "_$.-"):
            continue  # part of a longer word, a member access ($x.Password = is handled as a key of an object) or a parameter
        found.append((name, False, assigned.end()))
    return found


def find_secrets(script: Script) -> list[SecretLiteral]:
    """Literal secrets written in the script, in text order."""
    found: dict[tuple[int, int], SecretLiteral] = {}
    text = script.text
    code = script.code

    def add(span: tuple[int, int] | None, kind: SecretKind, name: str) -> None:
        if span is not None and span not in found:
            if "FromBase64String" in text[max(0, span[0] - 40) : span[0]]:
                kind = SecretKind.BASE64
            found[span] = SecretLiteral(span[0], span[1], kind, name)

    for site in find_command_sites(script, {"convertto-securestring": "ConvertTo-SecureString"}, module="Microsoft.PowerShell.Security"):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, _CONVERT_SPEC, arguments, site.start)
        value = binding.params.get("String")
        if value is None:
            continue
        for element in arguments.elements:
            candidates = [element] + ([element.value] if element.value is not None else [])
            for candidate in candidates:
                if candidate is not None and candidate.text == value.text:
                    span = _literal_span(script, candidate.start, candidate.end) or _variable_literal(script, candidate.start, candidate.end)
                    add(span, SecretKind.SECURESTRING_PLAINTEXT, "ConvertTo-SecureString")
    cred_type = re.compile(r"(?i)(?:System\.)?Net\.NetworkCredential|(?:System\.Management\.Automation\.)?PSCredential")
    for construction in find_constructions(script, cred_type):
        if len(construction.arguments) >= 2:
            s, e = construction.arguments[1]
            add(_literal_span(script, s, e) or _variable_literal(script, s, e), SecretKind.CREDENTIAL_PASSWORD, construction.type_name)
    for name, is_variable, value_start in _named_assignments(script):
        if _DESCRIBES_A_SECRET.search(name):
            continue  # $secretName, $passwordFile, $tokenUrl: where a secret lives, not the secret
        start, end = assigned_value_extent(script.structure, skip_spaces(text, value_start))
        span = _literal_span(script, start, end)
        if span is not None and re.match(r"['\"]?https?://", text[span[0] : span[1]], re.I):
            continue  # $tokenUrl = 'https://login…' is an address, not a secret
        if is_variable:
            add(span, SecretKind.NAMED_VARIABLE, "$" + name)
        else:
            add(span, SecretKind.CLIENT_SECRET if "secret" in name.lower() else SecretKind.NAMED_VARIABLE, name)
    for m in _SECRET_PARAMETER.finditer(code):
        start = m.end()
        if start < len(text) and text[start] in _QUOTES:
            from scanner.lexer import LexError, skip_string

            try:
                end = skip_string(text, start)
            except LexError:
                continue
            add(_literal_span(script, start, end), SecretKind.PARAMETER, "-" + m.group(1))
    for m in (_CDO_PASSWORD.finditer(text) if "sendpassword" in text.lower() else ()):
        if not any(cs <= m.start() < ce for cs, ce in script.structure.masked.comments):
            start, end = assigned_value_extent(script.structure, m.end())
            span = _literal_span(script, start, end)
            if span is not None and text[span[1] - 1 : span[1]] in _QUOTES:
                add(span, SecretKind.MAIL_PASSWORD, "sendpassword")
    for m in _AUTHENTICATE.finditer(code):
        from scanner.lexer import LexError, skip_balanced, split_arguments

        try:
            close = skip_balanced(text, m.end() - 1)
        except LexError:
            continue
        args = split_arguments(text, m.end(), close - 1)
        if len(args) >= 2:
            add(_literal_span(script, *args[1]), SecretKind.MAIL_PASSWORD, "Authenticate()")
    embedded_keys = ("client_secret=", "password=", "access_token=", "refresh_token=", "client_assertion=")
    strings = script.structure.masked.strings if any(k in text.lower() for k in embedded_keys) else []
    for s, e in strings:
        for m in _CLIENT_SECRET_IN_STRING.finditer(text, s, e):
            embedded = m.group(2)
            if embedded.startswith("$") or embedded.startswith("{"):
                continue
            name = m.group(1).lower()
            add((m.start(2), m.end(2)), SecretKind.CLIENT_SECRET if name == "client_secret" else SecretKind.PARAMETER, name)
    return sorted(found.values(), key=lambda s: s.start)


def redact(text: str, base: int, secrets: list[SecretLiteral]) -> str:
    """``text`` (which starts at offset ``base`` of the script) with every secret literal masked."""
    if not secrets:
        return text
    end = base + len(text)
    out = []
    cursor = base
    for secret in secrets:
        if secret.end <= base or secret.start >= end:
            continue
        s, e = max(secret.start, base), min(secret.end, end)
        out.append(text[cursor - base : s - base])
        original = text[s - base : e - base]
        if original[:1] in _QUOTES and original[-1:] in _QUOTES and len(original) >= 2:
            out.append(original[0] + MASK + original[-1])
        else:
            out.append(MASK)
        cursor = e
    out.append(text[cursor - base :])
    return "".join(out)


def redact_value(text: str, secrets_texts: set[str]) -> str:
    """Mask any known secret literal text inside a value text taken out of its position."""
    for secret in secrets_texts:
        if secret and secret in text:
            quote = secret[0] if secret[0] in _QUOTES else ""
            text = text.replace(secret, f"{quote}{MASK}{quote if quote else ''}")
    return text
