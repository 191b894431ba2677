"""Both recorded messages in one shape, so they compare field by field; and the control flow of a run.

SMTP side: the DATA the sink received (RFC 5322 parsed with the standard library) plus the envelope
(RCPT TO gives Bcc, NOTIFY gives delivery notifications). Graph side: the sendMail JSON the fake
accepted plus the mailbox in the URL. Line endings are compared as LF and a trailing newline is not
significant (SMTP transport adds CRLF at the end of a body).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from .sink import SmtpMessage

FIELDS = ("From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject", "Body", "HTML", "Attachments", "Alternate views",
          "Importance", "Delivery receipt", "Other notifications", "Headers", "Sent Items copy")
_STANDARD_HEADERS = {"from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "mime-version", "content-type",
                     "content-transfer-encoding", "content-disposition", "x-priority", "priority", "importance",
                     "message-id", "content-id"}


def _address(name: str, address: str) -> str:
    return f"{name} <{address.lower()}>" if name else f"<{address.lower()}>"


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").rstrip("\n")


def _digest(data: bytes) -> str:
    return f"{len(data)} bytes sha256:{hashlib.sha256(data).hexdigest()[:12]}"


@dataclass
class Normalized:
    """A message as both sides can express it; values are strings or tuples of strings."""

    values: dict[str, Any] = field(default_factory=dict)


def from_smtp(message: SmtpMessage) -> Normalized:
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)

    def addresses(header: str) -> list[tuple[str, str]]:
        raw = parsed.get_all(header) or []
        return [(str(n), str(a)) for n, a in getaddresses([str(h) for h in raw]) if a]

    values: dict[str, Any] = {}
    sender_from = addresses("From")
    values["From"] = _address(*sender_from[0]) if sender_from else ""
    sender = addresses("Sender")
    values["Sender"] = sender[0][1].lower() if sender and sender[0][1].lower() != (sender_from[0][1].lower() if sender_from else "") else ""
    to, cc = addresses("To"), addresses("Cc")
    values["To"] = tuple(_address(n, a) for n, a in to)
    values["Cc"] = tuple(_address(n, a) for n, a in cc)
    visible = [a.lower() for _, a in to + cc]
    bcc = []
    for rcpt in message.rcpt_tos:
        if rcpt.lower() in visible:
            visible.remove(rcpt.lower())
        else:
            bcc.append(f"<{rcpt.lower()}>")
    values["Bcc"] = tuple(bcc)
    values["Reply-To"] = tuple(_address(n, a) for n, a in addresses("Reply-To"))
    values["Subject"] = str(parsed.get("Subject", ""))
    body_part = None
    alternates: list[str] = []
    attachments: list[str] = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and part.get("Content-ID") is None):
            payload = part.get_payload(decode=True) or b""
            attachments.append(f"{filename} {part.get_content_type()} {_digest(payload)}")
        elif part.get_content_maintype() == "text" and body_part is None:
            body_part = part
        else:
            payload = part.get_payload(decode=True) or b""
            alternates.append(f"{part.get_content_type()} {_digest(payload)}")
    if body_part is not None:
        values["Body"] = _text(str(body_part.get_content()))
        values["HTML"] = body_part.get_content_subtype() == "html"
    else:
        values["Body"], values["HTML"] = "", False
    values["Attachments"] = tuple(sorted(attachments))
    values["Alternate views"] = tuple(alternates)
    priority = str(parsed.get("X-Priority", "")).strip()[:1]
    values["Importance"] = {"1": "high", "2": "high", "4": "low", "5": "low"}.get(priority, "normal")
    notify = {value for value in message.notify.values()}
    options = {item for value in notify for item in value.split(",")}
    values["Delivery receipt"] = "SUCCESS" in options
    # FAILURE asks for what Exchange Online does for every message it cannot deliver, a Graph send included: send the
    # sender a non-delivery report (Microsoft Learn, "Email non-delivery reports in Exchange Online"); only DELAY and
    # NEVER ask for something a Graph send cannot (issue 23, item 6).
    values["Other notifications"] = ",".join(sorted(options - {"SUCCESS", "FAILURE"}))
    values["Headers"] = tuple(sorted(f"{name}: {value}" for name, value in parsed.items()
                                     if name.lower() not in _STANDARD_HEADERS))
    values["Sent Items copy"] = False  # SMTP submission never keeps a copy
    return Normalized(values)


def _recipients(items: Any) -> tuple[str, ...]:
    out = []
    for item in items or []:
        address = (item.get("emailAddress") or {})
        out.append(_address(str(address.get("name") or ""), str(address.get("address") or "")))
    return tuple(out)


def from_graph(entry: dict[str, Any]) -> Normalized:
    message: dict[str, Any] = entry.get("message") or {}
    mailbox = str(entry.get("mailbox") or "").lower()
    values: dict[str, Any] = {}
    sender_from = (message.get("from") or {}).get("emailAddress") or {}
    from_address = str(sender_from.get("address") or mailbox)
    values["From"] = _address(str(sender_from.get("name") or ""), from_address)
    sender = ((message.get("sender") or {}).get("emailAddress") or {}).get("address") or mailbox
    values["Sender"] = str(sender).lower() if str(sender).lower() != from_address.lower() else ""
    values["To"] = _recipients(message.get("toRecipients"))
    values["Cc"] = _recipients(message.get("ccRecipients"))
    values["Bcc"] = tuple(f"<{r.split('<', 1)[1]}" for r in _recipients(message.get("bccRecipients")))
    values["Reply-To"] = _recipients(message.get("replyTo"))
    values["Subject"] = str(message.get("subject") or "")
    body = message.get("body") or {}
    values["Body"] = _text(str(body.get("content") or ""))
    values["HTML"] = str(body.get("contentType") or "text").lower() == "html"
    attachments = []
    for attachment in message.get("attachments") or []:
        data = base64.b64decode(attachment.get("contentBytes") or "")
        attachments.append(f"{attachment.get('name')} {attachment.get('contentType')} {_digest(data)}")
    values["Attachments"] = tuple(sorted(attachments))
    values["Alternate views"] = ()
    values["Importance"] = str(message.get("importance") or "normal").lower()
    values["Delivery receipt"] = bool(message.get("isDeliveryReceiptRequested"))
    values["Other notifications"] = ""
    values["Headers"] = tuple(sorted(f"{h.get('name')}: {h.get('value')}" for h in message.get("internetMessageHeaders") or []))
    values["Sent Items copy"] = bool(entry.get("saveToSentItems", True))
    return Normalized(values)


@dataclass(frozen=True)
class Difference:
    field: str
    original: str
    patched: str

    def __str__(self) -> str:
        return f"{self.field}: original {self.original} / patched {self.patched}"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]" if value else "[]"
    text = str(value)
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def compare_messages(original: list[Normalized], patched: list[Normalized]) -> list[Difference]:
    """Field-by-field differences, message by message (in send order)."""
    out: list[Difference] = []
    if len(original) != len(patched):
        out.append(Difference("Messages", str(len(original)), str(len(patched))))
    for index, (a, b) in enumerate(zip(original, patched)):
        prefix = f"#{index + 1} " if max(len(original), len(patched)) > 1 else ""
        for name in FIELDS:
            if a.values.get(name) != b.values.get(name):
                out.append(Difference(prefix + name, _show(a.values.get(name)), _show(b.values.get(name))))
    return out


@dataclass
class Flow:
    """What a run did, as the control-flow comparison sees it."""

    output: list[str] = field(default_factory=list)  # success/pipeline output and host lines, in order
    errors: int = 0  # non-terminating error records
    terminated: bool = False
    exit_code: int = 0
    raw_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        state = "terminated" if self.terminated else "completed"
        return f"out={self.output} errors={self.errors} {state} exit={self.exit_code}"


def compare_flow(original: Flow, patched: Flow) -> list[Difference]:
    out = []
    if original.output != patched.output:
        out.append(Difference("Output", _show(tuple(original.output)), _show(tuple(patched.output))))
    if original.errors != patched.errors:
        out.append(Difference("Errors", str(original.errors), str(patched.errors)))
    if original.terminated != patched.terminated:
        out.append(Difference("Terminated", str(original.terminated), str(patched.terminated)))
    if original.exit_code != patched.exit_code:
        out.append(Difference("Exit code", str(original.exit_code), str(patched.exit_code)))
    return out
