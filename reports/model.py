"""The merged report's model: the triage statuses, tiles and order of work, and the dataclasses
both renderers (HTML and Markdown) and the exports read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from enum import Enum

from scanner.reports.retirements import Retirement


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
_DOCUMENT_PARTS = ("findings", "rules", "errors", "unused_suppressions", "audits", "patches")


class Triage(str, Enum):
    """What the basic-auth retirement means for a finding: exactly one per finding, the report's first view."""

    WILL_BREAK = "will-break"
    MAY_BREAK = "may-break"  # verdict unknown: never counted as fine
    ALREADY_BROKEN = "already-broken"
    NOT_AFFECTED = "not-affected"
    GRAPH = "graph"
    SECRET = "secret"


TRIAGE_LABELS: dict[Triage, str] = {
    Triage.WILL_BREAK: "Will break",
    Triage.MAY_BREAK: "May break (verdict unknown)",
    Triage.ALREADY_BROKEN: "Already broken",
    Triage.NOT_AFFECTED: "Not affected",
    Triage.GRAPH: "Already on Graph",
    Triage.SECRET: "Secrets found",
}


class Category(str, Enum):
    """The "are we ready?" tiles; each finding carries the categories it counts towards."""

    WILL_BREAK = Triage.WILL_BREAK.value
    MAY_BREAK = Triage.MAY_BREAK.value
    ALREADY_BROKEN = Triage.ALREADY_BROKEN.value
    NOT_AFFECTED = Triage.NOT_AFFECTED.value
    GRAPH = Triage.GRAPH.value
    SECRET = Triage.SECRET.value
    FIX_SAFE = "fix-safe"
    FIX_UNSAFE = "fix-unsafe"
    MANUAL = "manual"
    EWS_SEND = "ews-send"  # sends through EWS, beside the SMTP AUTH ones (issue 24)


TILE_LABELS: dict[Category, str] = {
    **{Category(triage.value): label for triage, label in TRIAGE_LABELS.items()},
    Category.FIX_SAFE: "Auto-fixable (safe)",
    Category.FIX_UNSAFE: "Auto-fixable (unsafe)",
    Category.MANUAL: "Need manual work",
    Category.EWS_SEND: "EWS sends (blocked by default since 1 October 2026, off 1 April 2027)",
}


class WorkStep(int, Enum):
    """The order of work: what to do first."""

    BREAKING_SAFE_FIX = 1
    BREAKING_MANUAL = 2
    MAY_BREAK = 3
    REST = 4


WORK_LABELS: dict[WorkStep, str] = {
    WorkStep.BREAKING_SAFE_FIX: "Breaking, with a safe automatic fix: run `smtp2graph fix`",
    WorkStep.BREAKING_MANUAL: "Breaking, needs manual work (or a reviewed --unsafe-fixes patch)",
    WorkStep.MAY_BREAK: "May break: find the server and credential that decide the verdict",
    WorkStep.REST: "The rest: already broken, secrets, Graph bugs, not affected",
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
class WorkItem:
    step: int
    label: str
    findings: int
    scripts: int
    by_retirement: dict[str, int] = field(default_factory=dict)  # findings of this step per retirement (smtp-auth, ews)


@dataclass
class GroupCount:
    """Triage counts of one repository or one owner (the charts and the "by owner" tables)."""

    name: str
    counts: dict[str, int]
    findings: int


@dataclass
class BurnPoint:
    """Breaking and may-break calls of the estate on one day (latest scan of each repository up to that day)."""

    date: str
    will_break: int
    may_break: int


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
    verdicts: list[str] = field(default_factory=list)  # breaks / may break: why the app must send as it


@dataclass
class ExcludedSender:
    """A sender the new app must not be scoped to (already on Graph, a consumer account, relay-only), and why."""

    mailbox: str
    reason: str
    scripts: list[str]


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
    verdict: str = ""  # breaks / may break


@dataclass
class Summary:
    scripts: int
    findings: int
    tiles: list[Tile]
    by_severity: dict[str, int]
    by_api: dict[str, int]
    by_fix: dict[str, int]
    by_triage: dict[str, int] = field(default_factory=dict)
    work_order: list[WorkItem] = field(default_factory=list)
    by_repository: list[GroupCount] = field(default_factory=list)
    by_owner: list[GroupCount] = field(default_factory=list)
    fixable_safe: int = 0  # findings `smtp2graph fix` rewrites
    fixable_unsafe: int = 0  # more with --unsafe-fixes


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
    burndown: list[BurnPoint] = field(default_factory=list)
    patches: list[JsonDict] = field(default_factory=list)  # the scans' file patches; a finding's fix.patch indexes them
    excluded_senders: list[ExcludedSender] = field(default_factory=list)  # left out of the app's scope, and why
    due: str = BASIC_AUTH_OFF.isoformat()  # the team's deadline: the cut-over, or the earliest --deadline of a scan
    retirements: list[Retirement] = field(default_factory=list)  # the deadline summary: each retirement with its dates
    scans: int = 0  # scan documents merged (older scans of a repository included: they are its history)
    unowned: int = 0  # findings no CODEOWNERS, owners map or git blame names an owner for
    owner_hint: str = ""  # how to name owners, when some finding has none

    def to_json(self) -> JsonDict:
        """The report as plain JSON-able data (what the page is rendered from)."""
        # asdict() deep-copies every nested dict; the document parts are already private copies, so
        # only the small dataclass parts are converted (10,000 findings: seconds -> milliseconds).
        documents = {name: getattr(self, name) for name in _DOCUMENT_PARTS}
        light = replace(self, **{name: type(value)() for name, value in documents.items()})
        return {**asdict(light), **documents}
