"""Typed errors for token acquisition and Microsoft Graph, each with a one-line "what to do"."""

from __future__ import annotations

from typing import Optional

from scanner.graph.redact import redact

# Graph error codes we give specific advice for (see GRAPH_NOTES.md, "Errors").
ACCESS_DENIED = "ErrorAccessDenied"
SCOPE_DENIED_MESSAGE = "Access to OData is disabled."
INVALID_USER = "ErrorInvalidUser"
RESOURCE_NOT_FOUND = "ResourceNotFound"  # "Resource could not be discovered.": no such user
UNKNOWN_SENDER_CODES = frozenset({INVALID_USER, RESOURCE_NOT_FOUND})
SEND_AS_DENIED = "ErrorSendAsDenied"
NOT_ENABLED_FOR_REST = "MailboxNotEnabledForRESTAPI"
SIZE_EXCEEDED = "ErrorMessageSizeExceeded"
BAD_HEADER = "InvalidInternetMessageHeader"
REQUEST_DENIED = "Authorization_RequestDenied"
NO_PREMIUM_LICENCE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


class ToolError(Exception):
    """A user or environment error: printed as one line, exit code 2, never a stack trace."""


class UnreachableError(ToolError):
    """No connection to the identity platform at all (DNS, proxy, TLS, refused): the network is the problem."""


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
        if "AADSTS7000222" in text:
            return "the client secret has expired: create a new one under Certificates & secrets and update the scripts' vault"
        if "AADSTS7000215" in text:
            return ("the client secret is wrong: use the secret's Value (not its Secret ID), or create a new one "
                    "under Certificates & secrets")
        if "AADSTS1000502" in text or ("AADSTS700027" in text and "expired" in text.lower()):
            return ("the certificate has expired (or is not yet valid): create a new one, upload its public part under "
                    "Certificates & secrets, and install it where the scripts run")
        if "AADSTS700024" in text or "AADSTS50132" in text:
            return ("the client assertion is outside its valid time range: this machine's clock is off — sync it "
                    "(w32tm /resync, or timedatectl / chrony) and run again")
        if any(code in text for code in ("AADSTS900382", "AADSTS900384", "AADSTS500011", "AADSTS90038",
                                          "AADSTS50049", "AADSTS90051")):
            return ("wrong cloud: the tenant, the authority and the Graph resource must all be in the same cloud — "
                    "pass --cloud global|usgov|usgovdod|china to match the tenant")
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
        """The message shown to the user, with any echoed credential masked."""
        detail = f": {self.description}" if self.description else ""
        return redact(f"token request failed ({self.error}{detail}) — {self.advice()}")


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
        server_request_id: str = "",
        date: str = "",
        maybe_accepted: bool = False,
    ) -> None:
        self.status = status
        self.code = code
        # Graph and the identity platform can echo the request back: never keep a credential in the text.
        self.message = redact(message)
        self.request_id = request_id  # our client-request-id
        self.server_request_id = server_request_id  # Graph's request-id header
        self.date = date  # Graph's Date header: support asks for request-id + date
        self.url = redact(url)
        self.retry_after = retry_after
        # True when the request may have been carried out although no success came back (no retry then).
        self.maybe_accepted = maybe_accepted
        super().__init__(self.one_line())

    def advice(self, mailbox: str = "", app_id: str = "") -> str:
        """One sentence telling an admin what to do about this error."""
        return advice_for(self.status, self.code, self.message, mailbox, app_id)

    def support_ids(self) -> str:
        """`request-id …, client-request-id …, date …`: what a Microsoft support case needs."""
        parts = []
        if self.server_request_id:
            parts.append(f"request-id {self.server_request_id}")
        if self.request_id:
            parts.append(f"client-request-id {self.request_id}")
        if self.date:
            parts.append(f"date {self.date}")
        return ", ".join(parts)

    def one_line(self, mailbox: str = "", app_id: str = "") -> str:
        """`HTTP 403 ErrorAccessDenied: <what to do> (request-id …, date …)` for the admin and for support."""
        ids = self.support_ids()
        suffix = f" ({ids})" if ids else ""
        return f"HTTP {self.status} {self.code}: {self.advice(mailbox, app_id)}{suffix}"


class GraphBadRequest(GraphError):
    """400: the request shape was refused."""


class GraphUnauthorized(GraphError):
    """401: the token is missing, invalid or expired."""


class GraphForbidden(GraphError):
    """403: permission, scope (RBAC for Applications / access policy), SendAs or licence."""

    @property
    def is_scope_denial(self) -> bool:
        """True when the refusal is Exchange's per-mailbox access decision (403 ErrorAccessDenied).

        That is the answer both for a mailbox outside the app's RBAC / access-policy scope and for an
        app with no permission at all: the code tells it from SendAs, licence or directory refusals,
        and only a same-run 202 with the same token tells scope from "no permission" (see verify).
        """
        return self.status == 403 and self.code == ACCESS_DENIED

    @property
    def says_scope(self) -> bool:
        """True when the wording is the one Exchange uses for a scope / access-policy denial."""
        return SCOPE_DENIED_MESSAGE.rstrip(".") in self.message


class GraphNotFound(GraphError):
    """404: the user / mailbox / object does not exist."""


class GraphThrottled(GraphError):
    """429/503/504 that outlasted the retry budget."""


class GraphServerError(GraphError):
    """Any other 5xx."""


class GraphConnectionError(GraphError):
    """No HTTP answer at all: DNS, TLS, refused connection or timeout."""


class GraphTimeout(GraphConnectionError):
    """The answer did not complete within the request's overall deadline (--timeout)."""


class GraphMalformedResponse(GraphError):
    """A success status whose body is not what Graph documents: bad JSON, a truncated page, the wrong shape,
    or a page link smtp2graph will not follow. The section that asked is degraded, never "ok"."""


def error_for_status(status: int) -> type[GraphError]:
    """The typed error class for an HTTP status."""
    if status in (429, 503, 504):
        return GraphThrottled
    return {400: GraphBadRequest, 401: GraphUnauthorized, 403: GraphForbidden, 404: GraphNotFound}.get(
        status, GraphServerError if status >= 500 else GraphError
    )


def scope_check_commands(mailbox: str, app_id: str) -> str:
    """The Exchange Online PowerShell commands that show why the app may or may not send as `mailbox`."""
    who = mailbox or "<mailbox>"
    app = app_id or "<app id>"
    return (f"Test-ServicePrincipalAuthorization -Identity {app} -Resource {who} | Format-Table; "
            f"Test-ApplicationAccessPolicy -Identity {who} -AppId {app}")


def advice_for(status: int, code: str, message: str, mailbox: str = "", app_id: str = "") -> str:
    """The table in GRAPH_NOTES.md, as one line an admin can act on.

    Never advise granting the tenant-wide Mail.Send application permission: with RBAC for
    Applications a scoped app must not hold it (grants add up, so it would undo the scope).
    """
    who = mailbox or "this mailbox"
    if code == "Deadline":
        return f"{message}: Graph (or a proxy) is too slow; run again, or raise --timeout"
    if status == 0:
        return f"no answer from Graph ({message}): check the network, proxy and --graph-url"
    if code in ("MalformedResponse", "WrongShape", "TruncatedBody", "UnsafeNextLink", "RepeatingNextLink",
                "TooManyPages"):
        return message
    if code in UNKNOWN_SENDER_CODES or (status == 404 and code != NOT_ENABLED_FOR_REST and "user" in message.lower()):
        return (
            f"no such sender: {who} is not a mailbox in this tenant, or not its primary SMTP address "
            "— use the primary SMTP address"
        )
    if code == ACCESS_DENIED:
        return (
            f"Exchange refused to let the app send as {who}: if it should, check the app's management scope and "
            f"role assignment (RBAC for Applications) with: {scope_check_commands(mailbox, app_id)}; "
            "a scope change takes 30 min - 2 h to apply; an application access policy can also exclude it"
        )
    if code == SEND_AS_DENIED:
        return f"the From address differs from {who}: grant SendAs on it or send from the mailbox itself"
    if code == NOT_ENABLED_FOR_REST:
        return (f"{who} has no Exchange Online mailbox: the user is unlicensed, or (hybrid) the mailbox is still "
                "on-premises, or it is inactive / soft-deleted")
    if code == SIZE_EXCEEDED or status == 413:
        return "the message is over 4 MB: send attachments through an upload session (needs Mail.ReadWrite)"
    if code == BAD_HEADER:
        return "custom header names must start with x- and a message may carry at most 5"
    if code == NO_PREMIUM_LICENCE:
        return "sign-in logs through Graph need an Entra ID P1 or P2 licence in the tenant"
    if code == REQUEST_DENIED:
        return "the app lacks a permission for this call: grant it with admin consent (see the section message)"
    if status == 401 and "insufficient_claims" in message:
        return ("Graph asks for a new token with extra claims (Continuous Access Evaluation or a Conditional Access "
                "policy revoked this one): run again; if it repeats, check Conditional Access for workload identities")
    if status == 401:
        return "the token was refused (invalid or expired): check --tenant and --client-id, then run again"
    if status in (429, 503, 504):
        return "Graph kept throttling: wait a few minutes (Exchange allows 30 messages/minute per mailbox) and run again"
    if status == 400:
        return f"Graph refused the request shape: {message}"
    if status >= 500:
        return "Graph failed on its side: run again later"
    return message or "unexpected answer from Graph"
