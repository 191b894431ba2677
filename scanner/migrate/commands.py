"""The migration commands' bodies (`kit`, `fix`, `snippet`): arguments in, exit code out, one line per error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scanner.migrate.judge import JudgeName, PatchJudge, default_judge
from scanner.migrate.kit import KitError, SenderUse, build_kit, write_kit
from scanner.migrate.patch import FilePatch, judge_patches, patch_source
from scanner.migrate.safety import FixStyle
from scanner.model import Api, FixApplicability
from scanner.redact import SecretRegistry
from scanner.safetext import matchable, safe_line, safe_path, safe_text

KIT_FOLDER = "smtp2graph-kit"


def _error(message: str) -> None:
    print(f"smtp2graph: error: {safe_line(message)}", file=sys.stderr)


def _note(message: str) -> None:
    print(safe_line(message), file=sys.stderr)


def _print_path(path: Path) -> None:
    print(safe_path(str(path)))


def run_kit(dest: Path, senders_from: Path | None) -> int:
    """Write the kit into ``dest``; 0 on success, 2 on a usage or I/O error."""
    if dest.exists() and not dest.is_dir():
        _error(f"{dest}: exists and is not a folder")
        return 2
    try:
        written = build_kit(dest, senders_from)
    except KitError as error:
        _error(str(error))
        return 2
    except OSError as error:
        _error(f"{error.filename or dest}: cannot write: {error.strerror or error}")
        return 2
    for path in written:
        _print_path(path)
    _note(f"Wrote {len(written)} files; start with {dest / 'README.md'}")
    return 0


# --------------------------------------------------------------------------- fix


@dataclass
class FixRun:
    """Every file the fixer looked at, and the errors met on the way."""

    root: Path
    patches: list[FilePatch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    senders: dict[str, SenderUse] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)  # rel → the file it was read from
    # Every secret value of every file read (in memory only): diffs, messages and the kit pass through it.
    secrets: SecretRegistry = field(default_factory=SecretRegistry)

    def redact(self, text: str) -> str:
        return self.secrets.redact(text)
    judge: str = ""  # which judge decided that the patches parse no worse and keep their structure

    def counts(self) -> Counter[str]:
        counter: Counter[str] = Counter()
        for patch in self.patches:
            for fix in patch.fixes:
                counter[fix.applicability.value] += 1
                if fix.applied:
                    counter["applied"] += 1
                elif fix.applicability is not FixApplicability.DISPLAY_ONLY:
                    counter["not applied"] += 1
        return counter


def _scan_root(paths: list[Path]) -> Path:
    """The folder paths are reported relative to (absolute, so relative names and --write agree)."""
    if not paths:
        return Path.cwd().resolve()
    common = Path(os.path.commonpath([path.resolve() for path in paths]))
    return common.parent if common.is_file() else common


def _excluded_output(root: Path, out: Path | None) -> tuple[str, ...]:
    """Keep a --out folder inside the scanned tree out of the scan."""
    if out is None:
        return ()
    try:
        rel = out.resolve().relative_to(root.resolve())
    except ValueError:
        return ()
    return (f"/{rel.as_posix()}/",) if rel.parts else ()


def _record_sender(run: FixRun, patch: FilePatch) -> None:
    from scanner.assess import assess

    for fix in patch.fixes:
        if fix.call.api is Api.OUTLOOK_COM or fix.mapping is None or not fix.call.sent:
            continue
        assessment = assess(fix.call)
        if assessment.breaks is False and fix.call.api not in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL):
            continue  # an on-premises relay or direct send keeps working and never uses the app
        mailbox = fix.mapping.sender or ""
        use = run.senders.setdefault(mailbox, SenderUse(mailbox))
        if patch.rel not in use.scripts:
            use.scripts.append(patch.rel)
        for attribute, value in (("credential", assessment.credential.value), ("smtp_server", assessment.server_text)):
            current = [item for item in getattr(use, attribute).split(", ") if item]
            if value and value not in current:
                setattr(use, attribute, ", ".join([*current, value]))


def collect_patches(
    paths: list[Path], style: FixStyle, unsafe_fixes: bool, out: Path | None = None,
    judge: PatchJudge | None = None,
) -> FixRun:
    """Read, recognise and patch every script under ``paths`` (nothing is written).

    PowerShell's parser judges every patch when pwsh is installed (all files in one pwsh run);
    tree-sitter otherwise.
    """
    from scanner.check import calls_in_text
    from scanner.estate.prefilter import default_prefilter
    from scanner.files import DecodeError, discover, read_source
    from scanner.powershell import PowerShellError

    root = _scan_root(paths)
    run = FixRun(root)
    if judge is None:
        judge = default_judge()
    deferred = judge.name is JudgeName.POWERSHELL
    prefilter = default_prefilter()
    for item in discover([path.resolve() for path in paths], root, _excluded_output(root, out)):
        if item.error is not None:
            run.errors.append(f"{item.error.path}: {item.error.message}")
            continue
        if item.path is None:
            continue
        try:
            raw = item.path.read_bytes()
            if not prefilter.matches(raw):
                continue
            source = read_source(item.path, root)
        except (OSError, DecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            run.errors.append(f"{item.path.as_posix()}: {reason}")
            continue
        if source.is_data_file:
            continue
        try:
            run.secrets.add(_secret_values(source.text, source.rel, root))
            calls = calls_in_text(source.text, source.rel, False)
        except RecursionError:
            run.errors.append(f"{source.rel}: too deeply nested to analyse; not patched")
            continue
        if not calls:
            continue
        run.sources[source.rel] = item.path
        patch = patch_source(source.rel, source.raw, source.text, source.encoding, source.bom, source.newline,
                             calls, style, unsafe_fixes, judge=None if deferred else judge, defer_judge=deferred)
        run.patches.append(patch)
        if patch.error:
            run.errors.append(f"{source.rel}: {patch.error}")
    if deferred:
        try:
            judge_patches(run.patches, judge)
        except PowerShellError as error:
            # pwsh is there but could not judge: fall back to tree-sitter rather than trust unjudged edits.
            from scanner.migrate.judge import TreeSitterJudge

            judge = TreeSitterJudge(f"PowerShell's parser failed: {error}")
            judge_patches(run.patches, judge)
    run.judge = judge.description
    for patch in run.patches:
        _record_sender(run, patch)
    return run


def _secret_values(text: str, rel: str, root: Path | None = None) -> set[str]:
    """With ``root`` (the folder ``rel`` is relative to), also the values read from configuration files below it."""
    from scanner.findings import file_secret_values
    from scanner.script import Script

    script = Script(text, rel)
    script.root = root
    return file_secret_values(script)


def _neighbour_secret_values(path: Path, limit: int = 200) -> set[str]:
    """Secret values of the scripts beside ``path`` (a password is often defined in a dot-sourced neighbour)."""
    from scanner.files import DecodeError, is_script, read_source

    values: set[str] = set()
    try:
        neighbours = sorted(p for p in path.parent.iterdir() if is_script(p.name) and p.name != path.name)[:limit]
    except OSError:
        return values
    for neighbour in neighbours:
        try:
            if not neighbour.is_file():
                continue
            source = read_source(neighbour, path.parent, 1024 * 1024)
        except (OSError, DecodeError):
            continue
        values |= _secret_values(source.text, source.rel, path.parent)
    return values


def _report_fixes(run: FixRun, written: bool = True) -> None:
    """One line per call on stderr (``written``: False for a preview, which applies nothing), then the totals."""
    for patch in run.patches:
        for fix in patch.fixes:
            if fix.call.api in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL):
                continue  # already on Graph: counted, not listed
            done = "applied" if written else "would apply (preview, not written)"
            state = done if fix.applied else (fix.refused or "not applied")
            if fix.applicability is FixApplicability.DISPLAY_ONLY:
                state = "no automatic change"
            _note(run.redact(f"{patch.rel}:{fix.line}: {fix.call.command}: {fix.applicability.value}, {state}: {fix.reason}"))
            for note in fix.notes:
                _note(run.redact(f"    note: {note}"))
    for error in run.errors:
        _error(run.redact(error))
    counts = run.counts()
    files = sum(1 for patch in run.patches if patch.changed)
    _note(
        f"{sum(counts[k.value] for k in FixApplicability)} calls: {counts['safe']} safe, {counts['unsafe']} unsafe, "
        f"{counts['display-only']} display-only; {counts['applied']} "
        + ("fixed" if written else "would be fixed") + f" in {files} file(s)"
        + (f", {counts['not applied']} not applied" if counts["not applied"] else "")
    )
    if run.judge:
        _note(f"Judge: {run.judge}")


def _git_dirty(root: Path) -> str | None:
    """`git status --porcelain` under ``root``; None when it is not in a git work tree (or git is missing)."""
    folder = root if root.is_dir() else root.parent
    try:
        inside = subprocess.run(["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=30)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return status.stdout if status.returncode == 0 else None


def _write_outputs(run: FixRun, target_root: Path | None, force: bool = False) -> list[Path]:
    """Write changed files under ``target_root`` (same relative paths), or in place when it is None.

    A file that cannot be written safely is skipped with a one-line error, and its fixes are not
    counted as applied.
    """
    from scanner.migrate.writer import (
        InPlaceWriter,
        WriteSkipped,
        interruptible_writes,
        write_under,
    )

    def not_written(patch: FilePatch, reason: str) -> None:
        run.errors.append(f"{patch.rel}: {reason}")
        for fix in patch.fixes:
            if fix.applied:
                fix.applied = False
                fix.refused = f"not written: {reason}"

    written: list[Path] = []
    in_place = InPlaceWriter()
    by_path: dict[Path, FilePatch] = {}
    with interruptible_writes():
        try:
            for patch in run.patches:
                if not patch.changed:
                    continue
                source = run.sources[patch.rel]
                try:
                    if target_root is None:
                        path = in_place.write(source, patch.patched, patch.original, force)
                        by_path[path] = patch
                        written.append(path)
                        continue
                    try:  # the real name: a report shows it escaped, the copy keeps its bytes
                        rel = source.relative_to(run.root).as_posix()
                    except ValueError:
                        rel = patch.rel
                    written.append(write_under(target_root, rel, patch.patched))
                except WriteSkipped as skipped:
                    not_written(patch, str(skipped))
        finally:
            # A save that went into a replaced script through a file already open: that save wins (see writer).
            for path, reason in in_place.settle().items():
                written.remove(path)
                not_written(by_path[path], reason)
    return written


def _choose_judge(choice: str) -> PatchJudge | None:
    """The judge --judge asks for (None: PowerShell's parser was required and pwsh is missing)."""
    from scanner.migrate.judge import TreeSitterJudge

    if choice == "tree-sitter":
        return TreeSitterJudge("chosen with --judge tree-sitter")
    judge = default_judge()
    if choice == "powershell" and judge.name is not JudgeName.POWERSHELL:
        return None
    return judge


def run_fix(
    paths: list[Path],
    out: Path | None,
    write: bool,
    allow_dirty: bool,
    unsafe_fixes: bool,
    style: FixStyle,
    force: bool = False,
    judge_choice: str = "auto",
) -> int:
    """Preview (diff), write patched copies + the kit (--out), or patch in place (--write)."""
    if out is not None and write:
        _error("--out and --write are exclusive: write patched copies, or patch in place")
        return 2
    missing = [path for path in paths if not path.exists()]
    if missing:
        _error(f"{missing[0]}: no such file or directory")
        return 2
    root = _scan_root(paths)
    if write and not allow_dirty:
        dirty = _git_dirty(root)
        if dirty:
            changed = len(dirty.splitlines())
            _error(f"{root}: the git work tree has {changed} uncommitted change(s); commit or stash them first "
                   "so the fix can be reviewed and undone, or pass --allow-dirty")
            return 2
    judge = _choose_judge(judge_choice)
    if judge is None:
        _error("--judge powershell: pwsh (PowerShell 7) is not installed; install it or use --judge auto")
        return 2
    run = collect_patches(paths, style, unsafe_fixes, out, judge)
    try:
        if out is None and not write:
            for patch in run.patches:
                if patch.changed:
                    # A preview for people: secrets masked, control characters escaped.
                    sys.stdout.write(safe_text(run.redact(patch.diff(run.secrets.values))))
                    if not patch.diff_applies(run.secrets.values):
                        _note(f"{patch.rel}: a secret sits on or right next to a changed line (shown as *** or left out of the context): this file's part of "
                              "the preview will not `git apply`; use --out DIR or --write to apply it")
        elif write:
            for path in _write_outputs(run, None, force):
                _print_path(path)
        else:
            assert out is not None
            for path in _write_outputs(run, out):
                _print_path(path)
            senders = run.secrets.redactor().redact_tree(sorted(run.senders.values(), key=lambda item: item.mailbox))
            shown_root = paths[0].as_posix() if len(paths) == 1 else run.root.as_posix()
            for path in write_kit(out / KIT_FOLDER, senders, shown_root):
                _print_path(path)
    except OSError as error:
        _error(run.redact(f"{error.filename or out or root}: cannot write: {error.strerror or error}"))
        return 2
    _report_fixes(run, written=out is not None or write)
    if out is None and not write:
        pending = any(patch.changed for patch in run.patches)
        if pending:
            _note("Preview only: nothing written. Use --out DIR for patched copies and the kit, or --write.")
        return 1 if pending else 0
    return 1 if run.counts()["not applied"] else 0


# --------------------------------------------------------------------------- snippet


def _parse_location(location: str) -> tuple[Path, int] | None:
    path_text, sep, line_text = location.rpartition(":")
    if not sep or not path_text or not line_text.isdigit() or int(line_text) < 1:
        return None
    return Path(path_text), int(line_text)


def run_snippet(location: str, flavour: str) -> int:
    """Print the Graph equivalent of the mail call at FILE:LINE."""
    from scanner.assess import assess
    from scanner.check import calls_in_text
    from scanner.files import DecodeError, read_source
    from scanner.migrate.safety import fix_info

    parsed = _parse_location(location)
    if parsed is None:
        _error(f"{location}: expected FILE:LINE, for example scripts/report.ps1:12")
        return 2
    path, line = parsed
    try:
        source = read_source(path, path.parent)
    except (OSError, DecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        _error(f"{path}: {reason}")
        return 2
    calls = calls_in_text(source.text, source.rel, source.is_data_file)
    secrets = SecretRegistry(_secret_values(source.text, source.rel, path.parent))
    secrets.add(_neighbour_secret_values(path))
    chosen = [call for call in calls if call.location.line <= line <= call.location.end_line]
    if not chosen:
        lines = ", ".join(str(call.location.line) for call in calls) or "none"
        _error(f"{path}:{line}: no mail call on this line (mail calls in this file start on lines: {lines})")
        return 2
    call = chosen[0]
    info = fix_info(call, assess(call))
    if info.snippet is None:
        _error(secrets.redact(f"{path}:{line}: {call.command} already sends through Microsoft Graph"))
        return 2
    parts = []
    if flavour in ("both", "invoke-restmethod"):
        parts.append(info.snippet["invoke_restmethod"])
    if flavour in ("both", "send-mgusermail"):
        parts.append(info.snippet["send_mgusermail"])
    text = secrets.redact("\n".join(parts))
    # Generated code keeps the script's characters; on a terminal, control characters are shown escaped.
    sys.stdout.write(safe_text(text) if sys.stdout.isatty() else matchable(text))
    return 0
