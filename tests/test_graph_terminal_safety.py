"""Terminal safety of verify, audit and the CLI's own error lines (issue 12 item 4).

What the tenant returns (an app's display name, a sign-in's account) and what a user or a scan
report passes in (a sender, an option value) may hold ESC, OSC, BEL, CR, newlines or C1 controls.
Printed raw, they recolour or retitle the terminal, plant links or forge a line ("verdict: PASS").
Every such character must reach the terminal as a visible escape, in the table and JSON outputs
and on stderr.
"""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant, SignIn

from scanner.graph.commands import (
    ConnectionOptions,
    Runtime,
    audit_command,
    verify_command,
)
from scanner.graph.formats import OutputFormat

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
HOSTILE_NAME = "Mailer\x1b]0;owned\x07\x1b[2J\rverdict: PASS\nforged line\x9b31m\u202e"
FORGED = re.compile(r"^(verdict: PASS|forged line)", re.MULTILINE)


def _options(fake: FakeTenant) -> ConnectionOptions:
    return ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                             graph_url=fake.graph_url)


def _clean(text: str, where: str) -> None:
    bad = RAW_CONTROL.search(text)
    assert bad is None, f"{where}: raw {bad.group()!r}: {text[max(0, bad.start() - 60): bad.start() + 20]!r}"
    assert FORGED.search(text) is None, f"{where}: a value forged a line of its own"


def _audit(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, output: OutputFormat) -> tuple[int, str, str]:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    code = audit_command(_options(fake), scan=None, days=30, output=output,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    return code, out.getvalue(), err.getvalue()


def _hostile_tenant(fake: FakeTenant) -> None:
    fake.add_app(FakeApp("d4f6a8b2-0000-4000-8000-00000000dead", HOSTILE_NAME, roles=("Mail.Send",)))
    fake.sign_ins = [SignIn("svc\x1b[31m@contoso.com", NOW - timedelta(days=1), "203.0.113.10")]


@pytest.mark.parametrize("output", [OutputFormat.TABLE, OutputFormat.JSON])
def test_audit_escapes_what_the_tenant_returns(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                               output: OutputFormat) -> None:
    _hostile_tenant(tenant)
    code, out, err = _audit(tenant, monkeypatch, output)
    assert code == 0, err
    _clean(out, f"audit {output.value} stdout")
    _clean(err, f"audit {output.value} stderr")
    if output is OutputFormat.JSON:
        names = [a["display_name"] for a in json.loads(out)["mail_send_apps"]["items"]]
        assert HOSTILE_NAME in names  # the same value, only written with escapes
    else:
        assert "Mailer\\x1b]0;owned\\x07" in out  # shown, visibly escaped
        assert "svc\\x1b[31m@contoso.com" in out


def test_audit_written_to_a_file_is_escaped_too(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                tmp_path) -> None:  # type: ignore[no-untyped-def]
    _hostile_tenant(tenant)
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    target = tmp_path / "audit.txt"
    out, err = io.StringIO(), io.StringIO()
    code = audit_command(_options(tenant), scan=None, days=30, output=OutputFormat.TABLE, output_file=target,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    assert code == 0, err.getvalue()
    _clean(target.read_text(encoding="utf-8"), "audit file")


@pytest.mark.parametrize("output", [OutputFormat.TABLE, OutputFormat.JSON])
def test_verify_dry_run_escapes_a_hostile_sender(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                 output: OutputFormat) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    code = verify_command(_options(tenant), senders=["alerts@contoso.com", "ev\x1b]8;;http://x\x07il\n@contoso.com"],
                          senders_from=None, to="me@contoso.com", expect_denied=[], dry_run=True, output=output,
                          runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    _clean(out.getvalue(), f"verify {output.value} stdout")
    _clean(err.getvalue(), f"verify {output.value} stderr")
    assert code in (0, 2)
    assert "\\x1b]8;;http://x\\x07" in out.getvalue() + err.getvalue()  # the value is shown, escaped


def test_verify_table_escapes_a_graph_error_message(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A sender refused by Graph: the result row and message carry what Graph said; nothing raw is printed."""
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    code = verify_command(_options(tenant), senders=["nobody\x1b[5m@contoso.com"], senders_from=None,
                          to="me@contoso.com", expect_denied=[], dry_run=False, output=OutputFormat.TABLE,
                          runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    _clean(out.getvalue(), "verify table stdout")
    _clean(err.getvalue(), "verify table stderr")
    assert code != 0
    assert "nobody\\x1b[5m@contoso.com" in out.getvalue() + err.getvalue()


def test_cli_usage_error_escapes_the_offending_value() -> None:
    from scanner.cli import app
    from scanner.errors import run_cli

    err = io.StringIO()
    code = run_cli(app, ["scan", ".", "--format", "x\x1b[31m\nverdict: PASS"], err=err)
    assert code == 2
    _clean(err.getvalue(), "usage error")
    assert err.getvalue().count("\n") == 1  # one line
