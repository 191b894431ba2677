"""Merging scan and audit documents into the report model (summary tiles, senders, masking, scale)."""

from __future__ import annotations

import copy
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from scanner.reports.model import ReportInputError
from scanner.reports.builder import classify_document, mask_secrets, merge_documents
from scanner.reports.command import render_files

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
sys.path.insert(0, str(FIXTURES))
from report_corpus import synthetic_scan  # noqa: E402

GRAPH_APIS = {"graph-sendmail", "send-mgusermail"}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture()
def documents() -> list[dict[str, Any]]:
    return [load("scan-ops.json"), load("scan-hr.json"), load("scan-xss.json"), load("audit-contoso.json")]


def expected_tiles(documents: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """The tile definitions of docs/report.md, evaluated straight on the raw fixture data."""
    def legacy(f: dict) -> bool:
        api = (f.get("call") or {}).get("api")
        return f["rule"].startswith("SMTP") and api not in GRAPH_APIS

    def needs_migration(f: dict) -> bool:
        return legacy(f) and verdict(f) is not False  # a call the retirement does not touch needs no work

    def fixable(f: dict, how: str) -> bool:
        return needs_migration(f) and f["fix"]["available"] and f["fix"]["applicability"] == how

    def verdict(f: dict) -> object:
        return (f.get("assessment") or {}).get("breaks")

    def server(f: dict) -> object:
        return (f.get("assessment") or {}).get("server")

    def no_password_on_exo(f: dict) -> bool:
        a = f.get("assessment") or {}
        return a.get("server") == "exchange-online-submission" and a.get("credential") in ("none", "default-windows-logon")

    predicates = {
        "will-break": lambda f: legacy(f) and verdict(f) is True and server(f) != "outlook-consumer",
        "may-break": lambda f: legacy(f) and verdict(f) is None and not no_password_on_exo(f),
        "already-broken": lambda f: legacy(f) and (
            (verdict(f) is True and server(f) == "outlook-consumer") or (verdict(f) is None and no_password_on_exo(f))),
        "not-affected": lambda f: legacy(f) and verdict(f) is False,
        "ews-send": lambda f: (f.get("call") or {}).get("api") == "ews" and (f.get("call") or {}).get("sent", True),
        "fix-safe": lambda f: fixable(f, "safe"),
        "fix-unsafe": lambda f: fixable(f, "unsafe"),
        "manual": lambda f: needs_migration(f) and not fixable(f, "safe") and not fixable(f, "unsafe"),
        "graph": lambda f: f["rule"].startswith("GRAPH") or (f.get("call") or {}).get("api") in GRAPH_APIS,
        "secret": lambda f: f["rule"].startswith("SEC"),
    }
    result = {}
    for key, predicate in predicates.items():
        hits = [(d["root"], f["path"]) for d in documents if d.get("kind") != "audit" for f in d["findings"] if predicate(f)]
        result[key] = (len(set(hits)), len(hits))
    return result


def test_tiles_count_scripts_and_findings(documents: list[dict[str, object]]) -> None:
    report = merge_documents(documents)
    tiles = {tile.key: (tile.scripts, tile.findings) for tile in report.summary.tiles}
    assert tiles == expected_tiles(documents)
    # Hand-checked against the fixtures: one plain-text password, two Graph scripts, six breaking calls.
    assert tiles["secret"] == (1, 1)
    assert tiles["graph"] == (2, 2)
    assert tiles["will-break"][1] == 6
    # SMTP006 (server unknown) and the dynamic xss call: no verdict, so they may break; none is called fine.
    assert tiles["may-break"] == (2, 2)
    assert tiles["not-affected"] == (1, 1)
    assert sum(report.summary.by_triage.values()) == report.summary.findings
    assert [(w.step, w.findings) for w in report.summary.work_order] == [(1, 1), (2, 5), (3, 2), (4, 4)]
    assert report.summary.findings == 12
    assert report.summary.by_severity == {"critical": 2, "high": 4, "medium": 2, "low": 2, "info": 2}
    assert all(report.summary.by_api[api] >= 1 for api in ("send-mailmessage", "smtpclient", "mailkit", "cdo",
                                                             "system-web-mail", "outlook-com", "graph-sendmail", "send-mgusermail"))


def test_days_left_comes_from_the_newest_document(documents: list[dict[str, object]]) -> None:
    report = merge_documents(documents)
    assert report.generated_at == "2026-11-26T15:00:00Z"  # scan-ops is the newest document
    assert report.days_left == 35
    assert merge_documents(documents, now=datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)).days_left == 0
    assert merge_documents(documents, now=datetime(2027, 1, 10)).days_left == -10
    assert report.deadline == "2026-12-31" and report.deadline_text == "end of December 2026"


def test_senders_group_scripts_and_list_dynamic_ones(documents: list[dict[str, object]]) -> None:
    """The Senders section is the scan's one sender list (scanner.estate.senders), across the merged scans."""
    report = merge_documents(documents)
    by_mailbox = {sender.mailbox: sender for sender in report.senders}
    # hr@ sends through Graph in one script (its own app) and over SMTP in another: the SMTP call is why
    # the new app needs it, and only that call is listed.
    hr = by_mailbox["hr@contoso.com"]
    assert [(s.repo, s.path) for s in hr.scripts] == [("hr-automation", "onboarding/Legacy-Notify.ps1")]
    assert hr.verdicts == ["breaks"]
    assert by_mailbox["alerts@contoso.com"].credentials == ["explicit"]
    assert by_mailbox["alerts@contoso.com"].credential_users == ["svc-mail@contoso.com"]
    excluded = {e.mailbox: e for e in report.excluded_senders}
    assert "direct send" in excluded["scanner@contoso.com"].reason  # the retirement does not touch it
    assert "already sends through Microsoft Graph" in excluded["reports@contoso.com"].reason
    assert not set(by_mailbox) & set(excluded)
    dynamic = {(d.repo, d.path): d for d in report.dynamic_senders}
    # An Outlook draft is sent by a person from their own profile: no sender for the app to scope.
    assert set(dynamic) == {
        ("ops-scripts", "legacy/Send-CDO.vbs.ps1"), ("hr-automation", "onboarding/Welcome.ps1"), ("evil<b>repo</b>", "xss/dynamic.ps1")}
    assert dynamic[("ops-scripts", "legacy/Send-CDO.vbs.ps1")].reason == "$from: assigned in a loop over $config.Senders"
    assert dynamic[("hr-automation", "onboarding/Welcome.ps1")].verdict == "breaks"
    # A secret finding has no call: it is neither a sender nor a dynamic sender.
    assert all(s.path != "reports/Disk-Alert.ps1" or s.repo != "ops-scripts" for s in report.dynamic_senders)


def test_audit_errors_and_unused_suppressions_are_kept(documents: list[dict[str, object]]) -> None:
    report = merge_documents(documents)
    assert [a["tenant"] for a in report.audits] == ["contoso.onmicrosoft.com"]
    assert {(e["repo"], e["path"]) for e in report.errors} >= {("ops-scripts", "bin/tool.ps1")}
    assert report.unused_suppressions == [{"path": "reports/Old.ps1", "line": 3, "rules": ["SMTP001"], "repo": "ops-scripts"}]
    assert report.filters["repo"] == ["ops-scripts", "hr-automation", "evil<b>repo</b>"]
    assert report.filters["fix"] == ["safe", "unsafe", "display-only", "none"]


def test_same_root_twice_stays_distinguishable() -> None:
    one, two = synthetic_scan(3, seed=1, root="."), synthetic_scan(4, seed=2, root=".")
    report = merge_documents([one, two])
    assert [r.name for r in report.repositories] == [".", ". (2)"]
    assert {f["repo"] for f in report.findings} == {".", ". (2)"}


def test_inputs_are_not_modified_and_secrets_are_masked(documents: list[dict[str, object]]) -> None:
    before = copy.deepcopy(documents)
    report = merge_documents(documents)
    assert documents == before
    assert "Winter2026!" in json.dumps(before)  # the fixture plays a scanner that forgot to mask
    assert "Winter2026!" not in json.dumps(report.to_json())


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("$sec = ConvertTo-SecureString 'Winter2026!' -AsPlainText -Force", "$sec = ConvertTo-SecureString '****' -AsPlainText -Force"),
        ("$password = \"hunter22\"", "$password = \"****\""),
        ("-ClientSecret 'abc~def.123'", "-ClientSecret '****'"),
        ("$pw = $env:SMTP_PASSWORD", "$pw = $env:SMTP_PASSWORD"),
        ("$pw = \"$prefix-x\"", "$pw = \"$prefix-x\""),
        ("-Subject 'Password reset'", "-Subject 'Password reset'"),
    ],
)
def test_mask_secrets(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
    assert mask_secrets(masked) == masked


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "expected a JSON object, got list"),
        ({"findings": []}, "no 'schema_version'"),
        ({"schema_version": "1.0", "findings": {}}, "'findings' list"),
        ({"schema_version": "1.0", "findings": [{"rule": "SMTP001"}]}, "finding #1 has no 'rule'/'path'"),
        ({"kind": "audit", "mail_send_apps": {}}, "'smtp_auth_signins'"),
    ],
)
def test_bad_documents_are_rejected_with_a_reason(document: object, reason: str) -> None:
    with pytest.raises(ReportInputError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        classify_document(document)


def test_render_files_skips_unusable_files(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json", encoding="utf-8")
    not_scan = tmp_path / "other.json"
    not_scan.write_text('{"hello": 1}', encoding="utf-8")
    result = render_files([FIXTURES / "scan-hr.json", bad_json, not_scan, tmp_path / "missing.json"], "markdown")
    assert result.documents == 1
    assert [str(p) for p in result.problems] == [
        f"{bad_json}: invalid JSON at line 1 column 2: Expecting property name enclosed in double quotes",
        f"{not_scan}: no 'schema_version': not a smtp2graph scan or audit document",
        f"{tmp_path / 'missing.json'}: no such file",
    ]
    assert result.text is not None and "hr-automation" in result.text
    assert render_files([bad_json], "html").text is None


def test_merging_hundreds_of_files_keeps_every_repository_and_finding(tmp_path: Path) -> None:
    # How the merge scales with the number of files is measured by bench/report_scale.py, not here.
    paths = []
    for index in range(400):
        path = tmp_path / f"scan-{index}.json"
        path.write_text(json.dumps(synthetic_scan(10, seed=index, root=f"repo-{index}", scripts=4)), encoding="utf-8")
        paths.append(path)
    from scanner.reports.builder import ReportBuilder
    from scanner.reports.command import iter_documents

    builder = ReportBuilder()
    problems: list = []
    for document in iter_documents(paths, problems):
        builder.add(document)
    report = builder.build()
    assert not problems
    assert len(report.repositories) == 400 and len(report.findings) == 4000
    assert sorted(r.name for r in report.repositories) == sorted(f"repo-{i}" for i in range(400))


def test_many_scans_of_the_same_root_get_numbered_names() -> None:
    documents = [synthetic_scan(1, seed=n, root=".") for n in range(300)] + [synthetic_scan(1, seed=9, root=". (2)")]
    names = [r.name for r in merge_documents(documents).repositories]
    assert names[:3] == [".", ". (2)", ". (3)"] and names[299] == ". (300)"
    assert names[300] == ". (2) (2)"  # a root that looks like a generated name still stays unique
    assert len(set(names)) == len(names)


def _dated(document: dict[str, Any], stamp: str, keep: int) -> dict[str, Any]:
    copy_ = copy.deepcopy(document)
    copy_["generated_at"] = stamp
    copy_["findings"] = copy_["findings"][:keep]
    return copy_


def test_scans_of_one_repository_from_several_dates_burn_down() -> None:
    ops, hr = load("scan-ops.json"), load("scan-hr.json")
    history = [_dated(ops, "2026-10-01T08:00:00Z", 6), _dated(hr, "2026-10-15T08:00:00Z", 4),
               _dated(ops, "2026-11-01T08:00:00Z", 2), ops]
    report = merge_documents(history)
    # The newest scan of each repository provides the findings: nothing is counted twice.
    assert [r.name for r in report.repositories] == ["hr-automation", "ops-scripts"]
    assert report.summary.findings == len(ops["findings"]) + len(hr["findings"])
    assert len({f["id"] for f in report.findings}) == report.summary.findings
    breaking = {name: sum(1 for f in d["findings"] if (f.get("assessment") or {}).get("breaks") is True)
                for name, d in (("ops", ops), ("hr", hr))}
    points = [(p.date, p.will_break) for p in report.burndown]
    assert points == [
        ("2026-10-01", breaking["ops"]),  # only ops scanned yet
        ("2026-10-15", breaking["ops"] + breaking["hr"]),
        ("2026-11-01", 2 + breaking["hr"]),  # the ops scan of November holds its first two findings, both breaking
        ("2026-11-26", breaking["ops"] + breaking["hr"]),
    ]
    # One date only: no burn-down.
    assert merge_documents([ops, hr]).burndown == []
    # An older scan arriving after the newer one is history only.
    late = merge_documents([ops, _dated(ops, "2026-09-01T00:00:00Z", 1)])
    assert [r.name for r in late.repositories] == ["ops-scripts"] and late.summary.findings == len(ops["findings"])
