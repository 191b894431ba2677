"""Run verify and audit against the fake tenant and print what an admin would see (used for the docs).

    cd tests && ../.venv/bin/python -m fakes.demo

Scenarios: the recommended RBAC-scoped app, the same app's scope just changed (propagation), a
delegated (device code) token, tenant-wide consent added on top of the scope, and the audit.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

from .fixtures import make_certificate
from .tenant import FakeApp, FakeTenant, SignIn

APP_ID = "6f1c3a52-8d0e-4f7b-9a41-2c5e7b9d0a13"
SCAN = Path(__file__).resolve().parent.parent / "fixtures" / "graph" / "scan.json"
COMMAND = f"smtp2graph verify --tenant contoso.onmicrosoft.com --client-id {APP_ID}"


def _run(title: str, options: ConnectionOptions, **kwargs: Any) -> None:
    out = io.StringIO()
    runtime = Runtime(stdout=out, stderr=out, sleep=lambda _s: None)
    print(f"$ {title}")
    args: dict[str, Any] = {"senders": [], "senders_from": None, "to": "me@contoso.com", "expect_denied": [],
                            "dry_run": False, "output": OutputFormat.TABLE}
    args.update(kwargs)
    code = verify_command(options, runtime=runtime, **args)
    print(out.getvalue() + f"(exit code {code})\n")


def main() -> None:
    """Print verify tables and an audit produced against the fake."""
    workdir = Path(tempfile.mkdtemp(prefix="smtp2graph-demo-"))
    certs = make_certificate(workdir)
    now = datetime.now(timezone.utc)
    with FakeTenant(workdir=workdir) as fake:
        os.environ["REQUESTS_CA_BUNDLE"] = str(fake.ca_path)
        # The recommended setup: no Entra Mail.Send consent; Exchange RBAC for Applications scope.
        scoped = fake.add_app(FakeApp(APP_ID, "Contoso alerts sender", certificate_pem=certs.certificate_pem,
                                      roles=("Application.Read.All", "AuditLog.Read.All", "User.Read.All",
                                             "Reports.Read.All"), public_client=True))
        scoped.set_exchange_scope({"alerts@contoso.com", "reports@contoso.com"})
        fake.add_app(FakeApp("b2d4f6a8-0000-4000-8000-00000000c0de", "Legacy CRM mailer", roles=("Mail.Send",),
                             granted="2023-06-01T08:00:00Z"))
        fake.add_mailboxes("alerts@contoso.com", "reports@contoso.com", "ceo@contoso.com", "me@contoso.com",
                           "helpdesk@contoso.com")
        helpdesk = fake.add_app(FakeApp("d4e6f8a0-0000-4000-8000-0000000decaf", "Helpdesk ticketing",
                                        roles=("User.Read.All",)))
        fake.delegated_grants = [{"clientId": helpdesk.service_principal_id, "consentType": "AllPrincipals",
                                  "scope": "User.Read Mail.Send"}]
        fake.email_app_usage = [{"upn": "svc-mail@contoso.com", "display_name": "Mail service", "smtp": True},
                                {"upn": "printer@contoso.com", "display_name": "Floor 3 printer", "smtp": True},
                                {"upn": "ceo@contoso.com", "display_name": "CEO", "outlook": True}]
        fake.throttle["reports@contoso.com"] = 1
        fake.sign_ins = [SignIn("svc-mail@contoso.com", now - timedelta(days=d), f"203.0.113.{10 + d % 2}",
                                error_code=50126 if d == 3 else 0) for d in (1, 2, 3)]
        fake.sign_ins.append(SignIn("scanner@contoso.com", now - timedelta(hours=5), "198.51.100.7"))
        # Someone guessing passwords: every SMTP AUTH sign-in of this account failed.
        fake.sign_ins += [SignIn("finance@contoso.com", now - timedelta(hours=h), "192.0.2.66", error_code=50126)
                          for h in (1, 2, 3, 4)]
        options = ConnectionOptions(tenant=fake.tenant, client_id=APP_ID, certificate=certs.pem,
                                    authority_host=fake.authority_host, graph_url=fake.graph_url)

        _run(f"{COMMAND} --certificate app.pem --senders-from scan.json --to me@contoso.com "
             "--expect-denied ceo@contoso.com      # scoped app (RBAC for Applications)",
             options, senders_from=SCAN, expect_denied=["ceo@contoso.com"])

        # helpdesk@ was added to the scope ten minutes ago; Exchange still applies the old scope.
        scoped.set_exchange_scope({"alerts@contoso.com", "reports@contoso.com", "helpdesk@contoso.com"},
                                  effective_in=3600)
        _run(f"{COMMAND} --certificate app.pem --from alerts@contoso.com --from helpdesk@contoso.com "
             "--to me@contoso.com --expect-denied ceo@contoso.com --scope-changed-at 10m      # propagation",
             options, senders=["alerts@contoso.com", "helpdesk@contoso.com"], expect_denied=["ceo@contoso.com"],
             scope_changed_at="10m")

        fake.device_user = "alerts@contoso.com"
        delegated = ConnectionOptions(tenant=fake.tenant, client_id=APP_ID, device_code=True,
                                      token_cache=workdir / "token-cache.json",
                                      authority_host=fake.authority_host, graph_url=fake.graph_url)
        _run(f"{COMMAND} --device-code --from alerts@contoso.com --to me@contoso.com "
             "--expect-denied ceo@contoso.com      # delegated token", delegated,
             senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])

        out = io.StringIO()
        print(f"$ smtp2graph audit --tenant contoso.onmicrosoft.com --client-id {APP_ID} --device-code "
              "--scan scan.json --days 30      # delegated token (its own token cache)")
        delegated.token_cache = workdir / "audit-token-cache.json"
        code = audit_command(delegated, scan=SCAN, days=30, output=OutputFormat.TABLE,
                             runtime=Runtime(stdout=out, stderr=out, sleep=lambda _s: None))
        print(out.getvalue() + f"(exit code {code})\n")

        scoped.roles = scoped.roles + ("Mail.Send",)
        _run(f"{COMMAND} --certificate app.pem --from alerts@contoso.com --to me@contoso.com "
             "--expect-denied ceo@contoso.com      # tenant-wide Mail.Send consent added on top of the scope",
             options, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
        scoped.roles = tuple(r for r in scoped.roles if r != "Mail.Send")

        out = io.StringIO()
        print(f"$ smtp2graph audit --tenant contoso.onmicrosoft.com --client-id {APP_ID} "
              "--certificate app.pem --scan scan.json --days 30")
        code = audit_command(options, scan=SCAN, days=30, output=OutputFormat.TABLE,
                             runtime=Runtime(stdout=out, stderr=out, sleep=lambda _s: None))
        print(out.getvalue() + f"(exit code {code})")


if __name__ == "__main__":
    main()
