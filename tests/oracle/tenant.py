"""The Graph fake as the oracle drives it: one instance per pwsh batch, a failure mode, shape markers.

The batch runner requests ``/oracle/marker/<shape id>`` before each shape; the fake records every
request before routing it (and answers that one 404), so each sendMail is attributed to the last
marker before it. Failure modes are those the issue names: 403 (an RBAC scope that excludes the
mailbox), 404 (unknown sender), and 429 then 503 on every retry (throttled, then unavailable).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fakes.tenant import FakeApp, FakeTenant, GraphFailure, _Token

TENANT = "contoso.onmicrosoft.com"
APP_ID = "0c4d2a51-7e3b-4f08-9d6a-5b1e8c2f7a90"
SECRET = "oracle-fake-client-secret-7731"
MARKER = "/oracle/marker/"
MODES = ("ok", "403", "404", "429-503")


class _EveryMailbox(set):  # type: ignore[type-arg]
    """Every address is a mailbox (the success mode accepts any sender the shapes use)."""

    def __contains__(self, item: object) -> bool:
        return True


class OracleTenant(FakeTenant):
    """A FakeTenant with one app (client secret) whose sendMail answers by ``mode``."""

    def __init__(self, mode: str = "ok") -> None:
        super().__init__(TENANT)
        if mode not in MODES:
            raise ValueError(f"unknown failure mode {mode!r}")
        self.mode = mode
        self.add_app(FakeApp(APP_ID, "smtp2graph oracle", secret=SECRET, roles=("Mail.Send", "Mail.ReadWrite")))
        self.mailboxes = _EveryMailbox()
        self.attempts: Counter[str] = Counter()  # marker -> sendMail requests (retries included)

    def current_marker(self) -> str:
        """The shape id of the last marker request (the runner is sequential within one fake)."""
        with self._lock:
            for request in reversed(self.requests):
                if request.path.startswith(MARKER):
                    return request.path[len(MARKER):]
        return ""

    def send_mail(self, token: _Token, mailbox: str, headers: dict[str, str], body: bytes) -> None:
        marker = self.current_marker()
        self.attempts[marker] += 1
        if self.mode == "403":
            raise GraphFailure(403, "ErrorAccessDenied", "Access to OData is disabled.")
        if self.mode == "404":
            raise GraphFailure(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
        if self.mode == "429-503":
            if self.attempts[marker] == 1:
                raise GraphFailure(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                   {"Retry-After": "1"})
            raise GraphFailure(503, "ServiceUnavailable", "Service is temporarily unavailable.", {"Retry-After": "1"})
        super().send_mail(token, mailbox, headers, body)
        with self._lock:
            self.sent[-1]["marker"] = marker

    def sent_by_marker(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for entry in self.sent:
            grouped.setdefault(str(entry.get("marker", "")), []).append(entry)
        return grouped
