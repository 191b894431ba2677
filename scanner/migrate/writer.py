"""Writing patched files without losing anyone's work: `fix --write` and `fix --out`.

- A file edited after it was read is never overwritten with a patch of the old text: its bytes are
  compared right before the rename, and the replaced inode is compared once more just after it (an
  in-place save that landed in between is put back, and the patch is not written).
- A symlinked script is patched through the link (the link stays a link).
- A read-only file is skipped unless forced (its permissions are kept when forced).
- Temporary files never outlive the run: they are removed on errors, Ctrl-C and SIGTERM / SIGHUP.
- Under `--out DIR`, no write leaves DIR through a symlinked sub-folder or a `..` path.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

# Temporary files of writes under way: removed on the way out, whatever ends the run.
_TEMPORARIES: set[str] = set()


class WriteSkipped(Exception):
    """A patched file was not written, for a reason a person can act on (one line)."""


def _discard(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass
    except OSError:
        return
    _TEMPORARIES.discard(name)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del frame
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def interruptible_writes() -> Iterator[None]:
    """While writing, SIGTERM and SIGHUP unwind like Ctrl-C so that temporary files are removed."""
    previous: dict[int, object] = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            previous[number] = signal.signal(number, _raise_interrupt)
        except (ValueError, OSError):  # not the main thread: the finally below still cleans up
            pass
    try:
        yield
    finally:
        for name in list(_TEMPORARIES):
            _discard(name)
        for number, handler in previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def is_read_only(path: Path) -> bool:
    """True when the file's owner has no write permission (root can write anyway: we still ask)."""
    return not stat.S_IMODE(path.stat().st_mode) & stat.S_IWUSR


def _temporary_beside(path: Path, data: bytes, mode: int) -> str:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".smtp2graph.tmp", dir=path.parent)
    _TEMPORARIES.add(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(name, mode)
    except BaseException:
        _discard(name)
        raise
    return name


def write_in_place(source: Path, data: bytes, expected: bytes, force: bool = False) -> Path:
    """Replace the file read as ``source`` (through a symlink: its target) with ``data``, if it still holds ``expected``.

    Returns the path written; raises WriteSkipped with the reason otherwise.
    """
    real = Path(os.path.realpath(source))
    try:
        current = real.read_bytes()
        mode = stat.S_IMODE(real.stat().st_mode)
    except OSError as error:
        raise WriteSkipped(f"cannot read it again before writing: {error.strerror or error}") from error
    if current != expected:
        raise WriteSkipped("changed since it was read; not written (run smtp2graph fix again)")
    if is_read_only(real) and not force:
        raise WriteSkipped("is read-only; not written (pass --force to patch read-only files; "
                           "the permissions are kept)")
    temporary = _temporary_beside(real, data, mode)
    aside = temporary + ".old"
    _TEMPORARIES.add(aside)
    try:
        if real.read_bytes() != expected:
            raise WriteSkipped("changed since it was read; not written (run smtp2graph fix again)")
        try:
            os.link(real, aside)  # keeps the replaced inode, to see a save that races the rename
        except OSError:
            aside = ""
        os.replace(temporary, real)
        if aside and Path(aside).read_bytes() != expected:
            os.replace(aside, real)  # the other save wins: put it back
            raise WriteSkipped("changed while it was being written; the other change was kept and "
                               "the patch not written (run smtp2graph fix again)")
    finally:
        _discard(temporary)
        if aside:
            _discard(aside)
    return real


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def write_under(out: Path, rel: str, data: bytes) -> Path:
    """Write ``data`` as ``out/rel``, refusing any path that would leave ``out`` (symlinked folder, `..`)."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        raise WriteSkipped(f"the path leaves {out}; not written")
    root = out.resolve()
    folder = out
    for part in parts[:-1]:
        folder = folder / part
        if (folder.is_symlink() or folder.exists()) and not _inside(folder.resolve(), root):
            raise WriteSkipped(f"{folder} is a symbolic link that leads out of {out}; not written")
    target = out.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(target.parent.resolve(), root):
        raise WriteSkipped(f"{target.parent} leads out of {out}; not written")
    if target.is_symlink():
        target.unlink()  # replace the link itself, never the file it points at
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temporary = _temporary_beside(target, data, mode)
    try:
        os.replace(temporary, target)
    finally:
        _discard(temporary)
    return target
