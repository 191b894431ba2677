"""Merge scan (and tenant audit) JSON documents into one report model the HTML and Markdown renderers share.

Organisations run one scan per repository in CI and merge hundreds of JSON files into one
estate report, so everything here is a single pass over the findings with dict/set lookups:
no step compares findings or documents pairwise.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Iterable, Iterator, Optional, TextIO, Union

# Exchange Online disables SMTP AUTH basic auth by default at the end of December 2026 (GRAPH_NOTES.md).
BASIC_AUTH_OFF = date(2026, 12, 31)
DEADLINE_TEXT = "end of December 2026"

SEVERITIES = ("critical", "high", "medium", "low", "info")
APIS = (
    "send-mailmessage",
    "smtpclient",
    "mailkit",
    "cdo",
    "system-web-mail",
    "outlook-com",
    "graph-sendmail",
    "send-mgusermail",
)
GRAPH_APIS = frozenset({"graph-sendmail", "send-mgusermail"})
FIX_SAFETIES = ("safe", "unsafe", "display-only", "none")

JsonDict = dict[str, object]


# MergedReport fields that hold (masked copies of) the input documents' own JSON.
_DOCUMENT_PARTS = ("findings", "rules", "errors", "unused_suppressions", "audits")


class Category(str, Enum):
    """The "are we ready?" tiles; each finding carries the categories it counts towards."""

    BREAKS = "breaks"
    FIX_SAFE = "fix-safe"
    FIX_UNSAFE = "fix-unsafe"
    MANUAL = "manual"
    GRAPH = "graph"
    SECRET = "secret"


TILE_LABELS: dict[Category, str] = {
    Category.BREAKS: "Will break",
    Category.FIX_SAFE: "Auto-fixable (safe)",
    Category.FIX_UNSAFE: "Auto-fixable (unsafe)",
    Category.MANUAL: "Need manual work",
    Category.GRAPH: "Already on Graph",
    Category.SECRET: "Secrets found",
}


class DocumentKind(str, Enum):
    SCAN = "scan"
    AUDIT = "audit"


class ReportInputError(ValueError):
    """A document is not a smtp2graph scan or audit JSON document; the message says why."""


@dataclass
class Tile:
    key: str
    label: str
    scripts: int
    findings: int


@dataclass
class Repository:
    name: str
    root: str
    generated_at: str
    files_scanned: int
    files_failed: int
    findings: int
    tool_version: str


@dataclass
class SenderScript:
    repo: str
    path: str
    lines: list[int]


@dataclass
class Sender:
    """One static sender mailbox: what an admin scopes the Graph app to (RBAC for Applications)."""

    mailbox: str
    scripts: list[SenderScript]
    credentials: list[str]
    credential_users: list[str]
    servers: list[str]
    apis: list[str]
    findings: int


@dataclass
class DynamicSender:
    """A mail call whose From is not a constant: the admin must find the mailbox by reading the script."""

    repo: str
    path: str
    line: int
    finding: int
    from_text: str
    reason: str
    credential: str
    server: str


@dataclass
class Summary:
    scripts: int
    findings: int
    tiles: list[Tile]
    by_severity: dict[str, int]
    by_api: dict[str, int]
    by_fix: dict[str, int]


@dataclass
class MergedReport:
    """Everything either renderer shows; `to_json()` is the exact data the HTML page embeds."""

    generated_at: str
    deadline: str
    deadline_text: str
    days_left: int
    repositories: list[Repository]
    summary: Summary
    findings: list[JsonDict]
    rules: dict[str, JsonDict]
    senders: list[Sender]
    dynamic_senders: list[DynamicSender]
    errors: list[JsonDict]
    unused_suppressions: list[JsonDict]
    audits: list[JsonDict]
    filters: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        """The report as plain JSON-able data (what the page is rendered from)."""
        # asdict() deep-copies every nested dict; the document parts are already private copies, so
        # only the small dataclass parts are converted (10,000 findings: seconds -> milliseconds).
        documents = {name: getattr(self, name) for name in _DOCUMENT_PARTS}
        light = replace(self, **{name: type(value)() for name, value in documents.items()})
        return {**asdict(light), **documents}


# --- secrets: the scanner masks them; this is a second line of defence for hand-edited or older JSON ---

_SECRET_PATTERNS = (
    # ConvertTo-SecureString 'P@ss' -AsPlainText -Force
    re.compile(r"(?i)(ConvertTo-SecureString\s+(?:-String\s+)?)(['\"])(?!\*+\2)[^'\"\r\n]+\2"),
    # $password = 'x', -Password "x", client_secret=..., "ClientSecret": "x"
    re.compile(
        r"(?i)((?:\$|-|\b)(?:password|passwd|pwd|pw|pass|client_?secret|secret|api_?key|token)\w*[\"']?\s*[=:]?\s*)"
        r"(['\"])(?!\*+\2)[^'\"\r\n$]{3,}\2"
    ),
)

_SECRET_HINT = re.compile(r"(?i)securestring|pass|pw|secret|api_?key|token")


def mask_secrets(text: str) -> str:
    """Replace literal secrets in PowerShell text with '****' (idempotent)."""
    if not _SECRET_HINT.search(text):  # most strings mention no secret; skip the costlier patterns
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(2)}", text)
    return text


def _masked(value: object) -> object:
    """Mask secrets in every string of a JSON value (strings, lists and dicts recursively)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


def _masked_copy(value: JsonDict) -> JsonDict:
    """A deep copy of a JSON object with its secrets masked (the caller's document is left untouched)."""
    return {key: _masked(item) for key, item in value.items()}


def _obj(value: object) -> JsonDict:
    """`value` when it is a JSON object, else an empty one: every optional part of a finding may be null."""
    return value if isinstance(value, dict) else {}


# --- document classification ---


def classify_document(document: object) -> DocumentKind:
    """Say whether `document` is a scan or an audit document, or raise ReportInputError with the reason."""
    if not isinstance(document, dict):
        raise ReportInputError(f"expected a JSON object, got {type(document).__name__}")
    if document.get("kind") == "audit":
        for key in ("mail_send_apps", "smtp_auth_signins"):
            if not isinstance(document.get(key), dict):
                raise ReportInputError(f"audit document without a '{key}' object")
        return DocumentKind.AUDIT
    if "schema_version" not in document:
        raise ReportInputError("no 'schema_version': not a smtp2graph scan or audit document")
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise ReportInputError("scan document without a 'findings' list")
    for index, finding in enumerate(findings):
        if not isinstance(finding, dict) or not isinstance(finding.get("rule"), str) or not isinstance(
            finding.get("path"), str
        ):
            raise ReportInputError(f"finding #{index + 1} has no 'rule'/'path'")
    return DocumentKind.SCAN


def _parse_time(text: object) -> Optional[datetime]:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def report_date(documents: Iterable[JsonDict]) -> Optional[datetime]:
    """The newest `generated_at` among the documents (the report's date), or None."""
    newest: Optional[datetime] = None
    for document in documents:
        stamp = _parse_time(document.get("generated_at"))
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest


def days_left(now: datetime) -> int:
    """Whole days from `now` until basic auth for SMTP AUTH is off by default (negative once past)."""
    return (BASIC_AUTH_OFF - now.date()).days


def finding_categories(finding: JsonDict) -> list[str]:
    """The tiles a finding counts towards (see Category)."""
    rule = str(finding.get("rule", ""))
    api = _obj(finding.get("call")).get("api")
    fix = _obj(finding.get("fix"))
    assessment = _obj(finding.get("assessment"))
    categories: list[str] = []
    if assessment.get("breaks") is True:
        categories.append(Category.BREAKS.value)
    if rule.startswith("SEC"):
        categories.append(Category.SECRET.value)
    elif rule.startswith("GRAPH") or api in GRAPH_APIS:
        categories.append(Category.GRAPH.value)
    else:
        # A legacy sender: either the fixer rewrites it, or a person has to.
        applicability = fix.get("applicability") if fix.get("available") else None
        if applicability == "safe":
            categories.append(Category.FIX_SAFE.value)
        elif applicability == "unsafe":
            categories.append(Category.FIX_UNSAFE.value)
        else:
            categories.append(Category.MANUAL.value)
    return categories


def _fix_safety(finding: JsonDict) -> str:
    fix = _obj(finding.get("fix"))
    if not fix.get("available"):
        return "none"
    applicability = fix.get("applicability")
    return applicability if isinstance(applicability, str) else "none"


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class _SenderTally:
    """What the builder collects per sender mailbox before it becomes a Sender."""

    scripts: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    credentials: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)
    apis: set[str] = field(default_factory=set)
    calls: int = 0


class ReportBuilder:
    """Accumulates documents one at a time (so callers can stream files) and builds the MergedReport."""

    def __init__(self) -> None:
        self._findings: list[JsonDict] = []
        self._rules: dict[str, JsonDict] = {}
        self._repositories: list[Repository] = []
        self._repo_names: set[str] = set()
        self._repo_suffix: dict[str, int] = {}
        self._errors: list[JsonDict] = []
        self._unused: list[JsonDict] = []
        self._audits: list[JsonDict] = []
        self._stamps: list[JsonDict] = []
        self._scripts: dict[str, set[tuple[str, str]]] = {category.value: set() for category in Category}
        self._category_findings: Counter[str] = Counter()
        self._all_scripts: set[tuple[str, str]] = set()
        self._severity: Counter[str] = Counter()
        self._api: Counter[str] = Counter()
        self._fix: Counter[str] = Counter()
        self._senders: dict[str, _SenderTally] = {}
        self._dynamic: list[DynamicSender] = []

    def add(self, document: JsonDict) -> None:
        """Add one scan or audit document (raises ReportInputError when it is neither)."""
        kind = classify_document(document)
        self._stamps.append({"generated_at": document.get("generated_at")})
        if kind is DocumentKind.AUDIT:
            self._audits.append(_masked_copy(document))
            return
        repo = self._repo_name(_str(document.get("root")) or "(scan)")
        findings = document.get("findings")
        assert isinstance(findings, list)
        tool = _obj(document.get("tool"))
        self._repositories.append(
            Repository(
                name=repo,
                root=_str(document.get("root")),
                generated_at=_str(document.get("generated_at")),
                files_scanned=_int(document.get("files_scanned")),
                files_failed=_int(document.get("files_failed")),
                findings=len(findings),
                tool_version=_str(tool.get("version")),
            )
        )
        rules = document.get("rules")
        if isinstance(rules, dict):
            for rule_id, meta in rules.items():
                if isinstance(meta, dict):
                    self._rules.setdefault(str(rule_id), _masked_copy(meta))
        for finding in findings:
            self._add_finding(repo, finding)
        for key, target in (("errors", self._errors), ("unused_suppressions", self._unused)):
            entries = document.get(key)
            if isinstance(entries, list):
                target.extend(dict(_masked_copy(entry), repo=repo) for entry in entries if isinstance(entry, dict))

    def _repo_name(self, root: str) -> str:
        # Two scans of "." (or two checkouts with the same folder name) must stay distinguishable.
        # The per-root counter keeps this O(1) even for hundreds of scans of ".".
        name = root
        while name in self._repo_names:
            self._repo_suffix[root] = self._repo_suffix.get(root, 1) + 1
            name = f"{root} ({self._repo_suffix[root]})"
        self._repo_names.add(name)
        return name

    def _add_finding(self, repo: str, raw: JsonDict) -> None:
        finding = _masked_copy(raw)
        # The page trusts these shapes: an optional part is an object or null, a list is a list.
        for key in ("call", "fix", "assessment", "context"):
            if not isinstance(finding.get(key), dict):
                finding[key] = None
        if not isinstance(finding.get("related_locations"), list):
            finding["related_locations"] = []
        for key in ("sender", "credential_user"):
            if not isinstance(finding.get(key), str):
                finding[key] = None
        finding_id = len(self._findings)
        categories = finding_categories(finding)
        finding["id"] = finding_id
        finding["repo"] = repo
        finding["categories"] = categories
        fix_safety = _fix_safety(finding)
        finding["fix_safety"] = fix_safety
        self._findings.append(finding)
        script = (repo, _str(finding.get("path")))
        self._all_scripts.add(script)
        for category in categories:
            self._scripts[category].add(script)
            self._category_findings[category] += 1
        self._severity[_str(finding.get("severity")) or "info"] += 1
        self._fix[fix_safety] += 1
        call = finding.get("call")
        if isinstance(call, dict):
            self._api[_str(call.get("api")) or "unknown"] += 1
            self._add_sender(finding, call)

    def _add_sender(self, finding: JsonDict, call: JsonDict) -> None:
        assessment = _obj(finding.get("assessment"))
        credential = _str(assessment.get("credential")) or "unknown"
        server = _str(assessment.get("server_text")) or _str(assessment.get("server")) or "unknown"
        repo, path, line = _str(finding.get("repo")), _str(finding.get("path")), _int(finding.get("line"))
        mailbox = _str(finding.get("sender")).strip().lower()
        if not mailbox:
            bound = _obj(_obj(call.get("params")).get("From"))
            self._dynamic.append(
                DynamicSender(
                    repo=repo,
                    path=path,
                    line=line,
                    finding=_int(finding.get("id")),
                    from_text=_str(bound.get("text")),
                    reason=_str(bound.get("reason")) or ("no From parameter" if not bound else "not a constant"),
                    credential=credential,
                    server=server,
                )
            )
            return
        entry = self._senders.get(mailbox)
        if entry is None:
            entry = self._senders[mailbox] = _SenderTally()
        entry.scripts.setdefault((repo, path), []).append(line)
        entry.credentials.add(credential)
        entry.servers.add(server)
        if _str(finding.get("credential_user")):
            entry.users.add(_str(finding.get("credential_user")))
        if _str(call.get("api")):
            entry.apis.add(_str(call.get("api")))
        entry.calls += 1

    def build(self, *, now: Optional[datetime] = None) -> MergedReport:
        """Finish: compute the summary, senders and filter choices."""
        stamp = now or report_date(self._stamps) or datetime.now(timezone.utc)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        tiles = [
            Tile(
                key=category.value,
                label=TILE_LABELS[category],
                scripts=len(self._scripts[category.value]),
                findings=self._category_findings[category.value],
            )
            for category in Category
        ]
        summary = Summary(
            scripts=len(self._all_scripts),
            findings=len(self._findings),
            tiles=tiles,
            by_severity={severity: self._severity.get(severity, 0) for severity in SEVERITIES},
            by_api={api: self._api.get(api, 0) for api in APIS}
            | {api: count for api, count in sorted(self._api.items()) if api not in APIS},
            by_fix={safety: self._fix.get(safety, 0) for safety in FIX_SAFETIES},
        )
        senders = [
            Sender(
                mailbox=mailbox,
                scripts=[
                    SenderScript(repo=repo, path=path, lines=sorted(lines))
                    for (repo, path), lines in sorted(entry.scripts.items())
                ],
                credentials=sorted(entry.credentials),
                credential_users=sorted(entry.users),
                servers=sorted(entry.servers),
                apis=sorted(entry.apis),
                findings=entry.calls,
            )
            for mailbox, entry in sorted(self._senders.items())
        ]
        rule_ids = sorted({_str(f.get("rule")) for f in self._findings} | set(self._rules))
        return MergedReport(
            generated_at=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            deadline=BASIC_AUTH_OFF.isoformat(),
            deadline_text=DEADLINE_TEXT,
            days_left=days_left(stamp),
            repositories=self._repositories,
            summary=summary,
            findings=self._findings,
            rules=self._rules,
            senders=senders,
            dynamic_senders=sorted(self._dynamic, key=lambda d: (d.repo, d.path, d.line)),
            errors=self._errors,
            unused_suppressions=self._unused,
            audits=self._audits,
            filters={
                "severity": [s for s in SEVERITIES if self._severity.get(s)],
                "rule": rule_ids,
                "api": [a for a in summary.by_api if summary.by_api[a]],
                "fix": [s for s in FIX_SAFETIES if self._fix.get(s)],
                "repo": [r.name for r in self._repositories],
            },
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def merge_documents(documents: Iterable[JsonDict], *, now: Optional[datetime] = None) -> MergedReport:
    """Merge scan and audit documents (any iterable, consumed once) into one MergedReport."""
    builder = ReportBuilder()
    for document in documents:
        builder.add(document)
    return builder.build(now=now)


# --- reading input files (the `smtp2graph report` command) ---


@dataclass(frozen=True)
class InputProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def read_document(path: Path) -> JsonDict:
    """Load and classify one JSON file; raise ReportInputError with a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReportInputError("no such file") from None
    except IsADirectoryError:
        raise ReportInputError("is a directory, expected a JSON file") from None
    except UnicodeDecodeError:
        raise ReportInputError("not UTF-8 text") from None
    except OSError as error:
        raise ReportInputError(error.strerror or str(error)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    classify_document(document)  # raises unless it is a JSON object of the right shape
    return _obj(document)


def iter_documents(paths: Iterable[Path], problems: list[InputProblem]) -> Iterator[JsonDict]:
    """Yield usable documents one at a time; unusable files are appended to `problems` and skipped."""
    for path in paths:
        try:
            yield read_document(path)
        except ReportInputError as error:
            problems.append(InputProblem(str(path), str(error)))


class ReportFormat(str, Enum):
    HTML = "html"
    MARKDOWN = "markdown"


@dataclass
class RenderedFiles:
    text: Optional[str]  # None when no input was usable
    problems: list[InputProblem]
    documents: int


def render_files(
    paths: Iterable[Path], report_format: Union[ReportFormat, str], *, now: Optional[datetime] = None
) -> RenderedFiles:
    """Read many scan/audit JSON files (streamed) and render one report; unusable files become problems."""
    from .html import render_report_html
    from .markdown import render_report_markdown

    problems: list[InputProblem] = []
    builder = ReportBuilder()
    count = 0
    for document in iter_documents(paths, problems):
        builder.add(document)
        count += 1
    if count == 0:
        return RenderedFiles(text=None, problems=problems, documents=0)
    report = builder.build(now=now)
    renderer = render_report_markdown if ReportFormat(report_format) is ReportFormat.MARKDOWN else render_report_html
    return RenderedFiles(text=renderer(report), problems=problems, documents=count)


def run_report(
    paths: list[Path], output: Optional[Path], report_format: Union[ReportFormat, str], *, err: Optional[TextIO] = None
) -> int:
    """The `smtp2graph report` command: render many JSON files into one report; returns the exit code.

    One line per unusable file on `err` (path and reason); exit 2 when no file is usable or the output
    cannot be written, 0 otherwise.
    """
    stream = err if err is not None else sys.stderr
    rendered = render_files(paths, report_format)
    for problem in rendered.problems:
        print(f"error: {problem}", file=stream)
    if rendered.text is None:
        print("error: no usable scan or audit JSON document; nothing rendered", file=stream)
        return 2
    if output is None:
        sys.stdout.write(rendered.text)
        return 0
    try:
        output.write_text(rendered.text, encoding="utf-8")
    except OSError as error:
        print(f"error: {output}: cannot write the report: {error.strerror or error}", file=stream)
        return 2
    print(f"wrote {output} ({rendered.documents} document{'s' if rendered.documents != 1 else ''})", file=stream)
    return 0
