"""The one Microsoft Graph HTTP client: timeouts, bounded retries, paging, request ids, typed errors."""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote

import requests

from scanner.graph.errors import GraphConnectionError, GraphError, error_for_status

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
RETRY_STATUSES = frozenset({429, 503, 504})

log = logging.getLogger(__name__)


@dataclass
class GraphResponse:
    """A successful Graph answer."""

    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None for 202/204
    request_id: str


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

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a Graph path (nextLink and upload URLs are already absolute)."""
        if path_or_url.startswith(("https://", "http://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

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
    ) -> GraphResponse:
        """Send one request, retrying 429/503/504 within the retry budget; raise a typed GraphError otherwise."""
        url = self.url(path_or_url)
        # One id per logical request, kept across retries, so support can trace the whole exchange.
        request_id = str(uuid.uuid4())
        all_headers = {"client-request-id": request_id, "return-client-request-id": "true"}
        if authenticated:
            all_headers["Authorization"] = f"Bearer {self._token_provider()}"
        all_headers.update(headers or {})
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session.request(
                    method, url, json=json_body, params=params, data=data, headers=all_headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise GraphConnectionError(0, type(exc).__name__, _short(exc), request_id=request_id, url=url) from None
            if response.status_code < 400:
                return GraphResponse(response.status_code, dict(response.headers), _json_or_none(response), request_id)
            error = _graph_error(response, request_id, url)
            if response.status_code not in RETRY_STATUSES or attempt >= self.retry.max_attempts:
                raise error
            wait = error.retry_after if error.retry_after is not None else self.retry.default_wait * attempt
            if waited + wait > self.retry.max_total_wait:
                raise error
            log.info("Graph answered %s for %s %s; retrying in %.0f s", response.status_code, method, url, wait)
            self.retry.sleep(wait)
            waited += wait

    def get_paged(self, path: str, params: Optional[dict[str, str]] = None, max_pages: int = 1000) -> Iterator[dict[str, Any]]:
        """Yield every item of a collection, following `@odata.nextLink`."""
        next_url: Optional[str] = path
        next_params = params
        pages = 0
        while next_url:
            pages += 1
            if pages > max_pages:
                raise GraphError(0, "TooManyPages", f"stopped after {max_pages} pages of {path}")
            body = self.request("GET", next_url, params=next_params).body or {}
            for item in body.get("value", []):
                yield item
            next_url = body.get("@odata.nextLink")
            # nextLink already carries every query option, including $skiptoken.
            next_params = None

    def send_mail(self, mailbox: str, message: dict[str, Any], save_to_sent_items: bool = False) -> GraphResponse:
        """POST /users/{mailbox}/sendMail; Graph answers 202 Accepted (accepted, not delivered)."""
        return self.request(
            "POST",
            user_path(mailbox, "/sendMail"),
            json_body={"message": message, "saveToSentItems": save_to_sent_items},
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


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _graph_error(response: requests.Response, request_id: str, url: str) -> GraphError:
    body = _json_or_none(response)
    code, message = "", ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
        message = str(body["error"].get("message") or "")
    cls = error_for_status(response.status_code)
    return cls(
        response.status_code,
        code or f"HTTP{response.status_code}",
        message or response.reason or "",
        request_id=response.headers.get("client-request-id", request_id),
        url=url,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
