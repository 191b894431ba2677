"""Find PowerShell files (.gitignore aware, no symlink loops) and decode them (BOM, UTF-16, cp1252, EOL)."""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

import pathspec

from scanner.model import FileError
from scanner.safetext import matchable, safe_path

EXTENSIONS = (".ps1", ".psm1", ".psd1")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Folders no one wants scanned, even without a .gitignore.
ALWAYS_SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"}


@dataclass(frozen=True)
class SourceFile:
    """One decoded script: the bytes as read, the text, and how to write it back byte for byte."""

    path: Path
    rel: str  # relative to the scan root, `/` separators
    raw: bytes
    text: str
    encoding: str  # utf-8, utf-8-sig, utf-16-le, utf-16-be, cp1252
    bom: bytes
    newline: str  # the dominant line ending: "\r\n" or "\n"

    @property
    def is_data_file(self) -> bool:
        """A .psd1 is data: nothing in it runs."""
        return self.path.suffix.lower() == ".psd1"


class DecodeError(ValueError):
    pass


def decode(raw: bytes) -> tuple[str, str, bytes]:
    """Decode script bytes the way Windows PowerShell reads them: BOM first, then UTF-8, then Windows-1252."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", "replace"), "utf-8-sig", codecs.BOM_UTF8
    if raw.startswith(codecs.BOM_UTF32_LE) and len(raw) % 4 == 0 and raw[2:4] == b"\0\0":
        raise DecodeError("UTF-32 is not supported")
    if raw.startswith(codecs.BOM_UTF16_LE):
        return _decode_utf16(raw[2:], "utf-16-le"), "utf-16-le", codecs.BOM_UTF16_LE
    if raw.startswith(codecs.BOM_UTF16_BE):
        return _decode_utf16(raw[2:], "utf-16-be"), "utf-16-be", codecs.BOM_UTF16_BE
    if b"\0" in raw:
        # UTF-16 without a BOM shows as every other byte being NUL in ASCII-heavy text.
        sample = raw[:4096]
        if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
            return _decode_utf16(raw, "utf-16-le"), "utf-16-le", b""
        raise DecodeError("binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8"), "utf-8", b""
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252", b""
    except UnicodeDecodeError:
        # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in cp1252; Windows maps them to the same code point.
        return raw.decode("latin-1"), "cp1252", b""


def _decode_utf16(body: bytes, codec: str) -> str:
    if len(body) % 2:
        raise DecodeError(f"truncated {codec.upper()} text (odd number of bytes)")
    return body.decode(codec, "surrogatepass")


def dominant_newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def read_bytes(path: str, max_bytes: int) -> tuple[Optional[bytes], os.stat_result]:
    """The bytes of a file and its stat taken on the open handle, or (None, stat) when it is over
    ``max_bytes``. Raw ``os.open``/``os.read`` (no buffered file object: a scan reads tens of thousands
    of small files, twice when wrapper functions are called); reads to the end even if the file grew."""
    fd = os.open(path, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        if st.st_size > max_bytes:
            return None, st
        first = os.read(fd, st.st_size + 1)
        if not first:
            return first, st
        parts = [first]
        while True:
            more = os.read(fd, 1 << 20)
            if not more:
                break
            parts.append(more)
        return first if len(parts) == 1 else b"".join(parts), st
    finally:
        os.close(fd)


def read_source(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile:
    """Read and decode one script; raises OSError or DecodeError with a reason a person can act on."""
    size = path.stat().st_size
    if size > max_bytes:
        raise DecodeError(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit (--max-file-size)")
    raw = path.read_bytes()
    text, encoding, bom = decode(raw)
    return SourceFile(path, relative_path(path, root), raw, text, encoding, bom, dominant_newline(text))


def relative_path(path: Path, root: Path) -> str:
    """The path as reports show it: relative to ``root``, `/` separators, control characters and
    undecodable bytes of the name escaped (the file itself is always opened by its real name).

    ``path`` and ``root`` may each be relative to the working folder or absolute, and either may pass
    through a symbolic link (the scan root is resolved): `scan scripts/a.ps1` is `a.ps1` under the
    root `/…/scripts`, never `scripts/a.ps1` again."""
    try:
        return safe_path(path.relative_to(root).as_posix())
    except ValueError:
        pass
    roots = (Path(os.path.abspath(root)), Path(os.path.realpath(root)))
    # The file's own name is kept (a symlinked script is reported by its name, not its target's).
    paths = (Path(os.path.abspath(path)), Path(os.path.realpath(path.parent)) / path.name)
    for candidate in paths:
        for base in roots:
            try:
                relative = candidate.relative_to(base).as_posix()
            except ValueError:
                continue
            return safe_path(relative)
    return safe_path(path.as_posix())


def is_script(path: Union[str, Path]) -> bool:
    return str(path).lower().endswith(EXTENSIONS)


# What the pattern library raises for a pattern it cannot compile (bad ranges, stray escapes …).
_PATTERN_ERRORS = (ValueError, TypeError, IndexError, re.error, RecursionError)


class ChunkedSpec:
    """A gitignore spec too large for one RE2 set (a monorepo's .gitignore of thousands of lines, a long
    --exclude list: "failed to compile Set"): the lines in chunks that compile, with git's rule of which
    matching line decides (the last, a file pattern over a folder pattern) applied across chunks."""

    def __init__(self, chunks: list[pathspec.PathSpec]) -> None:
        self.chunks = chunks

    def match_file(self, file: str) -> bool:
        hits = [chunk for chunk in self.chunks if chunk.check_file(file).index is not None]
        if not hits:
            return False
        if len(hits) == 1:  # only its lines match: it decides as the whole spec would
            return bool(hits[0].check_file(file).include)
        include: Optional[bool] = None
        best = 0
        for chunk in hits:  # in line order: pathspec's own rule for GitIgnoreSpec, over every matching line
            for pattern in chunk.patterns:
                if pattern.include is None:
                    continue
                match = pattern.match_file(file)
                if match is None:
                    continue
                folder = bool(getattr(match, "match", None) is not None and match.match.groupdict().get("ps_d"))
                priority = 1 if folder else 2
                if (pattern.include and folder) or priority >= best:
                    include, best = pattern.include, priority
        return bool(include)


Spec = Union[pathspec.PathSpec, ChunkedSpec]


# Lines per RE2 set: a set of a few thousand gitignore lines can exceed RE2's memory budget, and a
# failed attempt costs as much as a success; a thousand compile in about 70 ms.
_CHUNK = 1000


def _gitignore_spec(lines: list[str]) -> Spec:
    """``GitIgnoreSpec.from_lines``; a long list is compiled in chunks, and a chunk RE2 cannot compile in
    one piece is split in halves until each compiles (pattern errors are the caller's: they propagate)."""
    if len(lines) > 2 * _CHUNK:
        chunks: list[pathspec.PathSpec] = []
        for i in range(0, len(lines), _CHUNK):
            spec = _gitignore_spec(lines[i : i + _CHUNK])
            chunks.extend(spec.chunks if isinstance(spec, ChunkedSpec) else [spec])
        return ChunkedSpec(chunks)
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except _PATTERN_ERRORS:
        raise
    except Exception:  # noqa: BLE001 - re2's "failed to compile Set" (its own exception type)
        if len(lines) <= 1:
            return pathspec.GitIgnoreSpec.from_lines(lines, backend="simple")
    half = len(lines) // 2
    parts: list[pathspec.PathSpec] = []
    for part in (lines[:half], lines[half:]):
        spec = _gitignore_spec(part)
        parts.extend(spec.chunks if isinstance(spec, ChunkedSpec) else [spec])
    return ChunkedSpec(parts)


def compile_patterns(lines: list[str], where: str) -> tuple[Optional[Spec], list[FileError]]:
    """A gitignore-style spec of ``lines``; each line the pattern library rejects is left out with an error."""
    try:
        return _gitignore_spec(lines), []
    except _PATTERN_ERRORS:
        pass
    kept: list[str] = []
    errors: list[FileError] = []
    for number, line in enumerate(lines, 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except _PATTERN_ERRORS as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            errors.append(FileError(where, f"pattern {number} {line!r} is not a valid gitignore pattern ({reason}); ignored"))
            continue
        kept.append(line)
    try:
        return _gitignore_spec(kept), errors
    except _PATTERN_ERRORS:  # pragma: no cover - every kept line compiled alone
        return None, errors


def _load_gitignore(directory: Path, where: str = ".gitignore") -> tuple[Optional[Spec], list[FileError]]:
    ignore = directory / ".gitignore"
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None, []
    return compile_patterns(lines, where)


@dataclass
class Discovered:
    """A file to scan, or an error met while walking."""

    file: Optional[str]  # the path as the walk found it
    error: Optional[FileError] = None
    rel: str = ""  # relative to the scan root, `/` separators

    @property
    def path(self) -> Optional[Path]:
        return None if self.file is None else Path(self.file)


def discover(
    paths: Iterable[Path],
    root: Path,
    excludes: Iterable[str] = (),
    respect_gitignore: bool = True,
) -> Iterator[Discovered]:
    """Yield the scripts under ``paths`` in a stable order.

    .gitignore files are honoured at every level (as git does, relative to their folder);
    ``excludes`` are gitignore-style globs relative to ``root``. Symbolic links to folders are
    followed once: a folder already visited (same device and inode) is not entered again.
    """
    patterns = list(excludes)
    exclude_spec, pattern_errors = compile_patterns(patterns, "--exclude") if patterns else (None, [])
    for error in pattern_errors:
        yield Discovered(None, error)
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for start in paths:
        try:
            exists, is_file = start.exists(), start.is_file()
        except OSError as exc:  # a name too long, a loop of links …
            yield Discovered(None, FileError(safe_path(start.as_posix()), f"cannot read: {exc.strerror or exc}"))
            continue
        if not exists:
            yield Discovered(None, FileError(safe_path(start.as_posix()), "no such file or directory"))
            continue
        if is_file:
            key = os.path.realpath(start)
            if key not in seen_files:
                seen_files.add(key)
                yield Discovered(str(start), rel=relative_path(start, root))
            continue
        if not start.is_dir():
            yield Discovered(None, FileError(relative_path(start, root), "not a regular file (pipe, socket or device)"))
            continue
        prefix = relative_path(start, root)
        prefix = "" if prefix == "." else prefix + "/"
        walker = _Walker(root, exclude_spec, respect_gitignore, seen_dirs, seen_files)
        yield from walker.walk(str(start), prefix, [])


class _Walker:
    """Depth-first walk on plain strings: Path objects per entry cost more than the walk itself."""

    def __init__(
        self,
        root: Path,
        exclude_spec: Optional[Spec],
        respect_gitignore: bool,
        seen_dirs: set[tuple[int, int]],
        seen_files: set[str],
    ) -> None:
        self.root = root
        self.exclude_spec = exclude_spec
        self.respect_gitignore = respect_gitignore
        self.seen_dirs = seen_dirs
        self.seen_files = seen_files
        self.pending: list[Discovered] = []  # errors met while entering a folder (a bad .gitignore line)

    def walk(self, directory: str, rel: str, ignores: list[tuple[str, Spec]]) -> Iterator[Discovered]:
        """Depth first, in name order, with an explicit stack (nested generators cost a resume per level)."""
        stack: list[tuple[str, str, list[tuple[str, Spec]]]] = [(directory, rel, ignores)]
        while stack:
            directory, rel, ignores = stack.pop()
            entries = self._enter(directory, rel, ignores)
            while self.pending:
                yield self.pending.pop(0)
            if isinstance(entries, Discovered):
                yield entries
                continue
            if entries is None:
                continue
            entries, ignores = entries
            subdirs: list[tuple[str, str, list[tuple[str, Spec]]]] = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir()  # follows symlinks; loops are cut by seen_dirs
                except OSError:
                    is_dir = False
                if is_dir and entry.name in ALWAYS_SKIPPED_DIRS:
                    continue
                if not is_dir and not entry.name.lower().endswith(EXTENSIONS):
                    continue
                entry_rel = rel + entry.name + ("/" if is_dir else "")
                match_rel = matchable(entry_rel)
                if self.exclude_spec is not None and self.exclude_spec.match_file(match_rel):
                    continue
                if any(spec.match_file(match_rel[len(base) :]) for base, spec in ignores):
                    continue
                shown = safe_path(entry_rel)
                if is_dir:
                    subdirs.append((entry.path, entry_rel, ignores))
                    continue
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    if not os.path.exists(real):
                        yield Discovered(None, FileError(shown, "broken symbolic link"))
                        continue
                    if real in self.seen_files:
                        continue
                    self.seen_files.add(real)
                try:
                    regular = entry.is_file()
                except OSError:
                    regular = False
                if not regular:  # a FIFO or device named *.ps1 would block or never end on read
                    yield Discovered(None, FileError(shown, "not a regular file (pipe, socket or device)"))
                    continue
                yield Discovered(entry.path, rel=shown)
            # Files of a folder come first, then its subfolders in name order (as a recursive walk would
            # interleave them by name, the order differs only between files and folders of one level).
            stack.extend(reversed(subdirs))

    def _enter(self, directory: str, rel: str, ignores: list[tuple[str, Spec]]):  # type: ignore[no-untyped-def]
        """The sorted entries of a folder not seen before (and its .gitignore), or an error, or None."""
        try:
            st = os.stat(directory)
        except OSError as exc:
            return Discovered(None, FileError(safe_path(rel.rstrip("/")) or ".", f"cannot read folder: {exc.strerror}"))
        key = (st.st_dev, st.st_ino)
        if key in self.seen_dirs:
            return None
        self.seen_dirs.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            return Discovered(None, FileError(safe_path(rel.rstrip("/")) or ".", f"cannot list folder: {exc.strerror}"))
        # Look for .gitignore in the listing rather than trying to open one in every folder.
        if self.respect_gitignore and any(e.name == ".gitignore" for e in entries):
            spec, errors = _load_gitignore(Path(directory), safe_path(rel) + ".gitignore")
            self.pending.extend(Discovered(None, error) for error in errors)
            if spec is not None:
                ignores = ignores + [(rel, spec)]
        return entries, ignores
