"""Run verify and audit against the fake tenant and print what an admin would see (used for the docs).

    cd tests && ../.venv/bin/python -m fakes.demo
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

from .fixtures import make_certificate
from .tenant import FakeApp, FakeTenant, SignIn

APP_ID = "6f1c3a52-8d0e-4f7b-9a41-2c5e7b9d0a13"
SCAN = Path(__file__).resolve().parent.parent / "fixtures" / "graph" / "scan.json"


def main() -> None:
    """Print a verify table and an audit summary produced against the fake."""
    workdir = Path(tempfile.mkdtemp(prefix="smtp2graph-demo-"))
    certs = make_certificate(workdir)
    now = datetime.now(timezone.utc)
    with FakeTenant(workdir=workdir) as fake:
        os.environ["REQUESTS_CA_BUNDLE"] = str(fake.ca_path)
        fake.add_app(FakeApp(APP_ID, "Contoso alerts sender", certificate_pem=certs.certificate_pem,
                             roles=("Mail.Send", "Application.Read.All", "AuditLog.Read.All"),
                             allowed_mailboxes={"alerts@contoso.com", "reports@contoso.com"}))
        fake.add_app(FakeApp("b2d4f6a8-0000-4000-8000-00000000c0de", "Legacy CRM mailer", roles=("Mail.Send",),
                             granted="2023-06-01T08:00:00Z"))
        fake.add_mailboxes("alerts@contoso.com", "reports@contoso.com", "ceo@contoso.com", "me@contoso.com")
        fake.throttle["reports@contoso.com"] = 1
        fake.sign_ins = [SignIn("svc-mail@contoso.com", now - timedelta(days=d), f"203.0.113.{10 + d % 2}",
                                error_code=50126 if d == 3 else 0) for d in (1, 2, 3)]
        fake.sign_ins.append(SignIn("scanner@contoso.com", now - timedelta(hours=5), "198.51.100.7"))
        options = ConnectionOptions(tenant=fake.tenant, client_id=APP_ID, certificate=certs.pem,
                                    authority_host=fake.authority_host, graph_url=fake.graph_url)
        out = io.StringIO()
        runtime = Runtime(stdout=out, sleep=lambda _s: None)
        print("$ smtp2graph verify --tenant contoso.onmicrosoft.com --client-id", APP_ID,
              "--certificate app.pem --senders-from scan.json --from ghost@contoso.com --to me@contoso.com "
              "--expect-denied ceo@contoso.com")
        code = verify_command(options, senders=["ghost@contoso.com"], senders_from=SCAN, to="me@contoso.com",
                              expect_denied=["ceo@contoso.com"], dry_run=False, output=OutputFormat.TABLE,
                              runtime=runtime)
        print(out.getvalue() + f"(exit code {code})\n")
        out.truncate(0), out.seek(0)
        fake.apps[APP_ID].allowed_mailboxes = None
        print("$ ... same app after its RBAC scope was removed: --from alerts@contoso.com --expect-denied ceo@contoso.com")
        code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                              expect_denied=["ceo@contoso.com"], dry_run=False, output=OutputFormat.TABLE,
                              runtime=runtime)
        print(out.getvalue() + f"(exit code {code})\n")
        out.truncate(0), out.seek(0)
        print("$ smtp2graph audit --tenant contoso.onmicrosoft.com --client-id", APP_ID,
              "--certificate app.pem --scan scan.json --days 30")
        code = audit_command(options, scan=SCAN, days=30, output=OutputFormat.TABLE, runtime=runtime)
        print(out.getvalue() + f"(exit code {code})")


if __name__ == "__main__":
    main()
