"""pytest fixtures around the fake tenant; test modules import the ones they use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .tenant import FakeApp, FakeTenant

TENANT = "contoso.onmicrosoft.com"
APP_ID = "6f1c3a52-8d0e-4f7b-9a41-2c5e7b9d0a13"
SECRET = "Zq8~fake-client-secret-value-9931"
PFX_PASSPHRASE = "pfx-pass-4412"
ALL_ROLES = ("Mail.Send", "Mail.ReadWrite", "Application.Read.All", "AuditLog.Read.All")


@dataclass(frozen=True)
class CertFiles:
    """A certificate credential in both shapes smtp2graph accepts."""

    pem: Path  # private key + public certificate
    pfx: Path  # protected with PFX_PASSPHRASE
    certificate_pem: bytes  # the public part, as registered on the app


def make_certificate(directory: Path, name: str = "app") -> CertFiles:
    """A self-signed RSA certificate, like `New-SelfSignedCertificate` makes for an app registration."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"smtp2graph-{name}")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    pem = directory / f"{name}.pem"
    pem.write_bytes(key_pem + cert_pem)
    pfx = directory / f"{name}.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, None, serialization.BestAvailableEncryption(PFX_PASSPHRASE.encode())))
    return CertFiles(pem, pfx, cert_pem)


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    """The registered app certificate."""
    return make_certificate(tmp_path_factory.mktemp("certs"), "app")


@pytest.fixture(scope="session")
def other_cert_files(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    """A certificate that is NOT registered on the app."""
    return make_certificate(tmp_path_factory.mktemp("other-certs"), "other")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cert_files: CertFiles) -> Iterator[FakeTenant]:
    """A running fake tenant with one scoped app (secret + certificate) and three mailboxes.

    The environment is cleaned of anything that could route smtp2graph elsewhere, and requests
    trusts only the fake's CA (REQUESTS_CA_BUNDLE overrides Session.verify).
    """
    for name in ("SMTP2GRAPH_CLIENT_SECRET", "SMTP2GRAPH_CERTIFICATE_PASSPHRASE", "SMTP2GRAPH_AUTHORITY_HOST",
                 "SMTP2GRAPH_GRAPH_URL", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
                 "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "MSAL_FORCE_REGION", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake = FakeTenant(TENANT, workdir=tmp_path)
    fake.add_app(FakeApp(APP_ID, "Contoso alerts sender", secret=SECRET, certificate_pem=cert_files.certificate_pem,
                         roles=ALL_ROLES, allowed_mailboxes={"alerts@contoso.com", "reports@contoso.com"}))
    fake.add_mailboxes("alerts@contoso.com", "reports@contoso.com", "ceo@contoso.com", "me@contoso.com")
    with fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_path))
        monkeypatch.setenv("SSL_CERT_FILE", str(fake.ca_path))
        yield fake


# The recommended setup (GRAPH_NOTES.md): no Entra Mail.Send consent at all; Exchange Online RBAC for
# Applications assigns "Application Mail.Send" to the app over a management scope of two mailboxes.
RBAC_ROLES = ("Application.Read.All", "AuditLog.Read.All", "User.Read.All", "Reports.Read.All")
RBAC_SCOPE = frozenset({"alerts@contoso.com", "reports@contoso.com"})


def scope_with_rbac(fake: FakeTenant, mailboxes: frozenset[str] = RBAC_SCOPE, *, effective_in: float = 0.0) -> FakeApp:
    """Turn the fixture's app into an RBAC-for-Applications-scoped app (its token will carry no Mail.Send)."""
    app = fake.apps[APP_ID]
    app.roles = RBAC_ROLES
    app.allowed_mailboxes = None
    app.set_exchange_scope(mailboxes, effective_in=effective_in)
    return app
