"""Typed errors for token acquisition and Microsoft Graph, each with a one-line "what to do"."""

from __future__ import annotations

from typing import Optional

# Graph error codes we give specific advice for (see GRAPH_NOTES.md, "Errors").
ACCESS_DENIED = "ErrorAccessDenied"
SCOPE_DENIED_MESSAGE = "Access to OData is disabled."
INVALID_USER = "ErrorInvalidUser"
SEND_AS_DENIED = "ErrorSendAsDenied"
NOT_ENABLED_FOR_REST = "MailboxNotEnabledForRESTAPI"
SIZE_EXCEEDED = "ErrorMessageSizeExceeded"
BAD_HEADER = "InvalidInternetMessageHeader"
REQUEST_DENIED = "Authorization_RequestDenied"
NO_PREMIUM_LICENCE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


class ToolError(Exception):
    """A user or environment error: printed as one line, exit code 2, never a stack trace."""


class AuthError(ToolError):
    """The identity platform refused to issue a token (wrong tenant, app, credential or consent)."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = error
        # Only the first line: AAD descriptions continue with trace/correlation ids and timestamps.
        self.description = description.strip().splitlines()[0] if description.strip() else ""
        super().__init__(self.one_line())

    def advice(self) -> str:
        """What an admin should check for this token error."""
        text = f"{self.error} {self.description}"
        if "AADSTS7000215" in text or "AADSTS7000222" in text:
            return "the client secret is wrong or expired: create a new one under Certificates & secrets"
        if "AADSTS700027" in text or "AADSTS700023" in text or "AADSTS7000274" in text:
            return "the certificate is not the one registered on the app: upload its public part under Certificates & secrets"
        if "AADSTS700016" in text or self.error == "unauthorized_client":
            return "no app with this client id in the tenant: check --client-id and --tenant"
        if "AADSTS90002" in text or self.error == "invalid_tenant":
            return "tenant not found: check --tenant (contoso.onmicrosoft.com or the tenant GUID)"
        if self.error in ("authorization_declined", "access_denied"):
            return "the sign-in was declined: run again and approve the request"
        if self.error == "expired_token":
            return "the device code expired before sign-in: run again and sign in within the time shown"
        if self.error == "invalid_scope":
            return "the resource or scope was refused: check the Graph URL and the app's API permissions"
        return "check --tenant, --client-id and the credential, then run again"

    def one_line(self) -> str:
        """The message shown to the user (never includes a secret: AAD never echoes it)."""
        detail = f": {self.description}" if self.description else ""
        return f"token request failed ({self.error}{detail}) — {self.advice()}"


class GraphError(ToolError):
    """A non-success answer from Microsoft Graph, parsed from its `{"error": {"code", "message"}}` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        request_id: str = "",
        url: str = "",
        retry_after: Optional[float] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.url = url
        self.retry_after = retry_after
        super().__init__(self.one_line())

    def advice(self, mailbox: str = "") -> str:
        """One sentence telling an admin what to do about this error."""
        return advice_for(self.status, self.code, self.message, mailbox)

    def one_line(self, mailbox: str = "") -> str:
        """`HTTP 403 ErrorAccessDenied: <what to do>` with the request id for support."""
        rid = f" (client-request-id {self.request_id})" if self.request_id else ""
        return f"HTTP {self.status} {self.code}: {self.advice(mailbox)}{rid}"


class GraphBadRequest(GraphError):
    """400: the request shape was refused."""


class GraphUnauthorized(GraphError):
    """401: the token is missing, invalid or expired."""


class GraphForbidden(GraphError):
    """403: permission, scope (RBAC for Applications / access policy), SendAs or licence."""

    @property
    def is_scope_denial(self) -> bool:
        """True when Exchange refused because the app is scoped away from this mailbox."""
        return self.code == ACCESS_DENIED and SCOPE_DENIED_MESSAGE.rstrip(".") in self.message


class GraphNotFound(GraphError):
    """404: the user / mailbox / object does not exist."""


class GraphThrottled(GraphError):
    """429/503/504 that outlasted the retry budget."""


class GraphServerError(GraphError):
    """Any other 5xx."""


class GraphConnectionError(GraphError):
    """No HTTP answer at all: DNS, TLS, refused connection or timeout."""


def error_for_status(status: int) -> type[GraphError]:
    """The typed error class for an HTTP status."""
    if status in (429, 503, 504):
        return GraphThrottled
    return {400: GraphBadRequest, 401: GraphUnauthorized, 403: GraphForbidden, 404: GraphNotFound}.get(
        status, GraphServerError if status >= 500 else GraphError
    )


def advice_for(status: int, code: str, message: str, mailbox: str = "") -> str:
    """The table in GRAPH_NOTES.md, as one line an admin can act on."""
    who = mailbox or "this mailbox"
    if status == 0:
        return f"no answer from Graph ({message}): check the network, proxy and --graph-url"
    if code == INVALID_USER or (status == 404 and "user" in message.lower()):
        return (
            f"unknown sender: {who} is not a mailbox in this tenant, or not its primary SMTP address "
            "— use the primary SMTP address"
        )
    if code == ACCESS_DENIED and SCOPE_DENIED_MESSAGE.rstrip(".") in message:
        return (
            f"the app is scoped away from {who} (RBAC for Applications or an application access policy): "
            "add the mailbox to the app's management scope if it should send, then wait 30 min - 2 h"
        )
    if code == ACCESS_DENIED:
        return (
            "access denied: grant the Microsoft Graph Mail.Send application permission with admin consent, "
            f"then check Test-ServicePrincipalAuthorization for {who}"
        )
    if code == SEND_AS_DENIED:
        return f"the From address differs from {who}: grant SendAs on it or send from the mailbox itself"
    if code == NOT_ENABLED_FOR_REST:
        return f"{who} is inactive, soft-deleted, on-premises or unlicensed: give it an Exchange Online licence"
    if code == SIZE_EXCEEDED or status == 413:
        return "the message is over 4 MB: send attachments through an upload session (needs Mail.ReadWrite)"
    if code == BAD_HEADER:
        return "custom header names must start with x- and a message may carry at most 5"
    if code == NO_PREMIUM_LICENCE:
        return "sign-in logs through Graph need an Entra ID P1 or P2 licence in the tenant"
    if code == REQUEST_DENIED:
        return "the app lacks a permission for this call: grant it with admin consent (see the section message)"
    if status == 401:
        return "the token was refused (invalid or expired): check --tenant and --client-id, then run again"
    if status in (429, 503, 504):
        return "Graph kept throttling: wait a few minutes (Exchange allows 30 messages/minute per mailbox) and run again"
    if status == 400:
        return f"Graph refused the request shape: {message}"
    if status >= 500:
        return "Graph failed on its side: run again later"
    return message or "unexpected answer from Graph"
