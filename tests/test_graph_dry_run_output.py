"""verify and audit before anything is sent (issue 25 item 5): `verify --dry-run` prints its plan and one request
(not every body), `audit --dry-run` lists the reads the audit really makes, both write to `--output`, and a
connection failure names the proxy setting (masked) and the CA bundle."""

from __future__ import annotations

import io
import json
import socket
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
SENDERS = ["alerts@contoso.com", "reports@contoso.com", "helpdesk@contoso.com", "backup@contoso.com",
           "licensing@contoso.com"]


def options_for(fake: FakeTenant) -> ConnectionOptions:
    return ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host, graph_url=fake.graph_url)


def verify(options: ConnectionOptions, **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    arguments: dict[str, object] = {"senders": ["alerts@contoso.com"], "senders_from": None, "to": "me@contoso.com",
                                    "expect_denied": [], "dry_run": False, "output": OutputFormat.TABLE}
    arguments.update(kwargs)
    code = verify_command(options, runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW),
                          **arguments)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def audit(options: ConnectionOptions, **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    arguments: dict[str, object] = {"scan": None, "days": 30, "output": OutputFormat.TABLE}
    arguments.update(kwargs)
    code = audit_command(options, runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW),
                         **arguments)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_verify_dry_run_shows_the_plan_and_one_request(tenant: FakeTenant) -> None:
    code, out, err = verify(options_for(tenant), senders=SENDERS, expect_denied=["ceo@contoso.com"], dry_run=True)
    assert code == 0 and tenant.requests == []
    for sender in [*SENDERS, "ceo@contoso.com"]:
        assert f"/users/{sender}/sendMail" in out  # every sender is in the plan table
    assert out.count('"saveToSentItems": false') == 1  # one request in full, not six
    assert "Graph sendMail check for alerts@contoso.com" in out
    assert "Graph sendMail check for reports@contoso.com" not in out
    assert "The other 5 request(s) differ only in the sender" in out and "--format json shows each in full" in out
    assert len(out.splitlines()) < 60
    assert "dry run: 6 request(s) planned, nothing sent, no token requested" in err


def test_verify_dry_run_json_still_holds_every_request(tenant: FakeTenant) -> None:
    code, out, _ = verify(options_for(tenant), senders=SENDERS, dry_run=True, output=OutputFormat.JSON)
    assert code == 0
    assert [p["body"]["message"]["subject"][-len(s):] for p, s in zip(json.loads(out)["plan"], SENDERS)] == SENDERS


def test_verify_output_writes_the_result_to_a_file(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    target = tmp_path / "evidence" / "verify.json"
    code, out, err = verify(options_for(tenant), output=OutputFormat.JSON, output_file=target)
    assert code == 0 and out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["verdict"] == "pass"
    assert f"smtp2graph: created the folder {target.parent} for the verify result" in err
    assert f"wrote the verify result to {target}" in err
    assert SECRET not in target.read_text(encoding="utf-8") + err


def test_verify_dry_run_output_writes_the_plan(tenant: FakeTenant, tmp_path: Path) -> None:
    target = tmp_path / "plan.txt"
    code, out, _ = verify(options_for(tenant), dry_run=True, output_file=target)
    assert code == 0 and out == "" and "the plan (nothing is sent)" in target.read_text(encoding="utf-8")


def test_audit_dry_run_contacts_nothing_and_names_each_permission(tenant: FakeTenant) -> None:
    # No credential at all: a dry run reads none.
    code, out, err = audit(options_for(tenant), dry_run=True)
    assert code == 0 and tenant.requests == [] and tenant.issued_tokens == []
    for permission in ("Application.Read.All", "AuditLog.Read.All", "Reports.Read.All", "Directory.Read.All"):
        assert f"needs {permission}" in out
    assert f"POST https://{tenant.authority_host}/{TENANT}/oauth2/v2.0/token" in out
    assert "Entra ID P1 or P2" in out and "Every request is a GET" in out
    assert "dry run: 8 read(s) planned, nothing sent, no token requested" in err


def test_audit_dry_run_lists_the_reads_the_audit_really_makes(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """The plan and the audit cannot drift apart: every read of a real audit is a planned one."""
    tenant.add_app(FakeApp("b2d4f6a8-0000-4000-8000-00000000c0de", "Legacy CRM mailer", roles=("Mail.Send",)))
    target = tmp_path / "plans" / "audit-plan.json"
    code, out, err = audit(options_for(tenant), dry_run=True, output=OutputFormat.JSON, output_file=target)
    assert code == 0 and out == "" and "created the folder" in err
    plan = json.loads(target.read_text(encoding="utf-8"))
    assert plan["kind"] == "audit-plan"
    planned = {(p["method"], urlsplit(p["url"]).path) for p in plan["plan"] if p["method"] != "-"}
    planned_queries = {urlsplit(p["url"]).path: urlsplit(p["url"]).query for p in plan["plan"]}

    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    code, _, _ = audit(options_for(tenant), output=OutputFormat.JSON)
    assert code == 0
    graph_path = urlsplit(tenant.graph_url).path
    made = [r for r in tenant.graph_requests()]
    assert made
    for request in made:
        path = unquote(request.path)
        if path.startswith(graph_path + "/servicePrincipals/") and "(" not in path:
            continue  # the per-app lookups the plan names in its notes
        assert ("GET", path) in planned, path
        for name in request.query:
            if name != "$skiptoken":  # a next page: its link comes from Graph
                assert name in unquote(planned_queries[path]), (path, name)
    assert {path for _, path in planned} == {unquote(r.path) for r in made if "(" in r.path or not
                                             r.path.startswith(graph_path + "/servicePrincipals/")}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_connection_failure_names_no_proxy_when_none_is_set(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=f"127.0.0.1:{closed_port()}",
                                graph_url=tenant.graph_url, timeout=5)
    code, out, err = verify(options)
    assert code == 2 and out == ""
    assert err.startswith("smtp2graph: error: cannot reach ") and "127.0.0.1" in err
    assert "no proxy is set" in err and "HTTPS_PROXY=" in err and "REQUESTS_CA_BUNDLE=" in err
    assert len(err.strip().splitlines()) == 1 and SECRET not in err


def test_a_connection_failure_names_the_proxy_it_went_through_masked(tenant: FakeTenant,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://svc-proxy:Pr0xyPassw0rd@127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    code, out, err = verify(options_for(tenant))
    assert code == 2 and out == ""
    assert f"the request went through the proxy HTTPS_PROXY=http://***@127.0.0.1:{port}" in err
    assert "Pr0xyPassw0rd" not in err and "svc-proxy" not in err
    code, _, err = audit(options_for(tenant))
    assert code == 2 and f"HTTPS_PROXY=http://***@127.0.0.1:{port}" in err and "Pr0xyPassw0rd" not in err
    assert tenant.requests == []  # nothing reached the tenant around the proxy
