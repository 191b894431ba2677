"""Credential health: when the app's certificates and secrets, and the local certificate, stop working."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from scanner.graph.client import GraphClient
from scanner.graph.errors import GraphError

WARN_DAYS = 30


@dataclass
class CredentialExpiry:
    """One credential and when it ends."""

    source: str  # "app registration" or "local file"
    kind: str  # "certificate" or "secret"
    name: str
    ends: str  # ISO-8601 UTC
    days_left: int
    state: str  # "expired", "expiring" (within WARN_DAYS) or "ok"

    def line(self) -> str:
        """One line for the table output."""
        when = f"ended {-self.days_left} day(s) ago" if self.days_left < 0 else f"{self.days_left} day(s) left"
        advice = {"expired": " — EXPIRED: renew it now", "expiring": f" — renew it within {self.days_left} day(s)",
                  "ok": ""}[self.state]
        return f"{self.kind} '{self.name}' ({self.source}) ends {self.ends} ({when}){advice}"


@dataclass
class CredentialHealth:
    """The credentials verify could read, and why some could not be read."""

    items: list[CredentialExpiry] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """expired / expiring / ok / unreadable: the worst state of any item."""
        states = {item.state for item in self.items}
        for state in ("expired", "expiring"):
            if state in states:
                return state
        return "ok" if self.items else "unreadable"

    def to_json(self) -> dict[str, Any]:
        """As in the verify JSON."""
        return {"status": self.status, "messages": list(self.messages), "items": [vars(i).copy() for i in self.items]}


def _expiry(source: str, kind: str, name: str, end: datetime, now: datetime) -> CredentialExpiry:
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    days = int((end - now).total_seconds() // 86400)
    state = "expired" if end <= now else "expiring" if days < WARN_DAYS else "ok"
    iso = end.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return CredentialExpiry(source, kind, name, iso, days, state)


def _parse_time(value: object) -> Optional[datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def local_certificate(path: Path, passphrase: Optional[str], now: datetime) -> tuple[Optional[CredentialExpiry], str]:
    """The local certificate's end date (PEM or PFX), or a message saying why it cannot be read."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"{path}: cannot read the certificate ({exc.strerror})"
    try:
        if path.suffix.lower() in (".pfx", ".p12"):
            _, cert, _ = pkcs12.load_key_and_certificates(data, passphrase.encode() if passphrase else None)
            if cert is None:
                return None, f"{path}: no certificate in the PFX"
        else:
            cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None, f"{path}: cannot read the certificate's end date (wrong passphrase or not a certificate)"
    return _expiry("local file", "certificate", cert.subject.rfc4514_string(), cert.not_valid_after_utc, now), ""


def app_credentials(client: GraphClient, app_id: str, now: datetime) -> tuple[list[CredentialExpiry], str]:
    """keyCredentials / passwordCredentials of the app registration (needs Application.Read.All)."""
    path = f"/applications(appId='{quote(app_id, safe='')}')"
    try:
        body = client.request("GET", path, params={"$select": "displayName,keyCredentials,passwordCredentials"}).body
    except GraphError as error:
        return [], (f"the app registration's certificate and secret dates are not readable ({error.code}; it needs "
                    "Application.Read.All): check them under Certificates & secrets")
    body = body if isinstance(body, dict) else {}
    items: list[CredentialExpiry] = []
    for key, kind in (("keyCredentials", "certificate"), ("passwordCredentials", "secret")):
        rows = body.get(key)
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            end = _parse_time(row.get("endDateTime"))
            if end is None:
                continue
            name = str(row.get("displayName") or row.get("hint") or row.get("keyId") or "?")
            items.append(_expiry("app registration", kind, name, end, now))
    return items, ("" if items else "the app registration has no certificate or secret")


def credential_health(client: GraphClient, app_id: str, certificate: Optional[Path], passphrase: Optional[str],
                      now: datetime) -> CredentialHealth:
    """Everything verify can say about credential expiry."""
    health = CredentialHealth()
    items, message = app_credentials(client, app_id, now)
    health.items.extend(items)
    if message:
        health.messages.append(message)
    if certificate is not None:
        local, message = local_certificate(certificate, passphrase, now)
        if local is not None:
            health.items.append(local)
        if message:
            health.messages.append(message)
    return health
