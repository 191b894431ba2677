"""Build the merged report from scan (and tenant audit) JSON documents: triage, tiles, order of work,
senders, burn-down.

Organisations run one scan per repository in CI and merge hundreds of JSON files into one
estate report, so everything here is a single pass over the findings with dict/set lookups:
no step compares findings or documents pairwise.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional
from scanner.owners import HOW_TO_NAME_OWNERS
from scanner.reports.request_preview import request_expressions
from scanner.reports.retirements import EWS, RetirementTally, ews_already_broken, is_send, retirement_date, retirement_of
from scanner.estate.senders import GRAPH_APIS as SENDER_GRAPH_APIS, SenderEvidence, evidence_from_json, sender_plan
from scanner.reports.model import APIS, BASIC_AUTH_OFF, BurnPoint, Category, DEADLINE_TEXT, DocumentKind, DynamicSender, ExcludedSender, FIX_SAFETIES, GRAPH_APIS, GroupCount, JsonDict, MergedReport, ReportInputError, Repository, SEVERITIES, Sender, SenderScript, Summary, TILE_LABELS, Tile, Triage, WORK_LABELS, WorkItem, WorkStep


# Servers where a call presenting no password already fails (or failed) before the cut-over.
_ALREADY_BROKEN_SERVERS = frozenset({"outlook-consumer"})
_EXO_SUBMISSION = frozenset({"exchange-online-submission", "exchange-online-legacy-tls"})
_NO_PASSWORD = frozenset({"none", "default-windows-logon"})


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
    return _masked_text(text)


@functools.lru_cache(maxsize=1 << 14)
def _masked_text(text: str) -> str:
    # Findings of calls written alike carry the same strings (notes, snippets): each is masked once,
    # and the findings share the one masked copy.
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(2)}", text)
    return text


def _masked(value: object) -> object:
    """``value`` with secrets masked in every string (lists and dicts recursively), copied on write: a
    part with nothing to mask is the caller's own object, shared, not a copy (a 20,000-finding report
    is not held twice). Nothing in the merge writes into a finding's nested parts."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, (list, dict)):
        copy: Any = None
        for key, item in (enumerate(value) if isinstance(value, list) else value.items()):
            masked = _masked(item)
            if masked is not item:
                if copy is None:
                    copy = list(value) if isinstance(value, list) else dict(value)
                copy[key] = masked
        return value if copy is None else copy
    return value


def _masked_copy(value: JsonDict) -> JsonDict:
    """A JSON object with its secrets masked: a new top-level dict (the merge adds keys to it), nested
    parts copied only where a secret is masked (the caller's document is left untouched)."""
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


def finding_triage(finding: JsonDict) -> Triage:
    """The one triage status of a finding; a legacy call without a verdict is "may break", never fine."""
    rule = str(finding.get("rule", ""))
    if rule.startswith("SEC"):
        return Triage.SECRET
    if rule.startswith("GRAPH") or _obj(finding.get("call")).get("api") in GRAPH_APIS:
        return Triage.GRAPH
    assessment = _obj(finding.get("assessment"))
    breaks = assessment.get("breaks")
    server = assessment.get("server")
    if assessment.get("outcome") == "consumer-basic-auth-removed":
        return Triage.ALREADY_BROKEN  # Outlook.com has been removing basic auth since September 2024
    if breaks is True:
        broken = server in _ALREADY_BROKEN_SERVERS or ews_already_broken(finding)
        return Triage.ALREADY_BROKEN if broken else Triage.WILL_BREAK
    if breaks is False:
        return Triage.NOT_AFFECTED
    if server in _EXO_SUBMISSION and assessment.get("credential") in _NO_PASSWORD:
        return Triage.ALREADY_BROKEN  # Exchange Online client submission without a password fails today
    return Triage.MAY_BREAK


def work_step(triage: Triage, fix_safety: str) -> WorkStep:
    """Where a finding comes in the order of work."""
    if triage is Triage.WILL_BREAK:
        return WorkStep.BREAKING_SAFE_FIX if fix_safety == "safe" else WorkStep.BREAKING_MANUAL
    if triage is Triage.MAY_BREAK:
        return WorkStep.MAY_BREAK
    return WorkStep.REST


def finding_categories(finding: JsonDict) -> list[str]:
    """The tiles a finding counts towards (see Category): its triage status, then how a legacy call gets fixed."""
    fix = _obj(finding.get("fix"))
    triage = finding_triage(finding)
    categories: list[str] = [triage.value]
    if triage not in (Triage.SECRET, Triage.GRAPH, Triage.NOT_AFFECTED):
        # A legacy sender the retirement breaks (or may): either the fixer rewrites it, or a person has to.
        # One it does not touch needs neither, and never counts as manual work.
        applicability = fix.get("applicability") if fix.get("available") else None
        if applicability == "safe":
            categories.append(Category.FIX_SAFE.value)
        elif applicability == "unsafe":
            categories.append(Category.FIX_UNSAFE.value)
        else:
            categories.append(Category.MANUAL.value)
    categories.extend(ews_categories(finding))
    return categories


def ews_categories(finding: JsonDict) -> list[str]:
    """The EWS tile for a send through EWS (its other use is information, not a send)."""
    return [Category.EWS_SEND.value] if retirement_of(finding) == EWS and is_send(finding) else []


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
    verdicts: set[str] = field(default_factory=set)
    calls: int = 0


_UNNAMED_ROOTS = frozenset({"", ".", "./", "(scan)"})
_NO_OWNER = "(no owner)"


def _document_identity(document: JsonDict) -> Optional[str]:
    """What makes two scans "the same repository at two dates" (None: never merged as history).

    A scan that names its repositories is identified by them; an older scan by its root, unless the
    root says nothing (".": every CI checkout looks like that).
    """
    repositories = document.get("repositories")
    if isinstance(repositories, list) and repositories:
        names = sorted(_str(_obj(r).get("name")) for r in repositories)
        if any(names):
            return "\u0000".join(names)
    root = _str(document.get("root"))
    return None if root in _UNNAMED_ROOTS else root


def _day(document: JsonDict) -> str:
    stamp = _parse_time(document.get("generated_at"))
    return stamp.date().isoformat() if stamp is not None else ""


def _breaking_counts(document: JsonDict) -> tuple[int, int]:
    counts: Counter[Triage] = Counter()
    findings = document.get("findings")
    for finding in findings if isinstance(findings, list) else []:
        if isinstance(finding, dict):
            counts[finding_triage(finding)] += 1
    return counts[Triage.WILL_BREAK], counts[Triage.MAY_BREAK]


def burndown_points(history: list[tuple[str, str, int, int]]) -> list[BurnPoint]:
    """Estate totals per scan day: each repository counts with its latest scan up to that day.

    `history` holds (identity, day, will_break, may_break) per scan document. Empty unless some
    repository was scanned on two days or more (there is nothing to burn down).
    """
    days = sorted({day for _, day, _, _ in history if day})
    if len(days) < 2:
        return []
    by_identity: dict[str, list[tuple[str, int, int]]] = {}
    for identity, day, will, may in history:
        if day:
            by_identity.setdefault(identity, []).append((day, will, may))
    for scans in by_identity.values():
        scans.sort()
    if all(len({scan[0] for scan in scans}) < 2 for scans in by_identity.values()):
        return []  # every repository was scanned on one day: a snapshot, not a history
    points = []
    for day in days:
        will = may = 0
        for scans in by_identity.values():
            latest = None
            for scan in scans:
                if scan[0] <= day:
                    latest = scan
            if latest is not None:
                will += latest[1]
                may += latest[2]
        points.append(BurnPoint(date=day, will_break=will, may_break=may))
    return points


@dataclass(frozen=True)
class _Span:
    """What one scan added: (findings, repositories, errors, unused suppressions) counts before and after."""

    start: tuple[int, int, int, int]
    end: tuple[int, int, int, int]


class ReportBuilder:
    """Accumulates documents one at a time and builds the MergedReport.

    Scans of the same repository from several dates are history: the newest one provides the
    findings, every one of them a point of the burn-down.
    """

    def __init__(self, *, owners: Iterable[str] = (), repositories: Iterable[str] = ()) -> None:
        self._owner_filter = {owner.lower() for owner in owners}
        self._repo_filter = {repo.lower() for repo in repositories}
        self._findings: list[JsonDict] = []
        self._rules: dict[str, JsonDict] = {}
        self._repositories: list[Repository] = []
        self._repo_names: set[str] = set()
        self._repo_suffix: dict[str, int] = {}
        self._errors: list[JsonDict] = []
        self._unused: list[JsonDict] = []
        self._patches: list[JsonDict] = []
        self._patch_offset = 0  # where the document being added puts its patches
        self._audits: list[JsonDict] = []
        self._stamps: list[JsonDict] = []
        self._scripts: dict[str, set[tuple[str, str]]] = {category.value: set() for category in Category}
        self._category_findings: Counter[str] = Counter()
        self._all_scripts: set[tuple[str, str]] = set()
        self._severity: Counter[str] = Counter()
        self._api: Counter[str] = Counter()
        self._fix: Counter[str] = Counter()
        self._sender_evidence: list[tuple[SenderEvidence, JsonDict]] = []
        self._work: dict[int, list[int]] = {step.value: [0, 0] for step in WorkStep}
        self._work_scripts: dict[int, set[tuple[str, str]]] = {step.value: set() for step in WorkStep}
        self._by_repo: dict[str, Counter[str]] = {}
        self._by_owner: dict[str, Counter[str]] = {}
        self._deadlines: set[str] = set()
        self._newest: dict[str, tuple[str, _Span]] = {}  # identity -> (generated_at, what its scan added)
        self._history: list[tuple[str, str, int, int]] = []
        self._dropped: list[_Span] = []  # parts added by scans a newer scan of the same repository replaced
        self._retirements = RetirementTally()
        self._work_retirement: dict[int, Counter[str]] = {step.value: Counter() for step in WorkStep}
        self._scans = 0

    def add(self, document: JsonDict) -> None:
        """Add one scan or audit document (raises ReportInputError when it is neither)."""
        kind = classify_document(document)
        if kind is DocumentKind.AUDIT:
            self._stamps.append({"generated_at": document.get("generated_at")})
            self._audits.append(_masked_copy(document))
            return
        self._scans += 1
        identity = _document_identity(document)
        if identity is None:
            self._add_scan(document)
            return
        will, may = _breaking_counts(document)
        stamp = _str(document.get("generated_at"))
        self._history.append((identity, _day(document), will, may))
        known = self._newest.get(identity)
        if known is not None and known[0] != stamp:
            if stamp < known[0]:
                return  # an older scan of a repository already here: history only
            self._dropped.append(known[1])  # superseded by this newer scan (rare: tallies are redone in build)
            for repo in self._repositories[known[1].start[1] : known[1].end[1]]:
                self._repo_names.discard(repo.name)  # the newer scan takes the repository's name over
        self._newest[identity] = (stamp, self._add_scan(document))

    def _add_scan(self, document: JsonDict) -> "_Span":
        start = (len(self._findings), len(self._repositories), len(self._errors), len(self._unused))
        self._add_scan_parts(document)
        return _Span(start, (len(self._findings), len(self._repositories), len(self._errors), len(self._unused)))

    def _add_scan_parts(self, document: JsonDict) -> None:
        self._stamps.append({"generated_at": document.get("generated_at")})
        if _str(document.get("deadline")):
            self._deadlines.add(_str(document.get("deadline")))
        root = _str(document.get("root"))
        findings = document.get("findings")
        assert isinstance(findings, list)
        tool = _obj(document.get("tool"))
        listed = document.get("repositories")
        parts = [_obj(r) for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
        names: dict[str, str] = {}
        if parts:
            # A scan that found repositories inside its root: each one is a repository of the estate.
            per_repo: Counter[str] = Counter(_str(f.get("repository")) for f in findings if isinstance(f, dict))
            for part in parts:
                name = _str(part.get("name")) or root or "(scan)"
                names[name] = self._repo_name(name)
                self._repositories.append(Repository(
                    name=names[name], root=root, generated_at=_str(document.get("generated_at")),
                    files_scanned=_int(part.get("files_scanned")), files_failed=0,
                    findings=per_repo.get(name, 0), tool_version=_str(tool.get("version"))))
            if self._repositories:
                self._repositories[-len(parts)].files_failed = _int(document.get("files_failed"))
            default_repo = names[_str(parts[0].get("name")) or root or "(scan)"]
        else:
            default_repo = self._repo_name(root or "(scan)")
            self._repositories.append(
                Repository(
                    name=default_repo,
                    root=root,
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
        self._patch_offset = len(self._patches)
        patches = document.get("patches")
        for patch in patches if isinstance(patches, list) else []:
            self._patches.append(dict(_masked_copy(patch), repo=default_repo) if isinstance(patch, dict) else {})
        self._patch_count = len(self._patches) - self._patch_offset
        for finding in findings:
            repo = names.get(_str(finding.get("repository")), default_repo)
            if self._wanted(repo, finding):
                self._add_finding(repo, finding)
        for key, target in (("errors", self._errors), ("unused_suppressions", self._unused)):
            entries = document.get(key)
            if isinstance(entries, list):
                target.extend(dict(_masked_copy(entry), repo=default_repo) for entry in entries if isinstance(entry, dict))

    def _drop_superseded(self) -> None:
        """Remove what replaced scans added, then count everything again (only when a repository was rescanned)."""
        def kept(items: list, part: int) -> list:
            gone: set[int] = set()
            for span in self._dropped:
                gone.update(range(span.start[part], span.end[part]))
            return [item for index, item in enumerate(items) if index not in gone]

        findings = kept(self._findings, 0)
        self._repositories = kept(self._repositories, 1)
        self._errors, self._unused = kept(self._errors, 2), kept(self._unused, 3)
        self._dropped = []
        self._scripts = {category.value: set() for category in Category}
        self._category_findings, self._all_scripts = Counter(), set()
        self._severity, self._api, self._fix = Counter(), Counter(), Counter()
        self._sender_evidence = []
        self._work = {step.value: [0, 0] for step in WorkStep}
        self._work_scripts = {step.value: set() for step in WorkStep}
        self._by_repo, self._by_owner = {}, {}
        self._retirements = RetirementTally()
        self._work_retirement = {step.value: Counter() for step in WorkStep}
        self._findings = []
        for index, finding in enumerate(findings):
            finding["id"] = index
            self._findings.append(finding)
            self._tally(finding)

    def _wanted(self, repo: str, finding: JsonDict) -> bool:
        """The --owner / --repository filters (case-insensitive; "none" selects findings nobody owns)."""
        if self._repo_filter and repo.lower() not in self._repo_filter:
            return False
        if self._owner_filter:
            names = {name.lower() for name in _str(finding.get("owner")).split()}
            return bool(names & self._owner_filter) or (not names and "none" in self._owner_filter)
        return True

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
        fix = finding.get("fix")
        if isinstance(fix, dict):
            # The document's patch index becomes an index into the merged report's patches.
            index = fix.get("patch")
            valid = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < getattr(self, "_patch_count", 0)
            # A new dict: the masked copy shares what it did not have to change with the input document.
            finding["fix"] = dict(fix, patch=self._patch_offset + index if valid else None)  # type: ignore[operator]
            if isinstance(fix.get("graph_request"), dict):
                # The page shows these values of the request as PowerShell expressions, not as JSON strings.
                finding["fix"]["graph_request_expressions"] = request_expressions(
                    fix["graph_request"], _obj(finding.get("call")).get("params"))
        if not isinstance(finding.get("related_locations"), list):
            finding["related_locations"] = []
        for key in ("sender", "credential_user", "owner", "owner_source", "due"):
            if not isinstance(finding.get(key), str) or not finding.get(key):
                finding[key] = None
        if not isinstance(finding.get("repository_path"), str) or not finding.get("repository_path"):
            finding["repository_path"] = _str(finding.get("path"))
        finding_id = len(self._findings)
        categories = finding_categories(finding)
        triage = Triage(categories[0])
        finding["id"] = finding_id
        finding["repo"] = repo
        finding["categories"] = categories
        fix_safety = _fix_safety(finding)
        finding["fix_safety"] = fix_safety
        finding["triage"] = triage.value
        step = work_step(triage, fix_safety)
        finding["work_step"] = step.value
        _add_retirement(finding)
        self._findings.append(finding)
        self._tally(finding)

    def _tally(self, finding: JsonDict) -> None:
        repo = _str(finding.get("repo"))
        listed = finding.get("categories")
        categories = [str(c) for c in listed] if isinstance(listed, list) else [Triage.MAY_BREAK.value]
        triage = Triage(categories[0])
        fix_safety = _str(finding.get("fix_safety"))
        step = WorkStep(int(str(finding.get("work_step"))))
        script = (repo, _str(finding.get("path")))
        self._all_scripts.add(script)
        for category in categories:
            self._scripts[category].add(script)
            self._category_findings[category] += 1
        self._work[step.value][0] += 1
        self._work_scripts[step.value].add(script)
        self._retirements.add(finding)
        if finding.get("retirement"):
            self._work_retirement[step.value][str(finding["retirement"])] += 1
        self._by_repo.setdefault(repo, Counter())[triage.value] += 1
        self._by_owner.setdefault(_str(finding.get("owner")) or _NO_OWNER, Counter())[triage.value] += 1
        self._severity[_str(finding.get("severity")) or "info"] += 1
        self._fix[fix_safety] += 1
        call = finding.get("call")
        if isinstance(call, dict):
            self._api[_str(call.get("api")) or "unknown"] += 1
            self._add_sender(finding, call)

    def _add_sender(self, finding: JsonDict, call: JsonDict) -> None:
        evidence = evidence_from_json(finding, _str(finding.get("repo")))
        if evidence is not None:
            self._sender_evidence.append((evidence, finding))

    def _sender_lists(self) -> tuple[list[Sender], list[DynamicSender], list[ExcludedSender]]:
        """The merged estate's sender list, by the scan's rule (scanner.estate.senders): mailboxes in the
        app's scope, calls whose sender is known only at run time, and senders left out of the scope."""
        plan = sender_plan(evidence for evidence, _ in self._sender_evidence)
        in_scope = {use.mailbox for use in plan.mailboxes}
        tallies: dict[str, _SenderTally] = {}
        by_call: dict[tuple[str, str, int], tuple[SenderEvidence, JsonDict]] = {}
        for evidence, finding in self._sender_evidence:
            by_call.setdefault((evidence.repo, evidence.path, evidence.line), (evidence, finding))
            if evidence.sender not in in_scope or evidence.api in SENDER_GRAPH_APIS or evidence.breaks is False:
                continue  # the calls the app must send for: what the kit scopes it to
            entry = tallies.setdefault(evidence.sender or "", _SenderTally())
            entry.scripts.setdefault((evidence.repo, evidence.path), []).append(evidence.line)
            entry.credentials.add(evidence.credential or "unknown")
            entry.servers.add(evidence.server_text or evidence.server or "unknown")
            if evidence.credential_user:
                entry.users.add(evidence.credential_user)
            entry.apis.add(evidence.api)
            entry.verdicts.add("breaks" if evidence.breaks else "may break")
            entry.calls += 1
        senders = [
            Sender(
                mailbox=mailbox,
                scripts=[SenderScript(repo=repo, path=path, lines=sorted(lines)) for (repo, path), lines in sorted(entry.scripts.items())],
                credentials=sorted(entry.credentials), credential_users=sorted(entry.users), servers=sorted(entry.servers),
                apis=sorted(entry.apis), findings=entry.calls, verdicts=sorted(entry.verdicts),
            )
            for mailbox, entry in sorted(tallies.items())
        ]
        dynamic = []
        for item in plan.decide:
            evidence, finding = by_call[(item.repo, item.path, item.line)]
            dynamic.append(DynamicSender(
                repo=item.repo, path=item.path, line=item.line, finding=_int(finding.get("id")), from_text=item.from_text,
                reason=item.where, credential=evidence.credential or "unknown",
                server=evidence.server_text or evidence.server or "unknown", verdict=item.verdict,
            ))
        excluded = [ExcludedSender(mailbox=o.mailbox, reason=o.reason, scripts=list(o.scripts)) for o in plan.out_of_scope]
        return senders, sorted(dynamic, key=lambda d: (d.repo, d.path, d.line)), excluded

    def build(self, *, now: Optional[datetime] = None) -> MergedReport:
        """Finish: compute the summary, senders and filter choices."""
        if self._dropped:
            self._drop_superseded()
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
            by_triage={triage.value: self._category_findings[triage.value] for triage in Triage},
            work_order=[
                WorkItem(step=step.value, label=WORK_LABELS[step], findings=self._work[step.value][0],
                         scripts=len(self._work_scripts[step.value]), by_retirement=dict(sorted(self._work_retirement[step.value].items())))
                for step in WorkStep
            ],
            by_repository=_group_counts(self._by_repo),
            by_owner=_group_counts(self._by_owner),
            fixable_safe=self._fix.get("safe", 0),
            fixable_unsafe=self._fix.get("unsafe", 0),
        )
        senders, dynamic_senders, excluded_senders = self._sender_lists()
        unowned = sum(self._by_owner.get(_NO_OWNER, Counter()).values())
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
            dynamic_senders=dynamic_senders,
            excluded_senders=excluded_senders,
            errors=self._errors,
            unused_suppressions=self._unused,
            patches=self._patches,
            audits=self._audits,
            filters={
                "severity": [s for s in SEVERITIES if self._severity.get(s)],
                "rule": rule_ids,
                "api": [a for a in summary.by_api if summary.by_api[a]],
                "fix": [s for s in FIX_SAFETIES if self._fix.get(s)],
                "repo": [r.name for r in self._repositories],
                "owner": sorted(self._by_owner, key=lambda name: (name == _NO_OWNER, name.lower())),
                "triage": [t.value for t in Triage if self._category_findings[t.value]],
            },
            burndown=burndown_points(self._history),
            due=min(self._deadlines) if self._deadlines else BASIC_AUTH_OFF.isoformat(),
            retirements=self._retirements.build(stamp),
            scans=self._scans,
            unowned=unowned,
            owner_hint=HOW_TO_NAME_OWNERS if unowned else "",
        )


def _add_retirement(finding: JsonDict) -> None:
    """The retirement a finding depends on and that retirement's date (the exports and the page show both)."""
    key = retirement_of(finding)
    finding["retirement"] = key or None
    finding["retirement_date"] = retirement_date(key) if key else None


def _group_counts(groups: dict[str, Counter[str]]) -> list[GroupCount]:
    """Groups with the most breaking calls first (then may-break, then name)."""
    entries = [
        GroupCount(name=name, counts={t.value: counts.get(t.value, 0) for t in Triage}, findings=sum(counts.values()))
        for name, counts in groups.items()
    ]
    entries.sort(key=lambda g: (-g.counts[Triage.WILL_BREAK.value], -g.counts[Triage.MAY_BREAK.value], g.name.lower()))
    return entries


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def merge_documents(documents: Iterable[JsonDict], *, now: Optional[datetime] = None) -> MergedReport:
    """Merge scan and audit documents (any iterable, consumed once) into one MergedReport."""
    builder = ReportBuilder()
    for document in documents:
        builder.add(document)
    return builder.build(now=now)


# --- reading input files (the `smtp2graph report` command) ---


