"""Read the claims of an access token (no signature check: we only display them, Graph verifies them)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Optional

from scanner.graph.errors import ToolError


class MailSendGrant(str, Enum):
    """How the token carries Mail.Send."""

    APPLICATION_ROLE = "application role"  # `roles` claim: app-only, any mailbox unless scoped
    DELEGATED_SCOPE = "delegated scope"  # `scp` claim: the signed-in user's own mailbox
    MISSING = "missing"


@dataclass(frozen=True)
class TokenClaims:
    """What an admin wants to see about a token: who, which tenant, until when, with which rights."""

    app_id: str
    tenant_id: str
    audience: str
    expires_at: Optional[datetime]
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    identity_type: str  # "app" or "user"
    upn: str = ""  # the signed-in user of a delegated token

    @property
    def mail_send(self) -> MailSendGrant:
        """Whether Mail.Send comes as an application role or a delegated scope."""
        if "Mail.Send" in self.roles:
            return MailSendGrant.APPLICATION_ROLE
        if "Mail.Send" in self.scopes:
            return MailSendGrant.DELEGATED_SCOPE
        return MailSendGrant.MISSING

    @property
    def delegated(self) -> bool:
        """True for a user (delegated) token: it can send only as that user or mailboxes it has SendAs on."""
        return self.identity_type == "user" or bool(self.scopes)

    def mail_send_line(self) -> str:
        """What the token says about sending, worded so it never suggests granting tenant-wide Mail.Send."""
        if self.delegated:
            return (f"signed in as {self.upn or 'a user'}: it sends only as that user (or mailboxes it has SendAs on), "
                    "so it proves nothing about the app's scope")
        if self.mail_send is MailSendGrant.APPLICATION_ROLE:
            return ("Mail.Send application role in the token: tenant-wide unless an application access policy limits "
                    "it; with RBAC for Applications remove this consent, or the scope narrows nothing")
        return ("no Mail.Send role in the token: expected for an app scoped with RBAC for Applications "
                "(Exchange decides per mailbox); otherwise the app has no send permission")

    def summary(self) -> str:
        """One line for stderr: app, tenant, expiry, token kind and what it says about Mail.Send."""
        expiry = self.expires_at.isoformat(timespec="seconds") if self.expires_at else "unknown"
        kind = "delegated" if self.delegated else "app-only"
        return (
            f"{kind} token for app {self.app_id or '?'} in tenant {self.tenant_id or '?'}, expires {expiry}; "
            f"{self.mail_send_line()}"
        )


def _b64url_json(segment: str) -> dict[str, object]:
    padded = segment + "=" * (-len(segment) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(decoded, dict):
        raise ValueError("payload is not a JSON object")
    return decoded


def decode_claims(access_token: str) -> TokenClaims:
    """Decode a JWT access token's payload without verifying its signature."""
    parts = access_token.split(".")
    if len(parts) != 3:
        # Never echo the token itself: it is a bearer credential.
        raise ToolError("the access token is not a JWT (expected three dot-separated parts)")
    try:
        payload = _b64url_json(parts[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ToolError(f"the access token payload cannot be decoded ({type(exc).__name__})") from None
    exp = payload.get("exp")
    expires_at = datetime.fromtimestamp(int(exp), tz=timezone.utc) if isinstance(exp, (int, float)) else None
    roles = payload.get("roles")
    scp = payload.get("scp")
    return TokenClaims(
        # v1 tokens name the client `appid`, v2 tokens `azp`.
        app_id=str(payload.get("appid") or payload.get("azp") or ""),
        tenant_id=str(payload.get("tid") or ""),
        audience=str(payload.get("aud") or ""),
        expires_at=expires_at,
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        scopes=tuple(str(scp).split()) if scp else (),
        identity_type=str(payload.get("idtyp") or ("user" if scp else "app")),
        upn=str(payload.get("upn") or payload.get("preferred_username") or ""),
    )
