"""Per-file result cache keyed by content hash, tool version and the effective rule configuration.

Entries are JSON (never pickle: a cache folder is not trusted), written atomically (temp file +
rename), and any entry that does not parse or does not carry its own key is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

MAGIC = "smtp2graph-cache/1"


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
                entry = json.loads(handle.read())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("magic") != MAGIC or entry.get("key") != key:
            return None
        return entry.get("payload")

    def put(self, key: str, payload: Any) -> None:
        """Store ``payload`` atomically; failures (read-only folder, full disk) are not errors of the scan."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"magic": MAGIC, "key": key, "payload": payload}, handle, separators=(",", ":"))
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            return
