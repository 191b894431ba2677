"""A local HTTPS fake of Exchange Web Services: records the CreateItem requests it receives.

It answers `POST /EWS/Exchange.asmx` as Exchange documents it: a `CreateItemResponse` with
`ResponseClass="Success"` and `ResponseCode` `NoError` for a CreateItem, a SOAP fault for a body
it cannot read, `401` with `WWW-Authenticate` when it requires a logon and none came, and in
"blocked" mode the `403` Exchange Online answers once EWS is off for the tenant. Every CreateItem
is recorded as the message it would send, so the oracle compares it with what Graph received.

    with FakeEws() as ews:
        ...  # post to ews.url, trust ews.ca_path
        ews.sent  # [{"disposition", "subject", "body", "body_type", "to", "cc", "bcc", "reply_to", "from", ...}]
"""

from __future__ import annotations

import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from xml.etree import ElementTree

import trustme

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MESSAGES = "http://schemas.microsoft.com/exchange/services/2006/messages"
TYPES = "http://schemas.microsoft.com/exchange/services/2006/types"

_RESPONSE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8" MinorBuildNumber="0" Version="V2018_01_08"
      xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>
  <s:Body>
    <m:CreateItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
        xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:ResponseMessages>
        <m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/></m:CreateItemResponseMessage>
      </m:ResponseMessages>
    </m:CreateItemResponse>
  </s:Body>
</s:Envelope>
"""
_FAULT = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode>
<faultstring xml:lang="en-US">The request failed schema validation: {reason}</faultstring>
</s:Fault></s:Body></s:Envelope>
"""


def _text(element: Optional[ElementTree.Element]) -> str:
    return "" if element is None else "".join(element.itertext())


def _addresses(message: ElementTree.Element, name: str) -> list[str]:
    """The recipients of one element, each "Name <address>" when the Mailbox has a Name, else the address."""
    block = message.find(f"{{{TYPES}}}{name}")
    if block is None:
        return []
    out = []
    for mailbox in block.iter(f"{{{TYPES}}}Mailbox"):
        address = _text(mailbox.find(f"{{{TYPES}}}EmailAddress")).strip().lower()
        display = _text(mailbox.find(f"{{{TYPES}}}Name")).strip()
        out.append(f"{display} <{address}>" if display else address)
    return out


def parse_create_item(body: bytes) -> list[dict[str, Any]]:
    """The messages of a CreateItem request, as the fake records them (raises ValueError when it is not one)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ValueError(f"not XML: {error}") from None
    create = root.find(f".//{{{MESSAGES}}}CreateItem")
    if create is None:
        raise ValueError("no CreateItem in the SOAP body")
    disposition = create.get("MessageDisposition", "SaveOnly")
    folder = create.find(f"{{{MESSAGES}}}SavedItemFolderId/{{{TYPES}}}DistinguishedFolderId")
    out = []
    for message in create.iter(f"{{{TYPES}}}Message"):
        body_element = message.find(f"{{{TYPES}}}Body")
        sender = message.find(f"{{{TYPES}}}From")
        out.append({
            "disposition": disposition,
            "saved_folder": folder.get("Id", "") if folder is not None else "",
            "subject": _text(message.find(f"{{{TYPES}}}Subject")),
            "body": _text(body_element),
            "body_type": (body_element.get("BodyType", "HTML") if body_element is not None else "HTML"),
            "to": _addresses(message, "ToRecipients"),
            "cc": _addresses(message, "CcRecipients"),
            "bcc": _addresses(message, "BccRecipients"),
            "reply_to": _addresses(message, "ReplyTo"),
            "from": _text(sender.find(f".//{{{TYPES}}}EmailAddress")).strip().lower() if sender is not None else "",
            "importance": _text(message.find(f"{{{TYPES}}}Importance")) or "Normal",
        })
    return out


@dataclass
class EwsRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeEws:
    """EWS on 127.0.0.1 over HTTPS. mode: "ok", "blocked" (EWS off for the tenant: 403), "unauthorized" (401)."""

    mode: str = "ok"
    require_auth: bool = True
    requests: list[EwsRequest] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    ca_path: Path = Path()
    port: int = 0

    def __post_init__(self) -> None:
        self._ca = trustme.CA()
        self._server: Optional[ThreadingHTTPServer] = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/EWS/Exchange.asmx"

    def start(self, workdir: Optional[Path] = None) -> "FakeEws":
        directory = workdir or Path(tempfile.mkdtemp(prefix="fake-ews-"))
        self.ca_path = directory / "fake-ews-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        fake = self

        class Handler(_Handler):
            ews = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-ews", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeEws":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    ews: FakeEws
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _answer(self, status: int, body: str = "", headers: Optional[dict[str, str]] = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("request-id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.ews
        with fake._lock:
            fake.requests.append(EwsRequest(self.path, headers, body))
        if self.path.split("?", 1)[0].lower() != "/ews/exchange.asmx":
            self._answer(404)
            return
        if fake.mode == "unauthorized" or (fake.require_auth and "authorization" not in headers):
            self._answer(401, "", {"WWW-Authenticate": 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", Basic Realm=""'})
            return
        if fake.mode == "blocked":
            # What Exchange Online answers once EWS is disabled for the organisation or the app.
            self._answer(403, "", {"X-MS-Diagnostics": "2000008;reason=\"EWS is disabled for this organization\""})
            return
        try:
            messages = parse_create_item(body)
        except ValueError as error:
            self._answer(500, _FAULT.format(reason=str(error).replace("<", "&lt;")))
            return
        with fake._lock:
            fake.sent.extend(m for m in messages if m["disposition"] in ("SendOnly", "SendAndSaveCopy"))
        self._answer(200, _RESPONSE)
