"""A local SMTP sink (aiosmtpd on 127.0.0.1) that records what a legacy script really sends.

It answers like a submission server that takes any AUTH, advertises DSN (so SmtpClient sends
`NOTIFY=` on RCPT, which is how Send-MailMessage's -DeliveryNotificationOption travels), and keeps
the envelope, the AUTH user name and the raw DATA of every message. In ``reject`` mode it refuses
each message as Exchange Online does once basic authentication is off.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

MARKER = "oracle-marker-"
REJECTION = "550 5.7.30 Basic authentication is not supported for Client Submission"
_NOTIFY = re.compile(r"\s+NOTIFY=([A-Z,]+)", re.I)
_DSN_PARAMS = re.compile(r"\s+(?:ORCPT|RET|ENVID)=\S+", re.I)


@dataclass
class SmtpMessage:
    """One accepted (or refused) message as the sink saw it."""

    user: str  # the shape that sent it (the last EHLO oracle-marker-<id> before it)
    mail_from: str
    rcpt_tos: list[str]
    notify: dict[str, str]  # recipient -> NOTIFY value ("SUCCESS,FAILURE", "NEVER", ...)
    data: bytes
    refused: bool = False


class _DsnSMTP(SMTP):
    """aiosmtpd refuses every RCPT/MAIL parameter; keep DSN's own for the record instead."""

    async def smtp_RCPT(self, arg: Optional[str]) -> None:
        if arg:
            match = _NOTIFY.search(arg)
            if match and self.envelope is not None:
                address = arg.split(":", 1)[-1].split()[0].strip("<>")
                notify = getattr(self.envelope, "notify", {})
                notify[address] = match.group(1).upper()
                self.envelope.notify = notify  # type: ignore[attr-defined]
            arg = _DSN_PARAMS.sub("", _NOTIFY.sub("", arg))
        await super().smtp_RCPT(arg)

    async def smtp_MAIL(self, arg: Optional[str]) -> None:
        if arg:
            arg = _DSN_PARAMS.sub("", arg)
        await super().smtp_MAIL(arg)


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if hostname.startswith(MARKER):
            with self.sink.lock:
                self.sink.current = hostname[len(MARKER):]
        return responses[:-1] + ["250-DSN", responses[-1]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        user = self.sink.current
        message = SmtpMessage(user, envelope.mail_from or "", list(envelope.rcpt_tos),
                              dict(getattr(envelope, "notify", {})), bytes(envelope.original_content or b""),
                              refused=self.sink.reject)
        with self.sink.lock:
            self.sink.messages.append(message)
        return REJECTION if self.sink.reject else "250 2.0.0 OK queued"


def _accept_any(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _DsnSMTP(self.handler, **self.SMTP_kwargs)


@dataclass
class SmtpSink:
    """Start with ``with SmtpSink() as sink:``; point scripts at 127.0.0.1:``sink.port``."""

    reject: bool = False
    messages: list[SmtpMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    current: str = ""
    _controller: Optional[Controller] = None

    def start(self) -> "SmtpSink":
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        controller = _Controller(_Handler(self), hostname="127.0.0.1", port=self.port, authenticator=_accept_any,
                                 auth_require_tls=False, decode_data=False, enable_SMTPUTF8=True)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def by_user(self) -> dict[str, list[SmtpMessage]]:
        """Messages grouped by the shape that sent them."""
        grouped: dict[str, list[SmtpMessage]] = {}
        with self.lock:
            for message in self.messages:
                grouped.setdefault(message.user, []).append(message)
        return grouped
