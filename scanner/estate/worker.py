"""The work on one file, in a worker process: read, prefilter, cache, check, and what goes back."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from scanner.analysis.configfiles import file_state
from scanner.cache import ResultCache, content_key, default_cache_dir
from scanner.check import analyze_script
from scanner.files import DecodeError, decode, read_bytes, relative_path
from scanner.estate.judging import JudgedFile, PlannedFile, patch_views, prejudge
from scanner.serialize import from_data, to_data
from scanner.migrate.syntax import remember_parse
from scanner.estate.options import ScanOptions
from scanner.estate.prefilter import Prefilter, default_prefilter
from scanner.estate.wrappers import WrapperDef, file_wrappers
from scanner.findings import file_secret_values
from scanner.fixes import FULL
from scanner.masking import SourceMask, strong
from scanner.model import FileError, Finding, PatchView, UnusedSuppression
from scanner.script import Script


@dataclass
class FileOutcome:
    rel: str
    findings: list[Finding] = field(default_factory=list)
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    error: Optional[FileError] = None
    wrappers: list[WrapperDef] = field(default_factory=list)
    cache_key: str = ""  # the content cache key when the file was analysed
    stat: tuple[int, int, int] = (0, 0, 0)  # size, mtime_ns, inode when read
    # How many of the file's secret values are strong (scanner.masking.strong: masked in the other files of
    # the run); the values themselves are never stored.
    secrets: int = 0
    # What the analysis read or looked for besides the file (configuration files, dot-sourced
    # scripts, found or not): rel -> its state then. The cached outcome holds while each is as it
    # was; such an outcome is not stat-indexed (the file alone does not decide it).
    dependencies: dict[str, str] = field(default_factory=dict)
    patches: list[PatchView] = field(default_factory=list)  # what `fix --out` writes for the file (judged)

    def __post_init__(self) -> None:
        # The values and the plan travel to the parent in memory (pickled with the object);
        # `to_data` (the cache) only writes dataclass fields, so they never reach the disk.
        self.values: set[str] = set()
        self.planned: Optional[PlannedFile] = None
        self.mask: Optional[SourceMask] = None  # what of the file an output may show (its patches' diffs)
        self.cached = False  # taken from the cache: its values are read again only when the run needs them


@dataclass
class _WorkerState:
    root: Path
    options: ScanOptions
    prefilter: Prefilter
    cache: Optional[ResultCache]
    salt: str


_STATE: Optional[_WorkerState] = None


def init_worker(root: Path, options: ScanOptions) -> None:
    global _STATE
    _ignore_interrupts()
    cache = None
    if options.use_cache:
        cache = ResultCache(options.cache_dir or default_cache_dir())
    _STATE = _WorkerState(root, options, default_prefilter(), cache, options.salt() if cache is not None else "")


def _ignore_interrupts() -> None:
    """In a pool worker (forked with SIGINT blocked, scanner.estate.pool.LazyPool.submit): Ctrl-C is the
    parent's to handle; the worker ends when the parent stops the pool. In the parent's own process
    (no pool: --jobs 1, a small tree) nothing changes."""
    import multiprocessing
    import signal

    if multiprocessing.parent_process() is None:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def dependencies_hold(root: Path, dependencies: dict[str, str]) -> bool:
    """Whether every file an analysis read or looked for is as it was then (found or not)."""
    return all(file_state(root / rel) == state for rel, state in dependencies.items())


def _usable(cached: FileOutcome, root: Path, options: ScanOptions) -> bool:
    if cached.dependencies and not dependencies_hold(root, cached.dependencies):
        return False  # a configuration file appeared, changed or went away: analyse again
    # `fix` needs the edits, which the cache does not keep: a file with a fix is analysed again.
    return not (options.keep_plans and any(f.fix.available for f in cached.findings))


def analyze_file(path: Union[str, Path], rel: Optional[str] = None) -> FileOutcome:
    """Read, prefilter, look up the cache, then analyse one file (runs in a worker process)."""
    state = _STATE
    assert state is not None, "init_worker was not called"
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
        key = content_key(raw, rel, state.salt)
        payload = state.cache.get(key)
        if payload is not None:
            try:
                cached: FileOutcome = from_data(FileOutcome, payload)
            except (TypeError, ValueError, KeyError):
                cached = None  # type: ignore[assignment]  # a foreign or damaged entry: analyse again and overwrite it
            if cached is not None and _usable(cached, state.root, state.options):
                cached.stat = stat
                cached.cached = True
                return cached
    try:
        text, encoding, bom = decode(raw)
    except DecodeError as exc:
        return FileOutcome(rel, error=FileError(rel, str(exc)))
    script = Script(text, rel, is_data_file)
    script.estate = state.options.estate
    script.root = state.root
    script.encoding = encoding
    try:
        analysis = analyze_script(script, state.options.rules, fix_detail=state.options.fix_detail, fix_style=state.options.fix_style)
    except RecursionError:
        return FileOutcome(rel, error=FileError(rel, "too deeply nested to analyse"))
    except Exception as exc:  # noqa: BLE001 - a bug on one file must not lose the report of the others
        return FileOutcome(rel, error=FileError(rel, f"internal error while analysing this file ({type(exc).__name__}); please report it"))
    wrappers = file_wrappers(script, analysis.findings)
    outcome = FileOutcome(rel, analysis.findings, analysis.unused_suppressions, None, wrappers, key or "", stat,
                          sum(1 for value in analysis.secret_values if strong(value)))
    outcome.values = analysis.secret_values
    outcome.mask = analysis.mask if analysis.plan is not None else None  # only a file with a fix has diffs to show
    depends = script.memo.get("dependencies")
    if isinstance(depends, dict) and depends:
        outcome.dependencies = dict(sorted(depends.items()))
    if analysis.plan is not None:
        # tree-sitter judges it here; the parent asks PowerShell's parser where tree-sitter is unsure,
        # settles every finding's fix and caches the outcome once it is final.
        outcome.planned = PlannedFile(raw, encoding, bom, analysis.plan)
        parsed = script.__dict__.get("parsed")  # the analysis's own parse, when it made one
        if parsed is not None:
            remember_parse(script.text, parsed.tree)  # the judge reads the original from it
        prejudge(rel, outcome.planned, state.options.judge)
        if state.options.fix_detail == FULL and outcome.planned.patches:
            # The diffs the reports show, made here while the other workers go on (the parent makes
            # them again only for a file the judge or another file's secret changes, scanner.estate.scan).
            outcome.patches = patch_views(JudgedFile(rel, outcome.findings, outcome.planned),
                                          outcome.mask if outcome.mask is not None else frozenset())
        return outcome
    if state.cache is not None and key is not None:
        state.cache.put(key, to_data(outcome))
    return outcome


# The outcome of every file without findings, errors or wrappers (most files: the prefilter rejected
# them, or the stat index says so): one shared object, read and never changed (its lists are tuples),
# instead of an object per file (0.1 s per 20,000 files in the parent, which shares the CPUs with the pool).
NO_FINDINGS = FileOutcome("", findings=(), unused_suppressions=(), wrappers=(), dependencies={}, patches=())  # type: ignore[arg-type]


# What a worker sends back for a file: its outcome, or only its stat when nothing was found in it
# (most files: the prefilter rejected them), which keeps the traffic to the parent small.
Packed = Union[FileOutcome, tuple[int, int, int]]


def analyze_chunk(items: list[tuple[str, str]]) -> list[Packed]:
    """A worker's unit of work: several files, so that inter-process traffic stays small."""
    packed: list[Packed] = []
    for path, rel in items:
        outcome = analyze_file(path, rel)
        empty = not (outcome.findings or outcome.unused_suppressions or outcome.wrappers or outcome.error or outcome.cache_key
                     or outcome.values or outcome.dependencies or outcome.planned)
        packed.append(outcome.stat if empty else outcome)
    return packed


def crashed_file(item: object, reason: str) -> "Packed":
    rel = str(item[1])  # type: ignore[index]
    return FileOutcome(rel, error=FileError(rel, reason))


def values_of_bytes(raw: bytes, rel: str, is_data_file: bool = False, root: Optional[Path] = None) -> set[str]:
    """The secret values of a file's bytes (for a result taken from the cache, which holds none);
    with ``root``, also the values its credential sinks read from configuration files below it."""
    try:
        text = decode(raw)[0]
        script = Script(text, rel, is_data_file)
        script.root = root
        return file_secret_values(script)
    except (DecodeError, RecursionError):
        return set()


def values_of_file(path: str, rel: str, max_bytes: int, root: Optional[Path] = None) -> set[str]:
    try:
        raw, _ = read_bytes(path, max_bytes)
    except OSError:
        return set()
    return set() if raw is None else values_of_bytes(raw, rel, path.lower().endswith(".psd1"), root)
