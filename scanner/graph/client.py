"""The one Microsoft Graph HTTP client: timeouts, bounded retries, paging, request ids, typed errors."""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional
from http import HTTPStatus
from urllib.parse import quote, urlsplit

import requests
import urllib3

from scanner.graph.errors import (
    GraphConnectionError,
    GraphError,
    GraphMalformedResponse,
    GraphTimeout,
    error_for_status,
)
from scanner.graph.redact import redact

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
RETRY_STATUSES = frozenset({429, 503, 504})
SEND_RETRY_STATUSES = frozenset({429})  # a 503/504 to a send may follow an accepted message

log = logging.getLogger(__name__)


@dataclass
class GraphResponse:
    """A successful Graph answer."""

    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None for 202/204
    request_id: str  # our client-request-id
    content: bytes = b""  # the raw body (CSV reports)
    server_request_id: str = ""  # Graph's request-id
    date: str = ""  # Graph's Date header


@dataclass
class PlannedRequest:
    """A request as it would be sent; what `--dry-run` prints."""

    method: str
    url: str
    headers: dict[str, str]
    json_body: Optional[dict[str, Any]] = None

    def render(self) -> str:
        """Method, URL, headers (Authorization masked) and the JSON body, as text."""
        lines = [f"{self.method} {self.url}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.json_body is not None:
            lines += ["", json.dumps(self.json_body, indent=2, ensure_ascii=False)]
        return "\n".join(lines)


@dataclass
class RetryPolicy:
    """How long to keep trying a throttled request before giving up."""

    max_attempts: int = 5
    max_total_wait: float = 120.0  # seconds across all retries of one request
    default_wait: float = 2.0  # when Graph sends no Retry-After
    # Resolved at call time so tests can patch time.sleep.
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds))


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def user_path(mailbox: str, suffix: str = "") -> str:
    """`/users/{mailbox}{suffix}` with the address percent-encoded."""
    return f"/users/{quote(mailbox, safe='@')}{suffix}"


class GraphClient:
    """Talks to Microsoft Graph. The token is fetched lazily, so building a client costs nothing."""

    def __init__(
        self,
        token_provider: Callable[[], str],
        *,
        base_url: str = DEFAULT_GRAPH_URL,
        session: Optional[requests.Session] = None,
        timeout: float = 30.0,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        self._token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        parts = urlsplit(self.base_url)
        self._origin = (parts.scheme.lower(), parts.netloc.lower())

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a Graph path (nextLink and upload URLs are already absolute)."""
        if path_or_url.startswith(("https://", "http://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def is_graph_url(self, url: str) -> bool:
        """True when `url` is https on the configured Graph host (the only place the token may go)."""
        parts = urlsplit(url)
        return parts.scheme.lower() == "https" and (parts.scheme.lower(), parts.netloc.lower()) == self._origin

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json_body: Optional[dict[str, Any]] = None,
        params: Optional[dict[str, str]] = None,
        data: Optional[bytes] = None,
        headers: Optional[dict[str, str]] = None,
        authenticated: bool = True,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        expect_json: bool = True,
    ) -> GraphResponse:
        """Send one request, retrying `retry_statuses` within the retry budget; raise a typed GraphError otherwise.

        Each attempt has one overall deadline (`timeout` seconds from sending to the last body byte), so a
        server that dribbles its answer cannot hold the run. A 401 for an expired token is retried once
        with a fresh token (a 401 means nothing was done).
        """
        url = self.url(path_or_url)
        if authenticated and not self.is_graph_url(url):
            # Never send the bearer token to another host or over plain http.
            raise GraphMalformedResponse(0, "UnsafeNextLink", f"refused to send the token to {_origin_of(url)} "
                                         f"(only https to {self._origin[1]})", url=url)
        # One id per logical request, kept across retries, so support can trace the whole exchange.
        request_id = str(uuid.uuid4())
        base_headers = {"client-request-id": request_id, "return-client-request-id": "true"}
        base_headers.update(headers or {})
        waited = 0.0
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            all_headers = dict(base_headers)
            if authenticated:
                all_headers["Authorization"] = f"Bearer {self._token_provider()}"
            status, response_headers, content = self._exchange(method, url, json_body, params, data, all_headers,
                                                               request_id)
            if status < 400:
                body = _parse_body(status, response_headers, content, expect_json, request_id, url)
                return GraphResponse(status, response_headers, body, request_id, content,
                                     response_headers.get("request-id", ""), response_headers.get("Date", ""))
            error = _graph_error(status, response_headers, content, request_id, url)
            if (status == 401 and authenticated and not refreshed and "insufficient_claims" not in error.message
                    and hasattr(self._token_provider, "invalidate")):
                # An expired / revoked token: get a new one once; the server did nothing with this request.
                refreshed = True
                getattr(self._token_provider, "invalidate")()
                continue
            if status not in retry_statuses or attempt >= self.retry.max_attempts:
                raise error
            wait = error.retry_after if error.retry_after is not None else self.retry.default_wait * attempt
            if waited + wait > self.retry.max_total_wait:
                raise error
            log.info("Graph answered %s for %s %s; retrying in %.0f s", status, method, redact(url), wait)
            self.retry.sleep(wait)
            waited += wait

    def _exchange(self, method: str, url: str, json_body: Optional[dict[str, Any]], params: Optional[dict[str, str]],
                  data: Optional[bytes], headers: dict[str, str], request_id: str) -> tuple[int, dict[str, str], bytes]:
        """One HTTP round trip under one overall deadline; returns status, headers and the whole body."""
        deadline = time.monotonic() + self.timeout
        try:
            response = self._session.request(
                method, url, json=json_body, params=params, data=data, headers=headers,
                timeout=(self.timeout, self.timeout), stream=True, allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise GraphConnectionError(0, type(exc).__name__, _short(exc), request_id=request_id, url=url,
                                       maybe_accepted=_maybe_sent(exc)) from None
        try:
            content = _read_within(response, deadline, self.timeout, request_id, url)
        finally:
            response.close()
        return response.status_code, dict(response.headers), content

    def get_paged(self, path: str, params: Optional[dict[str, str]] = None, max_pages: int = 1000) -> Iterator[dict[str, Any]]:
        """Yield every item of a collection, following `@odata.nextLink` (https, same Graph host, no repeats).

        A page that is not a collection, an item that is not an object, a link elsewhere or a link seen
        before raises GraphMalformedResponse: the caller marks its section degraded instead of "ok".
        """
        next_url: Optional[str] = path
        next_params = params
        seen: set[str] = set()
        pages = 0
        while next_url:
            pages += 1
            if pages > max_pages:
                raise GraphMalformedResponse(200, "TooManyPages", f"stopped after {max_pages} pages of {path}")
            body = self.request("GET", next_url, params=next_params).body
            values = body.get("value") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise GraphMalformedResponse(200, "WrongShape",
                                             f"page {pages} of {path} is not a collection (no \"value\" list)")
            for item in values:
                if not isinstance(item, dict):
                    raise GraphMalformedResponse(200, "WrongShape", f"page {pages} of {path} holds a non-object item")
                yield item
            link = body.get("@odata.nextLink")
            if link is None:
                return
            if not isinstance(link, str) or not self.is_graph_url(link):
                raise GraphMalformedResponse(200, "UnsafeNextLink", f"page {pages} of {path}: refused to follow "
                                             f"@odata.nextLink to {_origin_of(str(link))} (only https to "
                                             f"{self._origin[1]})")
            if link in seen:
                raise GraphMalformedResponse(200, "RepeatingNextLink", f"page {pages} of {path}: Graph sent an "
                                             "@odata.nextLink it had sent before; stopped to avoid a loop")
            seen.add(link)
            next_url = link
            # nextLink already carries every query option, including $skiptoken.
            next_params = None

    def send_mail(self, mailbox: str, message: dict[str, Any], save_to_sent_items: bool = False) -> GraphResponse:
        """POST /users/{mailbox}/sendMail; Graph answers 202 Accepted (queued, not delivered).

        Only 429 is retried: Graph refused that request before doing anything. A 503 / 504 or a lost
        answer may come after Exchange took the message, and retrying it could send the mail twice.
        """
        return self.request(
            "POST",
            user_path(mailbox, "/sendMail"),
            json_body={"message": message, "saveToSentItems": save_to_sent_items},
            retry_statuses=SEND_RETRY_STATUSES,
            expect_json=False,
        )

    def send_large(self, mailbox: str, message: dict[str, Any], name: str, content: bytes, content_type: str,
                   chunk_size: int = 10 * 320 * 1024) -> GraphResponse:
        """Draft + upload session + send, for attachments too big for sendMail (needs Mail.ReadWrite)."""
        draft = self.request("POST", user_path(mailbox, "/messages"), json_body=message).body
        message_id = quote(str(draft["id"]), safe="")
        session = self.request(
            "POST",
            user_path(mailbox, f"/messages/{message_id}/attachments/createUploadSession"),
            json_body={"AttachmentItem": {"attachmentType": "file", "name": name, "size": len(content),
                                          "contentType": content_type}},
        ).body
        upload_url = str(session["uploadUrl"])
        start = 0
        while start < len(content):
            chunk = content[start:start + chunk_size]
            end = start + len(chunk) - 1
            # The upload URL is pre-authorised: sending the bearer token there is refused by Graph.
            answer = self.request(
                "PUT", upload_url, data=chunk, authenticated=False,
                headers={"Content-Range": f"bytes {start}-{end}/{len(content)}",
                         "Content-Type": "application/octet-stream"},
            )
            ranges = (answer.body or {}).get("nextExpectedRanges") or []
            start = int(str(ranges[0]).split("-")[0]) if ranges else end + 1
        return self.request("POST", user_path(mailbox, f"/messages/{message_id}/send"))


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else repr(url[:60])


def _maybe_sent(exc: requests.RequestException) -> bool:
    """False only when the request surely never reached the server (no connection, TLS refused)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        return not any(marker in text for marker in ("NewConnectionError", "Failed to establish", "Name or service",
                                                      "Connection refused", "nodename nor servname"))
    return True


def _read_within(response: requests.Response, deadline: float, timeout: float, request_id: str, url: str) -> bytes:
    """The whole body, read in whatever pieces arrive, failing once the overall deadline has passed."""
    raw = response.raw
    chunks: list[bytes] = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GraphTimeout(0, "Deadline", f"the answer did not complete within {timeout:g} s",
                                   request_id=request_id, url=url, maybe_accepted=True)
            _limit_socket_wait(raw, remaining)
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
    except GraphError:
        raise
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError):
        raise GraphTimeout(0, "Deadline", f"the answer did not complete within {timeout:g} s",
                           request_id=request_id, url=url, maybe_accepted=True) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise GraphMalformedResponse(response.status_code, "TruncatedBody",
                                     f"the answer from {_origin_of(url)} broke off before its end ({type(exc).__name__})",
                                     request_id=request_id, url=url, maybe_accepted=True) from None
    return b"".join(chunks)


def _limit_socket_wait(raw: Any, remaining: float) -> None:
    """Let one socket read wait no longer than what is left of the deadline (best effort)."""
    connection = getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(0.05, remaining))
        except OSError:
            pass


def _json_from(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None


def _parse_body(status: int, headers: dict[str, str], content: bytes, expect_json: bool, request_id: str,
                url: str) -> Any:
    """The JSON of a success answer; a body that should be JSON and is not raises GraphMalformedResponse."""
    if not content or not expect_json or status in (202, 204) or 300 <= status < 400:
        return _json_from(content) if content and expect_json and status < 300 else None
    content_type = _header(headers, "Content-Type").split(";")[0].strip().lower()
    if content_type and "json" not in content_type:
        raise GraphMalformedResponse(status, "MalformedResponse",
                                     f"Graph answered {status} with {content_type or 'no content type'}, not JSON "
                                     "(a proxy or captive portal in the way?)", request_id=request_id, url=url)
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphMalformedResponse(status, "MalformedResponse",
                                     f"Graph answered {status} with a body that is not valid JSON "
                                     f"({type(exc).__name__}, {len(content)} bytes)", request_id=request_id,
                                     url=url) from None


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(text[:200])


def _graph_error(status: int, headers: dict[str, str], content: bytes, request_id: str, url: str) -> GraphError:
    body = _json_from(content)
    code, message = "", ""
    server_request_id, date = _header(headers, "request-id"), _header(headers, "Date")
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
        message = str(body["error"].get("message") or "")
        inner = body["error"].get("innerError")
        if isinstance(inner, dict):
            server_request_id = server_request_id or str(inner.get("request-id") or "")
            date = date or str(inner.get("date") or "")
    challenge = _header(headers, "WWW-Authenticate")
    if status == 401 and "insufficient_claims" in challenge:
        message = f"{message} [WWW-Authenticate: insufficient_claims]".strip()
    elif not message and content[:1] == b"<":
        message = "an HTML page instead of a Graph error (a proxy or gateway answered)"
    cls = error_for_status(status)
    return cls(
        status,
        code or f"HTTP{status}",
        message or HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else message,
        request_id=_header(headers, "client-request-id") or request_id,
        url=url,
        retry_after=parse_retry_after(_header(headers, "Retry-After") or None),
        server_request_id=server_request_id,
        date=date,
        # A 503/504 from a gateway can come after the backend carried the request out.
        maybe_accepted=status in (502, 503, 504),
    )
