"""A local HTTPS fake of Entra ID (OIDC, token, device code, managed identity) and Microsoft Graph.

It behaves as Microsoft documents the parts smtp2graph uses: status codes, `{"error": {"code",
"message"}}` bodies, `Retry-After`, `@odata.nextLink` paging, upload sessions with
`nextExpectedRanges`. It verifies certificate client assertions against the registered public
key, validates sendMail bodies, and records every request so tests can assert what was sent.

Usage::

    with FakeTenant() as tenant:
        tenant.add_app(FakeApp("app-id", "Alerts sender", secret="s3cret"))
        ...  # point smtp2graph at tenant.authority_host / tenant.graph_url, trust tenant.ca_path
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MAIL_SEND_ROLE_ID = "b633e1c5-b582-4048-a93e-9f11b44c7e96"
ROLE_IDS = {
    "Reports.Read.All": "230c1aed-a721-4c5d-9cb4-a90514e508ef",
    "Mail.Send": MAIL_SEND_ROLE_ID,
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
# Office 365 Exchange Online, the resource of the EWS and SMTP OAuth permissions. The ids of its roles and
# scopes are made up here on purpose: the audit must read them from the service principal, not know them.
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
EXCHANGE_APP_ROLES = ("full_access_as_app", "SMTP.SendAsApp", "Exchange.ManageAsApp", "Mail.Send", "IMAP.AccessAsApp")
EXCHANGE_SCOPES = ("EWS.AccessAsUser.All", "SMTP.Send", "IMAP.AccessAsUser.All", "Mail.Read")


def exchange_role_id(value: str) -> str:
    """The fake tenant's id of an Office 365 Exchange Online app role or scope (not Microsoft's)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fake-exchange-online/" + value))


MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class FakeApp:
    """An app registration + its service principal in the fake tenant."""

    client_id: str
    display_name: str
    secret: Optional[str] = None
    certificate_pem: Optional[bytes] = None  # the registered public certificate
    roles: tuple[str, ...] = ("Mail.Send",)  # Microsoft Graph application permissions (admin-consented)
    # An application access policy (legacy scoping on top of the Entra Mail.Send role); None = every mailbox.
    allowed_mailboxes: Optional[set[str]] = None
    public_client: bool = False  # allows device code flow
    service_principal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    granted: str = "2025-03-14T09:30:00Z"
    secret_expires: Optional[datetime] = None  # an expired secret answers AADSTS7000222
    # RBAC for Applications in Exchange Online: the "Application Mail.Send" role assigned with a
    # management scope. The token carries no Mail.Send; Exchange decides per mailbox. Each change
    # takes effect only after its propagation delay: (effective at, mailboxes in scope), oldest first.
    exchange_scope_history: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    # Mailboxes the app may read through an Exchange "Application Mail.Read" assignment.
    exchange_read_mailboxes: set[str] = field(default_factory=set)
    # Application permissions on Office 365 Exchange Online (full_access_as_app for EWS, SMTP.SendAsApp, …).
    exchange_roles: tuple[str, ...] = ()

    def set_exchange_scope(self, mailboxes: set[str] | frozenset[str], *, effective_in: float = 0.0) -> None:
        """Assign "Application Mail.Send" scoped to `mailboxes`; Exchange applies it after `effective_in` seconds."""
        self.exchange_scope_history.append((time.time() + effective_in, frozenset(m.lower() for m in mailboxes)))

    def exchange_scope(self, now: Optional[float] = None) -> Optional[frozenset[str]]:
        """The scope Exchange enforces right now (None: no RBAC for Applications assignment in effect)."""
        moment = time.time() if now is None else now
        effective = [scope for since, scope in self.exchange_scope_history if since <= moment]
        return effective[-1] if effective else None


@dataclass
class SignIn:
    """One entry of the sign-in logs."""

    user_principal_name: str
    created: datetime
    ip_address: str
    error_code: int = 0
    client_app_used: str = "Authenticated SMTP"

    def to_graph(self) -> dict[str, Any]:
        """As `GET /auditLogs/signIns` returns it."""
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.user_principal_name}{self.created.isoformat()}{self.ip_address}")),
            "createdDateTime": _iso(self.created),
            "userPrincipalName": self.user_principal_name,
            "userId": str(uuid.uuid5(uuid.NAMESPACE_DNS, self.user_principal_name)),
            "appDisplayName": "",
            "clientAppUsed": self.client_app_used,
            "ipAddress": self.ip_address,
            "status": {"errorCode": self.error_code,
                       "failureReason": "Other." if self.error_code == 0 else "Invalid username or password."},
        }


@dataclass
class RecordedRequest:
    """A request as the fake received it."""

    method: str
    path: str  # decoded path, no query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as application/x-www-form-urlencoded."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    @property
    def is_graph(self) -> bool:
        """True for Graph API calls (not identity-platform or upload calls)."""
        return self.path.startswith("/v1.0/")


@dataclass
class _Token:
    app: FakeApp
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    user: Optional[str]
    expires: float


@dataclass
class _DeviceCode:
    client_id: str
    scopes: tuple[str, ...]
    user_code: str
    state: str = "pending"  # pending | approved | declined


@dataclass
class _UploadSession:
    mailbox: str
    message_id: str
    name: str
    size: int
    received: bytearray = field(default_factory=bytearray)


@dataclass
class Fault:
    """One broken answer the fake plays instead of the real one (Graph or the identity platform misbehaving).

    kind: "raw" sends status/headers/body as given; "truncate" announces more bytes than it sends and
    closes; "dribble" sends the body one byte every `delay` seconds; "echo" answers `status` with
    `body` after filling {authorization} and {request_body} from the request (endpoints that echo).
    """

    kind: str
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


class GraphFailure(Exception):
    """Raised inside a handler to answer with a Graph error body."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeTenant:
    """Entra ID + Microsoft Graph for one tenant, over HTTPS on 127.0.0.1 with a trustme CA."""

    def __init__(self, tenant: str = "contoso.onmicrosoft.com", *, page_size: int = 2,
                 workdir: Optional[Path] = None) -> None:
        self.tenant = tenant
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant))
        self.page_size = page_size
        self.mailboxes: set[str] = set()
        self.apps: dict[str, FakeApp] = {}
        self.extra_assignments: list[dict[str, Any]] = []  # other appRoleAssignedTo rows (other roles)
        self.sign_ins: list[SignIn] = []
        self.throttle: dict[str, int] = {}  # mailbox -> number of 429 answers before accepting
        self.retry_after = 1
        self.licence_p1 = True
        # How an unknown sender is answered: Exchange says ErrorInvalidUser, the directory ResourceNotFound.
        self.unknown_user_code = "ErrorInvalidUser"
        # Users without an Exchange Online mailbox (MailboxNotEnabledForRESTAPI): "unlicensed" or "on-premises".
        self.mailbox_state: dict[str, str] = {}
        # sendMail answers to play once per mailbox before the real answer, e.g. [(503, "ServiceUnavailable")].
        self.send_faults: dict[str, list[tuple[int, str]]] = {}
        # Broken answers to play, per path prefix (decoded path, no query), one per matching request.
        self.faults: dict[str, list[Fault]] = {}
        self.inboxes: dict[str, list[dict[str, Any]]] = {}  # delivered messages per recipient mailbox
        self.deliver_mail = True  # False: accepted messages stay queued (never reach a mailbox)
        self.clock_skew = 0.0  # seconds Entra ID's clock is ahead of the client's
        self.token_lifetime = 3599
        self.graph_resource = "https://graph.microsoft.com"  # the cloud this tenant lives in
        self.unreadable_principals: set[str] = set()  # service principal ids whose lookup answers 403
        # oauth2PermissionGrants rows: {"clientId": sp id, "consentType", "principalId", "scope"}; a row with
        # "resource": "exchange" is a grant on Office 365 Exchange Online (EWS.AccessAsUser.All), else on Graph.
        self.delegated_grants: list[dict[str, Any]] = []
        # Email app usage report rows: {"upn", "display_name", "last_activity", "smtp": bool}
        self.email_app_usage: list[dict[str, Any]] = []
        self.concealed_names = False  # the tenant's "display concealed user names in reports" setting
        self.device_user = "admin@" + tenant.split(".")[0] + ".com"
        self.auto_approve_device_code = True
        self.managed_identity_header = secrets.token_hex(8)
        self.managed_identity_app: Optional[FakeApp] = None
        self.requests: list[RecordedRequest] = []
        self.sent: list[dict[str, Any]] = []  # accepted messages: {"mailbox", "message" | "mime", "saveToSentItems"}
        self.drafts: dict[str, dict[str, Any]] = {}
        self.issued_tokens: list[str] = []
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, tuple[FakeApp, tuple[str, ...], str]] = {}
        self._device_codes: dict[str, _DeviceCode] = {}
        self._uploads: dict[str, _UploadSession] = {}
        self._reports: dict[str, bytes] = {}
        self.graph_service_principal_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "graph." + tenant))
        self.exchange_service_principal_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "exchange-online." + tenant))
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._ca = trustme.CA()
        self._workdir = workdir
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.ca_path: Path = Path()
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> "FakeTenant":
        """Listen on an ephemeral port; write the CA bundle clients must trust to `ca_path`."""
        import tempfile

        directory = self._workdir or Path(tempfile.mkdtemp(prefix="fake-tenant-"))
        self.ca_path = directory / "fake-tenant-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        tenant = self

        class Handler(_Handler):
            fake = tenant

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-tenant",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeTenant":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- configuration ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def authority_host(self) -> str:
        """What `--authority-host` takes."""
        return f"127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        """What `--graph-url` takes."""
        return f"{self.base_url}/v1.0"

    @property
    def managed_identity_endpoint(self) -> str:
        """What App Service puts in IDENTITY_ENDPOINT."""
        return f"{self.base_url}/msi/token"

    def add_app(self, app: FakeApp) -> FakeApp:
        self.apps[app.client_id] = app
        return app

    def add_mailboxes(self, *addresses: str) -> None:
        self.mailboxes.update(a.lower() for a in addresses)

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (a long run outliving its token)."""
        with self._lock:
            for token in self._tokens.values():
                token.expires = time.time() - 1

    def _next_fault(self, path: str) -> Optional[Fault]:
        with self._lock:
            for prefix, queue in self.faults.items():
                if path.startswith(prefix) and queue:
                    return queue.pop(0)
        return None

    def graph_requests(self) -> list[RecordedRequest]:
        """Recorded Graph API calls only."""
        return [r for r in self.requests if r.is_graph]

    def token_requests(self) -> list[RecordedRequest]:
        """Recorded calls to the token endpoint."""
        return [r for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    # ---- tokens ----------------------------------------------------------------------------

    def _issue(self, app: FakeApp, *, roles: tuple[str, ...] = (), scopes: tuple[str, ...] = (),
               user: Optional[str] = None, lifetime: int = 3599) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now, "nbf": now, "exp": now + lifetime,
            "appid": app.client_id, "app_displayname": app.display_name,
            "tid": self.tenant_id, "oid": app.service_principal_id,
            "idtyp": "user" if user else "app", "ver": "1.0",
            "jti": secrets.token_hex(8),
        }
        if roles:
            claims["roles"] = list(roles)
        if scopes:
            claims["scp"] = " ".join(scopes)
        if user:
            claims["upn"] = user
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        with self._lock:
            self._tokens[token] = _Token(app, roles, scopes, user, now + lifetime)
            self.issued_tokens.append(token)
        return token

    def _authorize(self, headers: dict[str, str]) -> _Token:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            raise GraphFailure(401, "InvalidAuthenticationToken", "Access token is empty.")
        token = self._tokens.get(value[len("Bearer "):])
        if token is None:
            raise GraphFailure(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
        if token.expires < time.time():
            raise GraphFailure(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        return token

    # ---- identity platform -----------------------------------------------------------------

    def _known_tenant(self, name: str) -> bool:
        return name.lower() in (self.tenant.lower(), self.tenant_id, "organizations")

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.base_url}/{tenant}"
        return {
            "issuer": f"{self.base_url}/{self.tenant_id}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{self.base_url}/{self.tenant_id}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "EU",
        }

    def token_endpoint(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(tenant, form)
        if grant == DEVICE_GRANT:
            return self._device_token(form)
        if grant == "refresh_token":
            entry = self._refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None:
                return 400, _aad("invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid.")
            app, scopes, user = entry
            return 200, self._delegated_response(app, scopes, user)
        return 400, _aad("unsupported_grant_type", f"AADSTS70003: The app requested an unsupported grant type '{grant}'.")

    def _client_credentials(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            return 400, _aad("unauthorized_client",
                             f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.tenant}'.")
        scope = form.get("scope", "")
        resource = scope.rsplit("/.default", 1)[0]
        # A client may address the fake itself as its Graph resource (the module derives it from its endpoint).
        if scope.endswith("/.default") and resource.rstrip("/") not in (self.graph_resource, self.base_url):
            return 400, _aad("invalid_resource", f"AADSTS500011: The resource principal named {resource} was not "
                                                 f"found in the tenant named {self.tenant}. This can happen if the "
                                                 "application has not been installed by the administrator of the "
                                                 "tenant or consented to by any user in the tenant.")
        if not scope.endswith("/.default") or " " in scope.strip():
            return 400, _aad("invalid_scope", f"AADSTS1002012: The provided value for scope {scope} is not valid. "
                                              "Client credential flows must have a scope value with /.default suffixed "
                                              "to the resource identifier (application ID URI).")
        if form.get("client_secret"):
            if (app.secret and app.secret_expires is not None and app.secret_expires < datetime.now(timezone.utc)
                    and secrets.compare_digest(form["client_secret"], app.secret)):
                return 401, _aad("invalid_client",
                                 f"AADSTS7000222: The provided client secret keys for app '{client_id}' are expired. "
                                 "Visit the Azure portal to create new keys for your app.")
            if not app.secret or not secrets.compare_digest(form["client_secret"], app.secret):
                return 401, _aad("invalid_client",
                                 f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                                 f"request is the client secret value, not the client secret ID, for a secret added "
                                 f"to app '{client_id}'.")
        elif form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return 400, _aad("invalid_request", "AADSTS50027: Invalid client_assertion_type.")
            failure = self._check_assertion(app, form["client_assertion"], f"{self.base_url}/{tenant}/oauth2/v2.0/token")
            if failure:
                return 401, _aad("invalid_client", failure)
        else:
            return 401, _aad("invalid_client", "AADSTS7000218: The request body must contain the following parameter: "
                                               "'client_assertion' or 'client_secret'.")
        token = self._issue(app, roles=app.roles, lifetime=self.token_lifetime)
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
                     "access_token": token}

    def _check_assertion(self, app: FakeApp, assertion: str, audience: str) -> str:
        """Verify the client assertion as Entra ID does; returns an AADSTS message, or "" when valid."""
        if not app.certificate_pem:
            return f"AADSTS700027: Client assertion contains an invalid signature. No certificate is registered on app '{app.client_id}'."
        certificate = x509.load_pem_x509_certificate(app.certificate_pem)
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "AADSTS50027: JWT token is invalid or malformed."
        algorithm = str(header.get("alg"))
        if algorithm not in ("PS256", "RS256"):
            return f"AADSTS5002723: Invalid JWT token. Unsupported key for the signing algorithm {algorithm}."
        thumbprints = {
            "x5t#S256": _b64url(certificate.fingerprint(hashes.SHA256())),
            "x5t": _b64url(certificate.fingerprint(hashes.SHA1())),
        }
        presented = [name for name in thumbprints if name in header]
        # MSAL pads the base64url thumbprint, RFC 7515 does not: compare without padding.
        if not presented or any(str(header[name]).rstrip("=") != thumbprints[name] for name in presented):
            return ("AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                    f"registered on application '{app.client_id}'.")
        if certificate.not_valid_after_utc < datetime.now(timezone.utc):
            return ("AADSTS700027: The certificate with identifier used to sign the client assertion is expired "
                    f"on application '{app.client_id}'.")
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            return "AADSTS700027: Only RSA certificates are supported for client assertions."
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        # Entra ID's own clock: an assertion made on a machine whose clock is off is out of its time range.
        entra_now = time.time() + self.clock_skew
        if not (float(unverified.get("nbf", unverified.get("iat", 0))) - 300 <= entra_now
                <= float(unverified.get("exp", 0)) + 300):
            return (f"AADSTS700024: Client assertion is not within its valid time range. Current time: "
                    f"{_iso(datetime.fromtimestamp(entra_now, timezone.utc))}, expiry time of assertion "
                    f"{_iso(datetime.fromtimestamp(float(unverified.get('exp', 0)), timezone.utc))}.")
        try:
            claims = jwt.decode(assertion, public_key, algorithms=[algorithm], audience=audience,
                                issuer=app.client_id, options={"require": ["exp", "aud", "iss", "sub"],
                                                               "verify_exp": False, "verify_nbf": False,
                                                               "verify_iat": False})
        except jwt.InvalidSignatureError:
            return "AADSTS700027: Client assertion failed signature validation."
        except jwt.PyJWTError as exc:
            return f"AADSTS700027: Client assertion contains an invalid claim ({type(exc).__name__})."
        if claims.get("sub") != app.client_id:
            return "AADSTS700023: Client assertion audience claim does not match Realm issuer."
        return ""

    def device_code_endpoint(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        app = self.apps.get(form.get("client_id", ""))
        if app is None or not app.public_client:
            return 400, _aad("unauthorized_client", "AADSTS7000218: The request body must contain the following "
                                                    "parameter: 'client_assertion' or 'client_secret'.")
        device_code = secrets.token_urlsafe(24)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        scopes = tuple(form.get("scope", "").split())
        self._device_codes[device_code] = _DeviceCode(
            app.client_id, scopes, user_code, "approved" if self.auto_approve_device_code else "pending")
        verification = f"{self.base_url}/devicelogin"
        return 200, {
            "user_code": user_code, "device_code": device_code, "verification_uri": verification,
            "expires_in": 900, "interval": 1,
            "message": f"To sign in, use a web browser to open the page {verification} and enter the code "
                       f"{user_code} to authenticate.",
        }

    def approve_device_code(self, user_code: str, approve: bool = True) -> None:
        """What the user does in the browser."""
        for entry in self._device_codes.values():
            if entry.user_code == user_code:
                entry.state = "approved" if approve else "declined"

    def _device_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        entry = self._device_codes.get(form.get("device_code", ""))
        if entry is None:
            return 400, _aad("expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' "
                                              "is not valid. This device code has expired.")
        if entry.state == "pending":
            return 400, _aad("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.")
        if entry.state == "declined":
            return 400, _aad("authorization_declined", "AADSTS70000: The user declined the authorization.")
        del self._device_codes[form["device_code"]]
        return 200, self._delegated_response(self.apps[entry.client_id], entry.scopes, self.device_user)

    def _delegated_response(self, app: FakeApp, requested: tuple[str, ...], user: str) -> dict[str, Any]:
        scopes = tuple(s.rsplit("/", 1)[-1] for s in requested if s not in ("openid", "profile", "offline_access"))
        token = self._issue(app, scopes=scopes, user=user)
        uid = str(uuid.uuid5(uuid.NAMESPACE_DNS, user))
        now = int(time.time())
        id_token = jwt.encode({
            "aud": app.client_id, "iss": f"{self.base_url}/{self.tenant_id}/v2.0", "iat": now, "nbf": now,
            "exp": now + 3600, "sub": uid, "oid": uid, "tid": self.tenant_id, "preferred_username": user, "name": user,
        }, self._signing_key, algorithm="HS256")
        refresh = secrets.token_urlsafe(32)
        self._refresh_tokens[refresh] = (app, requested, user)
        return {
            "token_type": "Bearer", "scope": " ".join(f"https://graph.microsoft.com/{s}" for s in scopes),
            "expires_in": 3599, "ext_expires_in": 3599, "access_token": token, "refresh_token": refresh,
            "id_token": id_token,
            "client_info": _b64url(json.dumps({"uid": uid, "utid": self.tenant_id}).encode()),
        }

    def managed_identity_token(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.managed_identity_app is None or headers.get("x-identity-header") != self.managed_identity_header:
            return 401, {"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong."}
        resource = (query.get("resource") or [""])[0]
        if resource.rstrip("/") != "https://graph.microsoft.com":
            return 400, {"statusCode": 400, "message": f"Unsupported resource {resource}"}
        app = self.managed_identity_app
        token = self._issue(app, roles=app.roles)
        return 200, {"access_token": token, "expires_on": str(int(time.time()) + 3599), "resource": resource,
                     "token_type": "Bearer", "client_id": app.client_id}

    # ---- Graph -----------------------------------------------------------------------------

    def _mailbox_access(self, token: _Token, mailbox: str, role: str) -> None:
        """Permission, existence and RBAC scope checks of an Outlook API call on `mailbox`."""
        if token.user is not None:
            if role not in token.scopes or mailbox != token.user.lower():
                raise GraphFailure(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            self._mailbox_exists(mailbox)
            return
        exchange_scope = token.app.exchange_scope() if role == "Mail.Send" else None
        if role not in token.roles and exchange_scope is None:
            # Neither an Entra role nor an Exchange RBAC assignment: nothing lets the app in.
            raise GraphFailure(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        self._mailbox_exists(mailbox)
        if role not in token.roles:
            # Grants add up: only without the tenant-wide Entra role does the Exchange scope narrow anything.
            if exchange_scope is not None and mailbox not in exchange_scope:
                raise GraphFailure(403, "ErrorAccessDenied", "Access to OData is disabled.")
            return
        allowed = token.app.allowed_mailboxes
        if allowed is not None and mailbox not in {a.lower() for a in allowed}:
            raise GraphFailure(403, "ErrorAccessDenied", "Access to OData is disabled.")

    def _mailbox_exists(self, mailbox: str) -> None:
        if mailbox in self.mailbox_state:
            raise GraphFailure(404, "MailboxNotEnabledForRESTAPI",
                               "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        if mailbox not in self.mailboxes:
            if self.unknown_user_code == "ResourceNotFound":
                raise GraphFailure(404, "ResourceNotFound", "Resource could not be discovered.")
            raise GraphFailure(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")

    def _throttle(self, mailbox: str) -> None:
        with self._lock:
            remaining = self.throttle.get(mailbox, 0)
            if remaining > 0:
                self.throttle[mailbox] = remaining - 1
                raise GraphFailure(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                   {"Retry-After": str(self.retry_after)})

    def send_mail(self, token: _Token, mailbox: str, headers: dict[str, str], body: bytes) -> None:
        self._mailbox_access(token, mailbox, "Mail.Send")
        self._throttle(mailbox)
        with self._lock:
            faults = self.send_faults.get(mailbox) or []
            fault = faults.pop(0) if faults else None
        if fault is not None:
            status, code = fault
            if status in (503, 504):
                # A gateway that timed out AFTER Exchange took the message: the mail goes out anyway.
                self._accept(mailbox, headers, body)
            raise GraphFailure(status, code, "The service is temporarily unavailable.")
        self._accept(mailbox, headers, body)

    def _accept(self, mailbox: str, headers: dict[str, str], body: bytes) -> None:
        if len(body) > MAX_REQUEST_BYTES:
            raise GraphFailure(413, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            try:
                mime = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise GraphFailure(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
            self.sent.append({"mailbox": mailbox, "mime": mime})
            return
        if content_type != "application/json":
            raise GraphFailure(415, "UnsupportedMediaType", f"Content type {content_type or 'none'} is not supported.")
        try:
            payload = json.loads(body)
        except ValueError:
            raise GraphFailure(400, "UnableToDeserializePostBody", "Unable to deserialize the post body.")
        if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
            raise GraphFailure(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
        unknown = set(payload) - {"message", "saveToSentItems"}
        if unknown:
            raise GraphFailure(400, "RequestBodyRead",
                               f"The property '{sorted(unknown)[0]}' does not exist on type 'microsoft.graph.sendMail'.")
        if "saveToSentItems" in payload and not isinstance(payload["saveToSentItems"], bool):
            raise GraphFailure(400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.Boolean'.")
        validate_message(payload["message"], require_recipient=True)
        self.sent.append({"mailbox": mailbox, "message": payload["message"],
                          "saveToSentItems": payload.get("saveToSentItems", True)})
        self._deliver(mailbox, payload["message"])

    def _deliver(self, sender: str, message: dict[str, Any]) -> None:
        """Put the message in each recipient mailbox of this tenant (external recipients never show up here)."""
        if not self.deliver_mail:
            return
        received = datetime.now(timezone.utc)
        for key in ("toRecipients", "ccRecipients", "bccRecipients"):
            for recipient in message.get(key, []):
                address = str(recipient["emailAddress"]["address"]).lower()
                if address in self.mailboxes:
                    with self._lock:
                        self.inboxes.setdefault(address, []).append({
                            "id": _b64url(secrets.token_bytes(12)), "subject": message.get("subject", ""),
                            "receivedDateTime": _iso(received), "from": {"emailAddress": {"address": sender}}})

    def messages(self, token: _Token, mailbox: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """`GET /users/{mailbox}/messages` with `$filter=subject eq '…'` (needs Mail.Read for that mailbox)."""
        readable = token.app.exchange_read_mailboxes
        if token.user is None and not ({"Mail.Read", "Mail.ReadWrite"} & set(token.roles)) and mailbox not in readable:
            raise GraphFailure(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        self._mailbox_exists(mailbox)
        predicates = parse_filter((query.get("$filter") or [""])[0])
        return [m for m in self.inboxes.get(mailbox, []) if all(p(m) for p in predicates)]

    def create_draft(self, token: _Token, mailbox: str, body: bytes) -> dict[str, Any]:
        self._mailbox_access(token, mailbox, "Mail.ReadWrite")
        message = json.loads(body or b"{}")
        validate_message(message, require_recipient=False)
        message_id = _b64url(secrets.token_bytes(18))
        draft = dict(message, id=message_id, isDraft=True, attachments=list(message.get("attachments", [])))
        self.drafts[message_id] = dict(draft, mailbox=mailbox)
        return draft

    def create_upload_session(self, token: _Token, mailbox: str, message_id: str, body: bytes) -> dict[str, Any]:
        self._mailbox_access(token, mailbox, "Mail.ReadWrite")
        if message_id not in self.drafts:
            raise GraphFailure(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        item = (json.loads(body or b"{}") or {}).get("AttachmentItem") or {}
        size = item.get("size")
        if item.get("attachmentType") != "file" or not item.get("name") or not isinstance(size, int):
            raise GraphFailure(400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType 'file', name and size.")
        if size > MAX_UPLOAD_BYTES:
            raise GraphFailure(400, "ErrorAttachmentSizeLimitExceeded", "The attachment exceeds 150 MB.")
        session_id = secrets.token_urlsafe(16)
        self._uploads[session_id] = _UploadSession(mailbox, message_id, str(item["name"]), size)
        return {
            "@odata.context": f"{self.graph_url}/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{self.base_url}/upload/{session_id}?authtoken={secrets.token_urlsafe(12)}",
            "expirationDateTime": _iso(datetime.now(timezone.utc) + timedelta(hours=6)),
            "nextExpectedRanges": ["0-"],
        }

    def upload_chunk(self, session_id: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        session = self._uploads.get(session_id)
        if session is None:
            raise GraphFailure(404, "ErrorItemNotFound", "The upload session does not exist or has expired.")
        if "authorization" in headers:
            # The upload URL is pre-authenticated; Graph refuses a bearer token there.
            raise GraphFailure(401, "InvalidAuthenticationToken", "Do not send an Authorization header to the upload URL.")
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if not match:
            raise GraphFailure(400, "InvalidContentRange", "The Content-Range header is missing or malformed.")
        start, end, total = (int(g) for g in match.groups())
        if total != session.size or start != len(session.received) or end - start + 1 != len(body):
            raise GraphFailure(416, "InvalidRange", f"Expected range {len(session.received)}-, length {len(body)}.")
        if len(body) > MAX_REQUEST_BYTES:
            raise GraphFailure(413, "ErrorRequestEntityTooLarge", "A chunk may be at most 4 MB.")
        session.received.extend(body)
        if len(session.received) < session.size:
            return 200, {"expirationDateTime": _iso(datetime.now(timezone.utc) + timedelta(hours=6)),
                         "nextExpectedRanges": [f"{len(session.received)}-"]}
        self.drafts[session.message_id]["attachments"].append(
            {"name": session.name, "size": session.size, "sha256": hashlib.sha256(session.received).hexdigest()})
        del self._uploads[session_id]
        return 201, {}

    def send_draft(self, token: _Token, mailbox: str, message_id: str) -> None:
        self._mailbox_access(token, mailbox, "Mail.Send")
        draft = self.drafts.get(message_id)
        if draft is None or draft["mailbox"] != mailbox:
            raise GraphFailure(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.sent.append({"mailbox": mailbox, "message": draft, "saveToSentItems": True})
        del self.drafts[message_id]

    def user(self, token: _Token, upn: str) -> dict[str, Any]:
        """`GET /users/{upn}`: what tells an unlicensed user from a hybrid user whose mailbox is on-premises."""
        self._require_role(token, "User.Read.All", "Directory.Read.All")
        state = self.mailbox_state.get(upn)
        if upn not in self.mailboxes and state is None:
            raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{upn}' does not exist.")
        exchange = [{"assignedDateTime": "2024-01-01T00:00:00Z", "capabilityStatus": "Enabled", "service": "exchange",
                     "servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0"}]
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, upn)), "userPrincipalName": upn, "mail": upn,
                "onPremisesSyncEnabled": True if state == "on-premises" else None,
                "assignedPlans": [] if state == "unlicensed" else exchange}

    def _require_role(self, token: _Token, *roles: str) -> None:
        granted = token.roles if token.user is None else token.scopes
        if not any(role in granted for role in roles):
            raise GraphFailure(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    def app_role_assignments(self, token: _Token) -> list[dict[str, Any]]:
        self._require_role(token, "Application.Read.All", "Directory.Read.All")
        rows = []
        graph_sp = self.graph_service_principal_id
        for app in self.apps.values():
            for role in app.roles:
                rows.append({
                    "id": _b64url(hashlib.sha256(f"{app.client_id}{role}".encode()).digest()[:24]),
                    "appRoleId": ROLE_IDS.get(role, str(uuid.uuid5(uuid.NAMESPACE_DNS, role))),
                    "createdDateTime": app.granted, "deletedDateTime": None,
                    "principalDisplayName": app.display_name, "principalId": app.service_principal_id,
                    "principalType": "ServicePrincipal", "resourceDisplayName": "Microsoft Graph",
                    "resourceId": graph_sp,
                })
        return rows + self.extra_assignments

    def application(self, token: _Token, app_id: str) -> dict[str, Any]:
        """`GET /applications(appId='…')`: the registration with its credentials' end dates."""
        self._require_role(token, "Application.Read.All", "Directory.Read.All")
        app = self.apps.get(app_id)
        if app is None:
            raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{app_id}' does not exist.")
        keys, passwords = [], []
        if app.certificate_pem:
            cert = x509.load_pem_x509_certificate(app.certificate_pem)
            keys.append({"keyId": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id + "cert")), "type": "AsymmetricX509Cert",
                         "usage": "Verify", "displayName": cert.subject.rfc4514_string(),
                         "startDateTime": _iso(cert.not_valid_before_utc), "endDateTime": _iso(cert.not_valid_after_utc),
                         "customKeyIdentifier": cert.fingerprint(hashes.SHA1()).hex().upper()})
        if app.secret:
            end = app.secret_expires or datetime(2027, 6, 30, tzinfo=timezone.utc)
            passwords.append({"keyId": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id + "secret")),
                              "displayName": "smtp2graph", "hint": app.secret[:3], "endDateTime": _iso(end),
                              "startDateTime": "2025-01-01T00:00:00Z"})
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)), "appId": app.client_id,
                "displayName": app.display_name, "keyCredentials": keys, "passwordCredentials": passwords}

    def permission_grants(self, token: _Token, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        self._require_role(token, "Directory.Read.All", "DelegatedPermissionGrant.Read.All", "Application.Read.All")
        wanted = (query.get("$filter") or [""])[0]
        match = re.fullmatch(r"resourceId eq '([^']+)'", wanted.strip())
        if wanted and not match:
            raise GraphFailure(400, "BadRequest", f"Invalid filter clause: {wanted}")
        rows = []
        for index, grant in enumerate(self.delegated_grants):
            grant = dict(grant)
            resource = self.exchange_service_principal_id if grant.pop("resource", "") == "exchange" else self.graph_service_principal_id
            row = {"id": f"grant-{index}", "resourceId": resource, "principalId": None, **grant}
            if not match or row["resourceId"] == match.group(1):
                rows.append(row)
        return rows

    def exchange_service_principal(self, token: _Token) -> dict[str, Any]:
        """`GET /servicePrincipals(appId='00000002-0000-0ff1-ce00-000000000000')` with its appRoles and scopes."""
        self._require_role(token, "Application.Read.All", "Directory.Read.All")
        return {
            "id": self.exchange_service_principal_id, "appId": EXCHANGE_APP_ID, "displayName": "Office 365 Exchange Online",
            "appRoles": [{"allowedMemberTypes": ["Application"], "description": f"{value} (fake)", "displayName": value,
                          "id": exchange_role_id(value), "isEnabled": True, "origin": "Application", "value": value}
                         for value in EXCHANGE_APP_ROLES],
            "oauth2PermissionScopes": [{"adminConsentDescription": f"{value} (fake)", "adminConsentDisplayName": value,
                                        "id": exchange_role_id(value), "isEnabled": True, "type": "User",
                                        "userConsentDescription": value, "userConsentDisplayName": value, "value": value}
                                       for value in EXCHANGE_SCOPES],
        }

    def exchange_role_assignments(self, token: _Token) -> list[dict[str, Any]]:
        """`appRoleAssignedTo` of Office 365 Exchange Online: the apps holding its application permissions."""
        self._require_role(token, "Application.Read.All", "Directory.Read.All")
        rows = []
        for app in self.apps.values():
            for role in app.exchange_roles:
                rows.append({
                    "id": _b64url(hashlib.sha256(f"exo{app.client_id}{role}".encode()).digest()[:24]),
                    "appRoleId": exchange_role_id(role), "createdDateTime": app.granted, "deletedDateTime": None,
                    "principalDisplayName": app.display_name, "principalId": app.service_principal_id,
                    "principalType": "ServicePrincipal", "resourceDisplayName": "Office 365 Exchange Online",
                    "resourceId": self.exchange_service_principal_id,
                })
        return rows

    def usage_csv(self, period: str) -> bytes:
        """The email app usage report as Microsoft 365 serves it: a CSV with one column per app."""
        columns = ["Report Refresh Date", "User Principal Name", "Display Name", "Is Deleted", "Deleted Date",
                   "Last Activity Date", "Mail For Mac", "Outlook For Mac", "Outlook For Windows",
                   "Outlook For Mobile", "Other For Mobile", "Outlook For Web", "POP3 App", "IMAP4 App", "SMTP App",
                   "Report Period"]
        lines = [",".join(columns)]
        for row in self.email_app_usage:
            upn, name = row["upn"], row.get("display_name", "")
            if self.concealed_names:
                upn = hashlib.md5(upn.encode()).hexdigest().upper()
                name = hashlib.md5(name.encode()).hexdigest().upper()
            values = ["2026-11-30", upn, name, "False", "", row.get("last_activity", "2026-11-29"), "No", "No",
                      "Yes" if row.get("outlook") else "No", "No", "No", "No", "No", "No",
                      "Yes" if row.get("smtp") else "No", period[1:]]
            lines.append(",".join(values))
        return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")

    def service_principal(self, token: _Token, object_id: str) -> dict[str, Any]:
        self._require_role(token, "Application.Read.All", "Directory.Read.All")
        if object_id in self.unreadable_principals:
            raise GraphFailure(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        for app in list(self.apps.values()) + ([self.managed_identity_app] if self.managed_identity_app else []):
            if app.service_principal_id == object_id:
                return {"id": app.service_principal_id, "appId": app.client_id, "displayName": app.display_name}
        raise GraphFailure(404, "Request_ResourceNotFound",
                           f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present.")

    def sign_in_logs(self, token: _Token, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        self._require_role(token, "AuditLog.Read.All")
        if not self.licence_p1:
            raise GraphFailure(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                               "Neither tenant is B2C or tenant doesn't have premium license")
        predicates = parse_filter((query.get("$filter") or [""])[0])
        rows = [s.to_graph() for s in sorted(self.sign_ins, key=lambda s: s.created, reverse=True)]
        return [row for row in rows if all(p(row) for p in predicates)]

    def page(self, path: str, query: dict[str, list[str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of `rows` with an `@odata.nextLink` carrying `$skiptoken`, as Graph pages."""
        requested = int((query.get("$top") or [str(self.page_size)])[0])
        top = max(1, min(requested, self.page_size))  # the server may return fewer than $top
        skip = int((query.get("$skiptoken") or ["0"])[0])
        body: dict[str, Any] = {"@odata.context": f"{self.graph_url}/$metadata#{path.rsplit('/', 1)[-1]}",
                                "value": rows[skip:skip + top]}
        if skip + top < len(rows):
            params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = str(skip + top)
            body["@odata.nextLink"] = f"{self.base_url}{path}?{urlencode(params, safe='$()')}"
        return body


def validate_message(message: Any, *, require_recipient: bool) -> None:
    """The sendMail message shape as documented; raises GraphFailure(400) like Graph does."""
    if not isinstance(message, dict):
        raise GraphFailure(400, "RequestBodyRead", "The message must be a JSON object.")
    for key in ("subject",):
        if key in message and not isinstance(message[key], str):
            raise GraphFailure(400, "RequestBodyRead", f"Cannot convert '{key}' to Edm.String.")
    body = message.get("body")
    if body is not None:
        if not isinstance(body, dict) or not isinstance(body.get("content", ""), str):
            raise GraphFailure(400, "RequestBodyRead", "The body must be an itemBody {contentType, content}.")
        if str(body.get("contentType", "Text")).lower() not in ("text", "html"):
            raise GraphFailure(400, "RequestBodyRead", f"Requested value '{body.get('contentType')}' was not found.")
    count = 0
    for key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        recipients = message.get(key, [])
        if not isinstance(recipients, list):
            raise GraphFailure(400, "RequestBodyRead", f"'{key}' must be a collection of recipients.")
        for recipient in recipients:
            address = (recipient.get("emailAddress") or {}).get("address") if isinstance(recipient, dict) else None
            if not isinstance(address, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise GraphFailure(400, "ErrorInvalidRecipients",
                                   "At least one recipient isn't valid., Recipient is not resolved.")
        if key != "replyTo":
            count += len(recipients)
    if require_recipient and count == 0:
        raise GraphFailure(400, "ErrorInvalidRecipients", "At least one recipient is required, but none were found.")
    headers = message.get("internetMessageHeaders", [])
    if headers:
        if len(headers) > 5:
            raise GraphFailure(400, "InvalidInternetMessageHeader",
                               "Maximum number of headers in one message should be less than or equal to 5.")
        for header in headers:
            name = header.get("name", "") if isinstance(header, dict) else ""
            if not str(name).lower().startswith("x-"):
                raise GraphFailure(400, "InvalidInternetMessageHeader",
                                   f"The internet message header name '{name}' should start with 'x-' or 'X-'.")
    if message.get("importance", "normal").lower() not in ("low", "normal", "high"):
        raise GraphFailure(400, "RequestBodyRead", f"Requested value '{message['importance']}' was not found.")
    for attachment in message.get("attachments", []):
        if attachment.get("@odata.type") != "#microsoft.graph.fileAttachment" or not attachment.get("name"):
            raise GraphFailure(400, "ErrorInvalidAttachment", "Attachments need @odata.type fileAttachment and a name.")
        try:
            base64.b64decode(attachment.get("contentBytes", ""), validate=True)
        except (binascii.Error, ValueError):
            raise GraphFailure(400, "ErrorInvalidAttachment", "contentBytes is not valid base64.")


def parse_filter(expression: str) -> list[Callable[[dict[str, Any]], bool]]:
    """The OData $filter subset the sign-in logs accept here: eq on strings, ge/le on createdDateTime."""
    predicates: list[Callable[[dict[str, Any]], bool]] = []
    if not expression.strip():
        return predicates
    for clause in re.split(r"\s+and\s+", expression.strip()):
        match = re.fullmatch(r"(\w+)\s+(eq|ge|le)\s+(.+)", clause.strip())
        if not match:
            raise GraphFailure(400, "BadRequest", f"Invalid filter clause: {clause}")
        name, operator, raw = match.groups()
        if name in ("clientAppUsed", "userPrincipalName", "subject") and operator == "eq":
            literal = re.fullmatch(r"'((?:[^']|'')*)'", raw.strip())
            if not literal:
                raise GraphFailure(400, "BadRequest", f"Invalid filter clause: {clause}")
            wanted = literal.group(1).replace("''", "'")
            def _equals(row: dict[str, Any], n: str = name, w: str = wanted) -> bool:
                return str(row.get(n, "")).lower() == w.lower()

            predicates.append(_equals)
        elif name == "createdDateTime" and operator in ("ge", "le"):
            try:
                bound = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            except ValueError:
                raise GraphFailure(400, "BadRequest", f"Invalid filter clause: {clause}")

            def _compare(row: dict[str, Any], op: str = operator, b: datetime = bound) -> bool:
                created = datetime.fromisoformat(str(row["createdDateTime"]).replace("Z", "+00:00"))
                return created >= b if op == "ge" else created <= b

            predicates.append(_compare)
        else:
            raise GraphFailure(400, "BadRequest", f"Invalid filter clause: {clause}")
    return predicates


def _aad(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": f"{description}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: "
            f"{uuid.uuid4()}\r\nTimestamp: {_iso(datetime.now(timezone.utc))}", "error_codes": [
                int(m.group(1)) for m in [re.search(r"AADSTS(\d+)", description)] if m],
            "timestamp": _iso(datetime.now(timezone.utc)), "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4())}


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the FakeTenant; records each one first."""

    fake: FakeTenant
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        pass  # keep test output clean

    def _send(self, status: int, body: Any = None, headers: Optional[dict[str, str]] = None,
              request_id: str = "") -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if request_id:
            self.send_header("client-request-id", request_id)
            self.send_header("request-id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.fake
        with fake._lock:
            fake.requests.append(RecordedRequest(self.command, path, query, headers, body))
        request_id = headers.get("client-request-id", "")
        fault = fake._next_fault(path)
        if fault is not None:
            self._play(fault, headers, body)
            return
        try:
            self._route(fake, self.command, path, query, headers, body, request_id)
        except GraphFailure as failure:
            self._send(failure.status, {"error": {"code": failure.code, "message": failure.message,
                                                  "innerError": {"request-id": str(uuid.uuid4()),
                                                                 "client-request-id": request_id}}},
                       failure.headers, request_id)

    def _play(self, fault: Fault, headers: dict[str, str], body: bytes) -> None:
        data = fault.body
        if fault.kind == "echo":
            text = data.decode("utf-8").replace("{authorization}", json.dumps(headers.get("authorization", ""))[1:-1])
            data = text.replace("{request_body}", json.dumps(body.decode("utf-8", "replace"))[1:-1]).encode("utf-8")
        self.send_response(fault.status)
        for name, value in fault.headers.items():
            self.send_header(name, value)
        announced = len(data) + (100 if fault.kind == "truncate" else 0)
        self.send_header("Content-Length", str(announced))
        if fault.kind == "truncate":
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            if fault.kind == "dribble":
                for index in range(len(data)):
                    self.wfile.write(data[index:index + 1])
                    self.wfile.flush()
                    time.sleep(fault.delay)
            else:
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            pass  # the client gave up: that is what a deadline is for
        if fault.kind == "truncate":
            self.close_connection = True

    def _route(self, fake: FakeTenant, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str], body: bytes, request_id: str) -> None:
        match = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        if match and method == "GET":
            tenant = match.group(1)
            if not fake._known_tenant(tenant):
                self._send(400, _aad("invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found."))
            else:
                self._send(200, fake.openid_configuration(tenant))
            return
        match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/(token|devicecode)", path)
        if match and method == "POST":
            if not fake._known_tenant(match.group(1)):
                self._send(400, _aad("invalid_tenant", f"AADSTS90002: Tenant '{match.group(1)}' not found."))
                return
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            if match.group(2) == "token":
                status, answer = fake.token_endpoint(match.group(1), form)
            else:
                status, answer = fake.device_code_endpoint(form)
            self._send(status, answer)
            return
        if path == "/msi/token" and method == "GET":
            status, answer = fake.managed_identity_token(query, headers)
            self._send(status, answer)
            return
        match = re.fullmatch(r"/upload/([^/]+)", path)
        if match and method == "PUT":
            status, answer = fake.upload_chunk(match.group(1), headers, body)
            self._send(status, answer or None)
            return
        match = re.fullmatch(r"/reports-download/([^/]+)", path)
        if match and method == "GET":
            # A pre-authenticated download URL on another host in reality: a bearer token has no business here.
            if "authorization" in headers:
                raise GraphFailure(400, "BadRequest", "Do not send an Authorization header to the download URL.")
            data = fake._reports.pop(match.group(1), None)
            if data is None:
                raise GraphFailure(404, "NotFound", "The report download has expired.")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if not path.startswith("/v1.0/"):
            raise GraphFailure(404, "NotFound", f"No route for {method} {path}")
        token = fake._authorize(headers)
        graph_path = path[len("/v1.0"):]
        match = re.fullmatch(r"/users/([^/]+)/sendMail", graph_path)
        if match and method == "POST":
            fake.send_mail(token, match.group(1).lower(), headers, body)
            self._send(202, None, request_id=request_id)
            return
        if graph_path == "/me/sendMail" and method == "POST":
            if token.user is None:
                raise GraphFailure(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            fake.send_mail(token, token.user.lower(), headers, body)
            self._send(202, None, request_id=request_id)
            return
        match = re.fullmatch(r"/users/([^/]+)", graph_path)
        if match and method == "GET":
            self._send(200, fake.user(token, match.group(1).lower()), request_id=request_id)
            return
        match = re.fullmatch(r"/users/([^/]+)/messages", graph_path)
        if match and method == "GET":
            rows = fake.messages(token, match.group(1).lower(), query)
            self._send(200, fake.page(path, query, rows), request_id=request_id)
            return
        match = re.fullmatch(r"/users/([^/]+)/messages", graph_path)
        if match and method == "POST":
            self._send(201, fake.create_draft(token, match.group(1).lower(), body), request_id=request_id)
            return
        match = re.fullmatch(r"/users/([^/]+)/messages/([^/]+)/attachments/createUploadSession", graph_path)
        if match and method == "POST":
            answer = fake.create_upload_session(token, match.group(1).lower(), match.group(2), body)
            self._send(201, answer, request_id=request_id)
            return
        match = re.fullmatch(r"/users/([^/]+)/messages/([^/]+)/send", graph_path)
        if match and method == "POST":
            fake.send_draft(token, match.group(1).lower(), match.group(2))
            self._send(202, None, request_id=request_id)
            return
        match = re.fullmatch(r"/servicePrincipals\(appId='([^']+)'\)/appRoleAssignedTo", graph_path)
        if match and method == "GET" and match.group(1) == EXCHANGE_APP_ID:
            rows = fake.exchange_role_assignments(token)
            self._send(200, fake.page(path, query, rows), request_id=request_id)
            return
        if match and method == "GET":
            if match.group(1) != GRAPH_APP_ID:
                raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{match.group(1)}' does not exist.")
            rows = fake.app_role_assignments(token)
            self._send(200, fake.page(path, query, rows), request_id=request_id)
            return
        match = re.fullmatch(r"/applications\(appId='([^']+)'\)", graph_path)
        if match and method == "GET":
            self._send(200, fake.application(token, match.group(1)), request_id=request_id)
            return
        match = re.fullmatch(r"/servicePrincipals\(appId='([^']+)'\)", graph_path)
        if match and method == "GET" and match.group(1) == EXCHANGE_APP_ID:
            self._send(200, fake.exchange_service_principal(token), request_id=request_id)
            return
        if match and method == "GET":
            if match.group(1) != GRAPH_APP_ID:
                raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{match.group(1)}' does not exist.")
            fake._require_role(token, "Application.Read.All", "Directory.Read.All")
            self._send(200, {"id": fake.graph_service_principal_id, "appId": GRAPH_APP_ID,
                             "displayName": "Microsoft Graph"}, request_id=request_id)
            return
        if graph_path == "/oauth2PermissionGrants" and method == "GET":
            rows = fake.permission_grants(token, query)
            self._send(200, fake.page(path, query, rows), request_id=request_id)
            return
        match = re.fullmatch(r"/reports/getEmailAppUsageUserDetail\(period='(D7|D30|D90|D180)'\)", graph_path)
        if match and method == "GET":
            fake._require_role(token, "Reports.Read.All")
            download = secrets.token_urlsafe(12)
            fake._reports[download] = fake.usage_csv(match.group(1))
            self._send(302, None, {"Location": f"{fake.base_url}/reports-download/{download}"}, request_id=request_id)
            return
        match = re.fullmatch(r"/servicePrincipals/([^/()]+)", graph_path)
        if match and method == "GET":
            self._send(200, fake.service_principal(token, match.group(1)), request_id=request_id)
            return
        if graph_path == "/auditLogs/signIns" and method == "GET":
            rows = fake.sign_in_logs(token, query)
            self._send(200, fake.page(path, query, rows), request_id=request_id)
            return
        raise GraphFailure(400, "BadRequest", f"Resource not found for the segment '{graph_path.strip('/').split('/')[0]}'.")

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()
