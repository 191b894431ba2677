"""Runs the recognizers and rules over files: prefilter, parallel parse, cache, suppressions, fingerprints."""

from __future__ import annotations

import codecs
import fnmatch
import hashlib
import os
import re
from collections import deque
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Sequence, TypeVar, Union

from scanner import __version__
from scanner.model import (
    Api,
    FileError,
    Finding,
    MailCall,
    RelatedLocation,
    ScanResult,
    Severity,
    UnusedSuppression,
)
from scanner.declared import EstateFacts
from scanner.redact import SecretRegistry
from scanner.script import Script
from scanner.analysis.functions import function_parameters

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from scanner.cache import StatIndex

T = TypeVar("T")

LEGACY_APIS = {Api.SEND_MAILMESSAGE, Api.SMTPCLIENT, Api.MAILKIT, Api.CDO, Api.SYSTEM_WEB_MAIL, Api.OUTLOOK_COM}
CONTEXT_LINES = 3
SNIPPET_MAX_LINES = 20


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class RuleConfig:
    """Which rules run where, and at what severity."""

    select: tuple[str, ...] = ()  # rule ids or prefixes; empty selects every rule
    ignore: tuple[str, ...] = ()
    severity_overrides: tuple[tuple[str, str], ...] = ()  # (rule id, severity)
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, rule ids or prefixes)

    def enabled(self, rule_id: str, path: str = "") -> bool:
        def hit(patterns: Iterable[str]) -> bool:
            return any(rule_id.upper().startswith(p.upper()) for p in patterns)

        if self.select and not hit(self.select):
            return False
        if hit(self.ignore):
            return False
        return not any(fnmatch.fnmatch(path, glob) and hit(rules) for glob, rules in self.per_path_ignores)

    def severity(self, rule_id: str, default: Severity) -> Severity:
        for rid, sev in self.severity_overrides:
            if rid.upper() == rule_id.upper():
                return Severity(sev)
        return default

    def salt(self) -> str:
        """Part of every cache key: the tool version and this configuration."""
        return f"{__version__}|{self!r}"


@dataclass(frozen=True)
class ScanOptions:
    rules: RuleConfig = field(default_factory=RuleConfig)
    jobs: int = 1
    use_cache: bool = True
    cache_dir: Optional[Path] = None
    excludes: tuple[str, ...] = ()
    respect_gitignore: bool = True
    max_bytes: int = 10 * 1024 * 1024
    estate: EstateFacts = field(default_factory=EstateFacts)  # declared facts of .smtp2graph.toml
    # How much fix material each finding carries (scanner.fixes FULL / DIFF / NONE): only what
    # the output format shows is built (scanner.run.fix_detail_for).
    fix_detail: str = "full"

    def salt(self) -> str:
        """Part of every cache key: the tool version, the rules, the declared estate facts and the fix detail."""
        return self.rules.salt() + (f"|{self.estate!r}" if self.estate else "") + ("" if self.fix_detail == "full" else f"|fix={self.fix_detail}")


# --------------------------------------------------------------------------- prefilter


class Prefilter:
    """A cheap byte test: can this file contain anything a recognizer finds?

    Built only from the recognizers' own tokens. One case-insensitive RE2 alternation scans each
    file once (ten times faster than one substring search per token); without RE2 the tokens are
    searched one by one in the lower-cased bytes. UTF-16 files are tested on their decoded text.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = tuple(t.lower().encode("ascii") for t in tokens)
        self._regex = _re2_alternation(self.tokens)

    def matches(self, raw: bytes) -> bool:
        if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or (b"\0" in raw[:4096]):
            try:
                from scanner.files import decode

                raw = decode(raw)[0].encode("utf-8", "surrogatepass")
            except ValueError:
                return True  # let the reader report the error
        if self._regex is not None:
            return self._regex.search(raw) is not None
        low = raw.lower()
        return any(token in low for token in self.tokens)


def _re2_alternation(tokens: tuple[bytes, ...]):  # type: ignore[no-untyped-def]
    if not tokens:
        return None
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 has wheels for the supported platforms
        return None
    return re2.compile(b"(?i)(?:" + b"|".join(re2.escape(t) for t in tokens) + b")")


def default_prefilter() -> Prefilter:
    from scanner.extract import all_tokens

    return Prefilter(all_tokens())


# --------------------------------------------------------------------------- analysis of one text


def calls_in_text(text: str, path: str = "<text>", is_data_file: bool = False) -> list[MailCall]:
    """Every mail call the recognizers find in ``text``, in source order."""
    from scanner.extract import RECOGNIZERS

    script = Script(text, path, is_data_file)
    return _calls(script, RECOGNIZERS)


def _calls(script: Script, recognizers: Iterable[object]) -> list[MailCall]:
    calls: list[MailCall] = []
    for recognizer in recognizers:
        calls.extend(recognizer.find(script))  # type: ignore[attr-defined]
    calls.sort(key=lambda c: (c.location.start, c.api.value))
    return calls


@dataclass
class WrapperDef:
    """A function whose body sends mail: migrating it once fixes every script that calls it."""

    name: str
    path: str
    line: int
    body_start: int
    body_end: int
    fingerprints: list[str] = field(default_factory=list)  # the findings inside it
    parameters: list[str] = field(default_factory=list)  # the function's parameters, in declaration order
    # Finding fingerprint -> {mail parameter: wrapper parameter (lower case)} for the values the
    # caller passes in (`-SmtpServer $Server` inside `function Send-Alert($Server)`).
    feeds: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class FileAnalysis:
    findings: list[Finding] = field(default_factory=list)
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    wrappers: list[WrapperDef] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)  # in memory only: never cached, never reported


def file_secret_values(script: Script, secrets: Optional[Sequence[object]] = None) -> set[str]:
    """Every secret value of one script: what reaches a credential sink, and each literal a SEC rule reports."""
    from scanner.rules.sec_support import secret_rule_id
    from scanner.secrets import find_secrets, secret_values

    values = set(secret_values(script))
    for secret in find_secrets(script) if secrets is None else secrets:
        if secret_rule_id(script, secret) is not None:  # type: ignore[attr-defined]
            literal = script.text[secret.start : secret.end]  # type: ignore[attr-defined]
            values.add(literal[1:-1] if len(literal) >= 2 and literal[0] in "'\"" and literal[-1] in "'\"" else literal)
    return {v for v in values if len(v.strip()) >= 3}


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


def analyze_script(script: Script, config: RuleConfig, estate: Optional[EstateFacts] = None, fix_detail: str = "full") -> FileAnalysis:
    """Findings of every enabled rule on one script, with suppressions applied.

    ``fix_detail``: how much fix material each finding gets (scanner.fixes FULL, DIFF, NONE).
    """
    from scanner.assess import assess
    from scanner.extract import RECOGNIZERS, may_find
    from scanner.rules import catalogue
    from scanner.secrets import find_secrets

    rules = [r for r in catalogue().values() if config.enabled(r.id, script.path)]
    wanted_apis = {api for r in rules for api in r.apis}
    # A recognizer runs only on a file holding one of its tokens: by its contract (scanner.extract) a
    # file without them cannot hold a call it finds, and most files use one mail API, not seven.
    recognizers = [r for r in RECOGNIZERS if set(r.apis) & wanted_apis and may_find(r, script)]
    calls = _calls(script, recognizers)
    analysis = FileAnalysis()
    if not calls and not any(getattr(r, "file_check", None) for r in rules):
        return analysis
    secrets = find_secrets(script)
    secret_texts = {script.text[s.start : s.end] for s in secrets}
    for call in calls:
        assessment = assess(call, estate or script.estate) if call.api in LEGACY_APIS or call.api in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL) else None
        for rule in rules:
            if call.api not in rule.apis:
                continue
            verdict = rule.check(call, assessment)
            if verdict is None:
                continue
            analysis.findings.append(_finding(script, rule, call, assessment, verdict, secrets, secret_texts, config, fix_detail))
    for extra in _file_findings(script, rules, secrets, config):
        analysis.findings.append(extra)
    analysis.secret_values = file_secret_values(script, secrets)
    if analysis.secret_values:
        # Mask by value before anything leaves this function (the cache stores what it returns).
        from scanner.redact import Redactor

        Redactor(analysis.secret_values).redact_tree(analysis.findings)
    assign_fingerprints(analysis.findings)
    _apply_suppressions(script, analysis)
    analysis.wrappers = _wrappers(script, analysis.findings)
    return analysis


def _wrappers(script: Script, findings: list[Finding]) -> list[WrapperDef]:
    found = []
    for function in script.structure.functions:
        if function.name.lower() == "send-mailmessage":
            continue  # a shadowing function is reported as such
        inside = [
            f.fingerprint
            for f in findings
            if f.call is not None and f.call.api in LEGACY_APIS and function.body.start < f.location.start < function.body.end
        ]
        if inside:
            line = script.line_of(function.name_start)
            wrapper = WrapperDef(function.name, script.path, line, function.body.start, function.body.end, inside)
            wrapper.parameters = function_parameters(script, function)
            declared = {p.lower() for p in wrapper.parameters}
            for f in findings:
                if f.fingerprint not in inside or f.call is None:
                    continue
                feeds = {}
                for name, bound in f.call.params.items():
                    m = _FED.fullmatch(bound.text.strip())
                    if name in WRAPPER_FED and m and m.group(1).lower() in declared:
                        feeds[name] = m.group(1).lower()
                if feeds:
                    wrapper.feeds[f.fingerprint] = feeds
            found.append(wrapper)
    return found


# Mail parameters a wrapper's caller may decide (what a verdict and the sender depend on).
WRAPPER_FED = ("SmtpServer", "From", "Port", "UseSsl", "Credential")
_FED = re.compile(r'(?i)"?\$\{?(?:script:|local:)?(\w+)\}?"?')
_PARAM_NAME = re.compile(r"(?i)(?:^|[(,\]\s])\s*(?:\[[^\]]*\]\s*)*\$(\w+)")


def _file_findings(script: Script, rules: Sequence[object], secrets: Sequence[object], config: RuleConfig) -> list[Finding]:
    """Findings of rules that look at the whole file rather than at one call (secrets, Graph bugs)."""
    out: list[Finding] = []
    for rule in rules:
        file_check = getattr(rule, "file_check", None)
        if file_check is not None:
            out.extend(file_check(script, secrets, config))
    return out


def _apply_suppressions(script: Script, analysis: FileAnalysis) -> None:
    suppressions = _suppressions(script)
    if not suppressions:
        return
    kept = []
    for finding in analysis.findings:
        line = finding.location.line
        hit = next(
            (s for s in suppressions if s.line in (line, line - 1) and (not s.rules or finding.rule.upper() in s.rules)),
            None,
        )
        if hit is not None:
            hit.used = True
            continue
        kept.append(finding)
    analysis.findings = kept
    analysis.unused_suppressions = [UnusedSuppression(script.path, s.line, s.rules) for s in suppressions if not s.used]


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
    from scanner.analysis.literals import constructor_arguments, literal_or_none
    from scanner.analysis.resolve import resolve_variable

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


# A source line longer than this is shown as a window around the finding: a minified or generated
# one-line file would otherwise put the whole file into every finding (memory quadratic in calls).
LINE_MAX = 400
_CLIP_MARK = "…"


def excerpt(script: Script, first: int, last: int, focus: tuple[int, int], secrets: Sequence[object]) -> list[str]:
    """Lines ``first``..``last`` (1-based) with secrets masked, each long line clipped around ``focus`` (offsets)."""
    from scanner.secrets import redact

    structure = script.structure
    text = script.text
    starts = structure.line_starts
    out: list[str] = []
    for number in range(first, last + 1):
        start = starts[number - 1]
        end = starts[number] if number < len(starts) else len(text)
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        out.append(_clipped(text, start, end, focus, secrets, redact))
    return out


def _clipped(text: str, start: int, end: int, focus: tuple[int, int], secrets: Sequence[object], redact: Callable[..., str]) -> str:
    if end - start <= LINE_MAX:
        return redact(text[start:end], start, list(secrets))
    if focus[1] > start and focus[0] < end:  # the line holds the finding: a window around it
        lo = max(start, focus[0] - LINE_MAX // 3)
        hi = min(end, max(focus[1], focus[0]) + LINE_MAX // 3)
        hi = min(hi, lo + LINE_MAX * 2)
    else:
        lo, hi = start, start + LINE_MAX
    body = redact(text[lo:hi], lo, list(secrets))
    return (_CLIP_MARK if lo > start else "") + body + (_CLIP_MARK if hi < end else "")


def _finding(script, rule, call, assessment, verdict, secrets, secret_texts, config, fix_detail="full") -> Finding:  # type: ignore[no-untyped-def]
    from scanner.secrets import redact, redact_value

    start, end = call.call_span
    if end <= start:
        start, end = call.location.start, call.location.end
    if end - start > LINE_MAX * SNIPPET_MAX_LINES:
        snippet_lines = redact(script.text[start : start + LINE_MAX * SNIPPET_MAX_LINES], start, secrets).splitlines() + ["…"]
    else:
        snippet_lines = redact(script.text[start:end], start, secrets).splitlines()
    snippet_lines = [line if len(line) <= LINE_MAX else line[:LINE_MAX] + _CLIP_MARK for line in snippet_lines]
    snippet = "\n".join(snippet_lines[:SNIPPET_MAX_LINES]) + ("\n…" if len(snippet_lines) > SNIPPET_MAX_LINES else "")
    for bound in call.params.values():
        bound.text = redact_value(bound.text, secret_texts)
        if isinstance(bound.value, str) and bound.value in {t.strip("'\"") for t in secret_texts}:
            bound.value = "***"
    first = max(1, call.location.line - CONTEXT_LINES)
    last = min(len(script.structure.line_starts), call.location.end_line + CONTEXT_LINES)
    context = excerpt(script, first, last, (start, end), secrets)
    related = list(call.related)
    from scanner.fixes import fix_for

    fix = fix_for(script, call, assessment, secret_texts, fix_detail)
    if fix.snippet:
        # Calls written alike get the same generated snippets: one string per file, not one per finding
        # (a generated one-line script of 20,000 identical calls would otherwise hold 20,000 copies).
        shared: dict[str, str] = script.memo.setdefault("shared-snippets", {})  # type: ignore[assignment]
        fix.snippet = {style: shared.setdefault(code, code) for style, code in fix.snippet.items()}
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
        fix=fix,
        context_start_line=first,
        context_lines=context,
        sender=sender_address(call),
        credential_user=credential_user(script, call),
    )


# --------------------------------------------------------------------------- files


@dataclass
class FileOutcome:
    rel: str
    findings: list[Finding] = field(default_factory=list)
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    error: Optional[FileError] = None
    wrappers: list[WrapperDef] = field(default_factory=list)
    cache_key: str = ""  # the content cache key when the file was analysed
    stat: tuple[int, int, int] = (0, 0, 0)  # size, mtime_ns, inode when read
    secrets: int = 0  # how many secret values the file holds (the values themselves are never stored)
    # Other files of the tree the analysis read (configuration files, dot-sourced scripts): such an
    # outcome depends on more than this file's bytes, so it is neither cached nor stat-indexed.
    dependencies: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The values travel to the parent in memory (pickled with the object); `to_data` (the
        # cache) only writes dataclass fields, so they never reach the disk.
        self.values: set[str] = set()


@dataclass
class _WorkerState:
    root: Path
    options: ScanOptions
    prefilter: Prefilter
    cache: Optional[object]
    salt: str


_STATE: Optional[_WorkerState] = None


def _init_worker(root: Path, options: ScanOptions) -> None:
    global _STATE
    from scanner.cache import ResultCache, default_cache_dir

    cache = None
    if options.use_cache:
        cache = ResultCache(options.cache_dir or default_cache_dir())
    _STATE = _WorkerState(root, options, default_prefilter(), cache, options.salt())


def analyze_file(path: Union[str, Path], rel: Optional[str] = None) -> FileOutcome:
    """Read, prefilter, look up the cache, then analyse one file (runs in a worker process)."""
    from scanner.files import DecodeError, decode, read_bytes, relative_path

    state = _STATE
    assert state is not None, "_init_worker was not called"
    if rel is None:
        rel = relative_path(Path(path), state.root)
    path = os.fspath(path)  # plain strings: a Path per file costs more than reading a small one
    is_data_file = path.lower().endswith(".psd1")
    try:
        raw, st = read_bytes(path, state.options.max_bytes)
        if raw is None:
            return FileOutcome(rel, error=FileError(rel, f"file is {st.st_size:,} bytes, over the {state.options.max_bytes:,}-byte limit (--max-file-size)"))
    except OSError as exc:
        return FileOutcome(rel, error=FileError(rel, f"cannot read: {exc.strerror or exc}"))
    stat = (st.st_size, st.st_mtime_ns, st.st_ino)
    if not state.prefilter.matches(raw):
        return FileOutcome(rel, stat=stat)
    key = None
    if state.cache is not None:
        from scanner.cache import content_key
        from scanner.serialize import from_data

        key = content_key(raw, rel, state.salt)
        payload = state.cache.get(key)  # type: ignore[attr-defined]
        if payload is not None:
            try:
                cached: FileOutcome = from_data(FileOutcome, payload)
                cached.stat = stat
                if cached.secrets:
                    cached.values = values_of_bytes(raw, rel, is_data_file, state.root)
                return cached
            except (TypeError, ValueError, KeyError):
                pass  # a foreign or damaged entry: analyse again and overwrite it
    try:
        text, _, _ = decode(raw)
    except DecodeError as exc:
        return FileOutcome(rel, error=FileError(rel, str(exc)))
    script = Script(text, rel, is_data_file)
    script.estate = state.options.estate
    script.root = state.root
    try:
        analysis = analyze_script(script, state.options.rules, fix_detail=state.options.fix_detail)
    except RecursionError:
        return FileOutcome(rel, error=FileError(rel, "too deeply nested to analyse"))
    except Exception as exc:  # noqa: BLE001 - a bug on one file must not lose the report of the others
        return FileOutcome(rel, error=FileError(rel, f"internal error while analysing this file ({type(exc).__name__}); please report it"))
    outcome = FileOutcome(rel, analysis.findings, analysis.unused_suppressions, None, analysis.wrappers, key or "", stat, len(analysis.secret_values))
    outcome.values = analysis.secret_values
    depends = script.memo.get("dependencies")
    if isinstance(depends, dict) and depends:
        outcome.dependencies = sorted(depends)
        outcome.cache_key = ""
        return outcome
    if state.cache is not None and key is not None:
        from scanner.serialize import to_data

        state.cache.put(key, to_data(outcome))  # type: ignore[attr-defined]
    return outcome


# The outcome of every file without findings, errors or wrappers (most files: the prefilter rejected
# them, or the stat index says so): one shared object, read and never changed (its lists are tuples),
# instead of an object per file (0.1 s per 20,000 files in the parent, which shares the CPUs with the pool).
_NO_FINDINGS = FileOutcome("", findings=(), unused_suppressions=(), wrappers=(), dependencies=())  # type: ignore[arg-type]

# What a worker sends back for a file: its outcome, or only its stat when nothing was found in it
# (most files: the prefilter rejected them), which keeps the traffic to the parent small.
Packed = Union[FileOutcome, tuple[int, int, int]]


def analyze_chunk(items: list[tuple[str, str]]) -> list[Packed]:
    """A worker's unit of work: several files, so that inter-process traffic stays small."""
    packed: list[Packed] = []
    for path, rel in items:
        outcome = analyze_file(path, rel)
        empty = not (outcome.findings or outcome.unused_suppressions or outcome.wrappers or outcome.error or outcome.cache_key or outcome.values or outcome.dependencies)
        packed.append(outcome.stat if empty else outcome)
    return packed


class _LazyPool:
    """The worker pool of one scan, started only when there is parallel work, shared by both passes."""

    def __init__(self, root: Path, options: ScanOptions) -> None:
        self.root = root
        self.options = options
        self._pool: Optional[ProcessPoolExecutor] = None

    def get(self, items: int) -> Optional["_LazyPool"]:
        if self.options.jobs <= 1 or items < 2:
            return None
        return self

    def executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor  # only a scan with parallel work pays for it

            self._pool = ProcessPoolExecutor(max_workers=self.options.jobs, initializer=_init_worker, initargs=(self.root, self.options))
        return self._pool

    def reset(self) -> None:
        """Drop a pool whose worker died (crash, out of memory, killed): the next submit starts a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "_LazyPool":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def _in_order(
    pool: _LazyPool,
    work: Callable[..., list[T]],
    items: Union[Sequence[object], Iterator[object]],
    jobs: int,
    *args: object,
    largest: int = 32,
    crashed: Optional[Callable[[object, str], T]] = None,
) -> Iterator[T]:
    """Results of ``work`` over chunks of ``items``, in order, with a bounded window in flight:
    memory stays flat however large the tree, and the output does not depend on --jobs.

    When a worker dies (a crash in a native library, the OOM killer, a kill) every chunk in flight
    fails; each of its items is then run alone in a fresh pool, and an item that kills its worker
    again becomes ``crashed(item, reason)`` (an error entry) instead of a lost report.
    """
    from concurrent.futures.process import BrokenProcessPool

    # An iterator (files streamed from discovery) is cut into chunks of `largest`; a list of known
    # length into smaller chunks when it is short, so that every worker gets a share.
    size = max(1, min(largest, len(items) // (jobs * 8) or 1)) if isinstance(items, Sequence) else largest
    window: deque[tuple[list[object], Optional[Future[list[T]]]]] = deque()

    def submit(chunk: list[object]) -> Optional[Future[list[T]]]:
        try:
            return pool.executor().submit(work, chunk, *args)
        except (BrokenProcessPool, RuntimeError):
            pool.reset()
            return None  # collected one item at a time

    def alone(item: object) -> list[T]:
        try:
            return pool.executor().submit(work, [item], *args).result()
        except BrokenProcessPool:
            pool.reset()
            reason = "the analysis process crashed or was killed on this file (out of memory?)"
        except Exception as exc:  # noqa: BLE001 - one file's failure is that file's error entry
            reason = f"internal error while analysing this file ({type(exc).__name__}); please report it"
        if crashed is None:
            raise RuntimeError(reason)
        return [crashed(item, reason)]

    def collect(chunk: list[object], future: Optional[Future[list[T]]]) -> list[T]:
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                pool.reset()
            except Exception:  # noqa: BLE001 - retried item by item below
                pass
        out: list[T] = []
        for item in chunk:
            out.extend(alone(item))
        return out

    source = iter(items)
    while True:
        chunk = list(islice(source, size))
        if not chunk:
            break
        window.append((chunk, submit(chunk)))
        if len(window) >= jobs * 4:
            yield from collect(*window.popleft())
    while window:
        yield from collect(*window.popleft())


def _crashed_file(item: object, reason: str) -> "Packed":
    rel = str(item[1])  # type: ignore[index]
    return FileOutcome(rel, error=FileError(rel, reason))


def _crashed_wrapper_file(item: object, reason: str) -> list[list[object]]:
    return []


def _outcomes(items: Sequence[tuple[str, str]], root: Path, options: ScanOptions, pools: Optional[_LazyPool] = None) -> Iterator[Packed]:
    """Each item's outcome, in order: a FileOutcome, or from the pool only the stat of a file without findings."""
    pool = pools.get(len(items)) if pools is not None else None
    if pool is None:
        _init_worker(root, options)
        for path, rel in items:
            yield analyze_file(path, rel)
        return
    yield from _in_order(pool, analyze_chunk, items, options.jobs, crashed=_crashed_file)


def _stat_index(root: Path, options: ScanOptions):  # type: ignore[no-untyped-def]
    if not options.use_cache:
        return None
    from scanner.cache import StatIndex, default_cache_dir

    return StatIndex.load(options.cache_dir or default_cache_dir(), str(root.resolve()), options.salt())


# Files read before the first is handed to the pool: a tree this small is cut into chunks by its
# known length (every worker gets some); a larger one streams from discovery into the pool, so the
# workers start while the walk is still listing folders.
_STREAM_AFTER = 512


def _indexed_outcomes(  # type: ignore[no-untyped-def]
    discovered: Iterator[tuple[str, str]], files: list[str], rels: list[str], root: Path, options: ScanOptions, index,
    stats: list[Optional[tuple[int, int, int]]], pools: Optional[_LazyPool] = None
) -> Iterator[FileOutcome]:
    """Outcomes in discovery order: unchanged files (same size, mtime, inode) come from the stat index
    and the cache without being read; the others go through the worker pool as discovery finds them.
    ``files``, ``rels`` and ``stats`` are filled as the walk goes."""
    from scanner.serialize import from_data

    cache = None
    if index is not None:
        from scanner.cache import ResultCache, default_cache_dir

        cache = ResultCache(options.cache_dir or default_cache_dir())
    # (position, outcome) in discovery order; None: the next outcome computed by the pool.
    pending: deque[tuple[int, Optional[FileOutcome]]] = deque()
    feed: deque[tuple[str, str]] = deque()

    def pull() -> bool:
        """Take the next discovered file: answered from the index, or queued for analysis."""
        item = next(discovered, None)
        if item is None:
            return False
        path, rel = item
        i = len(files)
        files.append(path)
        rels.append(rel)
        stats.append(None)
        if index is not None and cache is not None:
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None:
                stat = (st.st_size, st.st_mtime_ns, st.st_ino)
                stats[i] = stat
                key = index.lookup(rel, stat)
                if key == "-":
                    pending.append((i, _NO_FINDINGS))
                    return True
                if key:
                    payload = cache.get(key)
                    if payload is not None:
                        try:
                            pending.append((i, from_data(FileOutcome, payload)))
                            return True
                        except (TypeError, ValueError, KeyError):
                            pass
        pending.append((i, None))
        feed.append((path, rel))
        return True

    def todo() -> Iterator[tuple[str, str]]:
        while True:
            while not feed:
                if not pull():
                    return
            yield feed.popleft()

    # A small tree is handed over as a list (its length decides the chunks); a large one streams.
    head: list[tuple[str, str]] = []
    stream = todo()
    for item in stream:
        head.append(item)
        if len(head) >= _STREAM_AFTER:
            break
    if len(head) < _STREAM_AFTER:
        computed = _outcomes(head, root, options, pools) if head else iter(())
    else:
        from itertools import chain

        computed = _outcomes_streamed(chain(head, stream), root, options, pools)
    while pending or pull():
        i, outcome = pending.popleft()
        if outcome is None:
            packed = next(computed)
            if isinstance(packed, tuple):  # the stat of a file without findings (from the pool)
                stats[i] = packed
                if index is not None:
                    index.record(rels[i], packed, "-")
                outcome = _NO_FINDINGS
            else:
                outcome = packed
                if outcome.stat != (0, 0, 0):
                    stats[i] = outcome.stat
                if index is not None and outcome.error is None and outcome.stat != (0, 0, 0) and not outcome.dependencies:
                    index.record(outcome.rel, outcome.stat, outcome.cache_key or "-")
        yield outcome


def _outcomes_streamed(items: Iterator[tuple[str, str]], root: Path, options: ScanOptions, pools: Optional[_LazyPool]) -> Iterator[Packed]:
    """``_outcomes`` for a stream of files of unknown length (more than _STREAM_AFTER)."""
    pool = pools.get(_STREAM_AFTER) if pools is not None else None
    if pool is None:
        _init_worker(root, options)
        for path, rel in items:
            yield analyze_file(path, rel)
        return
    yield from _in_order(pool, analyze_chunk, items, options.jobs, crashed=_crashed_file)


def scan(
    paths: list[Path],
    options: ScanOptions,
    root: Optional[Path] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> ScanResult:
    """Scan files and folders; every file that cannot be handled becomes an entry in ``errors``."""
    from scanner.files import discover

    if root is None:
        root = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path(os.path.commonpath([p.resolve() for p in paths])) if paths else Path.cwd()
        if root.is_file():
            root = root.parent
    errors: list[FileError] = []  # the walk's, then the files' (in file order)
    file_errors: list[FileError] = []
    files: list[str] = []
    rels: list[str] = []
    by_rel: dict[str, str] = {}

    def discovered() -> Iterator[tuple[str, str]]:
        for item in discover(paths, root, options.excludes, options.respect_gitignore):  # type: ignore[arg-type]
            if item.error is not None:
                errors.append(item.error)
            elif item.file is not None:
                by_rel[item.rel] = item.file
                yield item.file, item.rel

    findings: list[Finding] = []
    unused: list[UnusedSuppression] = []
    wrappers: list[WrapperDef] = []
    failed = 0
    index = _stat_index(root, options)
    stats: list[Optional[tuple[int, int, int]]] = []
    registry = SecretRegistry()
    cache_keys: dict[str, str] = {}
    with _LazyPool(root, options) as pools:
        for done, outcome in enumerate(_indexed_outcomes(discovered(), files, rels, root, options, index, stats, pools), 1):
            if outcome.error is not None:
                file_errors.append(outcome.error)
                failed += 1
            if outcome.secrets and not outcome.values and outcome.rel in by_rel:
                outcome.values = values_of_file(by_rel[outcome.rel], outcome.rel, options.max_bytes)  # a cached result: values are never stored
            registry.add(outcome.values)
            if outcome.cache_key and outcome.findings:
                cache_keys[outcome.rel] = outcome.cache_key
            findings.extend(outcome.findings)
            unused.extend(outcome.unused_suppressions)
            wrappers.extend(outcome.wrappers)
            if progress is not None:
                progress(done, len(files))
        errors.extend(file_errors)
        if wrappers:
            link_wrapper_call_sites(files, rels, stats, wrappers, findings, options.max_bytes, index, pools, options.estate)
    if index is not None:
        import time

        index.save(time.time_ns())
    result = ScanResult(root.as_posix(), len(files) - failed, findings, errors, unused, failed, scanned_paths=rels)
    changed = redact_result(result, registry)
    result.secret_registry = registry  # type: ignore[attr-defined]  # in memory only, for later passes
    if changed and options.use_cache:
        _recache_redacted({cache_keys[rel] for rel in changed if rel in cache_keys}, registry, options)
    return result


def _recache_redacted(keys: set[str], registry: SecretRegistry, options: ScanOptions) -> None:
    """Rewrite the cache entries of files that held another file's secret: the cache stores only masked text."""
    from scanner.cache import ResultCache, default_cache_dir
    from scanner.serialize import from_data, to_data

    cache = ResultCache(options.cache_dir or default_cache_dir())
    redactor = registry.redactor()
    for key in keys:
        payload = cache.get(key)
        if payload is None:
            continue
        try:
            outcome: FileOutcome = from_data(FileOutcome, payload)
        except (TypeError, ValueError, KeyError):
            continue
        redactor.redact_tree(outcome.findings)
        assign_fingerprints(outcome.findings)
        cache.put(key, to_data(outcome))


def values_of_bytes(raw: bytes, rel: str, is_data_file: bool = False, root: Optional[Path] = None) -> set[str]:
    """The secret values of a file's bytes (for a result taken from the cache, which holds none);
    with ``root``, also the values its credential sinks read from configuration files below it."""
    from scanner.files import DecodeError, decode

    try:
        text = decode(raw)[0]
        script = Script(text, rel, is_data_file)
        script.root = root
        return file_secret_values(script)
    except (DecodeError, RecursionError):
        return set()


def values_of_file(path: str, rel: str, max_bytes: int) -> set[str]:
    from scanner.files import read_bytes

    try:
        raw, _ = read_bytes(path, max_bytes)
    except OSError:
        return set()
    return set() if raw is None else values_of_bytes(raw, rel, path.lower().endswith(".psd1"))


def redact_result(result: ScanResult, registry: "SecretRegistry") -> set[str]:
    """Mask every registered value in everything a scan result holds, once, before any formatter sees it,
    and escape terminal control characters and lone surrogates (safe to print, encodable as UTF-8).

    Each file's own values were masked in its worker; this pass adds the values of every other
    file of the run (a password defined in one script and reused in another). Findings whose
    snippet changed get fingerprints computed from the masked text.
    """
    redactor = registry.redactor(escape_controls=True)
    changed: set[str] = set()
    for finding in result.findings:
        before = finding.snippet
        redactor.redact_tree(finding)
        if finding.snippet != before:
            changed.add(finding.location.path)
    result.errors[:] = [redactor.redact_tree(error) for error in result.errors]
    result.unused_suppressions[:] = [redactor.redact_tree(unused) for unused in result.unused_suppressions]
    from scanner.safetext import safe_path

    result.root = safe_path(result.root)  # the scan root is the user's own folder: escaped, never masked
    if changed:
        per_file: dict[str, list[Finding]] = {}
        for finding in result.findings:
            if finding.location.path in changed:
                per_file.setdefault(finding.location.path, []).append(finding)
        for group in per_file.values():
            assign_fingerprints(group)
    return changed


def link_wrapper_call_sites(
    files: list[str],
    rels: list[str],
    stats: list[Optional[tuple[int, int, int]]],
    wrappers: list[WrapperDef],
    findings: list[Finding],
    max_bytes: int,
    index: Optional["StatIndex"] = None,
    pools: Optional[_LazyPool] = None,
    estate: Optional[EstateFacts] = None,
) -> None:
    """List, in each wrapper's findings, the places across the tree that call the wrapper function,
    and give each call site that passes the server or sender its own finding and verdict.

    The call sites usually hold no mail token, so the first pass never parsed them: a second
    byte prefilter built from the wrapper names picks the few files worth reading. With a stat
    index, the sites found in an unchanged file are reused without reading it.
    """
    by_name: dict[str, list[WrapperDef]] = {}
    for wrapper in wrappers:
        if wrapper.name.isascii():
            by_name.setdefault(wrapper.name.lower(), []).append(wrapper)
    if not by_name:
        return
    parameters = {name: tuple(defs[0].parameters) for name, defs in by_name.items() if any(d.feeds for d in defs)}
    names_key = hashlib.sha256(("\0".join(sorted(by_name)) + "\0v2\0" + repr(sorted(parameters.items()))).encode()).hexdigest()
    known: dict[int, list[list[object]]] = {}
    todo: list[int] = []
    for i, (rel, stat) in enumerate(zip(rels, stats)):
        cached = index.wrapper_sites(names_key, rel, stat) if index is not None and stat is not None else None
        if cached is None:
            todo.append(i)
        else:
            known[i] = cached
    items = [(files[i], rels[i]) for i in todo]
    # Workers need only the names and where each wrapper's own body is (to skip recursion).
    bodies = {name: tuple((w.path, w.body_start, w.body_end) for w in defs) for name, defs in by_name.items()}
    pool = pools.get(len(items)) if pools is not None else None
    if pool is not None:
        # Reading and searching a file is cheap: large chunks keep the inter-process traffic small.
        computed: Iterator[list[list[object]]] = _in_order(
            pool, _wrapper_chunk, items, pool.options.jobs, bodies, max_bytes, parameters, largest=512, crashed=_crashed_wrapper_file
        )
    else:
        computed = iter(_wrapper_chunk(items, bodies, max_bytes, parameters))
    for i in todo:
        found = next(computed)
        known[i] = found
        if index is not None and stats[i] is not None:
            index.record_wrapper_sites(names_key, rels[i], stats[i], found)  # type: ignore[arg-type]
    sites: dict[str, list[tuple[str, int, int]]] = {name: [] for name in by_name}
    arguments: dict[tuple[str, int, int], dict[str, list[object]]] = {}
    for i, rel in enumerate(rels):
        for site in known.get(i, ()):
            name, line, col = site[0], site[1], site[2]
            if name in sites:
                sites[str(name)].append((rel, int(line), int(col)))  # type: ignore[call-overload, arg-type]
                if len(site) > 3 and isinstance(site[3], dict):
                    arguments[(rel, int(line), int(col))] = site[3]  # type: ignore[call-overload, arg-type]
    _attach_call_sites(by_name, sites, findings)
    findings.extend(call_site_findings(by_name, sites, arguments, findings, estate))


WrapperBodies = dict[str, tuple[tuple[str, int, int], ...]]  # name -> (path, body start, body end) of each definition
_WRAPPER_PREFILTERS: dict[tuple[str, ...], Prefilter] = {}


def _wrapper_chunk(
    items: list[tuple[str, str]], bodies: WrapperBodies, max_bytes: int, parameters: Optional[dict[str, tuple[str, ...]]] = None
) -> list[list[list[object]]]:
    """Wrapper call sites of several files (a worker's unit of the second pass)."""
    names = tuple(sorted(bodies))
    prefilter = _WRAPPER_PREFILTERS.get(names)
    if prefilter is None:
        prefilter = _WRAPPER_PREFILTERS[names] = Prefilter(names)
    return [_wrapper_sites_in_file(path, rel, bodies, prefilter, max_bytes, parameters or {}) for path, rel in items]


def _site_arguments(script: Script, site: object, parameters: tuple[str, ...]) -> dict[str, list[object]]:
    """{parameter (lower case): [text, static value, conditional, reason, provenance, source]} as the call site binds them."""
    from scanner.analysis.binding import bind_arguments
    from scanner.analysis.commands import CommandSpec, ParameterSpec, lex_call
    from scanner.secrets import find_secrets, redact

    spec = CommandSpec("wrapper", tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
    arguments = lex_call(script, site)  # type: ignore[arg-type]
    binding = bind_arguments(script, spec, arguments, site.start)  # type: ignore[attr-defined]
    secrets = None
    out: dict[str, list[object]] = {}
    for name, bound in binding.params.items():
        if name.lower() not in {p.lower() for p in parameters}:
            continue
        if secrets is None:
            secrets = find_secrets(script)
        start = script.text.find(bound.text, site.start)  # type: ignore[attr-defined]
        text = redact(bound.text, start, secrets) if start >= 0 else bound.text
        value = bound.value if isinstance(bound.value, (str, int, bool, list)) and text == bound.text else None  # a masked secret never leaves the worker
        out[name.lower()] = [text, value, bound.conditional, bound.reason, bound.provenance.value, bound.source]
    return out


def _wrapper_sites_in_file(
    path: str, rel: str, bodies: WrapperBodies, prefilter: Prefilter, max_bytes: int, parameters: Optional[dict[str, tuple[str, ...]]] = None
) -> list[list[object]]:
    """[name, line, column(, arguments)] of each call of a wrapper function in one file (outside its own body)."""
    from scanner.analysis.commands import find_command_sites
    from scanner.files import DecodeError, decode, read_bytes

    try:
        raw, _ = read_bytes(path, max_bytes)
        if raw is None or not prefilter.matches(raw):
            return []
        text = decode(raw)[0]
    except (OSError, DecodeError):
        return []
    if path.lower().endswith(".psd1") or _only_definitions(text, bodies):
        return []
    script = Script(text, rel)
    if _STATE is not None:
        script.estate, script.root = _STATE.options.estate, _STATE.root
    found: list[list[object]] = []
    for site in find_command_sites(script, {name: name for name in bodies}, module="*"):
        name = site.written.rsplit("\\", 1)[-1].lower()
        if any(path_ == rel and start <= site.name_start < end for path_, start, end in bodies.get(name, ())):
            continue  # recursion inside the wrapper itself
        line, col = script.structure.line_col(site.name_start)
        entry: list[object] = [name, line, col]
        if parameters and name in parameters:
            entry.append(_site_arguments(script, site, parameters[name]))
        found.append(entry)
    return found


_DEFINITION_BEFORE = re.compile(r"(?:function|filter|workflow)\s+$")


def _only_definitions(text: str, bodies: WrapperBodies) -> bool:
    """True when every occurrence of a wrapper name is its `function NAME` definition: no call can be
    there, so the file need not be lexed (modules full of wrappers are common)."""
    low = text.lower()
    for name in bodies:
        i = low.find(name)
        while i >= 0:
            if not _DEFINITION_BEFORE.search(low[max(0, i - 24) : i]):
                return False
            i = low.find(name, i + len(name))
    return True


def _attach_call_sites(
    by_name: dict[str, list[WrapperDef]], sites: dict[str, list[tuple[str, int, int]]], findings: list[Finding]
) -> None:
    by_fingerprint = {f.fingerprint: f for f in findings}
    for name, defs in by_name.items():
        calls = sites[name]
        for wrapper in defs:
            for fingerprint in wrapper.fingerprints:
                finding = by_fingerprint.get(fingerprint)
                if finding is None:
                    continue
                finding.related.extend(RelatedLocation(p, line, col, "call-site") for p, line, col in calls)
                scripts = len({p for p, _, _ in calls})
                finding.message += (
                    f" Wrapper function {wrapper.name} (line {wrapper.line}) is called from {len(calls)} place(s) "
                    f"in {scripts} script(s): migrate it once here."
                    if calls
                    else f" Wrapper function {wrapper.name} (line {wrapper.line}): no caller found in the scanned tree."
                )


def _nearest_definition(path: str, defs: list[WrapperDef]) -> Optional[WrapperDef]:
    """The definition a caller at ``path`` most likely gets: the only one, one in the same file, or the
    one sharing the longest folder prefix; None when two are equally near (the site is not guessed)."""
    if len(defs) == 1:
        return defs[0]
    same = [d for d in defs if d.path == path]
    if len(same) == 1:
        return same[0]

    def shared(d: WrapperDef) -> int:
        a, b = d.path.split("/")[:-1], path.split("/")[:-1]
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    best = max(shared(d) for d in defs)
    nearest = [d for d in defs if shared(d) == best]
    return nearest[0] if len(nearest) == 1 else None


def call_site_findings(
    by_name: dict[str, list[WrapperDef]],
    sites: dict[str, list[tuple[str, int, int]]],
    arguments: dict[tuple[str, int, int], dict[str, list[object]]],
    findings: list[Finding],
    estate: Optional[EstateFacts] = None,
) -> list[Finding]:
    """One finding per call site of a wrapper whose server, sender or credential the caller passes:
    the wrapper's call with the site's values, its own verdict, and the wrapper's fix (migrated once)."""
    import copy

    from scanner.assess import assess
    from scanner.model import BindKind, BoundParam, FixApplicability, FixInfo, Location, Provenance
    from scanner.rules import catalogue

    rules = catalogue()
    by_fingerprint = {f.fingerprint: f for f in findings}
    out: list[Finding] = []
    occurrences: dict[tuple[str, str], int] = {}
    for name, defs in by_name.items():
        for wrapper in defs:
            for fingerprint, feeds in wrapper.feeds.items():
                inner = by_fingerprint.get(fingerprint)
                if inner is None or inner.call is None or inner.rule not in rules:
                    continue
                for path, line, col in sites.get(name, ()):
                    if _nearest_definition(path, defs) is not wrapper:
                        continue  # another definition of the same name is the one this caller gets
                    passed = arguments.get((path, line, col), {})
                    if not any(param in passed for param in feeds.values()):
                        continue  # nothing decided here: the wrapper's own finding stands for this call
                    derived = copy.deepcopy(inner)
                    call = derived.call
                    assert call is not None
                    shown: list[str] = []
                    for mail_param, wrapper_param in feeds.items():
                        argument = passed.get(wrapper_param)
                        if argument is None:
                            continue  # not passed here: the wrapper's own default (or nothing) applies
                        text, value, conditional, reason, provenance, source = argument
                        declared = next((p for p in wrapper.parameters if p.lower() == wrapper_param), wrapper_param)
                        origin = f"passed as -{declared} to {wrapper.name} at {path}:{line}" + (f"; {reason}" if reason else "")
                        literal = value is not None and str(text)[:1] in "'\"0123456789$" and not str(text).startswith("$")
                        call.params[mail_param] = BoundParam(
                            mail_param, str(text), BindKind.LITERAL if literal else BindKind.EXPRESSION, value,  # type: ignore[arg-type]
                            bool(conditional), origin, line,
                            Provenance(provenance) if provenance != Provenance.WRITTEN.value else Provenance.CALL_SITE,  # type: ignore[arg-type]
                            str(source) or f"{path}:{line}",
                        )
                        shown.append(f"-{declared} {text}")
                    call.form = "wrapper-call-site"
                    call.command = f"{wrapper.name} -> {inner.call.command}"
                    call.location = Location(path, line, col, line, col + len(wrapper.name))
                    call.related = [RelatedLocation(inner.location.path, inner.location.line, inner.location.column, "wrapper")]
                    assessment = assess(call, estate)
                    verdict = rules[inner.rule].check(call, assessment)
                    if verdict is None:
                        continue
                    derived.location = call.location
                    derived.assessment = assessment
                    derived.severity = verdict.severity
                    derived.message = f"{verdict.message} Through wrapper {wrapper.name} ({inner.location.path}:{inner.location.line}), called here."
                    derived.snippet = f"{wrapper.name} {' '.join(shown)}".strip()
                    derived.context_lines, derived.context_start_line = [], line
                    derived.related = list(call.related)
                    derived.sender = sender_address(call)
                    derived.fix = FixInfo(False, FixApplicability.DISPLAY_ONLY, f"fixed once in the wrapper {wrapper.name} at {inner.location.path}:{inner.location.line} (its finding carries the patch); this call then sends through Graph unchanged")
                    key = (inner.rule, normalized_text(f"{wrapper.name} {inner.fingerprint} {derived.snippet}"))
                    index = occurrences.get(key, 0)
                    occurrences[key] = index + 1
                    derived.fingerprint = fingerprint_of(inner.rule, path, key[1], index)
                    out.append(derived)
    return out
