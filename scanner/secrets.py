"""Secret literals in a script (passwords, client secrets, tokens) and how to mask them in any output.

Every piece of source text that leaves the scanner (snippets, context lines, bound parameter text)
goes through ``redact`` so that no secret written in a script reaches a report, a log or a patch.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.analysis.literals import parse_hashtable_literal, skip_spaces
from scanner.analysis.objects import find_constructions
from scanner.analysis.resolve import follow_value, resolve_variable
from scanner.lexer import (
    DOUBLE_QUOTES, SINGLE_QUOTES, ElementKind, LexError, lex_arguments, lower_same_length, skip_balanced, skip_string,
    split_arguments,
)
from scanner.model import Provenance
from scanner.redact import SecretRegistry
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
_SECRET_PARAMETER = re.compile(r"(?i)-(?<![\w]-)(Password|ClientSecret|Secret|AccessToken|Token|ApiKey)(?::)?[ \t]+")
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

    m = re.fullmatch(r"\$(?:script:|global:|local:)?(\w+)", script.text[start:end].strip())
    if m is None:
        return None
    found = resolve_variable(script, m.group(1), start)
    if found is None:
        return None
    return _literal_span(script, found.start, found.start + len(found.text))


def _named_assignments(script: Script) -> list[tuple[str, bool, int]]:
    """(name, is a $variable, offset after `=`) for `$password = …`, `ClientSecret = …`, `'api_key' = …`.

    Found once per script: the literal secrets and the secret values both ask."""
    memo = script.memo.get("named-secret-assignments")
    if memo is None:
        memo = script.memo["named-secret-assignments"] = _find_named_assignments(script)
    return list(memo)  # type: ignore[call-overload]


# Every match of _SECRET_WORD starts with one of these: the lines holding none cannot hold a match.
_SECRET_WORD_STARTS = ("pass", "pw", "secret", "token", "apikey", "api_key")


def _secret_words(low: str) -> list["re.Match[str]"]:
    """``_SECRET_WORD.finditer(low)``, run only on the lines where re2 finds one of its first words.

    A match never spans a line break (letters, then spaces or quotes before `=`), and each window
    keeps its line's `\n`, so `\b` and the lookahead see what they see in the whole text.
    """
    words = _SECRET_WORD_STARTS_BYTES
    if words is None:
        return list(_SECRET_WORD.finditer(low))
    encoded = low.encode("ascii") if low.isascii() else low.encode("ascii", "replace")
    windows: dict[int, int] = {}
    for m in words.finditer(encoded):  # type: ignore[attr-defined]
        i = m.start()
        start = low.rfind("\n", 0, i) + 1
        if start not in windows:
            end = low.find("\n", i)
            windows[start] = len(low) if end < 0 else end + 1
    return [m for start in sorted(windows) for m in _SECRET_WORD.finditer(low, start, windows[start])]


def _find_named_assignments(script: Script) -> list[tuple[str, bool, int]]:
    low = script.structure.code_lower
    code = script.code
    found: list[tuple[str, bool, int]] = []
    seen: set[int] = set()
    for m in _secret_words(low):
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
    cred_type = re.compile(r"(?i)(?:System\.)?Net\.NetworkCredential|(?:System\.Management\.Automation\.)?PSCredential|" + _EWS_CREDENTIALS)
    for construction in find_constructions(script, cred_type):
        if len(construction.arguments) >= 2:
            s, e = construction.arguments[1]
            add(_literal_span(script, s, e) or _variable_literal(script, s, e), SecretKind.CREDENTIAL_PASSWORD, construction.type_name)
    for construction in find_constructions(script, _EWS_TOKEN_TYPE):
        if construction.arguments:  # EWS OAuthCredentials('eyJ…'): the bearer token itself
            s, e = construction.arguments[0]
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
        # The masked code blanks the quoted value too: find where it starts in the text.
        start = m.end(1)
        if start < len(text) and text[start] == ":":
            start += 1
        while start < len(text) and text[start] in " \t":
            start += 1
        if start < len(text) and text[start] in _QUOTES:

            try:
                end = skip_string(text, start)
            except LexError:
                continue
            add(_literal_span(script, start, end), SecretKind.PARAMETER, "-" + m.group(1))
    text_lower = text.lower()  # once: the substring tests below would lower the whole text each
    for m in (_CDO_PASSWORD.finditer(text) if "sendpassword" in text_lower else ()):
        if not any(cs <= m.start() < ce for cs, ce in script.structure.masked.comments):
            start, end = assigned_value_extent(script.structure, m.end())
            span = _literal_span(script, start, end)
            if span is not None and text[span[1] - 1 : span[1]] in _QUOTES:
                add(span, SecretKind.MAIL_PASSWORD, "sendpassword")
    for m in _AUTHENTICATE.finditer(code):

        try:
            close = skip_balanced(text, m.end() - 1)
        except LexError:
            continue
        args = split_arguments(text, m.end(), close - 1)
        if len(args) >= 2:  # (user, password) or (encoding, user, password): the password is the last
            add(_literal_span(script, *args[-1]), SecretKind.MAIL_PASSWORD, "Authenticate()")
    embedded_keys = ("client_secret=", "password=", "access_token=", "refresh_token=", "client_assertion=")
    strings = script.structure.masked.strings if any(map(text_lower.__contains__, embedded_keys)) else []
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


# --------------------------------------------------------------------------- values that reach a credential sink
#
# Masking by position (above) hides the literal a rule points at. Masking by *value* hides it
# everywhere: the same password reused as a Subject, in a Body, in a comment, in another file.
# ``secret_values`` follows what flows into each credential sink (through variables, hashtable
# keys, `+`, `-f`, `-join`, here-strings, base64) and returns the string values to register.

from scanner.lexer import LexError as _LexError, scan_value as _scan_value, skip_balanced as _skip_balanced, skip_string as _skip_string  # noqa: E402

Piece = Optional[str]  # a known piece of a string value, or None where it is not known statically
Alternative = tuple[Piece, ...]

_MAX_DEPTH = 48  # hops through variables and groups (each variable is evaluated once, see _Tracer.budget)
_MAX_ALTERNATIVES = 16
_FRAGMENT_MIN = 4  # a known part of a partly dynamic secret ("prefix" + $env:X)

_ASSIGNMENT_ANY = re.compile(r"(?i)\$(?<![\w$:`]\$)(?:script:|global:|local:|private:)?(\w+)((?:\.\w+|\[[^\]\r\n]{0,80}\])*)[ \t]*(\+?=)(?!=)")
_SECRET_PARAM_ANY = re.compile(r"(?i)[-\u2013\u2014](?<![\w-][-\u2013\u2014])(\w*(?:password|passwd|secret|token|apikey|passphrase))(:?)(?=[\s:]|$)")
# EWS Managed API credentials: WebCredentials(user, password[, domain]) and OAuthCredentials(token).
_EWS_CREDENTIALS = r"(?:Microsoft\.Exchange\.WebServices\.Data\.)?WebCredentials"
_EWS_TOKEN_TYPE = re.compile(r"(?i)(?:Microsoft\.Exchange\.WebServices\.Data\.)?OAuthCredentials")
_CRED_TYPES = re.compile(r"(?i)(?:System\.)?Net\.NetworkCredential|(?:System\.Management\.Automation\.)?PSCredential|NetworkCredential|" + _EWS_CREDENTIALS)
_HASH_SECRET_KEY = re.compile(
    r"(?i)(?<![\w$.\-])['\"]?(client_?secret|client_assertion|refresh_token|access_token|password|passwd|pwd|securepassword|"
    r"api_?key|apitoken|passphrase|secret)['\"]?[ \t]*=(?!=)[ \t]*"
)
_AUTHORIZATION = re.compile(r"(?i)['\"]?Authorization['\"]?[ \t]*(?:\][ \t]*=(?!=)|=(?!=)|,)[ \t]*")
_CDO_PASSWORD_ANY = re.compile(r"(?i)cdo/configuration/sendpassword['\"][ \t]*(?:(?:[)\]][ \t]*(?:\.Value[ \t]*)?)?=(?!=)|,)[ \t]*")
_WITH_SECRET = re.compile(r"(?i)\.WithClientSecret[ \t]*\(")
# Shapes that are secrets wherever they are written (strings, comments), no sink needed.
_TEXT_SHAPES = re.compile(
    r"(?i)(?<![\w.$-])(?:password|passwd|pwd|token|access_token|refresh_token|id_token|key|api_key|apikey|client_secret|client_assertion|sig|secret)"
    r"=(?P<query>[^&\s'\"`;,)<>{}$]{3,})"
    r"|(?:^|[;'\"\s])(?:password|pwd|accountkey|sharedaccesskey)[ \t]*=[ \t]*(?P<conn>[^;'\"\r\n$]{3,})"
    r"|\b[a-z][a-z0-9+.-]*://(?P<user>[^/\s:@'\"$]+):(?P<pass>[^/\s@'\"$]{3,})@"
    r"|\b(?:Bearer|Basic)[ \t]+(?P<bearer>[A-Za-z0-9._~+/-]{8,}=*)"
    # JSON or a dictionary written in a string: "password": "…", 'client_secret':'…'
    r"|[\"'](?:password|passwd|pwd|pass|secret|client_secret|token|access_token|apikey|api_key)[\"'][ \t]*:[ \t]*[\"'](?P<json>[^\"'\r\n]{3,})[\"']"
    # A command line: blat.exe … -pw x, sendEmail … -xp x, /password:x
    r"|(?:^|[\s'\"])[-/](?:pw|pwd|pass|passwd|password|xp)(?:[ \t]+|[:=])(?P<cli>[^\s'\"`$;|)]{3,})"
)
_PREFIXED_KEYS = re.compile(
    r"\bSG\.[\w-]{16,}\.[\w-]{16,}|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_\w{30,}|\bxox[abposr]-[\w-]{10,}"
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|\bAKIA[0-9A-Z]{16}\b|\bAIza[\w-]{35}|\bkey-[0-9a-f]{32}\b"
    r"|\b[\w~.-]{3}\dQ~[\w~.-]{31,34}|\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}|\b[0-9a-f]{32}-us\d{1,2}\b"
)
_BASE64_LITERAL = re.compile(r"^[A-Za-z0-9+/]{8,}={0,2}$")
_ENCODING_GETSTRING = re.compile(r"(?is)^\[(?:System\.)?Text\.Encoding\]::(\w+)\.GetString\((.*)\)$")
_FROM_BASE64 = re.compile(r"(?is)^\[(?:System\.)?Convert\]::FromBase64String\((.*)\)$")
_TO_BASE64 = re.compile(r"(?is)^\[(?:System\.)?Convert\]::ToBase64String\((.*)\)$")
_ENCODING_GETBYTES = re.compile(r"(?is)^\[(?:System\.)?Text\.Encoding\]::(\w+)\.GetBytes\((.*)\)$")
_CAST = re.compile(r"(?i)^\[[\w.\[\]]+\][ \t]*")
_CONVERT_TO_SECURE = re.compile(r"(?i)^ConvertTo-SecureString\b")
_VARIABLE = re.compile(r"(?i)^\$(?:\{(?P<braced>[^}]+)\}|(?:(?P<scope>script|global|local|private|env|using):)?(?P<name>\w+))(?P<path>(?:\.\w+|\.'[^']*'|\.\"[^\"]*\"|\[[^\]]*\])*)$")
_AUTOMATIC = {"true", "false", "null", "_", "psitem", "args", "input", "this", "matches", "pscmdlet"}
_OPERATOR = re.compile(r"(?i)-(f|join)(?![\w-])")
_PIPELINE_VARIABLES = {"_", "psitem", "args", "input", "matches", "this"}
_VARIABLE_REF = re.compile(r"(?<![\w`])\$(?:script:|global:|local:|private:)?(\w+(?::\w+)?)")
_COMMAND_HEAD = re.compile(r"[\s(&.]*([A-Za-z][A-Za-z0-9]*-[A-Za-z][\w.-]*)(?![\w.\[:])")
_WORDS = re.compile(r"[A-Za-z_][\w-]*")
_STATEMENT = re.compile(r"(?i)[\s(]*(?:if|elseif|else|switch|foreach|for|while|do|try|trap|function|filter)\b")
# Parameters of a command from outside the file whose literal is never the value it gives back.
_HARMLESS_PARAMETERS = re.compile(
    r"(?i)-(?:uri|url|method|contenttype|path|filepath|literalpath|name|vault|vaultname|prompt|message|title|encoding|"
    r"erroraction|headers|tenantid|tenant|clientid|applicationid|appid|scopes?|resource|redirecturi|authority|username|"
    r"target|key|asplaintext|as)[ \t]*:?[ \t]*$"
)
_PATH_OR_URL = re.compile(r"(?i)['\"](?:https?://|[a-z]:[\\/]|\\\\|\.{1,2}[\\/]|\$PSScriptRoot|\$env:)")
_NUMBER = re.compile(r"[\d.]+")
_NUMBER_LIST = re.compile(r"(?<![\w.])\d{1,6}(?:[ \t]*,[ \t\r\n`]*\d{1,6}){2,}(?![\w.])")
_CHAR_CODES = re.compile(r"(?is)^\[char\[\]\][ \t]*@?\(([\d\s,]+)\)$")
_STRING_NEW = re.compile(r"(?is)^\[(?:System\.)?String\]::(?:new|(join))\((?:[ \t]*(?:''|\"\")[ \t]*,)?")
_IF = re.compile(r"(?i)^if[ \t]*\(")
_TO_CHAR_ARRAY = re.compile(r"(?i)\.ToCharArray\([ \t]*\)$")
_SET_VARIABLE = re.compile(r"(?:set|new)-variable\s+(?:-name\s+)?['\"]?(?P<name>\w+)['\"]?\s+(?:-value\s+)?(?=[^-\s])")
_FOREACH = re.compile(r"foreach\s*(?P<open>\()\s*\$(?P<name>\w+)\s+in\s+")


def _spans_within(spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    import bisect

    i = bisect.bisect_left(spans, (start, -1))
    out = []
    while i < len(spans) and spans[i][0] < end:
        if spans[i][1] <= end:
            out.append(spans[i])
        i += 1
    return out


def _is_string_at(script: Script, start: int, end: int) -> bool:
    """Whether ``[start, end)`` is one whole string literal (not code that starts and ends with quotes)."""
    if start >= end or script.text[start] not in _QUOTES:
        return False
    try:
        return _skip_string(script.text, start) == end
    except _LexError:
        return False


def _harmless_argument(script: Script, start: int, end: int) -> bool:
    """A literal handed to a command from outside the file that cannot be the value it gives back: a
    path or an address, or the argument of a parameter that names where the value is."""
    if _PATH_OR_URL.match(script.text, start):
        return True
    return _HARMLESS_PARAMETERS.search(script.code, max(0, start - 60), start) is not None


def _top_level_pipes(code: str, start: int, end: int) -> list[int]:
    """Offsets of the `|` that separate the commands of a pipeline in ``code[start:end]`` (not `||`, not nested)."""
    if code.find("|", start, end) < 0:
        return []
    out: list[int] = []
    depth = 0
    i = start
    while i < end:
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "`":
            i += 1
        elif c == "|" and depth == 0:
            if code[i + 1 : i + 2] == "|" or code[i - 1 : i] == "|":
                i += 2 if code[i + 1 : i + 2] == "|" else 1
                continue
            out.append(i)
        i += 1
    return out


def _from_codes(codes: str) -> Optional[str]:
    try:
        return "".join(chr(int(n)) for n in codes.replace("\n", " ").split(",") if n.strip())
    except (ValueError, OverflowError):
        return None


# Literal words one of the patterns above needs: the (slow, case-insensitive) patterns run only on
# the lines where a fast substring search finds one of them.
_TEXT_SHAPE_WORDS = ("password", "passwd", "pwd", "token", "key", "secret", "sig=", "assertion", "://", "bearer", "basic", "pw", "pass", "xp")
_PREFIXED_KEY_WORDS = ("sg.", "gh", "github_pat_", "xox", "k_live_", "k_test_", "akia", "aiza", "key-", "q~", "eyj", "-us")
_HASH_KEY_WORDS = ("secret", "assertion", "token", "password", "passwd", "pwd", "apikey", "api_key", "passphrase")
_SECRET_PARAM_WORDS = ("password", "passwd", "secret", "token", "apikey", "passphrase")


_ALL_WORDS = tuple(sorted(set(_TEXT_SHAPE_WORDS + _PREFIXED_KEY_WORDS + _HASH_KEY_WORDS + _SECRET_PARAM_WORDS + ("sendpassword", "authorization")), key=len, reverse=True))
_WORDS_STR = re.compile("|".join(re.escape(w) for w in _ALL_WORDS))
try:
    import re2 as _re2

    _WORDS_BYTES: Optional[object] = _re2.compile("|".join(_re2.escape(w) for w in _ALL_WORDS).encode("ascii"))
    _SECRET_WORD_STARTS_BYTES: Optional[object] = _re2.compile("|".join(_SECRET_WORD_STARTS).encode("ascii"))
except ImportError:  # pragma: no cover - google-re2 is a declared dependency
    _WORDS_BYTES = None
    _SECRET_WORD_STARTS_BYTES = None


class _Hits:
    """Where the words the secret patterns need occur in one lower-cased text: one pass, then per-line lookups."""

    def __init__(self, low: str, line_starts: list[int]) -> None:
        import bisect

        self.line_starts = line_starts
        self.length = len(low)
        if _WORDS_BYTES is not None:
            # Every word is ASCII, so a match never covers a non-ASCII character: encoding each one
            # as '?' (one byte per character, in no word) keeps every offset and every match.
            encoded = low.encode("ascii") if low.isascii() else low.encode("ascii", "replace")
            found = [(m.start(), m.group().decode("ascii")) for m in _WORDS_BYTES.finditer(encoded)]  # type: ignore[attr-defined]
        else:
            found = [(m.start(), m.group()) for m in _WORDS_STR.finditer(low)]
        self.found = found
        # The lines of each word, found once: six patterns ask, each for a few words.
        self.word_lines: dict[str, set[int]] = {}
        for i, word in found:
            self.word_lines.setdefault(word, set()).add(bisect.bisect_right(line_starts, i) - 1)

    def lines(self, words: tuple[str, ...]) -> list[tuple[int, int]]:
        word_lines = self.word_lines
        selected: set[int] = set()
        for word in words:
            hit = word_lines.get(word)
            if hit:
                selected |= hit
        lines = sorted(selected)
        starts = self.line_starts
        n = len(starts)
        return [(starts[line], starts[line + 1] if line + 1 < n else self.length) for line in lines]


def _matches(pattern: "re.Pattern[str]", text: str, hits: _Hits, words: tuple[str, ...]) -> list["re.Match[str]"]:
    """The matches of ``pattern`` in ``text``, looked for only on the lines holding one of ``words``."""
    return [m for start, end in hits.lines(words) for m in pattern.finditer(text, start, end)]


def _codec(name: str) -> Optional[str]:
    return {"utf8": "utf-8", "ascii": "ascii", "unicode": "utf-16-le", "bigendianunicode": "utf-16-be", "utf32": "utf-32-le", "default": "utf-8", "latin1": "latin-1"}.get(name.lower())


class _Tracer:
    """Evaluates PowerShell value expressions of one script to the string pieces they are made of."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.text = script.text
        self.extra: set[str] = set()  # parts of sink values met on the way (format arguments, base64 literals)
        self.sources: list[tuple[str, str]] = []  # (value, source text) of literals written with escapes
        self._assignments: Optional[dict[str, list[tuple[str, int, int]]]] = None
        self._assigned: dict[str, list[tuple[str, int]]] = {}  # lower-case name -> (member path, offset after `=`)
        # Bounded work: variables that feed each other through many assignments would branch
        # exponentially; each variable is evaluated once, and the whole script gets a budget.
        self.budget = 4000
        self._variables: dict[tuple[str, tuple[str, ...]], list[Alternative]] = {}
        # The string literals (and bare words, numeric code lists) a sink's value was evaluated from:
        # each is masked where it is written, whatever its value turns out to be.
        self.visited: set[tuple[int, int]] = set()
        # Why a sink's value could not be followed inside the file (an expression the tracer does not
        # evaluate, a variable set where it does not look): the whole file is then masked but for the
        # literals known to be harmless where they stand. Values from outside the file ($env:, a
        # prompt, a vault, a script parameter) are unknown without making the flow opaque.
        self.opaque: list[str] = []
        self._functions: Optional[set[str]] = None
        self._argument_spans: set[tuple[int, int]] = set()
        self._script_parameters: Optional[set[str]] = None

    # ---- assignments, indexed once per script

    def assignments(self, name: str) -> list[tuple[str, int, int]]:
        """(member path, value start, value end) of every `$name… = value` in the script."""
        if self._assignments is None:
            # One search finds every assignment; the extent of each value (a lexer scan) is read
            # only for the names a sink asks about.
            self._assignments = {}
            for m in _ASSIGNMENT_ANY.finditer(self.script.code):
                self._assigned.setdefault(m.group(1).lower(), []).append((m.group(2).lower(), m.end()))
        key = name.lower()
        found = self._assignments.get(key)
        if found is None:
            structure = self.script.structure
            found = self._assignments[key] = [
                (member, *assigned_value_extent(structure, skip_spaces(self.text, after))) for member, after in self._assigned.get(key, ())
            ] + self._other_assignments(key)
        return found

    def _other_assignments(self, key: str) -> list[tuple[str, int, int]]:
        """Values given to ``$key`` without `=`: `Set-Variable`/`New-Variable` (named or by position) and
        `foreach ($key in …)` (each item: evaluated as the whole collection, which masks its literals)."""
        structure = self.script.structure
        low = structure.code_lower
        if key not in low:
            return []
        out: list[tuple[str, int, int]] = []
        # On the text (the value may be a string, which the code blanks), outside strings and comments.
        for m in _SET_VARIABLE.finditer(lower_same_length(self.text)) if "-variable" in low else ():
            if m.group("name") != key or structure.in_string_or_comment(m.start()):
                continue
            span = _argument_after(self.script, m.end())
            if span is not None:
                out.append(("", *span))
                self._argument_spans.add(span)  # a bare word there is a string
        for m in _FOREACH.finditer(lower_same_length(self.text)) if "foreach" in low else ():
            if m.group("name") != key or structure.in_string_or_comment(m.start()):
                continue
            try:
                close = self.script.structure.balanced_end(m.start("open"))
            except (_LexError, ValueError):
                continue
            out.append(("", m.end(), max(m.end(), close - 1)))
        return out

    def _unknown(self, start: int, end: int, depth: int, why: str = "") -> list[Alternative]:
        """An expression the tracer does not evaluate. A command from outside the file (Read-Host,
        Get-Secret, Import-Clixml, Invoke-RestMethod …) gives a value from outside: the literals it is
        handed as values are visited, nothing else. Anything else visits every string literal in it
        (and every list of character codes) and follows the variables it reads so that theirs are
        too; the flow is then opaque when a literal or a value of the file could reach the sink
        through it (or ``why`` says so)."""
        structure = self.script.structure
        code = self.script.code[start:end]
        head = _COMMAND_HEAD.match(code)
        literals = _spans_within(structure.masked.strings, start, end)
        if head is not None and head.group(1).lower() not in self.functions() and not why:
            for s, e in literals:
                if not _harmless_argument(self.script, s, e):
                    self.visited.add((s, e))
            return [(None,)]
        for s, e in literals:
            self.visited.add((s, e))
        numbers = list(_NUMBER_LIST.finditer(code))
        for m in numbers:
            self.visited.add((start + m.start(), start + m.end()))
        known = False
        for m in _VARIABLE_REF.finditer(code):
            if depth >= _MAX_DEPTH or self.budget <= 0:
                known = True  # not followed: assume the worst
                break
            name = m.group(1)
            if name.lower() in _AUTOMATIC or ":" in name:
                known = known or name.lower() in _PIPELINE_VARIABLES
                continue
            before = len(self.opaque)
            found = self._variable("$" + name, depth + 1)
            known = known or any(p is not None for a in found for p in a) or len(self.opaque) > before
        calls_file_function = any(word.lower() in self.functions() for word in _WORDS.findall(code))
        if why or literals or numbers or known or calls_file_function or _STATEMENT.match(code):
            self.opaque.append(why or code.strip()[:60])
        return [(None,)]

    def functions(self) -> set[str]:
        """Lower-case names of the functions this script defines (their output is computed in the file)."""
        if self._functions is None:
            self._functions = {f.name.lower() for f in self.script.structure.functions}
        return self._functions

    def script_parameters(self) -> set[str]:
        """Lower-case names of the script's (or a function's) declared parameters: values from a caller."""
        if self._script_parameters is None:
            names: set[str] = set()
            for s, e in self.script.structure.param_blocks:
                names.update(m.group(1).lower() for m in _VARIABLE_REF.finditer(self.script.code, s, e))
            for function in self.script.structure.functions:
                header = self.script.code[function.name_end : function.body.start]
                names.update(m.group(1).lower() for m in _VARIABLE_REF.finditer(header))
            self._script_parameters = names
        return self._script_parameters

    # ---- expressions

    def evaluate(self, start: int, end: int, depth: int = 0, argument_mode: bool = False) -> list[Alternative]:
        text = self.text[start:end]
        lead = len(text) - len(text.lstrip())
        start, end = start + lead, start + len(text.rstrip())
        if start >= end:
            return [(None,)]
        if depth > _MAX_DEPTH or self.budget <= 0:
            return self._unknown(start, end, _MAX_DEPTH, "too deep to follow")
        self.budget -= 1
        try:
            return [_bounded(a) for a in self._binary(start, end, depth, argument_mode)[:_MAX_ALTERNATIVES]]
        except (_LexError, IndexError, ValueError, RecursionError):
            return self._unknown(start, end, _MAX_DEPTH, "not read")

    def _split(self, start: int, end: int, separators: str) -> list[tuple[int, int, str]]:
        """Top-level pieces of ``text[start:end]`` split at ``+``, ``,`` or ``-f``/``-join`` (``separators``)."""
        text = self.text
        parts: list[tuple[int, int, str]] = []
        i = piece = start
        op = ""
        while i < end:
            c = text[i]
            if c in "'\"\u2018\u2019\u201a\u201b\u201c\u201d\u201e":
                i = _skip_string(text, i)
                continue
            if c == "@" and i + 1 < end and text[i + 1] in "'\"(\u201c\u2018{":
                i = _skip_string(text, i) if text[i + 1] not in "({" else _skip_balanced(text, i + 1)
                continue
            if c in "([{":
                i = _skip_balanced(text, i)
                continue
            if c == "$" and i + 1 < end and text[i + 1] == "(":
                i = _skip_balanced(text, i + 1)
                continue
            if c == "$" and i + 1 < end and text[i + 1] == "{":
                close = text.find("}", i)
                i = end if close < 0 else close + 1
                continue
            if c == "`":
                i += 2
                continue
            if c == "#" and (i == start or text[i - 1] in " \t\r\n"):
                nl = text.find("\n", i, end)
                if nl < 0:
                    break
                i = nl + 1
                continue
            if "+" in separators and c == "+" and text[i + 1 : i + 2] not in ("+", "=") and text[i - 1 : i] != "+":
                parts.append((piece, i, op))
                op, i = "+", i + 1
                piece = i
                continue
            if "," in separators and c == ",":
                parts.append((piece, i, op))
                op, i = ",", i + 1
                piece = i
                continue
            if "-" in separators and c in "-\u2013\u2014" and (i == start or text[i - 1] in " \t)'\"]}\r\n"):
                m = _OPERATOR.match(text, i)
                if m is not None:
                    parts.append((piece, i, op))
                    op, i = "-" + m.group(1).lower(), m.end()
                    piece = i
                    continue
            i += 1
        parts.append((piece, min(i, end) if i <= end else end, op))
        return [(s, e, o) for s, e, o in parts]

    def _binary(self, start: int, end: int, depth: int, argument_mode: bool) -> list[Alternative]:
        parts = self._split(start, end, "-")
        if len(parts) == 1:
            return self._sum(start, end, depth, argument_mode)
        s0, e0, _ = parts[0]
        if not self.text[s0:e0].strip():  # unary -join (a, b)
            if parts[1][2] == "-join":
                return self._join(parts[1][0], parts[1][1], "", depth)
            return self._unknown(start, end, depth, "unary operator")
        result = self._sum(s0, e0, depth, argument_mode)
        for s, e, op in parts[1:]:
            if op == "-f":
                result = self._format(result, s, e, depth)
            elif op == "-join":
                separator = self._single(self._sum(s, e, depth, False))
                result = self._join(s0, e0, separator if separator is not None else "", depth)
        return result

    def _single(self, alternatives: list[Alternative]) -> Optional[str]:
        if len(alternatives) == 1 and all(p is not None for p in alternatives[0]):
            return "".join(p for p in alternatives[0] if p is not None)
        return None

    def _items(self, start: int, end: int, depth: int) -> list[list[Alternative]]:
        """The items of an array expression (`a, b`, `(a, b)`, `@(a, b)`, `$parts`)."""
        text = self.text[start:end].strip()
        offset = start + (len(self.text[start:end]) - len(self.text[start:end].lstrip()))
        if text.startswith("@(") and text.endswith(")"):
            return self._items(offset + 2, offset + len(text) - 1, depth)
        if text.startswith("(") and text.endswith(")"):
            return self._items(offset + 1, offset + len(text) - 1, depth)
        m = _VARIABLE.match(text)
        if m and not m.group("path") and depth < _MAX_DEPTH:
            name = m.group("braced") or m.group("name")
            values = [a for a in self.assignments(name) if not a[0]]
            if values:
                return self._items(values[-1][1], values[-1][2], depth + 1)
        if _top_level_pipes(self.script.code, offset, offset + len(text)):
            return [self._unknown(offset, offset + len(text), depth)]
        parts = self._split(offset, offset + len(text), ",")
        return [self._sum(s, e, depth, False) for s, e, _ in parts]

    def _join(self, start: int, end: int, separator: str, depth: int) -> list[Alternative]:
        pieces: list[Piece] = []
        for n, item in enumerate(self._items(start, end, depth)):
            if n and separator:
                pieces.append(separator)
            pieces.extend(item[0] if item else (None,))
            for other in item[1:]:
                self._remember(other)
        return [tuple(pieces)]

    def _format(self, formats: list[Alternative], start: int, end: int, depth: int) -> list[Alternative]:
        items = self._items(start, end, depth)
        for item in items:
            for alternative in item:
                self._remember(alternative)
        out: list[Alternative] = []
        for alternative in formats:
            template = "".join(p for p in alternative if p is not None) if all(p is not None for p in alternative) else None
            if template is None:
                out.append(tuple(alternative) + (None,))
                continue
            pieces: list[Piece] = []
            cursor = 0
            for m in re.finditer(r"\{(\d+)(?:[,:][^}]*)?\}", template):
                pieces.append(template[cursor : m.start()].replace("{{", "{").replace("}}", "}"))
                index = int(m.group(1))
                pieces.extend(items[index][0] if index < len(items) and items[index] else (None,))
                cursor = m.end()
            pieces.append(template[cursor:].replace("{{", "{").replace("}}", "}"))
            out.append(tuple(pieces))
        return out

    def _remember(self, alternative: Alternative) -> None:
        for run in runs(alternative):
            self.extra.add(run)

    def _sum(self, start: int, end: int, depth: int, argument_mode: bool) -> list[Alternative]:
        parts = self._split(start, end, "+")
        result: list[Alternative] = [()]
        for s, e, _ in parts:
            operand = self._operand(s, e, depth, argument_mode)
            result = _merge([[_bounded(a + b) for b in operand] for a in result])
        return result

    def _operand(self, start: int, end: int, depth: int, argument_mode: bool) -> list[Alternative]:
        text = self.text
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip(" \t\r\n`"))
        start, end = start + lead, start + len(raw.rstrip(" \t\r\n`"))
        t = text[start:end]
        if not t:
            return [()]
        c = t[0]
        pipes = _top_level_pipes(self.script.code, start, end)
        if pipes:
            # 'x' | ConvertTo-SecureString …: the value piped in; any other pipeline is not evaluated.
            last = self.text[pipes[-1] + 1 : end].strip()
            if len(pipes) == 1 and _CONVERT_TO_SECURE.match(last):
                return self.evaluate(start, pipes[0], depth + 1)
            return self._unknown(start, end, depth)
        if _is_string_at(self.script, start, end):
            self.visited.add((start, end))
        if c in SINGLE_QUOTES and len(t) >= 2 and t[-1] in SINGLE_QUOTES and _is_string_at(self.script, start, end):
            inner = t[1:-1]
            value = re.sub("[" + SINGLE_QUOTES + "]{2}", "'", inner)
            if value != inner:
                self.sources.append((value, inner))
            return [(value,)]
        if c in DOUBLE_QUOTES and len(t) >= 2 and t[-1] in DOUBLE_QUOTES and _is_string_at(self.script, start, end):
            return [self._expandable(start + 1, end - 1, depth)]
        if t[:2] in ("@'", "@\u2018", '@"', "@\u201c") and len(t) >= 5:
            body_start = text.find("\n", start) + 1
            body_end = text.rfind("\n", start, end)
            if body_end > 0 and text[body_end - 1] == "\r":
                body_end -= 1
            if body_start <= 0 or body_end < body_start:
                return self._unknown(start, end, depth, "here-string")
            if t[1] in SINGLE_QUOTES:
                return [(text[body_start:body_end],)]
            return [self._expandable(body_start, body_end, depth)]
        if c == "(" and t.endswith(")"):
            return self.evaluate(start + 1, end - 1, depth + 1)
        if c == "$" and t[1:2] == "(" and t.endswith(")"):
            return self.evaluate(start + 2, end - 1, depth + 1)
        if c == "[":
            for pattern, handler in ((_ENCODING_GETSTRING, self._decode), (_TO_BASE64, self._encode)):
                m = pattern.match(t)
                if m:
                    return handler(m, start, depth)
            codes = _CHAR_CODES.match(t)
            if codes is not None:  # [char[]](80, 97, …): a string written as its character codes
                self.visited.add((start, end))
                return [(_from_codes(codes.group(1)),)]
            new = _STRING_NEW.match(t)
            if new is not None:  # [string]::new(…) / [String]::Join('', …)
                inner_start = start + new.end()
                return self._join(inner_start, end - 1, "", depth + 1) if new.group(1) else self.evaluate(inner_start, end - 1, depth + 1)
            cast = _CAST.match(t)
            if cast and cast.end() < len(t):
                return self._operand(start + cast.end(), end, depth, argument_mode)
            return self._unknown(start, end, depth)
        if _CONVERT_TO_SECURE.match(t):
            return self._securestring(start, end, depth)
        if c == "$":
            return self._variable(t, depth, start, end)
        if _IF.match(t):
            return self._branches(start, end, depth)
        chars = _TO_CHAR_ARRAY.search(t)
        if chars is not None and chars.start() > 0:  # 'x'.ToCharArray(): fed to a SecureString one character at a time
            return self._operand(start, start + chars.start(), depth + 1, False)
        if argument_mode and not any(ch in t for ch in "$()[]{}"):
            self.visited.add((start, end))
            return [(t,)]
        if _NUMBER.fullmatch(t):
            return [(t,)]
        return self._unknown(start, end, depth)

    def _branches(self, start: int, end: int, depth: int) -> list[Alternative]:
        """`if (…) { 'a' } elseif (…) { 'b' } else { 'c' }`: the value of each branch's block."""
        structure = self.script.structure
        code = self.script.code
        each: list[list[Alternative]] = []
        i = start
        while i < end:
            brace = code.find("{", i, end)
            if brace < 0:
                break
            try:
                close = structure.balanced_end(brace)
            except (_LexError, ValueError):
                return self._unknown(start, end, depth, "if")
            if close <= brace or close > end:
                return self._unknown(start, end, depth, "if")
            each.append(self.evaluate(brace + 1, close - 1, depth + 1))
            i = close
            rest = code[i:end].lstrip().lower()
            if not rest.startswith(("else", "elseif")):
                if rest:
                    return self._unknown(start, end, depth, "if")
                break
            if rest.startswith("else") and not rest.startswith("elseif"):
                i = code.find("else", i, end) + 4
        return _merge(each) if each else self._unknown(start, end, depth, "if")

    def _expandable(self, start: int, end: int, depth: int) -> Alternative:
        """Pieces of a double-quoted string body: literal text, expanded `$var` / `$(…)` / `${x}`."""
        text = self.text
        pieces: list[Piece] = []
        buffer: list[str] = []
        i = start
        while i < end:
            c = text[i]
            if c == "`" and i + 1 < end:
                nxt = text[i + 1]
                buffer.append({"n": "\n", "r": "\r", "t": "\t", "0": "\0", "e": "\x1b", "a": "\a"}.get(nxt, nxt))
                i += 2
                continue
            if c in DOUBLE_QUOTES and i + 1 < end and text[i + 1] in DOUBLE_QUOTES:
                buffer.append('"')
                i += 2
                continue
            if c == "$" and i + 1 < end:
                nxt = text[i + 1]
                if nxt == "(":
                    close = _skip_balanced(text, i + 1)
                    value = self.evaluate(i + 2, close - 1, depth + 1)
                    pieces.append("".join(buffer))
                    buffer = []
                    pieces.extend(value[0])
                    i = close
                    continue
                m = re.compile(r"\{[^}]+\}|(?:(?:script|global|local|private|env|using):)?\w+").match(text, i + 1)
                if m is not None and m.end() <= end:
                    pieces.append("".join(buffer))
                    buffer = []
                    pieces.extend(self._variable("$" + m.group(), depth)[0])
                    i = m.end()
                    continue
            buffer.append(c)
            i += 1
        pieces.append("".join(buffer))
        result = _bounded(tuple(p for p in pieces if p != ""))
        raw = text[start:end]
        for known in runs(result):
            if known not in raw and len(known) >= _FRAGMENT_MIN:
                self.sources.append((known, raw))
        return result

    def _variable(self, t: str, depth: int, start: int = -1, end: int = -1) -> list[Alternative]:
        m = _VARIABLE.match(t)
        if m is None or depth >= _MAX_DEPTH:
            if start >= 0:
                return self._unknown(start, end, depth)  # $x.Method(…), $a[$i] …
            return [(None,)]
        if m.group("scope") and m.group("scope").lower() in ("env", "using"):
            return [(None,)]  # the environment (or a caller's scope) is outside the file: not a secret written here
        name = (m.group("braced") or m.group("name") or "")
        if ":" in name:
            if name.lower().startswith("env:"):
                return [(None,)]
            name = name.split(":", 1)[1]
        if name.lower() in _AUTOMATIC:
            if name.lower() in _PIPELINE_VARIABLES:
                self.opaque.append("$" + name)  # an item of a pipeline or loop the tracer does not follow
            return [(None,)]
        path = [p.strip(".[]'\"").lower() for p in re.findall(r"\.'[^']*'|\.\"[^\"]*\"|\.\w+|\[[^\]]*\]", m.group("path") or "")]
        key = (name.lower(), tuple(path))
        known = self._variables.get(key)
        if known is not None:
            return known
        self._variables[key] = [(None,)]  # a variable defined from itself ($a = $a + 'x') stops here
        out = self._assignments_of(name, path, depth)
        self._variables[key] = out
        return out

    def _assignments_of(self, name: str, path: list[str], depth: int) -> list[Alternative]:
        each: list[list[Alternative]] = []
        assigned = self.assignments(name)
        for member, start, end in assigned:
            members = [p.strip(".[]'\"").lower() for p in re.findall(r"\.\w+|\[[^\]]*\]", member)]
            if members == path:
                each.append(self.evaluate(start, end, depth + 1, argument_mode=(start, end) in self._argument_spans))
            elif not members and path:
                each.append(self._member(start, end, path, depth + 1))
        if not assigned and name.lower() not in self.script_parameters():
            self.opaque.append("$" + name)  # set where the tracer does not look (another file, [ref], a scope)
        return _merge(each)

    def _member(self, start: int, end: int, path: list[str], depth: int) -> list[Alternative]:
        """The value of ``path`` inside the hashtable (or [pscustomobject]) literal at ``[start, end)``."""

        text = self.text[start:end]
        m = re.match(r"(?is)\s*(?:\[[\w.]+\][ \t]*)?@\{", text)
        if m is None:
            constructed = re.match(r"(?is)\s*\(?\s*New-Object\b", text)
            if constructed is not None and path[-1] in ("password", "securepassword"):
                return []  # the constructor sink registers it
            if path[0].isdigit():  # $values[1] of `$values = 'a', 'b'`
                items = self._items(start, end, depth + 1)
                index = int(path[0])
                if index < len(items) and len(path) == 1:
                    return items[index]
            lead = len(text) - len(text.lstrip())
            if _is_string_at(self.script, start + lead, start + len(text.rstrip())):
                self.visited.add((start + lead, start + len(text.rstrip())))
                return [(None,)]  # a string's own members (.Length, .Trim()): nothing of the file beyond it
            # Inline JSON piped to ConvertFrom-Json, a method's result …: its literals are visited.
            return self._unknown(start, end, depth)
        entries, _ = parse_hashtable_literal(self.script, start + m.end() - 1, False, "")
        for entry in entries:
            if entry.key.lower() == path[0]:
                vstart = entry.assignment.start
                vend = vstart + len(entry.assignment.text)
                if len(path) == 1:
                    return self.evaluate(vstart, vend, depth)
                return self._member(vstart, vend, path[1:], depth + 1)
        return self._unknown(start, end, depth, "key not in the hashtable")

    def _decode(self, m: "re.Match[str]", start: int, depth: int) -> list[Alternative]:
        codec = _codec(m.group(1))
        inner_start = start + m.start(2)
        inner = _FROM_BASE64.match(m.group(2).strip())
        if codec is None or inner is None:
            return [(None,)]
        offset = inner_start + (len(m.group(2)) - len(m.group(2).lstrip())) + inner.start(1)
        encoded = self.evaluate(offset, offset + len(inner.group(1)), depth + 1)
        out: list[Alternative] = []
        for alternative in encoded:
            self._remember(alternative)
            value = self._single([alternative])
            decoded = _b64decode(value, codec) if value is not None else None
            out.append((decoded,))
        return out

    def _encode(self, m: "re.Match[str]", start: int, depth: int) -> list[Alternative]:
        inner = _ENCODING_GETBYTES.match(m.group(1).strip())
        if inner is None:
            return [(None,)]
        codec = _codec(inner.group(1))
        offset = start + m.start(1) + (len(m.group(1)) - len(m.group(1).lstrip())) + inner.start(2)
        plain = self.evaluate(offset, offset + len(inner.group(2)), depth + 1)
        out: list[Alternative] = []
        for alternative in plain:
            self._remember(alternative)
            value = self._single([alternative])
            if value is None or codec is None:
                out.append((None,))
                continue
            try:
                out.append((base64.b64encode(value.encode(codec)).decode("ascii"),))
            except UnicodeEncodeError:
                out.append((None,))
        return out

    def _securestring(self, start: int, end: int, depth: int) -> list[Alternative]:

        name_end = start + len("ConvertTo-SecureString")
        arguments = lex_arguments(self.text[:end], name_end)
        positional = None
        expect_value = False
        for element in arguments.elements:
            if element.kind is ElementKind.PARAMETER:
                if element.text.lower().lstrip("-\u2013\u2014") in ("string", "s", "st", "str"):
                    if element.value is not None:
                        return self.evaluate(element.value.start, element.value.end, depth + 1, argument_mode=True)
                    expect_value = True
                    continue
                expect_value = element.text.lower().lstrip("-") in ("key", "securekey", "k")
                if element.value is not None:
                    expect_value = False
                continue
            if expect_value:
                if positional is None and element.text:
                    pass
                value = self.evaluate(element.start, element.end, depth + 1, argument_mode=True)
                if not any(e.kind is ElementKind.PARAMETER and e.text.lower().lstrip("-") in ("key", "securekey") for e in arguments.elements):
                    return value
                expect_value = False
                continue
            if positional is None:
                positional = element
        if positional is not None:
            return self.evaluate(positional.start, positional.end, depth + 1, argument_mode=True)
        return [(None,)]


def _merge(lists: list[list[Alternative]]) -> list[Alternative]:
    """Alternatives of several assignments, taken in turn from each (so one cannot crowd out the
    others), without duplicates, and without the unknown value when something is known."""
    out: list[Alternative] = []
    seen: set[Alternative] = set()
    for row in range(max((len(x) for x in lists), default=0)):
        for alternatives in lists:
            if row < len(alternatives) and alternatives[row] not in seen:
                seen.add(alternatives[row])
                out.append(alternatives[row])
    known = [a for a in out if a != (None,)]
    return (known or out or [(None,)])[:_MAX_ALTERNATIVES]


_MAX_PIECES = 64
_MAX_VALUE = 2048


def _bounded(alternative: Alternative) -> Alternative:
    """An alternative kept small: a value that doubles at every assignment ($a = $a + $a) is not a password."""
    if len(alternative) <= _MAX_PIECES and sum(len(p) for p in alternative if p is not None) <= _MAX_VALUE:
        return alternative
    # Too big to be one value: keep its distinct known pieces as separate fragments (still masked).
    unique: list[str] = []
    for piece in alternative:
        if piece is not None and piece not in unique and len(piece) <= _MAX_VALUE:
            unique.append(piece)
    out: list[Piece] = []
    for piece in unique[: _MAX_PIECES // 2]:
        out += [piece, None]
    return tuple(out) or (None,)


def _b64decode(value: str, codec: str) -> Optional[str]:
    try:
        return base64.b64decode(value.strip(), validate=True).decode(codec)
    except (ValueError, UnicodeDecodeError):
        return None


def runs(alternative: Alternative) -> list[str]:
    """The known stretches of an alternative, joined where adjacent pieces are both known."""
    out: list[str] = []
    current: list[str] = []
    for piece in alternative:
        if piece is None:
            if current:
                out.append("".join(current))
            current = []
        else:
            current.append(piece)
    if current:
        out.append("".join(current))
    return out


def _register(found: set[str], alternatives: list[Alternative], scheme: str = "") -> None:
    """Add the values of a sink expression: the whole value when known, its known parts otherwise."""
    for alternative in alternatives:
        stretches = runs(alternative)
        whole = len(stretches) == 1 and None not in alternative
        for n, value in enumerate(stretches):
            if scheme and n == 0:
                stripped = re.sub(r"(?i)^\s*(bearer|basic|token|sharedaccesssignature)\s+", "", value)
                if stripped != value:
                    basic = value.lstrip().lower().startswith("basic")
                    value = stripped
                    if basic:
                        decoded = _b64decode(value, "utf-8")
                        if decoded and ":" in decoded:
                            found.add(decoded.split(":", 1)[1])
            if len(value.strip()) >= (MIN_VALUE_WHOLE if whole else _FRAGMENT_MIN):
                found.add(value)


MIN_VALUE_WHOLE = 3


def _argument_after(script: Script, offset: int) -> Optional[tuple[int, int]]:
    """The span of the argument-mode value that starts at ``offset`` (after spaces)."""
    text = script.text
    i = skip_spaces(text, offset)
    if i >= len(text) or text[i] in "\r\n;|)}":
        return None
    try:
        element = _scan_value(text, i)
    except _LexError:
        return None
    return element.start, element.end


@dataclass(frozen=True)
class CredentialFlows:
    """What reaches the credential sinks of one script: the values (in memory only), the literals they
    were evaluated from (masked where written), whether a sink's value could not be followed inside
    the file (``opaque``: then everything but what is known to be harmless is masked), and whether
    the file holds a credential sink at all."""

    values: frozenset[str]
    visited: tuple[tuple[int, int], ...]
    opaque: tuple[str, ...]
    has_sink: bool


# Code (strings and comments blanked) that takes a credential: a file holding one is masked but for
# what is known to be harmless (scanner.masking).
_CREDENTIAL_CODE = re.compile(r"-pw\b|-pass\b|-xp\b|\$pass\b|\$pw\b")
_CREDENTIAL_WORDS = ("credential", "securestring", "authenticate", "sendpassword", "authorization", "password", "passwd", "pwd",
                     "secret", "token", "apikey", "api_key", "passphrase", "x509certificate2", "appendchar", "sendusing", "withclientsecret")


def _holds_credential_code(low_code: str) -> bool:
    """Whether the code (strings and comments blanked, lower case) takes a credential somewhere."""
    if any(word in low_code for word in _CREDENTIAL_WORDS):
        return True
    return ("pw" in low_code or "pass" in low_code or "xp" in low_code) and _CREDENTIAL_CODE.search(low_code) is not None


_X509 = re.compile(r"(?i)(?:System\.Security\.Cryptography\.X509Certificates\.)?X509Certificate2(?:Collection)?")
_CERT_IMPORT = re.compile(r"(?i)\.Import[ \t]*\(")
_APPEND_CHAR = re.compile(r"(?i)\.(?:AppendChar|InsertAt)[ \t]*\(")
# The value may be a quoted literal, which the masked code shows as blanks: the switch is matched in the
# code, its value read from the text (a next switch is no value).
_NATIVE_PASSWORD = re.compile(r"(?i)(?<![\w-])(?:[-/](?:pw|pwd|pass|passwd|xp)|--auth-password|-ap)(?=[ \t]+\S)")
# curl's --user / -u "name:password" on a command that sends to an smtp:// URL.
_CURL_USER = re.compile(r"(?i)(?<![\w-])(?:--user|-u)(?=[ \t]+\S)")
# What every match of _NATIVE_PASSWORD holds, in the lower-cased code: found in a tenth of its time (it
# tries its look-behind at every dash and slash of a file), so a file without one skips it.
_NATIVE_PASSWORD_HINT = re.compile(r"[-/](?:pw|pass|xp)(?:d|wd)?[ \t]|--auth-password|-ap[ \t]")
# What every match of the hint holds: most files have none, found by substring search (the hint itself
# tries its alternatives at every dash and slash).
_NATIVE_PASSWORD_WORDS = ("-pw", "/pw", "-pass", "/pass", "-xp", "/xp", "-ap")


def _native_password_hint(low_code: str) -> bool:
    return any(word in low_code for word in _NATIVE_PASSWORD_WORDS) and _NATIVE_PASSWORD_HINT.search(low_code) is not None


# A C# string literal ("…" or @"…") and what C# code hands a NetworkCredential as its password.
_CSHARP_CREDENTIAL = re.compile(
    r'NetworkCredential\s*\(\s*@?"(?:[^"\\\r\n]|\\.)*"\s*,\s*@?"((?:[^"\\\r\n]|\\.)*)"'
    r'|\bPassword\s*=\s*@?"((?:[^"\\\r\n]|\\.)*)"')


def credential_flows(script: Script) -> CredentialFlows:
    """The credential flows of ``script`` (computed once per script)."""
    memo = script.memo.get("credential_flows")
    if memo is None:
        memo = script.memo["credential_flows"] = _credential_flows(script)
    return memo  # type: ignore[return-value]


def secret_values(script: Script) -> set[str]:
    """Every string value that reaches a credential sink in ``script``, and secret shapes written anywhere in it."""
    return set(credential_flows(script).values)


def _credential_flows(script: Script) -> CredentialFlows:
    """Every string value that reaches a credential sink in ``script``, and secret shapes written anywhere in it.

    Sinks: ConvertTo-SecureString (-AsPlainText in any order, -String, piped, -Key/-SecureKey),
    PSCredential / NetworkCredential constructors (all forms, -Property @{}), -Password/-Secret/
    -Token/-ApiKey parameters of any command, MailKit Authenticate(), the CDO sendpassword field,
    Authorization header values, client_secret and password keys, MSAL WithClientSecret().
    Shapes anywhere: URL user-info, password=/token=/key= parameters, Password= in connection
    strings, bearer tokens, API keys with known prefixes.
    """
    text = script.text
    tracer = _Tracer(script)
    found: set[str] = set()
    structure = script.structure
    sinks = 0

    def evaluate(span: Optional[tuple[int, int]], argument_mode: bool = False, scheme: str = "") -> None:
        nonlocal sinks
        if span is None or span[0] >= span[1]:
            return
        sinks += 1
        _register(found, tracer.evaluate(span[0], span[1], argument_mode=argument_mode), scheme)
        from_config(span)

    def from_config(span: Optional[tuple[int, int]]) -> None:
        # A sink argument read from a configuration file in the scanned tree ($cfg.Pass after
        # ConvertFrom-Json, $ini['password'], a .psd1): the resolver knows its value, so is it a secret.
        if span is None or script.root is None or "$" not in text[span[0] : span[1]]:
            return

        try:
            followed = follow_value(script, text[span[0] : span[1]], span[0])
        except (RecursionError, ValueError):
            return
        if followed is not None and followed.provenance is Provenance.CONFIG_FILE and isinstance(followed.value, str):
            value = followed.value
            if len(value.strip()) >= MIN_VALUE_WHOLE:
                found.add(value)

    low = structure.code_lower
    text_hits = _Hits(lower_same_length(text), structure.line_starts)
    code_hits = _Hits(low, structure.line_starts)
    # ConvertTo-SecureString, wherever it is (also nested in a constructor or a parameter).
    if "convertto-securestring" in low:
        for site in find_command_sites(script, {"convertto-securestring": "ConvertTo-SecureString"}, module="Microsoft.PowerShell.Security"):
            arguments = lex_call(script, site)
            _register(found, tracer._securestring(site.name_start, arguments.end, 0))
            if script.root is not None:
                # The -String value (named or the first positional): followed into a configuration file.
                elements = arguments.elements
                k = 0
                while k < len(elements):
                    element = elements[k]
                    k += 1
                    if element.kind.value == "parameter":
                        pname = element.text.lower().lstrip("-\u2013\u2014").rstrip(":")
                        if pname in ("asplaintext", "force") or element.value is not None:
                            if pname == "string" and element.value is not None:
                                from_config((element.value.start, element.value.end))
                            continue
                        if pname in ("string", "key", "securekey", "k") and k < len(elements):
                            if pname == "string":
                                from_config((elements[k].start, elements[k].end))
                            k += 1
                        continue
                    if element.kind.value == "value":
                        from_config((element.start, element.end))
                        break
            for n, element in enumerate(arguments.elements):
                name = element.text.lower().lstrip("-\u2013\u2014") if element.kind.value == "parameter" else ""
                if name in ("key", "securekey", "k"):
                    target = element.value or (arguments.elements[n + 1] if n + 1 < len(arguments.elements) else None)
                    if target is not None:
                        written = text[target.start : target.end].strip()
                        found.add(written.strip("()@"))
                        variable = _VARIABLE.match(written)
                        if variable and variable.group("name"):
                            for _, s, e in tracer.assignments(variable.group("name")):
                                found.add(text[s:e].strip().strip("()@"))
                        _register(found, tracer.evaluate(target.start, target.end, argument_mode=True))
                        # With the key in the script, the encrypted string is as good as plain text.
                        for other in arguments.elements:
                            if other.kind.value == "value" and other is not target:
                                found.add(text[other.start : other.end].strip().strip("'\""))
            upstream = script.pipeline_upstream(site.name_start)
            if upstream is not None:
                assigned = re.match(r"(?i)\s*\[?[\w.\[\]]*\]?\s*\$[\w:]+(?:\.\w+)*\s*=(?!=)", text[upstream[0] : upstream[1]])
                evaluate((upstream[0] + (assigned.end() if assigned else 0), upstream[1]))
    # Credential constructors.
    for construction in find_constructions(script, _CRED_TYPES):
        if len(construction.arguments) >= 2:
            evaluate(construction.arguments[1])
    for construction in find_constructions(script, _EWS_TOKEN_TYPE):
        if construction.arguments:
            evaluate(construction.arguments[0])
        for s, e in construction.property_spans:
            evaluate_hashtable_keys(script, tracer, found, s, e, ("password", "securepassword"))
    low_code = structure.code_lower
    if "x509certificate2" in low_code:
        # X509Certificate2(path, password[, flags]) and $cert.Import(path, password, flags): the .pfx password.
        for construction in find_constructions(script, _X509):
            if len(construction.arguments) >= 2:
                evaluate(construction.arguments[1])
        for m in _CERT_IMPORT.finditer(script.code):
            try:
                close = _skip_balanced(text, m.end() - 1)
            except _LexError:
                continue
            args = split_arguments(text, m.end(), close - 1)
            if len(args) >= 2:
                evaluate(args[1])
    if "appendchar" in low_code or "insertat" in low_code:
        # A SecureString filled one character at a time.
        for m in _APPEND_CHAR.finditer(script.code):
            try:
                close = _skip_balanced(text, m.end() - 1)
            except _LexError:
                continue
            args = split_arguments(text, m.end(), close - 1)
            if args:
                evaluate(args[-1])
    # A native tool's password switch: blat.exe … -pw x, sendEmail … -xp x.
    for m in _NATIVE_PASSWORD.finditer(script.code) if _native_password_hint(low_code) else ():
        span = _argument_after(script, m.end())
        if span is not None and text[span[0]] != "-":
            evaluate(span, argument_mode=True)
    if "smtp://" in script.text_lower or "smtps://" in script.text_lower:
        for m in _CURL_USER.finditer(script.code):
            span = _argument_after(script, m.end())
            line_end = text.find("\n", m.end())
            if span is None or text[span[0]] == "-" or not re.search(r"(?i)smtps?://", text[text.rfind("\n", 0, m.start()) + 1 : len(text) if line_end < 0 else line_end]):
                continue
            written = text[span[0] : span[1]].strip("'\"")
            if ":" in written and "$" not in written.partition(":")[2]:
                found.add(written.partition(":")[2])  # the password after the user name
    # -Password / -ClientSecret / -AccessToken … of any command.
    for m in _matches(_SECRET_PARAM_ANY, script.code, code_hits, _SECRET_PARAM_WORDS):
        name = m.group(1).lower()
        if _DESCRIBES_A_SECRET.search(name):
            continue
        evaluate(_argument_after(script, m.end()), argument_mode=True)
    # MailKit .Authenticate(user, password) / (encoding, user, password); MSAL .WithClientSecret('x').
    for pattern, index in ((_AUTHENTICATE, -1), (_WITH_SECRET, 0)):
        for m in pattern.finditer(script.code):
            try:
                close = _skip_balanced(text, m.end() - 1)
            except _LexError:
                continue
            args = split_arguments(text, m.end(), close - 1)
            if (index == -1 and len(args) >= 2) or (index == 0 and args):
                evaluate(args[index])
    # Hashtable keys and assignments named like a secret, CDO sendpassword, Authorization headers.
    keyed = (
        (_HASH_SECRET_KEY, "", _HASH_KEY_WORDS),
        (_CDO_PASSWORD_ANY, "", ("sendpassword",)),
        (_AUTHORIZATION, "header", ("authorization",)),
    )
    for pattern, scheme, words in keyed:
        for m in _matches(pattern, text, text_hits, words):
            if structure.in_string_or_comment(m.end() - 1):
                continue
            evaluate(assigned_value_extent(structure, m.end()), scheme=scheme)
    for name, is_variable, value_start in _named_assignments(script):
        if _DESCRIBES_A_SECRET.search(name):
            continue
        span = assigned_value_extent(structure, skip_spaces(text, value_start))
        if re.match(r"['\"]?https?://", text[span[0] : span[1]].strip(), re.I):
            continue
        evaluate(span)
    # C# source in a string (Add-Type): `new NetworkCredential("user", "password")`, `Password = "…"`.
    if "NetworkCredential" in text:
        for m in _CSHARP_CREDENTIAL.finditer(text):
            value = m.group(1) if m.group(1) is not None else m.group(2)
            if value:
                found.add(value)
    # Shapes that are secrets wherever they are written.
    for m in _matches(_TEXT_SHAPES, text, text_hits, _TEXT_SHAPE_WORDS):
        for group in ("query", "conn", "pass", "bearer", "json", "cli"):
            value = m.group(group)
            if value:
                found.add(value.rstrip())
    for m in _matches(_PREFIXED_KEYS, text, text_hits, _PREFIXED_KEY_WORDS):
        found.add(m.group())
    found.update(v for v in tracer.extra if len(v.strip()) >= _FRAGMENT_MIN)
    # A value written with escapes ('it''s', "a`$b") shows in the source as written: mask that too.
    for value, source in tracer.sources:
        if any(value in f for f in found):
            found.add(source if len(source) < 200 else value)
    # A base64 literal elsewhere in the file that decodes to a registered value.
    if found:
        for s, e in structure.masked.strings:
            literal = text[s + 1 : e - 1]
            if 8 <= len(literal) <= 4096 and _BASE64_LITERAL.match(literal):
                for codec in ("utf-8", "utf-16-le"):
                    decoded = _b64decode(literal, codec)
                    if decoded and decoded in found:
                        found.add(literal)
    result = frozenset(v for v in found if len(v.strip()) >= MIN_VALUE_WHOLE and not v.startswith("$") and "***" not in v)
    has_sink = bool(sinks or result) or _holds_credential_code(low_code)
    return CredentialFlows(result, tuple(sorted(tracer.visited)), tuple(dict.fromkeys(tracer.opaque)), has_sink)


def evaluate_hashtable_keys(script: Script, tracer: _Tracer, found: set[str], start: int, end: int, keys: tuple[str, ...]) -> None:
    """Register the values of ``keys`` in the hashtable literal at ``[start, end)``."""

    m = re.match(r"(?s)\s*@\{", script.text[start:end])
    if m is None:
        return
    entries, _ = parse_hashtable_literal(script, start + m.end() - 1, False, "")
    for entry in entries:
        if entry.key.lower() in keys:
            _register(found, tracer.evaluate(entry.assignment.start, entry.assignment.start + len(entry.assignment.text)))


def registry_for(script: Script) -> "SecretRegistry":
    """A registry holding the secret values of one script."""

    return SecretRegistry(secret_values(script))
