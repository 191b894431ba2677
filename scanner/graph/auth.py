"""Getting a Microsoft Graph token with MSAL: certificate, client secret, device code or managed identity."""

from __future__ import annotations

import getpass
import os
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlparse

from scanner.graph.errors import AuthError, ToolError, UnreachableError
from scanner.graph.redact import register_secret

DEFAULT_AUTHORITY_HOST = "login.microsoftonline.com"
# The public and national-cloud authorities MSAL knows (no custom-authority handling for them).
KNOWN_AUTHORITY_HOSTS = frozenset({DEFAULT_AUTHORITY_HOST, "login.microsoftonline.us", "login.chinacloudapi.cn"})
GRAPH_RESOURCE = "https://graph.microsoft.com"
# Graph in the national clouds is a different resource; the token audience must match it.
NATIONAL_GRAPH_HOSTS = frozenset({"graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"})
SECRET_ENV = "SMTP2GRAPH_CLIENT_SECRET"
REFRESH_MARGIN = 300.0  # seconds before expiry when a new token is fetched
DEFAULT_LIFETIME = 3599.0
PASSPHRASE_ENV = "SMTP2GRAPH_CERTIFICATE_PASSPHRASE"
AUTHORITY_HOST_ENV = "SMTP2GRAPH_AUTHORITY_HOST"


class AuthMode(str, Enum):
    """How smtp2graph proves who it is."""

    CERTIFICATE = "certificate"
    SECRET = "secret"
    DEVICE_CODE = "device-code"
    MANAGED_IDENTITY = "managed-identity"


@dataclass
class AuthSettings:
    """Everything needed to get a token; holds no secret, only where to find one."""

    tenant: str
    client_id: Optional[str]
    mode: AuthMode
    certificate: Optional[Path] = None
    secret_env: str = SECRET_ENV
    passphrase_env: str = PASSPHRASE_ENV
    prompt_for_secret: bool = False  # hidden prompt when the env var is unset
    token_cache: Optional[Path] = None  # device code only
    delegated_permissions: tuple[str, ...] = ("Mail.Send",)  # device code only
    graph_resource: str = GRAPH_RESOURCE
    managed_identity_client_id: Optional[str] = None  # user-assigned identity
    authority_host: str = DEFAULT_AUTHORITY_HOST
    timeout: float = 30.0

    @property
    def authority(self) -> str:
        """`https://<host>/<tenant>`; tests point the host at the local fake."""
        return f"{authority_base(self.authority_host)}/{self.tenant}"

    @property
    def app_only_scopes(self) -> list[str]:
        """`<graph resource>/.default`: every application permission the app was granted."""
        return [f"{self.graph_resource}/.default"]

    @property
    def delegated_scopes(self) -> list[str]:
        """The delegated permissions as fully qualified scopes."""
        return [f"{self.graph_resource}/{name}" for name in self.delegated_permissions]

    @property
    def custom_authority(self) -> bool:
        """True when the authority is not Microsoft's, so MSAL must skip instance discovery."""
        return urlparse(authority_base(self.authority_host)).hostname not in KNOWN_AUTHORITY_HOSTS


def authority_base(host: str) -> str:
    """Normalize `host[:port]` or `https://host[:port]` to an https URL; MSAL refuses plain http."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    if not host.startswith("https://"):
        raise ToolError(f"--authority-host {host}: the authority must use https")
    return host


def graph_resource_for(graph_url: str) -> str:
    """The token resource for a Graph base URL: a national cloud's own Graph, else the global one.

    Any other host (a proxy, the test fake) still expects tokens for the global Graph resource.
    """
    host = urlparse(graph_url).hostname or ""
    return f"https://{host}" if host in NATIONAL_GRAPH_HOSTS else GRAPH_RESOURCE


def infer_mode(certificate: Optional[Path], device_code: bool, managed_identity: bool, secret_env: str,
               prompt_secret: bool) -> AuthMode:
    """Pick the auth mode from the options given; certificate first, as ARCHITECTURE.md recommends."""
    chosen = [m for m, on in ((AuthMode.CERTIFICATE, certificate is not None), (AuthMode.DEVICE_CODE, device_code),
                              (AuthMode.MANAGED_IDENTITY, managed_identity)) if on]
    if len(chosen) > 1:
        raise ToolError("choose one of --certificate, --device-code and --managed-identity")
    if chosen:
        return chosen[0]
    if os.environ.get(secret_env) or prompt_secret:
        return AuthMode.SECRET
    raise ToolError(
        f"no credential: pass --certificate app.pem, --device-code or --managed-identity, "
        f"or set the client secret in ${secret_env} (or --prompt-secret)"
    )


def load_certificate_credential(path: Path, passphrase: Optional[str]) -> dict[str, Any]:
    """An MSAL client_credential dict for a PEM (key + public certificate) or a PFX file."""
    if not path.is_file():
        raise ToolError(f"{path}: certificate file not found")
    if path.suffix.lower() in (".pfx", ".p12"):
        from cryptography.hazmat.primitives.serialization import pkcs12

        try:
            key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.encode() if passphrase else None)
        except ValueError:
            raise ToolError(
                f"{path}: cannot open the PFX (wrong passphrase? set ${PASSPHRASE_ENV} or answer the prompt)"
            ) from None
        if key is None or cert is None:
            raise ToolError(f"{path}: the PFX must hold both the private key and its certificate")
        # public_certificate=True sends x5c, which Subject Name/Issuer auth needs and others ignore.
        credential: dict[str, Any] = {"private_key_pfx_path": str(path), "public_certificate": True}
        if passphrase:
            credential["passphrase"] = passphrase
        return credential
    text = path.read_text(encoding="utf-8", errors="replace")
    if "PRIVATE KEY-----" not in text:
        raise ToolError(f"{path}: no private key in the PEM (it needs the key and the public certificate)")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ToolError(
            f"{path}: no public certificate in the PEM; append it so MSAL can compute the SHA-256 thumbprint (PS256)"
        )
    # Give MSAL the certificate so it signs PS256 with x5t#S256, not the deprecated SHA-1 thumbprint.
    credential = {"private_key": text, "public_certificate": text}
    if passphrase:
        credential["passphrase"] = passphrase
    return credential


def _pem_key_is_encrypted(path: Path) -> bool:
    return path.suffix.lower() not in (".pfx", ".p12") and "ENCRYPTED" in path.read_text(encoding="utf-8", errors="replace")


class _RecordingSession:
    """The HTTP client MSAL uses here: requests, remembering the last answer so a failure can be told in one line."""

    def __init__(self) -> None:
        import requests

        self._session = requests.Session()
        self.last: Optional[tuple[str, int, str, bytes]] = None  # url, status, content type, first bytes

    def _remember(self, url: str, response: Any) -> Any:
        self.last = (url, int(response.status_code), str(response.headers.get("Content-Type") or ""),
                     bytes(response.content[:200]))
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET through requests."""
        return self._remember(url, self._session.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST through requests."""
        return self._remember(url, self._session.post(url, **kwargs))

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()


def identity_failure(last: Optional[tuple[str, int, str, bytes]], exc: BaseException) -> Optional[ToolError]:
    """One clear line for an identity-platform answer that is not a token response (5xx, HTML, not JSON)."""
    if last is None:
        return None
    url, status, content_type, head = last
    host = urlparse(url).netloc or url
    is_html = "html" in content_type.lower() or head.lstrip()[:1] == b"<"
    kind = "an HTML page" if is_html else (f"{content_type.split(';')[0]}" if content_type else "a non-JSON body")
    if status >= 500:
        return ToolError(f"the identity platform at {host} answered HTTP {status} ({kind}), not a token: Entra ID "
                         "is having trouble or a proxy answered for it — run again in a few minutes")
    if is_html or isinstance(exc, ValueError):
        return ToolError(f"the identity platform at {host} answered HTTP {status} with {kind} instead of a token "
                         "response: a proxy or captive portal is in the way, or the authority is wrong (check --cloud)")
    return None


class TokenProvider:
    """Fetches (and memoizes) one access token. Call it; it returns the bearer token string."""

    def __init__(
        self,
        settings: AuthSettings,
        *,
        prompt: Optional[Callable[[str], str]] = None,
        notify: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.settings = settings
        # Looked up at call time so the hidden prompt can be replaced in tests.
        self._prompt = prompt or (lambda text: getpass.getpass(text))
        self._notify = notify or (lambda text: print(text, file=sys.stderr))
        self._token: Optional[str] = None
        self._expires_at = 0.0  # monotonic-clock seconds
        self._http = _RecordingSession()
        self._lifetime = DEFAULT_LIFETIME
        self.acquired = 0  # how many tokens this provider fetched (long runs refresh)
        self.clock: Callable[[], float] = time.monotonic

    def __call__(self) -> str:
        """Return the access token, acquiring it on first use and again when it has under 5 minutes left."""
        if self._token is None or self.clock() >= self._expires_at - REFRESH_MARGIN:
            started = self.clock()
            self._token = self._acquire()
            self.acquired += 1
            self._expires_at = started + self._lifetime
        return self._token

    def invalidate(self) -> None:
        """Forget the token (Graph said it expired or was revoked): the next call fetches a new one."""
        self._token = None

    def _acquire(self) -> str:
        import msal  # loads MSAL's loggers so the redaction filter reaches them
        import msal.exceptions

        from scanner.graph.redact import install_log_redaction

        install_log_redaction()
        mode = self.settings.mode
        self._http = _RecordingSession()
        try:
            if mode is AuthMode.MANAGED_IDENTITY:
                result = self._managed_identity()
            elif mode is AuthMode.DEVICE_CODE:
                result = self._device_code()
            else:
                result = self._client_credentials()
        except ToolError:
            raise
        except (OSError, ValueError, msal.exceptions.MsalError) as exc:
            failure = identity_failure(self._http.last, exc)
            if failure is not None:
                raise failure from None
            if isinstance(exc, (ValueError, msal.exceptions.MsalError)):
                raise ToolError(f"unexpected answer from the identity platform ({type(exc).__name__})") from None
            # requests' ConnectionError / SSLError / Timeout are OSErrors; MSAL lets them through.
            raise UnreachableError(
                f"cannot reach the identity platform at {authority_base(self.settings.authority_host)} "
                f"({type(exc).__name__}): check the network, proxy and CA bundle"
            ) from None
        if not isinstance(result, dict):
            raise ToolError("the identity platform answered with something that is not a token response")
        token = result.get("access_token")
        if not token:
            raise AuthError(str(result.get("error") or "no_token"), str(result.get("error_description") or ""))
        register_secret(str(token))
        try:
            self._lifetime = float(result.get("expires_in") or DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            self._lifetime = DEFAULT_LIFETIME
        return str(token)

    def _require_client_id(self) -> str:
        if not self.settings.client_id:
            raise ToolError(f"--client-id is required for {self.settings.mode.value} authentication")
        return self.settings.client_id

    def _secret(self) -> str:
        secret = os.environ.get(self.settings.secret_env)
        if secret:
            register_secret(secret)
            return secret
        if self.settings.prompt_for_secret:
            secret = self._prompt("Client secret (hidden): ")
            if secret:
                register_secret(secret)
                return secret
        raise ToolError(f"no client secret: set ${self.settings.secret_env} or use --prompt-secret")

    def _passphrase(self, path: Path) -> Optional[str]:
        passphrase = os.environ.get(self.settings.passphrase_env)
        if passphrase:
            register_secret(passphrase)
            return passphrase
        needs = path.suffix.lower() in (".pfx", ".p12") or _pem_key_is_encrypted(path)
        if needs and self.settings.prompt_for_secret:
            answer = self._prompt(f"Passphrase for {path.name} (hidden, empty if none): ") or None
            register_secret(answer)
            return answer
        return None

    def _app_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"authority": self.settings.authority, "timeout": self.settings.timeout,
                                  "http_client": self._http}
        if self.settings.custom_authority:
            # A host MSAL does not know (sovereign proxy, the test fake): skip the instance
            # discovery call to login.microsoftonline.com and use its OIDC metadata as is.
            kwargs["validate_authority"] = False
            kwargs["instance_discovery"] = False
        return kwargs

    def _msal_app(self, factory: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return factory(self._require_client_id(), **self._app_kwargs(), **kwargs)
        except ValueError as exc:
            # MSAL raises ValueError for an unreachable / unknown authority or a bad credential shape.
            raise ToolError(f"cannot use authority {self.settings.authority}: {str(exc).splitlines()[0]}") from None
        except OSError as exc:
            raise UnreachableError(f"cannot reach {self.settings.authority}: {type(exc).__name__}") from None

    def _client_credentials(self) -> dict[str, Any]:
        import msal

        credential: Any
        if self.settings.mode is AuthMode.CERTIFICATE:
            assert self.settings.certificate is not None
            if not self.settings.certificate.is_file():
                raise ToolError(f"{self.settings.certificate}: certificate file not found")
            credential = load_certificate_credential(
                self.settings.certificate, self._passphrase(self.settings.certificate)
            )
        else:
            credential = self._secret()
        app = self._msal_app(msal.ConfidentialClientApplication, client_credential=credential)
        try:
            return dict(app.acquire_token_for_client(scopes=self.settings.app_only_scopes))
        except (ValueError, TypeError) as exc:
            failure = identity_failure(self._http.last, exc)
            if failure is not None and self._http.last is not None and "/token" in self._http.last[0]:
                raise failure from None
            if self.settings.mode is not AuthMode.CERTIFICATE:
                raise
            # e.g. a PEM whose key cannot be loaded; say which file, never its content.
            raise ToolError(f"{self.settings.certificate}: cannot sign with this key ({type(exc).__name__})") from None

    def _device_code(self) -> dict[str, Any]:
        import msal

        cache = msal.SerializableTokenCache()
        cache_path = self.settings.token_cache
        if cache_path is not None and cache_path.is_file():
            cache.deserialize(cache_path.read_text(encoding="utf-8"))
        app = self._msal_app(msal.PublicClientApplication, token_cache=cache)
        scopes = self.settings.delegated_scopes
        result: Optional[dict[str, Any]] = None
        accounts = app.get_accounts()
        if accounts:
            result = app.acquire_token_silent(scopes, account=accounts[0])
        if not result:
            flow = app.initiate_device_flow(scopes=scopes)
            if "user_code" not in flow:
                return dict(flow)
            self._notify(str(flow.get("message") or f"Go to {flow.get('verification_uri')} and enter {flow['user_code']}"))
            result = app.acquire_token_by_device_flow(flow)
        if cache_path is not None and cache.has_state_changed:
            write_private_file(cache_path, cache.serialize())
        return dict(result)

    def _managed_identity(self) -> dict[str, Any]:
        import msal

        identity: Any = (
            msal.UserAssignedManagedIdentity(client_id=self.settings.managed_identity_client_id)
            if self.settings.managed_identity_client_id
            else msal.SystemAssignedManagedIdentity()
        )
        client = msal.ManagedIdentityClient(identity, http_client=self._http)
        try:
            return dict(client.acquire_token_for_client(resource=self.settings.graph_resource))
        except msal.ManagedIdentityError as exc:
            raise ToolError(f"managed identity: {str(exc).splitlines()[0]}") from None
        except (OSError, ValueError) as exc:
            raise ToolError(
                f"managed identity endpoint unreachable ({type(exc).__name__}): run this on Azure "
                "(App Service, Functions, Automation, VM) with an identity assigned"
            ) from None


def write_private_file(path: Path, text: str) -> None:
    """Write a file readable only by its owner (0600) from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # O_CREAT's mode is ignored for an existing file: tighten it explicitly.
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
