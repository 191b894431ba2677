"""Writing patched files without losing anyone's work: `fix --write` and `fix --out`.

- A file edited after it was read is never overwritten with a patch of the old text. Its bytes are
  compared when the patch is ready; then (Linux) the patched file and the script swap names in one
  atomic step (renameat2 RENAME_EXCHANGE), so the replaced file is never deleted unseen: it is read
  once more, and when it is not the file that was read (another inode: a save by rename) or its
  bytes or modification time changed (a save in place), the swap is undone and the patch is not
  written. A save made through a descriptor opened before the swap and written after it goes into
  the replaced file: its descriptor is kept until the end of the run (at least GRACE_SECONDS after
  the last swap), and if that file changed by then, its content is put back (the patch is not
  written). Only a save through such a descriptor that lands after that can still miss the script:
  no POSIX call can tell a program that holds an old descriptor where the file went. Elsewhere
  (no renameat2) the replaced inode is kept by a hard link and compared just after os.replace.
- A symlinked script is patched through the link (the link stays a link).
- A read-only file is skipped unless forced (its permissions are kept when forced).
- Temporary files never outlive the run: they are removed on errors, Ctrl-C and SIGTERM / SIGHUP
  (only while they hold the patch: a name that holds the replaced script is never deleted unread).
- Under `--out DIR`, no write leaves DIR through a symlinked sub-folder or a `..` path, none goes
  through a symbolic link or over a read-only file (each is skipped with the reason), and `fix`
  refuses an --out folder inside the scanned tree or holding it (scanner.migrate.commands).
- A report (`-o FILE`) is written the same way: atomically, never through a link or over a
  read-only file without saying so; `-o -` is standard output.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

# Temporary files of writes under way, by name, with the (device, inode) of the patch they hold: removed on the
# way out, whatever ends the run, but only while they still hold that patch.
_TEMPORARIES: dict[str, tuple[int, int] | None] = {}
# How long a replaced script is watched for a save through an old descriptor, at least, after the last swap.
GRACE_SECONDS = 0.05
_CHANGED = "changed since it was read; not written (run smtp2graph fix again)"
_RACED = ("changed while it was being written; the other change was kept and the patch not written "
          "(run smtp2graph fix again)")


class WriteSkipped(Exception):
    """A patched file was not written, for a reason a person can act on (one line)."""


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _discard(name: str) -> None:
    """Remove a temporary file of ours; a name that no longer holds our patch (the swapped-out script) is kept."""
    owned = _TEMPORARIES.get(name)
    try:
        if owned is not None and _identity(os.lstat(name)) != owned:
            _TEMPORARIES.pop(name, None)
            return
        os.unlink(name)
    except FileNotFoundError:
        pass
    except OSError:
        return
    _TEMPORARIES.pop(name, None)


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
    _TEMPORARIES[name] = None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            _TEMPORARIES[name] = _identity(os.fstat(stream.fileno()))
        os.chmod(name, mode)
    except BaseException:
        _discard(name)
        raise
    return name


# --------------------------------------------------------------------------- the atomic swap (Linux)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_RENAMEAT2 = _load_renameat2()


def exchange(first: str, second: str) -> bool:
    """Swap the files at two paths in one atomic step (nothing is unlinked); False where the system cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    number = ctypes.get_errno()
    if number in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel, or a file system without RENAME_EXCHANGE
    raise OSError(number, os.strerror(number), second)


def _read_fd(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


@dataclass
class _Replaced:
    """A script swapped out by a patch, watched through a descriptor for a late save (see the module doc)."""

    real: Path
    fd: int
    patch: tuple[int, int]  # (device, inode) of the patched file now at ``real``
    data: bytes
    expected: bytes
    mode: int
    swapped_at: float


def _undo_swap(temporary: str, real: Path) -> None:
    """Swap back: the other change returns to ``real``; our patch (if that is what comes back) is deleted."""
    if not exchange(temporary, str(real)):
        raise WriteSkipped("changed while it was being written and could not be swapped back; the other change "
                           f"is kept as {temporary}")
    _discard(temporary)
    if os.path.lexists(temporary):
        # A third save landed on the script between the two swaps: keep it beside, never delete it.
        kept = temporary.replace(".smtp2graph.tmp", ".smtp2graph.kept")
        os.replace(temporary, kept)
        raise WriteSkipped(f"changed while it was being written, twice; the newer save is kept as {kept}")


def _swap_in(real: Path, temporary: str, expected: bytes, before: os.stat_result, data: bytes,
             mode: int) -> _Replaced | None:
    """Put the patch at ``real`` by RENAME_EXCHANGE and check what it replaced; None when there is no exchange."""
    if not exchange(temporary, str(real)):
        return None
    # ``temporary`` now names the replaced script.
    fd = os.open(temporary, os.O_RDONLY)
    try:
        seen = os.fstat(fd)
        content = _read_fd(fd)
        if (_identity(seen) != _identity(before) or seen.st_mtime_ns != before.st_mtime_ns or content != expected):
            os.close(fd)
            fd = -1
            _undo_swap(temporary, real)
            raise WriteSkipped(_RACED)
        patch = _TEMPORARIES.get(temporary)
        assert patch is not None
        os.unlink(temporary)  # the script as it was read: nothing in it is lost
        _TEMPORARIES.pop(temporary, None)
        return _Replaced(real, fd, patch, data, expected, mode, time.monotonic())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


def _settle(replaced: _Replaced) -> str:
    """After the grace period: "" when the replaced script stayed as read, else why the patch was taken back."""
    try:
        late = _read_fd(replaced.fd)  # bytes, not only size and mtime: a same-size save within one clock tick counts
    finally:
        os.close(replaced.fd)
    if late == replaced.expected:
        return ""
    try:
        current = os.lstat(replaced.real)
        ours = _identity(current) == replaced.patch and replaced.real.read_bytes() == replaced.data
    except OSError:
        ours = False
    if ours:
        temporary = _temporary_beside(replaced.real, late, replaced.mode)
        if exchange(temporary, str(replaced.real)):
            _TEMPORARIES[temporary] = replaced.patch
            _discard(temporary)  # our patch, swapped out again (kept if a newer save came back instead)
            return ("changed while it was being written (a save through a file already open); that save was "
                    "put back and the patch not written (run smtp2graph fix again)")
        _discard(temporary)
    kept = replaced.real.with_name(f".{replaced.real.name}.smtp2graph.saved")
    kept.write_bytes(late)
    return (f"changed while it was being written (a save through a file already open, after the script had "
            f"changed again); that save is kept as {kept}")


class InPlaceWriter:
    """Writes of one `fix --write` run: :meth:`write` each file, then :meth:`settle` once (it waits out the
    grace period and takes back a patch whose replaced script was saved through an old descriptor)."""

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        self._watched: list[_Replaced] = []

    def write(self, source: Path, data: bytes, expected: bytes, force: bool = False) -> Path:
        """Replace the file read as ``source`` (through a symlink: its target) with ``data``, if it still holds
        ``expected``. Returns the path written; raises WriteSkipped with the reason otherwise."""
        real = Path(os.path.realpath(source))
        try:
            current = real.read_bytes()
            mode = stat.S_IMODE(real.stat().st_mode)
        except OSError as error:
            raise WriteSkipped(f"cannot read it again before writing: {error.strerror or error}") from error
        if current != expected:
            raise WriteSkipped(_CHANGED)
        if is_read_only(real) and not force:
            raise WriteSkipped("is read-only; not written (pass --force to patch read-only files; "
                               "the permissions are kept)")
        temporary = _temporary_beside(real, data, mode)
        aside = ""
        try:
            before = os.stat(real)
            if real.read_bytes() != expected:
                raise WriteSkipped(_CHANGED)
            replaced = _swap_in(real, temporary, expected, before, data, mode)
            if replaced is not None:
                self._watched.append(replaced)
                return real
            # No atomic exchange here: keep the replaced inode by a hard link and compare it just after the rename.
            aside = temporary + ".old"
            _TEMPORARIES[aside] = None
            try:
                os.link(real, aside)
            except OSError:
                _TEMPORARIES.pop(aside, None)
                aside = ""
            os.replace(temporary, real)
            if aside and Path(aside).read_bytes() != expected:
                os.replace(aside, real)  # the other save wins: put it back
                raise WriteSkipped(_RACED)
        finally:
            _discard(temporary)
            if aside:
                _discard(aside)
        return real

    def settle(self) -> dict[Path, str]:
        """Check every replaced script once the grace period is over; {path: why its patch was taken back}."""
        if not self._watched:
            return {}
        wait = self._watched[-1].swapped_at + self.grace - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        taken_back: dict[Path, str] = {}
        watched, self._watched = self._watched, []
        for replaced in watched:
            reason = _settle(replaced)
            if reason:
                taken_back[replaced.real] = reason
        return taken_back


def write_in_place(source: Path, data: bytes, expected: bytes, force: bool = False) -> Path:
    """One file written as :class:`InPlaceWriter` writes it (settled before returning)."""
    writes = InPlaceWriter()
    real = writes.write(source, data, expected, force)
    reason = writes.settle().get(real)
    if reason:
        raise WriteSkipped(reason)
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
        raise WriteSkipped(f"{target} is a symbolic link; not written through it (remove the link, or use another --out)")
    if target.is_file() and is_read_only(target):
        raise WriteSkipped(f"{target} is read-only; not overwritten (make it writable, or use another --out)")
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


# --------------------------------------------------------------------------- report files (`-o FILE`)


class OutputRefused(Exception):
    """An output file that is not written, and why (one line naming the file)."""


def refuse_output(path: Path) -> None:
    """Raise OutputRefused when writing ``path`` would go through a link or over a read-only file or a folder."""
    if path.is_symlink():
        raise OutputRefused(f"{path}: is a symbolic link; not written through it (give the file it points at, "
                            "or remove the link)")
    if path.is_dir():
        raise OutputRefused(f"{path}: is a folder; give a file name")
    if path.is_file() and is_read_only(path):
        raise OutputRefused(f"{path}: is read-only; not overwritten (make it writable or choose another file)")


def is_stdout(path: Path | None) -> bool:
    """`-o -` means standard output, as for most command-line tools."""
    return path is not None and str(path) == "-"


def write_output_file(path: Path, chunks: Iterable[bytes], make_parents: bool = True) -> None:
    """Write a report atomically (a temporary file in the same folder, then a rename), never through a
    symbolic link or over a read-only file (OutputRefused says so). A target that exists and is not a
    regular file (/dev/null, /dev/stdout, a FIFO) is written to directly: renaming over it would
    replace the device with a file."""
    if path.exists() and not path.is_file() and not path.is_dir() and not path.is_symlink():
        with open(path, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        return
    refuse_output(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    _TEMPORARIES[tmp] = None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        # mkstemp creates 0600; a report is an ordinary file, readable as the umask allows.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        _TEMPORARIES.pop(tmp, None)
    except BaseException:
        _discard(tmp)
        raise
