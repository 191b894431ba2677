"""One run of the estate analysis over files and folders: discovery, the stat index and cache,
the pool, the wrapper pass, and redaction across files before any output sees the result."""

from __future__ import annotations

import dataclasses
import os
import time
from contextlib import contextmanager
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from scanner.cache import ResultCache, StatIndex, code_digest, default_cache_dir
from scanner.estate.judging import JudgedFile, choose_judge, describe, judge_plans, needs_powershell, patch_views, plan_texts
from scanner.migrate.judge import PatchJudge
from scanner.estate.options import ScanOptions
from scanner.estate.pool import LazyPool, in_order
from scanner.estate.worker import FileOutcome, NO_FINDINGS, Packed, analyze_chunk, analyze_file, crashed_file, init_worker, values_of_file
from scanner.estate.wrappers import WrapperDef, link_wrapper_call_sites
from scanner.files import discover
from scanner.findings import assign_fingerprints
from scanner.fixes import FULL
from scanner.model import FileError, FixApplicability, Finding, PatchView, ScanResult, UnusedSuppression
from scanner.masking import SourceMask, strong
from scanner.redact import SecretRegistry
from scanner.safetext import safe_path
from scanner.serialize import from_data, to_data


def _outcomes(items: Sequence[tuple[str, str]], root: Path, options: ScanOptions, pools: Optional[LazyPool] = None) -> Iterator[Packed]:
    """Each item's outcome, in order: a FileOutcome, or from the pool only the stat of a file without findings."""
    pool = pools.get(len(items)) if pools is not None else None
    if pool is None:
        init_worker(root, options)
        for path, rel in items:
            yield analyze_file(path, rel)
        return
    yield from in_order(pool, analyze_chunk, items, options.jobs, crashed=crashed_file)


def stat_index(root: Path, options: ScanOptions) -> Optional[StatIndex]:
    if not options.use_cache:
        return None
    return StatIndex.load(options.cache_dir or default_cache_dir(), str(root.resolve()), options.salt())


# Files read before the first is handed to the pool: a tree this small is cut into chunks by its
# known length (every worker gets some); a larger one streams from discovery into the pool, so the
# workers start while the walk is still listing folders.
_STREAM_AFTER = 512


def indexed_outcomes(
    discovered: Iterator[tuple[str, str]], files: list[str], rels: list[str], root: Path, options: ScanOptions,
    index: Optional[StatIndex], stats: list[Optional[tuple[int, int, int]]], pools: Optional[LazyPool] = None
) -> Iterator[FileOutcome]:
    """Outcomes in discovery order: unchanged files (same size, mtime, inode) come from the stat index
    and the cache without being read; the others go through the worker pool as discovery finds them.
    ``files``, ``rels`` and ``stats`` are filled as the walk goes."""
    cache = None
    if index is not None:
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
                    pending.append((i, NO_FINDINGS))
                    return True
                if key:
                    payload = cache.get(key)
                    if payload is not None:
                        try:
                            cached: FileOutcome = from_data(FileOutcome, payload)
                        except (TypeError, ValueError, KeyError):
                            cached = None  # type: ignore[assignment]
                        # `fix` needs the edits of a file with a fix, which the cache does not keep.
                        if cached is not None and not (options.keep_plans and any(f.fix.available for f in cached.findings)):
                            cached.cached = True
                            pending.append((i, cached))
                            return True
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
                outcome = NO_FINDINGS
            else:
                outcome = packed
                if outcome.stat != (0, 0, 0):
                    stats[i] = outcome.stat
                if index is not None and outcome.error is None and outcome.stat != (0, 0, 0) and not outcome.dependencies:
                    index.record(outcome.rel, outcome.stat, outcome.cache_key or "-")
        yield outcome


def _outcomes_streamed(items: Iterator[tuple[str, str]], root: Path, options: ScanOptions, pools: Optional[LazyPool]) -> Iterator[Packed]:
    """``_outcomes`` for a stream of files of unknown length (more than _STREAM_AFTER)."""
    pool = pools.get(_STREAM_AFTER) if pools is not None else None
    if pool is None:
        init_worker(root, options)
        for path, rel in items:
            yield analyze_file(path, rel)
        return
    yield from in_order(pool, analyze_chunk, items, options.jobs, crashed=crashed_file)


@dataclass
class Estate:
    """One run of the estate analysis: the result every report shows, and (for `fix`) the judged
    patches of each file with a fix."""

    result: ScanResult
    judged: dict[str, JudgedFile] = field(default_factory=dict)  # rel -> the file's judged patches
    judge: str = ""  # which judge decided
    files: dict[str, str] = field(default_factory=dict)  # rel -> the path the walk found it at
    # rel -> what of each file with a fix an output may show (in memory only; the fix preview's diffs)
    masks: dict[str, SourceMask] = field(default_factory=dict)


def scan_root(paths: list[Path]) -> Path:
    """The folder reported paths are relative to: the folder given, else the folder holding every path."""
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    root = Path(os.path.commonpath([p.resolve() for p in paths])) if paths else Path.cwd()
    return root.parent if root.is_file() else root


def scan(
    paths: list[Path],
    options: ScanOptions,
    root: Optional[Path] = None,
    progress: Optional[Callable[[int, int, bool], None]] = None,
) -> ScanResult:
    """Scan files and folders; every file that cannot be handled becomes an entry in ``errors``."""
    return analyze_estate(paths, options, root, progress).result


def analyze_estate(
    paths: list[Path],
    options: ScanOptions,
    root: Optional[Path] = None,
    progress: Optional[Callable[[int, int, bool], None]] = None,
) -> Estate:
    """The estate analysis every command is a view of: discovery, each file's findings (from the cache
    when it holds), the judged fix plans, wrapper call sites across files, and redaction across files.
    ``progress(done, found, walking)`` follows it: files analysed, files found so far, and whether the walk
    is still finding files (until it ends, ``found`` is not the total)."""
    if root is None:
        root = scan_root(paths)
    judge = choose_judge(options.judge)
    options = dataclasses.replace(options, judge_id=describe(judge, options.judge),
                                  code_id=code_digest() if options.use_cache else "")
    errors: list[FileError] = []  # the walk's, then the files' (in file order)
    file_errors: list[FileError] = []
    files: list[str] = []
    rels: list[str] = []
    by_rel: dict[str, str] = {}
    walking = [True]

    def discovered() -> Iterator[tuple[str, str]]:
        for item in discover(paths, root, options.excludes, options.respect_gitignore):  # type: ignore[arg-type]
            if item.error is not None:
                errors.append(item.error)
            elif item.file is not None:
                by_rel[item.rel] = item.file
                yield item.file, item.rel
        walking[0] = False

    findings: list[Finding] = []
    unused: list[UnusedSuppression] = []
    wrappers: list[WrapperDef] = []
    outcomes: list[FileOutcome] = []
    failed = 0
    index = stat_index(root, options)
    stats: list[Optional[tuple[int, int, int]]] = []
    registry = SecretRegistry()
    cache_keys: dict[str, str] = {}
    # Results taken from the cache hold no secret values. Each was masked with the strong values of
    # the run that wrote it, so they are read again only when this run analysed a file afresh whose
    # output the other files' values may have to mask, or whose values may have to mask theirs.
    unread: list[FileOutcome] = []
    fresh = False
    with LazyPool(root, options, init_worker) as pools, _closing(judge):
        for done, outcome in enumerate(indexed_outcomes(discovered(), files, rels, root, options, index, stats, pools), 1):
            if outcome.error is not None:
                file_errors.append(outcome.error)
                failed += 1
            if outcome.cached:
                if outcome.secrets and outcome.rel in by_rel:
                    unread.append(outcome)
            elif outcome.findings or outcome.unused_suppressions or outcome.patches or outcome.planned is not None or outcome.values:
                fresh = True
            # Only a value no word or name can be is masked in the other files of the run (scanner.masking.strong).
            registry.add(value for value in outcome.values if strong(value))
            if outcome.cache_key and outcome.findings:
                cache_keys[outcome.rel] = outcome.cache_key
            if outcome.findings or outcome.patches or outcome.planned is not None:
                outcomes.append(outcome)
            if outcome.planned is not None and needs_powershell(outcome.planned, judge):
                judge.prepare(plan_texts(outcome.planned))  # pwsh parses while the pool analyses
            findings.extend(outcome.findings)
            unused.extend(outcome.unused_suppressions)
            wrappers.extend(outcome.wrappers)
            if progress is not None:
                progress(done, len(files), walking[0])
        errors.extend(file_errors)
        if fresh or wrappers:  # wrapper call sites are found afresh in every run
            for outcome in unread:
                outcome.values = values_of_file(by_rel[outcome.rel], outcome.rel, options.max_bytes, root)
                registry.add(value for value in outcome.values if strong(value))
        judged = [JudgedFile(o.rel, o.findings, o.planned) for o in outcomes if o.planned is not None]
        decided, rejudged = judge_plans(judged, judge)
        _record_judged(judged, {o.rel: o for o in outcomes}, registry, options, rejudged)
        if wrappers:
            link_wrapper_call_sites(files, rels, stats, wrappers, findings, options.max_bytes, index, pools, options.estate, root)
    if index is not None:
        index.save(time.time_ns())
    result = ScanResult(root.as_posix(), len(files) - failed, findings, errors, unused, failed, scanned_paths=rels)
    result.patches = _numbered_patches(outcomes, findings)
    result.fix_judge = describe(decided, options.judge)
    changed = redact_result(result, registry)
    result.secret_registry = registry  # type: ignore[attr-defined]  # in memory only, for later passes
    if changed and options.use_cache:
        _recache_redacted({cache_keys[rel] for rel in changed if rel in cache_keys}, registry, options)
    masks = {o.rel: o.mask.with_secrets(registry.values) for o in outcomes if o.mask is not None}
    return Estate(result, {item.rel: item for item in judged}, result.fix_judge, by_rel, masks)


@contextmanager
def _closing(judge: PatchJudge) -> Iterator[PatchJudge]:
    try:
        yield judge
    finally:
        judge.close()


def _record_judged(judged: list[JudgedFile], outcomes: dict[str, FileOutcome], registry: SecretRegistry, options: ScanOptions,
                   rejudged: set[str]) -> None:
    """The judged files' patch views (for the reports that show them), and their outcomes cached now
    that they are final. What the judge added (a parser's message quotes the script) is masked with
    the file's own secret values, like the rest of the entry; other files' values are masked by
    the pass over the whole result (and the entries re-cached, scan).

    The worker made each file's views with its own mask; they are made again here, with the run's
    strong values too, for a file the judge settled here (``rejudged``: its patches may have
    changed) or whose texts hold one of those values (a context line holding one is left out)."""
    cache = ResultCache(options.cache_dir or default_cache_dir()) if options.use_cache else None
    leaks = registry.redactor().leaks if registry else None
    for item in judged:
        outcome = outcomes[item.rel]
        mask = outcome.mask
        if mask is not None:
            mask.redactor().redact_tree(outcome.findings)
        if options.fix_detail == FULL and (item.rel in rejudged or not outcome.patches or (
                leaks is not None and any(leaks(text) for patch in {id(p): p for p in item.patches.values()}.values()
                                          for text in (patch.text_before, patch.text_after)))):
            outcome.patches = patch_views(item, mask.with_secrets(registry.values) if mask is not None else registry.values)
        if cache is not None and outcome.cache_key:
            cache.put(outcome.cache_key, to_data(outcome))


def _numbered_patches(outcomes: list[FileOutcome], findings: list[Finding]) -> list[PatchView]:
    """Every file patch of the run, and in each finding the index of the patch that applies its fix
    (the one of its own option set: an unsafe fix is in the patch `fix --unsafe-fixes` writes)."""
    views = [view for outcome in outcomes for view in outcome.patches]
    where = {(fingerprint, view.unsafe_fixes): index for index, view in enumerate(views) for fingerprint in view.fingerprints}
    for finding in findings:
        finding.fix.patch = where.get((finding.fingerprint, finding.fix.applicability is FixApplicability.UNSAFE))
    return views


def _recache_redacted(keys: set[str], registry: SecretRegistry, options: ScanOptions) -> None:
    """Rewrite the cache entries of files that held another file's secret: the cache stores only masked text."""
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
        redactor.redact_tree(outcome.patches)
        _refingerprint(outcome.findings, outcome.patches)
        cache.put(key, to_data(outcome))


def _refingerprint(findings: list[Finding], views: list[PatchView]) -> None:
    """Fingerprints of one file's findings from their snippets as masked now, and the same in the patch
    views that name them (a finding's fix.patch is found by its fingerprint, warm or cold)."""
    old = [finding.fingerprint for finding in findings]
    assign_fingerprints(findings)
    renamed = {before: finding.fingerprint for before, finding in zip(old, findings) if before != finding.fingerprint}
    if renamed:
        for view in views:
            view.fingerprints = [renamed.get(fingerprint, fingerprint) for fingerprint in view.fingerprints]


def redact_result(result: ScanResult, registry: "SecretRegistry") -> set[str]:
    """Mask the run's strong values in everything a scan result holds, once, before any formatter sees it,
    and escape terminal control characters and lone surrogates (safe to print, encodable as UTF-8).

    Each file was masked in its worker through its own mask (scanner.masking: scoped to the file,
    never to the estate); this pass adds the values of other files that no word or name can be
    (a generated password defined in one script and pasted into another). Findings whose snippet
    changed get fingerprints computed from the masked text.
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
    result.patches[:] = [redactor.redact_tree(view) for view in result.patches]
    result.root = safe_path(result.root)  # the scan root is the user's own folder: escaped, never masked
    if changed:
        per_file: dict[str, list[Finding]] = {}
        for finding in result.findings:
            if finding.location.path in changed:
                per_file.setdefault(finding.location.path, []).append(finding)
        for group in per_file.values():
            _refingerprint(group, result.patches)
    return changed
