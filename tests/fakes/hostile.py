"""A hostile local server: it answers what a test scripts, and echoes back what it was sent.

The generated Smtp2Graph module must survive servers that misbehave on purpose: a token endpoint
whose error page repeats the client secret, a Graph proxy whose error body or ``WWW-Authenticate``
header repeats the bearer token, an Azure Arc identity endpoint that names any file it likes as its
challenge. Each answer is a template; ``{request_body}``, ``{authorization}``, ``{url}`` (path and
query) and ``{header:NAME}`` are replaced by what the request carried (raw, as a careless server
would), ``{form:NAME}`` by one form field, URL-decoded.

HTTPS on 127.0.0.1 with a trustme CA (clients trust ``ca_path``: pwsh through ``SSL_CERT_FILE``),
or plain HTTP for the endpoints that are HTTP by design (managed identity on the machine itself).
Every request is recorded, so a test can also prove what was *not* sent.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme


@dataclass
class Answer:
    """One scripted answer: status, headers and body, each a template filled from the request."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """A request as the hostile server saw it."""

    method: str
    path: str  # decoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


class HostileServer:
    """Answers each path prefix from its script (the last answer repeats); unknown paths answer 404."""

    def __init__(self, *, tls: bool = True, workdir: Path | None = None) -> None:
        self.tls = tls
        self.routes: dict[str, list[Answer]] = {}
        self.received: list[Received] = []
        self.ca_path = Path()
        self.port = 0
        self._workdir = workdir
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ---- scripting -------------------------------------------------------------------------

    def answer(self, prefix: str, *answers: Answer) -> None:
        """Requests whose path starts with ``prefix`` get these answers in turn, then the last one again."""
        self.routes[prefix] = list(answers)

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def requests_to(self, prefix: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        server = self

        class Handler(_Handler):
            hostile = server

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            ca = trustme.CA()
            directory = self._workdir or Path(tempfile.mkdtemp(prefix="hostile-"))
            self.ca_path = directory / "hostile-ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_path))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="hostile", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next(self, path: str) -> Answer | None:
        with self._lock:
            for prefix in sorted(self.routes, key=len, reverse=True):
                if path.startswith(prefix):
                    queue = self.routes[prefix]
                    return queue.pop(0) if len(queue) > 1 else queue[0]
        return None


def fill(template: str, headers: dict[str, str], body: bytes, url: str = "") -> str:
    """The template with the request's own content put back in, as a server that echoes would."""
    text = template.replace("{request_body}", body.decode("utf-8", "replace")).replace("{url}", url)
    text = text.replace("{authorization}", headers.get("authorization", ""))
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    while "{form:" in text:
        start = text.index("{form:")
        end = text.index("}", start)
        text = text[:start] + form.get(text[start + 6:end], "") + text[end + 1:]
    while "{header:" in text:
        start = text.index("{header:")
        end = text.index("}", start)
        text = text[:start] + headers.get(text[start + 8:end].lower(), "") + text[end + 1:]
    return text


class _Handler(BaseHTTPRequestHandler):
    hostile: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.hostile
        with server._lock:
            server.received.append(Received(self.command, path, parse_qs(parts.query), headers, body))
        answer = server._next(path) or Answer(404, "no such path")
        data = fill(answer.body, headers, body, self.path).encode("utf-8")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, fill(value, headers, body, self.path))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()
