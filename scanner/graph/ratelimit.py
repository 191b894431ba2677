"""A per-mailbox token bucket: Exchange Online accepts 30 messages per minute from one mailbox."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class MailboxRateLimiter:
    """Blocks before a send that would exceed `per_minute` messages for the same mailbox."""

    per_minute: int = 30
    # Resolved at call time so tests can patch the clock and time.sleep.
    clock: Callable[[], float] = field(default=lambda: time.monotonic())
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds))
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def acquire(self, mailbox: str) -> float:
        """Take one send token for `mailbox`, sleeping if needed; returns the seconds waited."""
        key = mailbox.lower()
        rate = self.per_minute / 60.0
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(float(self.per_minute), now))
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        waited = 0.0
        if bucket.tokens < 1.0:
            waited = (1.0 - bucket.tokens) / rate
            self.sleep(waited)
            bucket.tokens = 1.0
            bucket.updated = now + waited
        bucket.tokens -= 1.0
        return waited
