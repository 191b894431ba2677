"""What `smtp2graph scan` and `smtp2graph rules` do, behind the thin CLI."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from scanner.estate.judging import JudgeUnavailable
from scanner.estate.scan import analyze_estate, scan_root
from scanner.estate.settings import UsageError, estate_settings
from scanner.files import is_script
from scanner.migrate.writer import OutputRefused, is_stdout, refuse_output, write_output_file
from scanner.model import FailOn, Finding, ScanResult, Severity
from scanner.outputs import prepare_output, print_error, print_warning
from scanner.redact import SecretRegistry
from scanner.safetext import safe_line, safe_text



@dataclass
class ScanRequest:
    paths: list[Path]
    format: str = "terminal"
    output: Optional[Path] = None
    fail_on: FailOn = FailOn.LOW
    exit_zero: bool = False
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    respect_gitignore: bool = True
    jobs: Optional[int] = None
    use_cache: bool = True
    cache_dir: Optional[Path] = None
    max_file_size: int = 10 * 1024 * 1024
    baseline: Optional[Path] = None
    config: Optional[Path] = None
    quiet: bool = False
    deadline: Optional[str] = None  # ISO date findings are due by (default: the cut-over)
    owners: list[str] = field(default_factory=list)  # only findings of these owners
    repositories: list[str] = field(default_factory=list)  # only findings in these repositories
    group_by: str = "work"
    use_git: bool = True
    explain_unknown: bool = False
    # How much fix material the findings carry; None: what `format` shows (fix_detail_for).
    fix_detail: Optional[str] = None
    judge: str = "auto"  # who judges the fix plans (scanner.estate.judging.choose_judge)


def _baseline_fingerprints(path: Path) -> set[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {f["fingerprint"] for f in document["findings"] if isinstance(f["fingerprint"], str)}
    except RecursionError:
        raise UsageError(f"{path}: not a smtp2graph JSON report usable as a baseline (nested too deeply)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        raise UsageError(f"{path}: not a smtp2graph JSON report usable as a baseline ({safe_line(str(reason))[:120]})") from None


def _write_all(handle: Any, content: "str | bytes | Iterable[str]") -> None:
    if isinstance(content, (str, bytes)):
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        return
    for piece in content:  # a report in pieces (JSON: one finding at a time) is never held whole
        handle.write(piece.encode("utf-8"))


def _chunks(content: "str | bytes | Iterable[str]") -> Iterator[bytes]:
    if isinstance(content, (str, bytes)):
        yield content.encode("utf-8") if isinstance(content, str) else content
        return
    for piece in content:  # a report in pieces (JSON: one finding at a time) is never held whole
        yield piece.encode("utf-8") if isinstance(piece, str) else piece


def write_output(path: Path, content: "str | bytes | Iterable[str]") -> None:
    """Write a report atomically (scanner.migrate.writer.write_output_file: never through a symbolic
    link or over a read-only file, which raise OutputRefused; a device or FIFO is written directly)."""
    write_output_file(path, _chunks(content))


def execute_scan(request: ScanRequest) -> tuple[ScanResult, int]:
    """Scan, filter by baseline, and compute the exit code (without printing)."""
    paths = request.paths or [Path(".")]
    settings = estate_settings(
        paths, config=request.config, select=tuple(request.select), ignore=tuple(request.ignore),
        exclude=tuple(request.exclude), respect_gitignore=request.respect_gitignore, jobs=request.jobs,
        use_cache=request.use_cache, cache_dir=request.cache_dir, max_file_size=request.max_file_size,
        fix_detail=request.fix_detail or fix_detail_for(request.format), judge=request.judge,
    )
    project = settings.project
    progress = ScanProgress() if not request.quiet and sys.stderr.isatty() else None
    try:
        result = analyze_estate(paths, settings.options, root=scan_root(paths), progress=progress).result
    except JudgeUnavailable as exc:
        raise UsageError(str(exc)) from None
    finally:
        if progress is not None:
            progress.finish()
    if request.baseline is not None:
        known_prints = _baseline_fingerprints(request.baseline)
        result.findings = [f for f in result.findings if f.fingerprint not in known_prints]
    from scanner.owners import OwnerSettings, assign_owners, filter_findings, parse_deadline

    try:
        deadline = parse_deadline(request.deadline)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    assign_owners(result, OwnerSettings(owners=project.owners, deadline=deadline, use_git=request.use_git))
    filter_findings(result, request.owners, request.repositories)
    # Owners and repositories come from git and CODEOWNERS, after the scan's own pass (which masked
    # and escaped everything else): mask and escape what they added, so every formatter gets a
    # result that is safe to show.
    redactor = (getattr(result, "secret_registry", None) or SecretRegistry()).redactor(escape_controls=True)
    for finding in result.findings:
        if finding.ownership is not None:
            finding.ownership = redactor.redact_tree(finding.ownership)
    result.repositories[:] = [redactor.redact_tree(repository) for repository in result.repositories]
    failing = [f for f in result.findings if fails(f, request.fail_on)]
    code = 0 if request.exit_zero or not failing else 1
    return result, code


def fix_detail_for(format_name: str) -> str:
    """The fix material an output format shows: JSON and HTML show all of it (snippets, Graph request,
    notes, preview diff), SARIF the diff, the other formats only the fix safety (computed always).
    The values are scanner.fixes FULL, DIFF and NONE (not imported: the CLI stays light)."""
    if format_name in ("json", "html"):
        return "full"
    if format_name == "sarif":
        return "diff"
    return "none"


def fails(finding: Finding, fail_on: FailOn) -> bool:
    """Whether a finding makes the scan exit 1. A call whose verdict is unknown counts as if it
    broke (severity high, and under "may-break"): an unknown is never counted as fine."""
    if fail_on is FailOn.MAY_BREAK:
        return finding.may_break
    threshold = Severity(fail_on.value)
    rank = finding.severity.rank
    if finding.verdict_unknown:
        rank = max(rank, Severity.HIGH.rank)
    return rank >= threshold.rank


def _elapsed(seconds: float) -> str:
    """0:07, 12:40, 1:02:03: minutes and seconds (hours when it comes to that)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ScanProgress:
    """The progress line of a long scan on a terminal (stderr): files analysed, files found, time elapsed.

    The walk finds files while they are analysed, so until it ends the count found is not a total: the
    line says "found so far" then, and "of N (P%)" once the walk is over. Nothing is shown in the first
    ``delay`` seconds (a small scan prints no progress) and the line is redrawn at most every ``interval``
    seconds, cut to the terminal's width so that each redraw overwrites the last.
    """

    def __init__(self, stream: Any = None, clock: Any = None, width: Optional[int] = None,
                 delay: float = 1.0, interval: float = 0.25) -> None:
        import shutil
        import time

        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock or time.monotonic
        self.width = width or shutil.get_terminal_size((80, 24)).columns
        self.delay = delay
        self.interval = interval
        self.started = self.clock()
        self.drawn_at: Optional[float] = None
        self.drawn = 0  # cells of the line on screen
        self.done = 0

    def line(self, done: int, found: int, walking: bool, now: float) -> str:
        """The text of the progress line for these counts."""
        elapsed = _elapsed(now - self.started)
        if walking:
            return f"scanning: {done:,} files analysed, {found:,} found so far (still looking for more), {elapsed} elapsed"
        share = f" ({100 * done // found}%)" if found else ""
        return f"scanning: {done:,} of {found:,} files{share}, {elapsed} elapsed"

    def __call__(self, done: int, found: int, walking: bool = False) -> None:
        self.done = done
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self.drawn_at is not None and now - self.drawn_at < self.interval and (walking or done < found):
            return
        self._draw(self.line(done, found, walking, now))
        self.drawn_at = now

    def _draw(self, text: str) -> None:
        text = text[: max(10, self.width - 1)]
        self.stream.write("\r" + text + " " * max(0, self.drawn - len(text)))
        self.stream.flush()
        self.drawn = len(text)

    def finish(self) -> None:
        """End the progress line (only when one was drawn): the files scanned and the time it took."""
        if self.drawn_at is None:
            return
        self._draw(f"scanned {self.done:,} files in {_elapsed(self.clock() - self.started)}")
        self.stream.write("\n")
        self.stream.flush()


def named_scripts(paths: list[Path]) -> list[Path]:
    """The paths to scan: a file named on the command line that is not a PowerShell file (.ps1, .psm1, .psd1)
    is left out with a warning (PowerShell would not run it as a script); none left is a usage error."""
    kept: list[Path] = []
    for path in paths:
        if path.is_file() and not is_script(path):
            print_warning(f"{path}: not a PowerShell file (.ps1, .psm1, .psd1): not scanned")
        else:
            kept.append(path)
    if paths and not kept:
        raise UsageError("nothing to scan: name PowerShell scripts (.ps1, .psm1, .psd1) or the folders that hold them")
    return kept


def run_scan(request: ScanRequest) -> int:
    """The `scan` command: scan, render, write, summarise on stderr; returns the exit code."""
    from scanner.reports.formats import BINARY_FORMATS, Format, GroupBy, RenderOptions
    from scanner.reports.render import render_bytes

    try:
        fmt = Format(request.format)
        if is_stdout(request.output):
            request.output = None  # `-o -`: standard output
        if request.output is not None and (request.output.is_file() or request.output.is_symlink() or request.output.is_dir()):
            refuse_output(request.output)  # before a long scan, not after it
        if fmt in BINARY_FORMATS and request.output is None and sys.stdout.isatty():
            raise UsageError(f"--format {fmt.value} writes a binary file: add --output FILE.{fmt.value}")
        request.paths = named_scripts(request.paths)
        result, code = execute_scan(request)
        if result.files_scanned == 0 and not result.errors and not request.quiet:
            print_warning(f"no PowerShell file (.ps1, .psm1, .psd1) found under {', '.join(str(p) for p in request.paths)}")
        content: "bytes | Iterable[str]"
        if fmt is Format.JSON:
            from scanner.reports.json_report import json_chunks

            content = json_chunks(result)  # written one finding at a time
        elif fmt is Format.HTML:
            from scanner.reports.render import html_report_chunks

            content = html_report_chunks(result)  # the embedded data written one finding at a time
        else:
            content = render_bytes(result, fmt, RenderOptions(group_by=GroupBy(request.group_by)))
        if request.output is not None:
            prepare_output(request.output)
            write_output(request.output, content)
        else:
            sys.stdout.flush()
            if hasattr(sys.stdout, "buffer"):
                _write_all(sys.stdout.buffer, content)
            else:
                for piece in [content] if isinstance(content, bytes) else content:
                    sys.stdout.write(piece.decode("utf-8") if isinstance(piece, bytes) else piece)
            sys.stdout.flush()
    except (UsageError, OutputRefused) as exc:
        print_error(str(exc))
        return 2
    except OSError as exc:
        print_error(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
        return 2
    if not request.quiet and (fmt is not Format.TERMINAL or request.output is not None):
        for error in result.errors:
            print_error(f"{error.path}: {error.message}")
        from scanner.reports.terminal import summary_line  # rich: only when a summary is printed

        sys.stderr.write(summary_line(result) + "\n")
    if request.explain_unknown:
        from scanner.explain import explain_unknown

        # The explanation is for people: stdout next to the terminal view, stderr beside a machine report.
        human = fmt is Format.TERMINAL and request.output is None
        (sys.stdout if human else sys.stderr).write("\n" + safe_text(explain_unknown(result)))
    return code


def rules_markdown() -> str:
    """docs/rules.md: every rule's documentation, the page each SARIF helpUri points at."""
    from scanner.rules import catalogue

    rules = catalogue()
    lines = ["# smtp2graph rules", "", "Generated by `smtp2graph rules --markdown`; do not edit by hand.", ""]
    lines += ["| id | name | severity | fix | summary |", "|---|---|---|---|---|"]
    for rule in rules.values():
        lines.append(f"| [{rule.id}](#{rule.id.lower()}) | {rule.name} | {rule.severity.value} | {rule.fix.value} | {rule.summary} |")
    lines.append("")
    for rule in rules.values():
        # The anchor GitHub derives from "## smtp001" is #smtp001: the helpUri fragment.
        lines.append(f"## {rule.id.lower()}")
        lines.append("")
        lines.append(rule.docs().replace("\n## ", "\n### ").replace("# " + rule.id, "**" + rule.id, 1).replace(rule.name + "\n", rule.name + "**\n", 1))
    return "\n".join(lines).rstrip() + "\n"


def run_rules(rule_id: Optional[str], markdown: bool = False) -> int:
    """The `rules` command: the catalogue, or one rule's documentation."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    from scanner.rules import catalogue

    if markdown:
        sys.stdout.write(rules_markdown())
        return 0
    rules = catalogue()
    console = Console()
    if rule_id:
        rule = rules.get(rule_id.upper()) or next((r for r in rules.values() if r.name == rule_id.lower()), None)
        if rule is None:
            print_error(f"unknown rule {rule_id!r}; `smtp2graph rules` lists them")
            return 2
        console.print(Markdown(rule.docs()))
        return 0
    table = Table(title="smtp2graph rules")
    table.add_column("id", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("fix", no_wrap=True)
    table.add_column("summary")
    for rule in rules.values():
        table.add_row(rule.id, rule.name, rule.severity.value, rule.fix.value, rule.summary)
    console.print(table)
    return 0
