"""`smtp2graph verify` against the fake tenant: every outcome, scan senders, dry run, JSON, rate limit, exit codes."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner import __version__
from scanner.cli import app
from scanner.graph.commands import ConnectionOptions, Runtime, verify_command
from scanner.graph.formats import OutputFormat
from scanner.graph.ratelimit import MailboxRateLimiter
from scanner.graph.senders import load_scan, parse_address
from scanner.graph.verify import Expectation, build_targets

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


def run(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, senders: list[str] | None = None,
        senders_from: Path | None = None, expect_denied: list[str] | None = None, dry_run: bool = False,
        output: OutputFormat = OutputFormat.JSON, sleeps: list[float] | None = None) -> tuple[int, str, str]:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    recorded = sleeps if sleeps is not None else []
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url)
    code = verify_command(options, senders=senders or [], senders_from=senders_from, to="me@contoso.com",
                          expect_denied=expect_denied or [], dry_run=dry_run, output=output,
                          runtime=Runtime(stdout=out, stderr=err, sleep=recorded.append, now=lambda: NOW))
    return code, out.getvalue(), err.getvalue()


def results_by_sender(stdout: str) -> dict[str, dict[str, object]]:
    document = json.loads(stdout)
    return {r["sender"]: r for r in document["results"]}


def test_sent(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(tenant, monkeypatch, senders=["Alerts@Contoso.com"])
    assert code == 0
    result = results_by_sender(out)["alerts@contoso.com"]
    assert (result["outcome"], result["status"], result["ok"], result["expectation"]) == ("accepted", 202, True, "send")
    assert "queued" in str(result["message"]) and "cut-over" not in str(result["message"])
    sent = tenant.sent[0]
    assert sent["mailbox"] == "alerts@contoso.com" and sent["saveToSentItems"] is False
    message = sent["message"]
    assert message["subject"].startswith("[smtp2graph test]")
    assert APP_ID in message["body"]["content"] and "2026-11-26T15:00:00Z" in message["body"]["content"]
    assert message["toRecipients"] == [{"emailAddress": {"address": "me@contoso.com"}}]
    assert "app-only token" in err and "Mail.Send application role in the token" in err


def test_denied_as_expected(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 0
    result = results_by_sender(out)["ceo@contoso.com"]
    assert (result["outcome"], result["status"], result["ok"], result["expectation"]) == ("denied", 403, True, "denied")
    assert [s["mailbox"] for s in tenant.sent] == ["alerts@contoso.com"]


def test_not_scoped_fails_the_run(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].allowed_mailboxes = None  # tenant-wide Mail.Send, no RBAC scope
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 1
    result = results_by_sender(out)["ceo@contoso.com"]
    assert (result["outcome"], result["status"], result["ok"]) == ("not-scoped", 202, False)
    assert str(result["message"]).startswith("NOT SCOPED: the app can send as ceo@contoso.com")


def test_unknown_sender(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com", "ghost@contoso.com"])
    assert code == 1
    by_sender = results_by_sender(out)
    assert by_sender["alerts@contoso.com"]["ok"] is True
    ghost = by_sender["ghost@contoso.com"]
    assert (ghost["outcome"], ghost["status"], ghost["ok"]) == ("unknown-sender", 404, False)
    assert "primary SMTP address" in str(ghost["message"])


def test_in_scope_sender_denied_is_a_failure(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(tenant, monkeypatch, senders=["ceo@contoso.com"])
    assert code == 1
    result = results_by_sender(out)["ceo@contoso.com"]
    assert (result["outcome"], result["ok"]) == ("denied", False)
    assert "management scope" in str(result["message"])


def test_throttled_then_sent(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.throttle["alerts@contoso.com"] = 1
    tenant.retry_after = 1
    sleeps: list[float] = []
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"], sleeps=sleeps)
    assert code == 0
    assert results_by_sender(out)["alerts@contoso.com"]["outcome"] == "accepted"
    assert sleeps == [1.0]
    assert len([r for r in tenant.graph_requests() if r.path.endswith("/sendMail")]) == 2


def test_throttled_beyond_the_budget_is_an_error(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.throttle["alerts@contoso.com"] = 50
    tenant.retry_after = 100
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"])
    assert code == 1
    result = results_by_sender(out)["alerts@contoso.com"]
    assert (result["outcome"], result["status"], result["ok"]) == ("error", 429, False)


def test_senders_from_scan(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(tenant, monkeypatch, senders_from=FIXTURES / "scan.json", expect_denied=["ceo@contoso.com"])
    assert code == 0
    assert sorted(results_by_sender(out)) == ["alerts@contoso.com", "ceo@contoso.com", "reports@contoso.com"]
    assert sorted(s["mailbox"] for s in tenant.sent) == ["alerts@contoso.com", "reports@contoso.com"]


def test_verify_json_contract(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    document = json.loads(out)
    assert set(document) == {"schema_version", "kind", "tool", "app_id", "tenant", "generated_at", "verdict", "token",
                             "scope_changed_at", "notes", "credentials", "send_path", "skipped", "results"}
    assert document["schema_version"] == 2 and document["kind"] == "verify" and document["verdict"] == "pass"
    assert document["token"]["kind"] == "app-only" and document["token"]["mail_send_role"] is True
    assert document["tool"] == {"name": "smtp2graph", "version": __version__}
    assert document["app_id"] == APP_ID and document["tenant"] == TENANT
    assert document["generated_at"] == "2026-11-26T15:00:00Z"
    for result in document["results"]:
        assert set(result) == {"sender", "expectation", "outcome", "status", "code", "verdict", "ok", "message",
                               "request_id", "client_request_id", "date"}


def test_table_output(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].allowed_mailboxes = None
    code, out, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"],
                       output=OutputFormat.TABLE)
    assert code == 1
    lines = out.splitlines()
    alerts = next(line for line in lines if "alerts@contoso.com" in line)
    assert "OK accepted" in alerts and "202" in alerts
    ceo = next(line for line in lines if "ceo@contoso.com" in line)
    assert "FAIL not-scoped" in ceo and "NOT SCOPED" in ceo
    assert "2 checked: 1 proven, 1 failed, 0 inconclusive — verdict: FAIL" in out


def test_dry_run_prints_requests_and_contacts_nothing(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"],
                         dry_run=True)
    assert code == 0
    assert tenant.requests == [] and tenant.issued_tokens == []
    plan = json.loads(out)
    assert plan["kind"] == "verify-plan"
    assert [(p["sender"], p["purpose"], p["method"], p["url"]) for p in plan["plan"]] == [
        ("alerts@contoso.com", "send", "POST", f"{tenant.graph_url}/users/alerts@contoso.com/sendMail"),
        ("ceo@contoso.com", "expect-denied", "POST", f"{tenant.graph_url}/users/ceo@contoso.com/sendMail")]
    assert plan["plan"][0]["headers"]["Authorization"] == "Bearer ***"
    body = plan["plan"][0]["body"]
    assert body["saveToSentItems"] is False
    assert body["message"]["subject"] == "[smtp2graph test] Graph sendMail check for alerts@contoso.com"
    assert SECRET not in out + err
    assert "nothing sent" in err


def test_dry_run_needs_no_credential(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, graph_url=tenant.graph_url)
    code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                          expect_denied=[], dry_run=True, output=OutputFormat.TABLE,
                          runtime=Runtime(stdout=out, stderr=io.StringIO()))
    assert code == 0 and "sendMail" in out.getvalue() and tenant.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"senders": ["not an address"]}, "--from not an address: not an email address"),
        ({"senders": []}, "nothing to verify"),
        ({"senders_from": FIXTURES / "not-a-scan.json"}, "not-a-scan.json: not a smtp2graph scan report"),
        ({"senders_from": FIXTURES / "missing.json"}, "missing.json: scan report not found"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                          kwargs: dict[str, object], message: str) -> None:
    code, out, err = run(tenant, monkeypatch, **kwargs)  # type: ignore[arg-type]
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert tenant.requests == []


def test_auth_failure_is_exit_2(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].secret = "rotated"
    code, out, err = run(tenant, monkeypatch, senders=["alerts@contoso.com"])
    assert code == 2 and out == ""
    assert "AADSTS7000215" in err and SECRET not in err
    assert tenant.graph_requests() == []


def test_rate_limit_30_per_minute_per_mailbox() -> None:
    clock = [1000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    limiter = MailboxRateLimiter(clock=lambda: clock[0], sleep=sleep)
    for _ in range(30):
        assert limiter.acquire("alerts@contoso.com") == 0.0
    # Another mailbox has its own bucket.
    assert limiter.acquire("reports@contoso.com") == 0.0
    # The 31st message from the same mailbox waits for one token: 2 seconds at 30/minute.
    assert limiter.acquire("ALERTS@contoso.com") == pytest.approx(2.0)
    for _ in range(29):
        limiter.acquire("alerts@contoso.com")
    # Over any 60 s window, at most 30 sends (+ the initial burst) from one mailbox.
    assert clock[0] - 1000.0 == pytest.approx(60.0)
    clock[0] += 60
    assert limiter.acquire("alerts@contoso.com") == 0.0


def test_verify_uses_the_rate_limiter(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    acquired: list[str] = []

    class Recording(MailboxRateLimiter):
        def acquire(self, mailbox: str) -> float:
            acquired.append(mailbox)
            return 0.0

    monkeypatch.setattr("scanner.graph.ratelimit.MailboxRateLimiter", Recording)
    code, _, _ = run(tenant, monkeypatch, senders=["alerts@contoso.com", "reports@contoso.com"])
    assert code == 0 and acquired == ["alerts@contoso.com", "reports@contoso.com"]


def test_scan_reading() -> None:
    scanned = load_scan(FIXTURES / "scan.json")
    assert scanned.senders == {"reports@contoso.com": ["jobs/nightly-report.ps1"],
                               "alerts@contoso.com": ["alerts/disk-space.ps1"]}
    assert scanned.credential_users == {"svc-mail@contoso.com": ["jobs/nightly-report.ps1", "alerts/backup-check.ps1"]}


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("'Reports <Reports@Contoso.com>'", "reports@contoso.com"),
        ('"alerts@contoso.com"', "alerts@contoso.com"),
        ("alerts@contoso.com", "alerts@contoso.com"),
        ('"$env:USERNAME@contoso.com"', None),
        ("$from", None),
        ("'not an address'", None),
    ],
)
def test_parse_address(text: str, address: str | None) -> None:
    assert parse_address(text) == address


def test_targets_deduplicate_and_prefer_denied() -> None:
    targets = build_targets(["a@contoso.com", "A@contoso.com", "b@contoso.com"], ["b@contoso.com"])
    assert [(t.sender, t.expectation) for t in targets] == [("a@contoso.com", Expectation.SEND),
                                                            ("b@contoso.com", Expectation.DENIED)]


def test_cli_verify_end_to_end(tenant: FakeTenant, cert_files: object, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, [
        "verify", "--tenant", TENANT, "--client-id", APP_ID, "--certificate", str(cert_files.pem),  # type: ignore[attr-defined]
        "--from", "alerts@contoso.com", "--to", "me@contoso.com", "--expect-denied", "ceo@contoso.com",
        "--authority-host", tenant.authority_host, "--graph-url", tenant.graph_url, "--format", "json",
    ])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(r["sender"], r["outcome"]) for r in document["results"]] == [("alerts@contoso.com", "accepted"),
                                                                          ("ceo@contoso.com", "denied")]


def test_cli_overrides_from_environment(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_AUTHORITY_HOST", tenant.authority_host)
    monkeypatch.setenv("SMTP2GRAPH_GRAPH_URL", tenant.graph_url)
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    result = CliRunner().invoke(app, ["verify", "--tenant", TENANT, "--client-id", APP_ID,
                                      "--from", "alerts@contoso.com", "--to", "me@contoso.com"])
    assert result.exit_code == 0, result.output
    assert "OK accepted" in result.stdout


def test_cli_has_no_secret_argument() -> None:
    result = CliRunner().invoke(app, ["verify", "--client-secret", "abc", "--to", "me@contoso.com"])
    assert result.exit_code == 2
    help_text = CliRunner().invoke(app, ["verify", "--help"]).stdout
    assert "--client-secret " not in help_text and "--secret-env" in help_text
    # The test-only overrides are hidden from --help.
    assert "--graph-url" not in help_text and "--authority-host" not in help_text
