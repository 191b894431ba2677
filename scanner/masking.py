"""What of one script any output may show: a mask built from the script, applied to every piece of its
text that leaves the scanner (snippets, excerpts, diffs, bound parameters, messages, the cache).

Safe by construction rather than by recognising each way of writing a password. The tracer
(``scanner.secrets.credential_flows``) follows the value of every credential sink of the file to
the literals it is made of:

- a literal a sink's value was evaluated from is masked where it stands, whatever its value;
- when a sink's value cannot be followed inside the file (an expression the tracer does not
  evaluate: the flow is *opaque*), every string literal is masked unless it is known to be harmless
  where it stands (an address where an address goes, a host where a host goes, a path, an account
  name, a parameter or key name, an enum value, a web address without credentials), and every
  comment is masked (a comment cannot be placed);
- when every flow was followed, a literal or comment reaching no sink is proven unrelated and shown,
  unless it writes a secret out ("pwd: x") or holds a word shaped like a password;
- in a file without a credential sink only what writes a secret out, or looks like one, is masked;
- everywhere, the values the sinks receive (and any part of a long one) are masked inside any text.

Masking is scoped to the file: a value that is secret in one script is not masked in another
(``strong`` values are the exception: a value no ordinary word or name can be, which a reviewer
would recognise as the same secret wherever it is pasted). A mail user name is never a secret.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from scanner.redact import MASK, Redactor
from scanner.script import Script
from scanner.secrets import credential_flows

# A masked region: (start, end, kind); kind "string", "comment" or "raw" (a bare word, a code list).
Region = tuple[int, int, str]

_ADDRESS = re.compile(r"(?:[^<>@\r\n,;'\"]*<)?[\w.!#%&*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}>?")
_ADDRESSES = re.compile(r"[ \t]*" + _ADDRESS.pattern + r"(?:[ \t]*[,;][ \t]*" + _ADDRESS.pattern + r")*[ \t]*")
_ACCOUNT = re.compile(r"[\w.-]+(?:\\[\w.$-]+)?|" + _ADDRESS.pattern)
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,62})?(?::\d{1,5})?|\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|\[[0-9A-Fa-f:]+\]")
_PATH = re.compile(
    r"(?:[A-Za-z]:[\\/]|\\\\|\.{1,2}[\\/]|~[\\/]|/|\$\w+[\\/]|\$\([^)]*\)[\\/]|\$env:\w+[\\/])[^'\"`\r\n|<>*?]*"
    r"|[^'\"`\s\r\n|<>*?]+\.(?:ps1|psm1|psd1|csv|txt|log|xml|json|html?|pfx|cer|pem|key|zip|xlsx?|docx?|pdf|config|ini|yml|yaml|clixml)"
)
_NAME = re.compile(r"[A-Za-z_][\w.+/-]{0,80}")
_URL = re.compile(r"(?i)https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[^\s'\"`?#@]*)?")
_SCHEMA = re.compile(r"(?i)https?://schemas\.microsoft\.com/[\w./-]*")
# A media type as scripts write it, right or wrong ('application/json; charset=utf-8', 'application\\json').
_MEDIA = re.compile(r"[A-Za-z][\w.+-]*[/\\][\w.+-]+(?:[ \t]*;[ \t]*[\w-]+=[\w.\"-]+)*[ \t]*;?")
_MEDIA_NAMES = {"contenttype", "content-type", "content_type", "mediatype", "mimetype", "accept"}
_ODATA_TYPE = re.compile(r"#microsoft\.graph\.[A-Za-z]+")  # '@odata.type' = '#microsoft.graph.fileAttachment'
_PLAIN_URL = re.compile(r"(?i)https?://(?:[A-Za-z0-9.-]+|\$\(?\$?\w+\)?)(?::\d+)?(?:/(?:[\w.~%+-]|\$\(?\$?[\w.]+\)?)*)*/?(?:\?api-version=[\w.-]+)?")
_SUPPRESSION = re.compile(r"(?i)smtp2graph:\s*ignore(?:\[[A-Za-z0-9_,\s]*\])?")

# Where a literal stands, by the name before it (a parameter, a key, a variable, a property), and what
# it may look like there to be shown.
_ADDRESS_NAMES = {
    "from", "to", "cc", "bcc", "replyto", "reply_to", "replytolist", "sender", "recipient", "recipients", "recipientlist",
    "mailfrom", "mailto", "emailfrom", "emailto", "fromaddress", "toaddress", "address", "email", "emailaddress", "mail",
    "mailbox", "userid", "userprincipalname", "upn", "sendas", "senderaddress", "recipientaddress", "toaddresses", "displayname",
}
_ACCOUNT_NAMES = {"username", "user", "account", "accountname", "samaccountname", "sendusername", "smtpuser", "mailuser", "clientid", "client_id", "appid", "applicationid", "tenantid", "tenant", "tenant_id"}
_HOST_NAMES = {
    "smtpserver", "server", "smtphost", "host", "hostname", "relay", "smtp", "mailserver", "smtprelay", "computername",
    "smtpserveraddress", "mailhost", "exchangeserver", "smtpservername", "servername", "dnsname", "fqdn",
}
_PATH_NAMES = {
    "path", "filepath", "literalpath", "attachments", "attachment", "file", "filename", "logfile", "logpath", "outfile",
    "folder", "directory", "destination", "source", "configpath", "importpath", "workingdirectory", "exportpath", "outputpath",
    "csvpath", "reportpath", "logdir", "logfolder", "root", "modulepath", "certificatepath", "pfxpath", "certpath",
}
_URL_NAMES = {"uri", "url", "endpoint", "baseurl", "resource", "scope", "scopes", "authority", "tokenurl", "tokenendpoint", "resourceurl", "graphurl", "redirecturi"}
_ENUM_NAMES = {
    "erroraction", "warningaction", "informationaction", "encoding", "priority", "deliverynotificationoption", "foregroundcolor",
    "backgroundcolor", "method", "contenttype", "bodyformat", "typename", "comobject", "assemblyname", "module", "modulename",
    "name", "scope", "type", "level", "severity", "status", "format", "delimiter", "culture", "protocol", "securityprotocol",
    "itemtype", "class", "property", "sortby", "filter", "include", "exclude", "outputtype", "contenttransferencoding",
    "bodyencoding", "subjectencoding", "deliverymethod", "parametersetname", "certificatethumbprint", "thumbprint",
    "grant_type", "granttype", "response_type", "token_type", "authenticationtype", "authtype",
}
# A message's subject line is shown where it stands unless it writes a secret out or holds a word shaped
# like a password (issue 22 names a subject among the harmless places); a body stays masked in a file
# whose credential flows cannot all be followed (free text of any length).
_TEXT_NAMES = {"subject", "subjectline", "mailsubject", "emailsubject"}
_METHOD_ROLES = {  # method or constructor (lower case) -> the role of each argument, by position
    "mailaddress": ("address", "free"), "add": ("address",), "connect": ("host",), "smtpclient": ("host",),
    "networkcredential": ("account",), "pscredential": ("account",), "webcredentials": ("account",),
    "authenticate": ("account",), "autodiscoverurl": ("address",), "new-object": ("name",), "join-path": ("path", "path"), "test-path": ("path",),
    "item": ("name",), "write-host": ("free",),
}
_ROLE_SHAPES: dict[str, re.Pattern[str]] = {
    "address": _ADDRESSES, "account": _ACCOUNT, "media": _MEDIA, "host": _HOST, "path": _PATH, "url": _URL, "name": _NAME,
}
_CALL_BEFORE = re.compile(r"(?:\.|::|(?<![\w$])(?:New-Object[ \t]+(?:-TypeName[ \t]+)?)?(?:[\w]+\.)*)([A-Za-z_][\w-]*)[ \t]*\($")


def role_of_name(name: str) -> Optional[str]:
    """The place a value named so stands in (a parameter, key or variable: To is an address, SmtpServer a
    host, Subject text, ...); None when the name says nothing."""
    low = name.lower()
    if low in _ADDRESS_NAMES:
        return "address"
    if low in _ACCOUNT_NAMES:
        return "account"
    if low in _HOST_NAMES:
        return "host"
    if low in _PATH_NAMES or low.endswith(("path", "file", "folder", "dir")):
        return "path"
    if low in _URL_NAMES or low.endswith(("uri", "url")):
        return "url"
    if low in _MEDIA_NAMES:
        return "media"
    if low in _ENUM_NAMES:
        return "name"
    if low in _TEXT_NAMES:
        return "text"
    return None


def place_of(script: Script, start: int) -> Optional[str]:
    """The role of the literal at ``start`` where it stands (address, account, host, path, url, name,
    key), from the parameter, key, variable, property or call before it; None when not known.

    Read backwards from the literal by hand (a regex anchored at the end of a window tries every
    offset of it: a file of 100,000 literals spent most of its scan there)."""
    code = script.code
    # A key: 'From' = …, $x['From'], $x.'From'
    after = _skip_literal(script, start)
    if after is not None:
        rest = code[after : after + 3].lstrip(" \t")
        if rest.startswith("=") and not rest.startswith("=="):
            return "key"
        if rest.startswith("]") and code[max(0, start - 1) : start] == "[":
            return "key"
    lo = max(0, start - 200)
    head = code[lo:start].rstrip(" \t")
    # Skip back over the other items of a list (their text is blank in the code) to what the list belongs to.
    trimmed = head.rstrip(" \t\r\n,`@(")
    if "," in head[len(trimmed) :]:
        head = trimmed
    name = _parameter_at_end(head) or _assigned_at_end(head)
    if name is None and head.endswith("="):  # a quoted key ('From' = …): blank in the code, read from the text
        name = _assigned_at_end(script.text[lo:start].rstrip(" \t"))
    if name is not None:
        return role_of_name(name)
    # An argument of a call or constructor: its position among the arguments decides.
    call = _call_before(code, start)
    if call is not None:
        callee, index = call
        roles = _METHOD_ROLES.get(callee.lower().rsplit(".", 1)[-1])
        if roles is not None:
            return roles[index] if index < len(roles) else None
    return None


def _word_start(text: str, end: int) -> int:
    i = end
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
        i -= 1
    return i


def _parameter_at_end(head: str) -> Optional[str]:
    """`-Name` or `-Name:` ending ``head`` (a parameter, not a subtraction: nothing glued before the dash)."""
    end = len(head)
    if head.endswith(":"):
        end -= 1
    begin = _word_start(head, end)
    if begin == end or begin == 0 or head[begin - 1] not in "-\u2013\u2014" or not head[begin].isalpha():
        return None
    before = head[begin - 2] if begin >= 2 else " "
    if before.isalnum() or before in "_$-":
        return None
    return head[begin:end]


def _assigned_at_end(head: str) -> Optional[str]:
    """The name assigned to in ``head`` ending with `NAME =` (`$name =`, `$x.Name =`, `Name =` in a hashtable)."""
    if not head.endswith("=") or head.endswith(("==", "!=", "<=", ">=")):
        return None
    body = head[:-1].rstrip(" \t")
    quoted = body.endswith(("'", '"'))
    if quoted:
        body = body[:-1]  # a quoted key: 'From' = (the key itself is blank in the code)
    begin = _word_start(body, len(body))
    while quoted and begin > 0 and body[begin - 1] == "-":  # 'Content-Type' = : a quoted key may hold dashes
        begin = _word_start(body, begin - 1)
    if begin == len(body):
        return None
    return body[begin:]


def _call_before(code: str, start: int) -> Optional[tuple[str, int]]:
    """(callee, argument index) when ``start`` is an argument of `name(…)`, `.Method(…)` or `[T]::new(…)`."""
    depth = 0
    index = 0
    i = start - 1
    floor = max(0, start - 400)
    while i >= floor:
        c = code[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "(":
                    return None
                m = _CALL_BEFORE.search(code, max(0, i - 120), i + 1)
                if m is None:
                    return None
                name = m.group(1)
                if name.lower() == "new":
                    t = re.search(r"\[([\w.]+)\]::new\($", code[max(0, i - 120) : i + 1], re.I)
                    name = t.group(1) if t else name
                return name, index
            depth -= 1
        elif c == "," and depth == 0:
            index += 1
        elif c in "\n;|" and depth == 0:
            return None
        i -= 1
    return None


def _skip_literal(script: Script, start: int) -> Optional[int]:
    spans = script.structure.masked.strings
    i = bisect.bisect_left(spans, (start, -1))
    if i < len(spans) and spans[i][0] == start:
        return spans[i][1]
    return None


def _inner(literal: str) -> str:
    """A string literal's text without its quotes (or here-string markers)."""
    if literal[:2] in ("@'", '@"', "@\u2018", "@\u201c"):
        body = literal[2:]
        body = body[body.find("\n") + 1 :] if "\n" in body else body
        return body[: max(0, len(body) - 2)].rstrip("\r\n")
    return literal[1:-1] if len(literal) >= 2 else literal


def harmless(role: Optional[str], content: str) -> bool:
    """Whether ``content`` is harmless to show in a place of ``role`` (it has the shape that place holds)."""
    if _SCHEMA.fullmatch(content) or _PLAIN_URL.fullmatch(content) or _ODATA_TYPE.fullmatch(content):
        return True  # CDO / System.Web.Mail field names; an address on the web without credentials or a query; a Graph type
    if role is None or not content or "$" in content and role not in ("path",):
        return False
    if role == "key":
        return _NAME.fullmatch(content.removeprefix("@")) is not None  # '@odata.type' = …
    if role == "text":
        return not _named_value(content) and not _looks_like_a_password(content)
    if role == "media" and _named_value(content):
        return False  # 'charset=UTF-8' mixes classes like a password; the media-type shape decides
    shape = _ROLE_SHAPES.get(role)
    return shape is not None and shape.fullmatch(content) is not None


@dataclass
class SourceMask:
    """The masked regions of one script and the values to mask in text derived from it (never written
    anywhere: it lives in memory, and travels from a worker to the parent with the file's plan)."""

    regions: list[Region] = field(default_factory=list)  # sorted, not overlapping
    secrets: frozenset[str] = frozenset()  # values that reach a sink (and secret shapes): masked in any text
    literals: frozenset[str] = frozenset()  # masked literals and comment lines: masked where they stand whole
    opaque: tuple[str, ...] = ()  # why a sink's value could not be followed (the whole file is then masked)
    has_sink: bool = False
    _redactor: Optional[Redactor] = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.regions or self.secrets or self.literals)

    def __iter__(self) -> Iterator[str]:
        """Every value this mask hides in derived text (a diff's added lines, a bound parameter)."""
        yield from self.secrets
        yield from self.literals

    @property
    def values(self) -> frozenset[str]:
        return self.secrets | self.literals

    def with_secrets(self, values: Iterable[str]) -> "SourceMask":
        """This mask, also hiding ``values`` (the run's strong values, scanner.estate.scan)."""
        extra = frozenset(v for v in values if len(v.strip()) >= 3) - self.secrets
        if not extra:
            return self
        return SourceMask(self.regions, self.secrets | extra, self.literals, self.opaque, self.has_sink)

    def redactor(self, escape_controls: bool = False) -> Redactor:
        """Masks this file's values in text taken out of its place (parameters, messages, generated code)."""
        if escape_controls:
            return Redactor(self.secrets, escape_controls=True, literals=self.literals)
        if self._redactor is None:
            self._redactor = Redactor(self.secrets, literals=self.literals)
        return self._redactor

    def slice(self, text: str, start: int, end: int) -> str:
        """``text[start:end]`` (``text`` is the script's) with every masked region in it replaced, line
        breaks kept; a region cut by the window is masked all the same."""
        regions = self.regions
        i = bisect.bisect_left(regions, (start, -1, ""))
        if i > 0 and regions[i - 1][1] > start:
            i -= 1
        out: list[str] = []
        cursor = start
        while i < len(regions) and regions[i][0] < end:
            rs, re_, kind = regions[i]
            i += 1
            if re_ <= start:
                continue
            s, e = max(rs, start), min(re_, end)
            out.append(text[cursor:s])
            out.append(_replacement(text, rs, re_, kind, s, e))
            cursor = e
        out.append(text[cursor:end])
        masked = "".join(out)
        return self.redactor().redact(masked) if self.secrets or self.literals else masked

    def masked_text(self, text: str) -> str:
        """The whole script as any output may show it (same lines)."""
        return self.slice(text, 0, len(text))

    def masked_count(self) -> int:
        return len(self.regions)


def _replacement(text: str, rs: int, re_: int, kind: str, s: int, e: int) -> str:
    """What stands for ``text[s:e]``, the part of the masked region ``[rs, re_)`` a window shows: each line of
    it ``***``, the quotes or comment markers kept where the window shows them."""
    out: list[str] = []
    pos = s
    while pos < e:
        nl = text.find("\n", pos, e)
        line_end = e if nl < 0 else nl
        segment = text[pos:line_end]
        open_mark = close_mark = ""
        if kind == "string":
            if pos == rs:
                open_mark = segment[:2] if segment[:1] == "@" else segment[:1]
            if line_end == re_ and line_end > pos:
                close_mark = segment[-2:] if text[rs] == "@" else segment[-1:]
                if pos == rs and len(segment) <= len(open_mark):
                    close_mark = ""
        elif kind == "comment":
            if pos == rs:
                open_mark = "<#" if segment.startswith("<#") else "#"
                directive = _SUPPRESSION.search(segment)
                if directive is not None:
                    open_mark += " " + directive.group()
            if line_end == re_ and segment.endswith("#>") and line_end > pos:
                close_mark = "#>"
        stripped = segment.strip()
        indent = segment[: len(segment) - len(segment.lstrip())] if pos != rs else ""
        if stripped in (open_mark.strip(), close_mark, open_mark + close_mark) and stripped:
            body = segment  # a line that is only the quote or a marker
        elif kind == "comment" and pos == rs:
            body = open_mark + " " + MASK + (" " + close_mark if close_mark else "")
        elif segment.strip() or open_mark or close_mark:
            body = indent + open_mark + MASK + close_mark
        else:
            body = segment
        if segment.endswith("\r") and not body.endswith("\r"):
            body += "\r"
        out.append(body)
        if nl < 0:
            break
        out.append("\n")
        pos = nl + 1
    return "".join(out)


def source_mask(script: Script, extra_secrets: Iterable[str] = (), extra_regions: Iterable[tuple[int, int]] = ()) -> SourceMask:
    """The mask of ``script``: its credential flows' values and literals, plus ``extra_secrets`` (values
    a rule reports) and ``extra_regions`` (literals a rule reports, masked where they stand)."""
    return _build(script, frozenset(extra_secrets), sorted(extra_regions))


def _build(script: Script, extra: frozenset[str], extra_regions: list[tuple[int, int]]) -> SourceMask:
    text = script.text
    flows = credential_flows(script)
    structure = script.structure
    strings = structure.masked.strings
    comments = structure.masked.comments
    visited = sorted(set(flows.visited) | set(extra_regions))
    regions: list[Region] = []
    literals: set[str] = set()
    opaque = bool(flows.opaque)

    def visited_in(s: int, e: int) -> bool:
        k = bisect.bisect_left(visited, (s, -1))
        if k > 0 and visited[k - 1][1] > s:
            return True
        return k < len(visited) and visited[k][0] < e

    secret_values = flows.values | extra
    named_value = _named_values_in(text)
    for s, e in strings:
        if visited_in(s, e):
            masked = True
        elif not flows.has_sink:
            masked = named_value(s, e) and _named_value(_inner(text[s:e]))
        else:
            # Proven unrelated to every sink (a followed flow) unless it writes a secret out or looks like
            # one; where it stands is asked only when that would mask it (a file of 100,000 literals).
            content = _inner(text[s:e])
            masked = opaque or (named_value(s, e) and _named_value(content)) or _looks_like_a_password(content)
            if masked and harmless(place_of(script, s), content):
                masked = False
        if masked:
            literal = text[s:e]
            regions.append((s, e, "string"))
            _remember(literals, literal, _inner(literal))
    for s, e in comments:
        body = text[s:e]
        if _SUPPRESSION_ONLY.fullmatch(body):
            continue  # `# smtp2graph: ignore[RULE]` and nothing else
        # A comment cannot be placed: in a file whose flows could not all be followed it is masked; else
        # it is shown unless it writes a secret out or holds a word shaped like a password.
        masked = opaque or (named_value(s, e) and _named_value(body)) or _looks_like_a_password(body)
        if masked:
            regions.append((s, e, "comment"))
            for line in body.splitlines():
                line = line.strip()
                if len(line) >= 4:
                    literals.add(line)
    # Bare words and code lists a sink's value came from (outside any string).
    for s, e in visited:
        k = bisect.bisect_right(strings, (s, len(text) + 1)) - 1
        if k >= 0 and strings[k][0] <= s and e <= strings[k][1]:
            continue
        regions.append((s, e, "raw"))
        word = text[s:e].strip()
        if len(word) >= 3:
            literals.add(word)
    regions.sort()
    merged: list[Region] = []
    for region in regions:
        if merged and region[0] < merged[-1][1]:
            last = merged[-1]
            if region[1] > last[1]:
                merged[-1] = (last[0], region[1], last[2] if last[0] <= region[0] else region[2])
            continue
        merged.append(region)
    # An address is never masked in derived text, written with its quotes or without (a mail user name is no secret).
    addresses = {v for v in literals if _ADDRESSES.fullmatch(v) or _ADDRESSES.fullmatch(_inner(v))}
    return SourceMask(merged, frozenset(v for v in secret_values if len(v.strip()) >= 3),
                      frozenset(v for v in literals - addresses if len(v) >= 3 and v != MASK), flows.opaque, flows.has_sink)


def _remember(literals: set[str], literal: str, content: str) -> None:
    """A masked literal as derived text may hold it: as written, its content, and each line of a long one."""
    literals.add(literal)
    if content.strip():
        literals.add(content)
    if "\n" in content:
        literals.update(line.strip() for line in content.splitlines() if len(line.strip()) >= 3)


_NAMED_VALUE = re.compile(r"(?i)(?:pass(?:wor[dt])?|passwd|pwd|\bpw|secret|token|api[_ -]?key|passphrase|kennwort)\w*['\"]?[ \t]*(?:[:=]|\bis\b|\bist\b)[ \t]*\S{3,}")


# What every match of _NAMED_VALUE starts with, in lower case: where none is, no piece of the text holds one.
_NAMED_VALUE_HINT = re.compile(r"pass|pw|secret|token|api|kennwort")


def _named_values_in(text: str) -> Callable[[int, int], bool]:
    """Whether ``text[start:end]`` may hold a _NAMED_VALUE match: False only where it surely holds none (a
    file's hints are found once; a file of 100,000 literals asked the pattern of each one). In ASCII text
    only: case-insensitive matching folds a few other letters (the long s, the Kelvin sign) to ASCII."""
    if not text.isascii():
        return lambda start, end: True
    hints = [m.start() for m in _NAMED_VALUE_HINT.finditer(text.lower())]

    def may_hold(start: int, end: int) -> bool:
        k = bisect.bisect_left(hints, start)
        return k < len(hints) and hints[k] < end

    return may_hold


# Pure functions of one literal or comment: an estate repeats the same ones across its files (bounded).
@lru_cache(maxsize=1 << 15)
def _named_value(content: str) -> bool:
    """A string of a file without a credential sink that still writes a password out: "pwd: x", "password=x"."""
    return _NAMED_VALUE.search(content) is not None


_TOKEN = re.compile(r"[^\s'\"`,;()\[\]{}<>]+")
_NOT_A_PASSWORD = re.compile(
    r"(?i)https?://\S*|[a-z]:\\\S*|\$[\w:]+\S*|[\w.-]+@[\w.-]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|v?\d+(?:[.:/-]\d+)+\w{0,3}"
    r"|[A-Z][a-z]+-[A-Z]\w+|[\w.]+\(\)?|\d+(?:st|nd|rd|th|px|ms|kb|mb|gb|s|m|h|d)"
)
_SPECIAL = re.compile(r"[!#%^&*+=?~|@]")
# A word (as _TOKEN cuts them) that holds a digit or a symbol. It starts only where a word starts (the
# look-behind): tried from every place inside a long word without one, it backtracked quadratically.
_CANDIDATE = re.compile(r"(?<![^\s'\"`,;()\[\]{}<>])[^\s'\"`,;()\[\]{}<>\d!#%^&*+=?~|@]*[\d!#%^&*+=?~|@][^\s'\"`,;()\[\]{}<>]*")


@lru_cache(maxsize=1 << 15)
def _looks_like_a_password(text: str) -> bool:
    """A word that mixes lower case, upper case, digits and symbols the way passwords do (not a URL, a
    path, a variable, an address, a GUID, a version or date, a cmdlet name)."""
    # Only a word holding a digit or a symbol can mix classes the way a password does: one search
    # finds those words (most comments and literals have none).
    for m in _CANDIDATE.finditer(text):
        token = m.group().strip(".:!?")
        if len(token) < 6 or _NOT_A_PASSWORD.fullmatch(token):
            continue
        lower = any(c.islower() for c in token)
        upper = any(c.isupper() for c in token)
        digit = any(c.isdigit() for c in token)
        special = _SPECIAL.search(token) is not None
        if (lower or upper) and digit and (special or (lower and upper)):
            return True
        if special and lower and upper:
            return True
    return False


_SUPPRESSION_ONLY = re.compile(r"(?i)#\s*smtp2graph:\s*ignore(?:\[[A-Za-z0-9_,\s]*\])?\s*")


def strong(value: str) -> bool:
    """A secret value no ordinary word, name or address can be: masked in every file of the run, where a
    reviewer would recognise it as the same secret pasted elsewhere."""
    v = value.strip()
    if len(v) < 8 or " " in v or _ADDRESSES.fullmatch(v) or _URL.fullmatch(v) or _PATH.fullmatch(v):
        return False
    classes = sum(1 for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^\w\s]") if re.search(pattern, v))
    return classes >= 3 or (classes >= 2 and len(v) >= 16)
