"""Per-file result cache keyed by content hash, tool version and the effective rule configuration.

Entries are JSON (never pickle: a cache folder is not trusted), written atomically (temp file +
rename), and any entry that does not parse or does not carry its own key is ignored and rewritten.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from scanner import fastjson

# Format 2: entries hold only masked text. Format-1 entries (before masking by value) may hold a
# secret in clear text: they are never read, and deleted when met.
MAGIC = "smtp2graph-cache/2"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """What the installed code is: the size and modification time of every file of the package (its
    rules, reports and templates included). A cache entry made by other code is never reused: a
    version number alone does not change when a checkout is edited or updated in place."""
    digest = hashlib.sha256()
    roots = [Path(__file__).resolve().parent]
    for name in ("scanner.rules", "scanner.reports"):  # where they are, without importing them
        spec = importlib.util.find_spec(name)
        if spec is not None:
            roots.extend(Path(p) for p in (spec.submodule_search_locations or []))
    for root in dict.fromkeys(roots):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".j2", ".js", ".css", ".psm1", ".psd1", ".ps1") and "__pycache__" not in path.parts:
                try:
                    info = path.stat()
                except OSError:
                    continue
                digest.update(f"{path.relative_to(root)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("smtp2graph", appauthor=False))


def content_key(raw: bytes, rel_path: str, salt: str) -> str:
    """The cache key of one file: its bytes, its path in the report, and the tool/config salt."""
    digest = hashlib.sha256()
    digest.update(salt.encode())
    digest.update(b"\0")
    digest.update(rel_path.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(raw)
    return digest.hexdigest()


class ResultCache:
    """A folder of JSON entries, two-level fan-out by key prefix."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Optional[Any]:
        """The stored payload for ``key``, or None when absent, corrupt or foreign."""
        try:
            with open(self._path(key), "rb") as handle:
                entry = fastjson.loads(handle.read())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("magic") != MAGIC or entry.get("key") != key:
            if isinstance(entry, dict) and str(entry.get("magic", "")).startswith("smtp2graph-cache/"):
                try:  # an entry of another format of ours: it may predate masking, so it goes
                    os.unlink(self._path(key))
                except OSError:
                    pass
            return None
        return entry.get("payload")

    def put(self, key: str, payload: Any) -> None:
        """Store ``payload`` atomically; failures (read-only folder, full disk) are not errors of the scan."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(fastjson.dumps_bytes({"magic": MAGIC, "key": key, "payload": payload}))
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            return


INDEX_MAGIC = "smtp2graph-stat-index/1"
# A file modified this close to the moment the index was written may change again within the
# same timestamp tick ("racily clean" in git's words): such entries are not trusted.
RACY_NS = 2_000_000_000

FileStat = tuple[int, int, int]  # size, mtime_ns, inode


class StatIndex:
    """Per scan root: relative path -> (size, mtime, inode, cache key or "-" for prefilter-negative).

    A warm re-scan stats each file and, when nothing changed, takes its result from the cache
    without reading the file: the cost of listing the tree, not of reading it.
    """

    def __init__(
        self, path: Path, root: str, salt: str, entries: dict[str, list[Any]], written_ns: int, wrappers: Optional[dict[str, Any]] = None
    ) -> None:
        self.path = path
        self.root = root
        self.salt = salt
        self.entries = entries
        self.written_ns = written_ns
        self.updated: dict[str, list[Any]] = {}
        # Call sites of wrapper functions per file, valid for one set of wrapper names.
        self.wrappers = wrappers if isinstance(wrappers, dict) else {}
        self.wrappers_updated: dict[str, Any] = {}
        self.dirty = False

    @classmethod
    def load(cls, directory: Path, root: str, salt: str) -> "StatIndex":
        name = hashlib.sha256(f"{root}\0{salt}".encode("utf-8", "surrogatepass")).hexdigest()[:40]
        path = directory / "index" / f"{name}.json"
        try:
            with open(path, "rb") as handle:
                data = fastjson.loads(handle.read())
            if data.get("magic") != INDEX_MAGIC or data.get("root") != root or data.get("salt") != salt:
                raise ValueError("foreign index")
            entries = data["entries"]
            written = int(data["written_ns"])
            wrappers = data.get("wrappers")
            if not isinstance(entries, dict):
                raise ValueError("bad entries")
        except (OSError, ValueError, KeyError, TypeError):
            entries, written, wrappers = {}, 0, None
        return cls(path, root, salt, entries, written, wrappers)

    def lookup(self, rel: str, stat: FileStat) -> Optional[str]:
        """The cache key ("-" when the file has no mail token) if the file is unchanged since indexed."""
        entry = self.entries.get(rel)
        if entry is None or not self.trusted(stat, entry):
            return None
        self.updated[rel] = entry
        return entry[3] if isinstance(entry[3], str) else None

    def record(self, rel: str, stat: FileStat, key: str) -> None:
        self.updated[rel] = [stat[0], stat[1], stat[2], key]
        self.dirty = True

    def trusted(self, stat: FileStat, entry: list[Any]) -> bool:
        """Whether an entry recorded for a file still describes it (and was not racily written)."""
        return (
            isinstance(entry, list)
            and len(entry) == 4
            and (entry[0], entry[1], entry[2]) == stat
            and stat[1] < self.written_ns - RACY_NS
        )

    def wrapper_sites(self, names_key: str, rel: str, stat: FileStat) -> Optional[list[Any]]:
        """The wrapper call sites recorded for an unchanged file under the same wrapper names."""
        if self.wrappers.get("names") != names_key:
            return None
        entry = self.wrappers.get("files", {}).get(rel)
        if entry is None or not self.trusted(stat, entry) or not isinstance(entry[3], list):
            return None
        self.wrappers_updated["names"] = names_key
        self.wrappers_updated.setdefault("files", {})[rel] = entry
        return list(entry[3])

    def record_wrapper_sites(self, names_key: str, rel: str, stat: FileStat, sites: list[Any]) -> None:
        files = self.wrappers_updated.setdefault("files", {})
        self.wrappers_updated["names"] = names_key
        files[rel] = [stat[0], stat[1], stat[2], sites]
        old = self.wrappers.get("files", {}).get(rel) if self.wrappers.get("names") == names_key else None
        if old != files[rel]:
            self.dirty = True

    def save(self, now_ns: int) -> None:
        """Write the entries seen in this scan (files gone from the tree drop out), atomically.

        Nothing is written when the scan changed nothing: a warm re-scan stays read-only.
        """
        if len(self.updated) != len(self.entries) or self.wrappers_updated.get("names") != self.wrappers.get("names"):
            self.dirty = True
        if not self.dirty:
            return
        payload = {
            "magic": INDEX_MAGIC,
            "root": self.root,
            "salt": self.salt,
            "written_ns": now_ns,
            "entries": self.updated,
            "wrappers": self.wrappers_updated,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(fastjson.dumps_bytes(payload))
            os.replace(tmp, self.path)
        except OSError:
            return
