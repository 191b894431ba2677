"""The migration commands' bodies (`kit`, `fix`, `snippet`): arguments in, exit code out, one line per error."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scanner.check import calls_in_text
from scanner.estate.judging import JudgeUnavailable
from scanner.estate.scan import analyze_estate, scan_root
from scanner.estate.senders import SenderPlan, plan_of_findings
from scanner.estate.settings import UsageError, estate_settings
from scanner.files import DecodeError, is_script, read_source, relative_path
from scanner.findings import file_secret_values
from scanner.fixes import FULL, NONE
from scanner.migrate.kit import KitError, build_kit, write_kit
from scanner.migrate.patch import UNSAFE_REFUSAL, CallFix, FilePatch
from scanner.migrate.safety import FixStyle
from scanner.model import Api, FixApplicability
from scanner.outputs import print_error, print_warning
from scanner.masking import SourceMask, strong
from scanner.redact import SecretRegistry
from scanner.safetext import matchable, safe_line, safe_path, safe_text
from scanner.script import Script
from scanner.migrate.xoauth2 import KEY as XOAUTH2_KEY, LABEL as XOAUTH2_LABEL
from scanner.migrate.writer import InPlaceWriter, WriteSkipped, interruptible_writes, write_under

KIT_FOLDER = "smtp2graph-kit"


def _error(message: str) -> None:
    print_error(message)


def _warning(message: str) -> None:
    print_warning(message)


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
class FixLine:
    """What `fix` says of one mail call: its fix safety, what happened to it, and why."""

    rel: str
    line: int
    command: str
    applicability: FixApplicability
    applied: bool
    state: str  # applied / would apply / the refusal / no automatic change
    reason: str
    notes: list[str] = field(default_factory=list)
    needed: bool = True  # False: the retirement does not touch the call (display-only, no change needed)

    def outcome(self, written: bool) -> str:
        """What happened to the call, in the words of the summary (each call has exactly one)."""
        if self.applied:
            return "fixed" if written else "would be fixed"
        if self.applicability is FixApplicability.DISPLAY_ONLY:
            return "to rewrite by hand" if self.needed else "no change needed"
        if self.state == UNSAFE_REFUSAL:
            return "need --unsafe-fixes"
        return "not applied"


@dataclass
class FixRun:
    """One `fix` run: the estate analysis's judged patches of one option set, and what it says."""

    root: Path
    unsafe_fixes: bool = False
    patches: list[FilePatch] = field(default_factory=list)
    lines: list[FixLine] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)  # rel → the file it was read from
    # The run's strong values (scanner.masking.strong; in memory only): messages and the kit pass through it.
    secrets: SecretRegistry = field(default_factory=SecretRegistry)
    senders: SenderPlan = field(default_factory=SenderPlan)
    judge: str = ""  # which judge decided that the patches parse no worse and keep their structure
    # rel -> the file's mask (scanner.masking), with the strong values: its diff and messages pass through it.
    masks: dict[str, SourceMask] = field(default_factory=dict)

    def redact(self, text: str, rel: str | None = None) -> str:
        """``text`` with the strong values masked, and with ``rel``, what that file's mask hides."""
        mask = self.masks.get(rel) if rel is not None else None
        if mask is not None:
            return mask.redactor().redact(text, prose=True)
        return self.secrets.redact(text)

    def diff_secrets(self, rel: str) -> "SourceMask | set[str]":
        """What a file's diff is masked with: its mask (by position and value), else the strong values."""
        return self.masks.get(rel) or set(self.secrets.values)

    def counts(self) -> Counter[str]:
        counter: Counter[str] = Counter()
        for line in self.lines:
            counter[line.applicability.value] += 1
            if line.applied:
                counter["applied"] += 1
            elif line.applicability is not FixApplicability.DISPLAY_ONLY:
                counter["not applied"] += 1
        return counter


def _excluded_output(root: Path, out: Path | None) -> tuple[str, ...]:
    """Keep a --out folder inside the scanned tree out of the scan."""
    if out is None:
        return ()
    try:
        rel = out.resolve().relative_to(root.resolve())
    except ValueError:
        return ()
    return (f"/{rel.as_posix()}/",) if rel.parts else ()


@dataclass(frozen=True)
class FixOptions:
    """What a `fix` run is asked for besides the paths (the same configuration a scan reads)."""

    style: FixStyle = FixStyle.MODULE
    unsafe_fixes: bool = False
    judge: str = "auto"
    config: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    jobs: int | None = None
    use_cache: bool = True
    cache_dir: Path | None = None


def collect_patches(paths: list[Path], options: FixOptions, out: Path | None = None) -> FixRun:
    """The estate analysis of ``paths`` (configuration, exclusions and suppressions as `scan` reads them)
    and the judged patch of each file for the option set asked (nothing is written). Raises UsageError."""
    root = scan_root([path.resolve() for path in paths])
    settings = estate_settings(
        paths, config=options.config, select=options.select, ignore=options.ignore,
        exclude=(*options.exclude, *_excluded_output(root, out)), respect_gitignore=options.respect_gitignore,
        jobs=options.jobs, use_cache=options.use_cache, cache_dir=options.cache_dir, fix_detail=NONE,
        fix_style=options.style, judge=options.judge, keep_plans=True,
    )
    try:
        estate = analyze_estate([path.resolve() for path in paths], settings.options, root=root)
    except JudgeUnavailable as error:
        raise UsageError(str(error)) from None
    result = estate.result
    registry = getattr(result, "secret_registry", None)
    run = FixRun(root, options.unsafe_fixes, secrets=registry if isinstance(registry, SecretRegistry) else SecretRegistry(),
                 senders=plan_of_findings(result.findings), judge=estate.judge, masks=dict(estate.masks))
    run.errors.extend(f"{error.path}: {error.message}" for error in result.errors)
    applied: dict[int, CallFix] = {}
    for rel, item in sorted(estate.judged.items()):
        patch = item.patches[options.unsafe_fixes]
        run.patches.append(patch)
        run.sources[rel] = Path(estate.files.get(rel, str(root / rel)))
        if patch.error:
            run.errors.append(f"{rel}: {patch.error}")
        applied.update((id(fix.call), fix) for fix in patch.fixes)
    for finding in sorted(result.findings, key=lambda f: (f.location.path, f.location.start)):
        call = finding.call
        if call is None or call.api in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL) or call.form == "wrapper-call-site":
            continue  # already on Graph (nothing to rewrite), or a wrapper's caller (fixed in the wrapper)
        if not finding.rule.startswith("SMTP"):
            continue
        fix = applied.get(id(call))
        if fix is not None:
            run.lines.append(FixLine(finding.location.path, finding.location.line, call.command, fix.applicability,
                                     fix.applied, "", fix.reason, list(fix.notes)))
            run.lines[-1].state = fix.refused
        else:
            run.lines.append(FixLine(finding.location.path, finding.location.line, call.command,
                                     finding.fix.applicability, False, "", finding.fix.reason))
        if finding.assessment is not None and finding.assessment.breaks is False:
            last = run.lines[-1]
            last.needed = False
            if last.applicability is FixApplicability.DISPLAY_ONLY and not last.reason.startswith("no change needed"):
                # Not touched by the retirement: say why, rather than how one would rewrite it.
                last.reason = f"no change needed: {finding.assessment.verdict}"
    return run


# The summary's words, in its order; every call line printed counts in exactly one of them.
OUTCOMES = ("fixed", "would be fixed", "need --unsafe-fixes", "not applied", "to rewrite by hand", "no change needed")


def _state_text(line: FixLine, written: bool) -> str:
    outcome = line.outcome(written)
    if outcome == "need --unsafe-fixes":
        return "not applied, needs --unsafe-fixes"
    if outcome == "not applied":
        return line.state if line.state.startswith("not ") else f"not applied: {line.state or 'refused'}"
    return outcome


def _report_fixes(run: FixRun, written: bool = True) -> None:
    """One line per mail call on stderr (``written``: False for a preview, which applies nothing), then one
    summary whose counts are counts of those lines: `N mail calls: a fixed in F file(s), b need --unsafe-fixes, ...`."""
    for line in run.lines:
        reason = line.reason
        if line.outcome(written) == "no change needed" and reason.startswith("no change needed: "):
            reason = reason[len("no change needed: "):]
        # The path is the user's own file name: escaped, never masked; what follows quotes the script.
        _note(f"{line.rel}:{line.line}: " + run.redact(f"{line.command}: {_state_text(line, written)} "
                                                      f"({line.applicability.value}): {reason}", line.rel))
        for note in line.notes:
            _note("    note: " + run.redact(note, line.rel))
    for error in run.errors:
        rel, sep, message = error.partition(": ")
        _error(rel + sep + run.redact(message, rel) if sep else run.redact(error))
    tally = Counter(line.outcome(written) for line in run.lines)
    files = sum(1 for patch in run.patches if patch.changed and any(fix.applied for fix in patch.fixes))
    fixed = "fixed" if written else "would be fixed"
    parts = [f"{tally[fixed]} {fixed} in {files} file(s)"]
    parts += [f"{tally[outcome]} {outcome}" for outcome in OUTCOMES if outcome not in ("fixed", "would be fixed")
              and tally[outcome]]
    _note(f"{len(run.lines)} mail call(s): " + ", ".join(parts))
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


BACKUP_FOLDER = ".smtp2graph-backup"


def _backup_folder(root: Path) -> Path:
    """A new folder for this run's backups: ROOT/.smtp2graph-backup/<UTC time>. The parent holds a .gitignore
    of `*`, so git and later scans (which honour .gitignore) leave the copies alone."""
    from datetime import datetime, timezone

    base = root / BACKUP_FOLDER
    base.mkdir(exist_ok=True)
    ignore = base / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# smtp2graph fix --write: copies of the files it replaced\n*\n", encoding="utf-8")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for suffix in [""] + [f"-{n}" for n in range(2, 100)]:
        folder = base / (stamp + suffix)
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise OSError(f"{base}: no free backup folder name for {stamp}")


def _back_up(folder: Path, rel: str, original: bytes, source: Path) -> None:
    """Copy the bytes about to be replaced to folder/rel (its mode and times too), and check the copy reads back."""
    copy = write_under(folder, rel, original)
    try:
        status = os.stat(source)
        os.chmod(copy, stat.S_IMODE(status.st_mode))
        os.utime(copy, ns=(status.st_atime_ns, status.st_mtime_ns))
    except OSError:
        pass  # the bytes are what matters; mode and times are a courtesy
    if copy.read_bytes() != original:
        raise OSError(f"{copy}: the copy does not read back as the original")


def _write_outputs(run: FixRun, target_root: Path | None, force: bool = False, backup: Path | None = None) -> list[Path]:
    """Write changed files under ``target_root`` (same relative paths), or in place when it is None; in place,
    with ``backup``, a copy of each original goes there first (no copy, no write).

    A file that cannot be written safely is skipped with a one-line error, and its fixes are not
    counted as applied.
    """

    def not_written(patch: FilePatch, reason: str) -> None:
        run.errors.append(f"{patch.rel}: {reason}")
        for fix in patch.fixes:
            if fix.applied:
                fix.applied = False
                fix.refused = f"not written: {reason}"
        for line in run.lines:
            if line.rel == patch.rel and line.applied:
                line.applied, line.state = False, f"not written: {reason}"

    written: list[Path] = []
    in_place = InPlaceWriter()
    by_path: dict[Path, FilePatch] = {}
    with interruptible_writes():
        try:
            for patch in run.patches:
                if not patch.changed:
                    continue
                source = run.sources[patch.rel]
                try:  # the real name: a report shows it escaped, the copy keeps its bytes
                    rel = source.relative_to(run.root).as_posix()
                except ValueError:
                    rel = patch.rel
                try:
                    if target_root is None:
                        if backup is not None:
                            try:
                                _back_up(backup, rel, patch.original, source)
                            except (OSError, WriteSkipped) as error:
                                why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                                raise WriteSkipped(f"no backup copy could be made ({why}); not written (pass "
                                                   "--no-backup to write without one)") from None
                        path = in_place.write(source, patch.patched, patch.original, force)
                        by_path[path] = patch
                        written.append(path)
                        continue
                    written.append(write_under(target_root, rel, patch.patched))
                except WriteSkipped as skipped:
                    not_written(patch, str(skipped))
        finally:
            # A save that went into a replaced script through a file already open: that save wins (see writer).
            for path, reason in in_place.settle().items():
                written.remove(path)
                not_written(by_path[path], reason)
    return written


def _out_overlaps(out: Path, root: Path, paths: list[Path]) -> str:
    """Why ``out`` cannot hold the patched copies of ``paths`` (scanned from ``root``), or "" when it can.

    A copy is written at out/<path relative to root>: with --out equal to or inside the scanned tree
    the copies would replace originals there (and the next scan would read them as scripts), and with
    the scanned tree inside --out they would land on the tree's own files or beside them."""
    target = Path(os.path.realpath(out))
    scanned = [Path(os.path.realpath(root))] + [Path(os.path.realpath(path)) for path in paths]
    for folder in scanned:
        if target == folder:
            return (f"--out {out} is the scanned tree: the patched copies would replace the originals; "
                    "choose a folder outside it (or patch in place with --write, which checks each file first)")
        if folder in target.parents and not _fresh_or_ours(target):
            # Inside the tree, --out is left out of the scan; a folder that already holds other files is
            # part of the tree, and the copies would replace them.
            return (f"--out {out} is a folder of the scanned tree {folder} that already holds files: the patched "
                    "copies would replace them; choose a new folder, or one outside the tree")
        if target in folder.parents:
            return (f"--out {out} holds the scanned tree {folder}: the patched copies would land on its files; "
                    "choose a folder outside it (or patch in place with --write)")
    return ""


def _fresh_or_ours(folder: Path) -> bool:
    """A folder that does not exist yet, is empty, or holds a previous `fix --out` (its kit)."""
    try:
        return not folder.exists() or not any(folder.iterdir()) or (folder / KIT_FOLDER).is_dir()
    except OSError:
        return False


def run_fix(paths: list[Path], out: Path | None, write: bool, allow_dirty: bool, options: FixOptions, force: bool = False,
            no_backup: bool = False) -> int:
    """Preview (diff), write patched copies + the kit (--out), or patch in place (--write): the patches
    the scan's report shows, judged the same way (the estate analysis, with the project's configuration).

    --write where git cannot undo it (outside a git work tree, or a dirty tree with --allow-dirty) first
    copies each original to ROOT/.smtp2graph-backup/<time>/, unless --no-backup says not to (with a warning)."""
    if out is not None and write:
        _error("--out and --write are exclusive: write patched copies, or patch in place")
        return 2
    missing = [path for path in paths if not path.exists()]
    if missing:
        _error(f"{missing[0]}: no such file or directory")
        return 2
    root = scan_root([path.resolve() for path in paths])
    if out is not None:
        overlap = _out_overlaps(out, root, paths)
        if overlap:
            _error(overlap)
            return 2
    dirty = _git_dirty(root) if write else ""
    if write and not allow_dirty and dirty:
        changed = len(dirty.splitlines())
        _error(f"{root}: the git work tree has {changed} uncommitted change(s); commit or stash them first "
               "so the fix can be reviewed and undone, or pass --allow-dirty")
        return 2
    # git undoes a --write in a clean work tree; anywhere else the originals are copied first.
    wants_backup = write and (dirty is None or bool(dirty))
    where = "is not in a git work tree" if dirty is None else "has uncommitted changes"
    try:
        run = collect_patches(paths, options, out)
    except UsageError as error:
        _error(str(error))
        return 2
    backed_up = ""
    try:
        if out is None and not write:
            for patch in run.patches:
                if patch.changed:
                    # A preview for people: secrets masked, control characters escaped.
                    sys.stdout.write(safe_text(run.redact(patch.diff(run.diff_secrets(patch.rel)))))  # type: ignore[arg-type]
                    if not patch.diff_applies(run.diff_secrets(patch.rel)):  # type: ignore[arg-type]
                        _note(f"{patch.rel}: a secret sits on or right next to a changed line (shown as *** or left out of the context): this file's part of "
                              "the preview will not `git apply`; use --out DIR or --write to apply it")
        elif write:
            backup: Path | None = None
            if wants_backup and not no_backup and any(patch.changed for patch in run.patches):
                backup = _backup_folder(run.root)
            elif wants_backup and no_backup:
                _warning(f"{run.root} {where} and --no-backup was given: the files are replaced with no copy of "
                         "the originals")
            written = _write_outputs(run, None, force, backup)
            for path in written:
                _print_path(path)
            if backup is not None:
                if written:
                    backed_up = (f"Backup: {run.root} {where}, so the {len(written)} original file(s) were copied to "
                                 f"{backup} before they were replaced (to undo, copy them back)")
                else:
                    _discard_empty(backup)
        else:
            assert out is not None
            for path in _write_outputs(run, out):
                _print_path(path)
            senders = run.secrets.redactor().redact_tree(run.senders)
            shown_root = paths[0].as_posix() if len(paths) == 1 else run.root.as_posix()
            for path in write_kit(out / KIT_FOLDER, senders, shown_root):
                _print_path(path)
    except KitError as error:
        _error(str(error))
        return 2
    except OSError as error:
        _error(run.redact(f"{error.filename or out or root}: cannot write: {error.strerror or error}"))
        return 2
    _report_fixes(run, written=out is not None or write)
    if backed_up:
        _note(backed_up)
    if out is None and not write:
        pending = any(patch.changed for patch in run.patches)
        if pending:
            _note("Preview only: nothing written. Use --out DIR for patched copies and the kit, or --write.")
        return 1 if pending else 0
    if out is not None:
        _note(f"Next: follow {out / KIT_FOLDER / 'README.md'}: register and scope the app, install the module, prove "
              "it with `smtp2graph verify`, then deploy the patched copies from " + str(out))
    elif any(line.applied for line in run.lines):
        review = "git diff" if not wants_backup else "compare with the backup"
        _note(f"Next: review the change ({review}); `smtp2graph kit DIR` writes the module and the app scripts, "
              "and its README.md takes you through to `smtp2graph verify`")
    return 1 if run.counts()["not applied"] else 0


def _discard_empty(folder: Path) -> None:
    """Remove a backup folder that received nothing (and its parent when that is all it held)."""
    try:
        folder.rmdir()
        parent = folder.parent
        if [p.name for p in parent.iterdir()] == [".gitignore"]:
            (parent / ".gitignore").unlink()
            parent.rmdir()
    except OSError:
        pass


# --------------------------------------------------------------------------- snippet


def _parse_location(location: str) -> tuple[Path, int] | None:
    path_text, sep, line_text = location.rpartition(":")
    if not sep or not path_text or not line_text.isdigit() or int(line_text) < 1:
        return None
    return Path(path_text), int(line_text)


def _neighbour_secret_values(path: Path, limit: int = 200) -> set[str]:
    """Strong secret values of the scripts beside ``path`` (a password is often defined in a dot-sourced neighbour;
    masking is scoped to a file, so only values no word or name can be are masked across files)."""
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
        script = Script(source.text, source.rel)
        script.root = path.parent
        values |= {value for value in file_secret_values(script) if strong(value)}
    return values


def run_snippet(location: str, flavour: str, config: Path | None = None) -> int:
    """Print the Graph equivalent of the mail call at FILE:LINE, as the scan of that file (with the
    project's configuration) has it; ``mailkit-xoauth2``: the alternative that keeps MailKit with SMTP OAuth 2.0."""
    parsed = _parse_location(location)
    if parsed is None:
        _error(f"{location}: expected FILE:LINE, for example scripts/report.ps1:12")
        return 2
    path, line = parsed
    if not path.is_file():
        _error(f"{path}: {'no such file' if not path.exists() else 'not a file'}")
        return 2
    try:
        settings = estate_settings([path], config=config, jobs=1, use_cache=False, fix_detail=FULL)
        estate = analyze_estate([path.resolve()], settings.options, root=path.resolve().parent)
    except (UsageError, JudgeUnavailable) as error:
        _error(str(error))
        return 2
    result = estate.result
    rel = relative_path(path.resolve(), path.resolve().parent)  # as the scan names it (escaped)
    errors = [error for error in result.errors if error.path == rel]
    if errors:
        _error(f"{path}: {errors[0].message}")
        return 2
    registry = getattr(result, "secret_registry", None)
    secrets = registry if isinstance(registry, SecretRegistry) else SecretRegistry()
    secrets.add(_neighbour_secret_values(path))
    if rel not in result.scanned_paths:
        _error(f"{path}: excluded from the scan by the configuration (.gitignore, exclude): no snippet")
        return 2
    findings = [f for f in result.findings if f.call is not None and f.location.line <= line <= f.location.end_line
                and f.call.form != "wrapper-call-site"]
    if not findings:
        try:
            source = read_source(path, path.parent)
        except (OSError, DecodeError) as error:
            _error(f"{path}: {error.strerror if isinstance(error, OSError) and error.strerror else error}")
            return 2
        calls = calls_in_text(source.text, source.rel, source.is_data_file)
        if any(call.location.line <= line <= call.location.end_line for call in calls):
            _error(f"{path}:{line}: the mail call on this line is suppressed (# smtp2graph: ignore) or its rule is "
                   "turned off by the configuration: no snippet")
        else:
            lines = ", ".join(str(call.location.line) for call in calls) or "none"
            _error(f"{path}:{line}: no mail call on this line (mail calls in this file start on lines: {lines})")
        return 2
    finding = findings[0]
    info = finding.fix
    if info.snippet is None:
        _error(secrets.redact(f"{path}:{line}: {finding.call.command if finding.call else 'the call'} already sends through Microsoft Graph"))
        return 2
    alternative = info.snippet.get(XOAUTH2_KEY)
    if flavour == "mailkit-xoauth2" and alternative is None:
        _error(secrets.redact(f"{path}:{line}: {finding.call.command if finding.call else 'this call'}: no "
                              f"'{XOAUTH2_LABEL}' alternative: it is offered only for a MailKit SmtpClient that logs on "
                              "to smtp.office365.com with a password (--flavour both prints the Graph snippets)"))
        return 2
    parts = []
    if flavour in ("both", "invoke-restmethod"):
        parts.append(info.snippet["invoke_restmethod"])
    if flavour in ("both", "send-mgusermail"):
        parts.append(info.snippet["send_mgusermail"])
    if flavour == "mailkit-xoauth2" and alternative is not None:
        parts.append(alternative)
    if flavour == "both" and alternative is not None:
        _note(f"{path}:{line}: this MailKit call can also keep MailKit and log on with SMTP OAuth 2.0 instead of the "
              "password: --flavour mailkit-xoauth2 prints that alternative and the admin setup it needs")
    text = secrets.redact("\n".join(parts))
    # Generated code keeps the script's characters; on a terminal, control characters are shown escaped.
    sys.stdout.write(safe_text(text) if sys.stdout.isatty() else matchable(text))
    return 0
