"""Project configuration and baselines with the rules of issue 3 (SEC, GRAPH bugs, other legacy senders)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scanner.reports.formats import Format
from scanner.reports.render import render
from scanner.run import ScanRequest, UsageError, execute_scan

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "breadth"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "scripts"
    (root / "legacy").mkdir(parents=True)
    (root / "graph").mkdir()
    (root / "vendor").mkdir()
    for name in ("cdo_send.ps1", "mailkit_password.ps1", "webmail_message.ps1"):
        shutil.copy(FIXTURES / name, root / "legacy" / name)
    for name in ("graph_json_depth.ps1", "graph_content_types.ps1", "secrets_token.ps1"):
        shutil.copy(FIXTURES / name, root / "graph" / name)
    shutil.copy(FIXTURES / "outlook_send.ps1", root / "vendor" / "outlook_send.ps1")
    return root


def _scan(root: Path, **kwargs: object) -> list[tuple[str, str, str]]:
    result, _ = execute_scan(ScanRequest(paths=[root], use_cache=False, jobs=1, quiet=True, **kwargs))  # type: ignore[arg-type]
    return sorted((f.location.path, f.rule, f.severity.value) for f in result.findings)


def test_without_configuration_every_rule_runs(tree: Path) -> None:
    rules = {rule for _, rule, _ in _scan(tree)}
    assert {"SMTP003", "SMTP004", "SMTP005", "SMTP006", "GRAPH002", "GRAPH004", "SEC002", "SEC004"} <= rules


def test_toml_select_ignore_severity_per_path_and_exclude(tree: Path) -> None:
    (tree / ".smtp2graph.toml").write_text(
        'select = ["SMTP", "SEC", "GRAPH002"]\n'
        'ignore = ["SEC004"]\n'
        'exclude = ["vendor/**"]\n'
        "[severity]\n"
        'SMTP005 = "critical"\n'
        "[per-path-ignores]\n"
        '"legacy/mailkit_*.ps1" = ["SMTP003", "SEC"]\n',
        encoding="utf-8",
    )
    found = _scan(tree)
    rules = {rule for _, rule, _ in found}
    assert "SEC004" not in rules  # ignored
    assert "GRAPH004" not in rules and "GRAPH001" not in rules  # not selected
    assert "GRAPH002" in rules and "SEC002" in rules
    assert not [f for f in found if f[0].startswith("vendor/")]  # excluded
    assert not [f for f in found if f[0] == "legacy/mailkit_password.ps1"]  # per-path ignore of a call rule and a file rule
    assert {sev for _, rule, sev in found if rule == "SMTP005"} == {"critical"}


def test_pyproject_tool_section(tree: Path) -> None:
    (tree / "pyproject.toml").write_text('[tool.smtp2graph]\nignore = ["GRAPH", "SEC"]\n', encoding="utf-8")
    rules = {rule for _, rule, _ in _scan(tree)}
    assert rules and not {r for r in rules if r.startswith(("GRAPH", "SEC"))}


def test_unknown_rule_in_configuration_is_a_usage_error(tree: Path) -> None:
    (tree / ".smtp2graph.toml").write_text('ignore = ["SEC999"]\n', encoding="utf-8")
    with pytest.raises(UsageError, match="SEC999"):
        _scan(tree)


def test_baseline_matches_by_fingerprint_not_line(tree: Path, tmp_path: Path) -> None:
    result, _ = execute_scan(ScanRequest(paths=[tree], use_cache=False, jobs=1, quiet=True))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(render(result, Format.JSON), encoding="utf-8")
    assert json.loads(baseline.read_text(encoding="utf-8"))["findings"]

    # Unrelated edits move every finding down a few lines: nothing is new.
    for path in tree.rglob("*.ps1"):
        path.write_text("# reviewed 2026-11\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    again, code = execute_scan(ScanRequest(paths=[tree], use_cache=False, jobs=1, quiet=True, baseline=baseline))
    assert again.findings == [] and code == 0

    # A new secret and a new send are reported, and only they.
    extra = tree / "graph" / "secrets_token.ps1"
    extra.write_text(
        extra.read_text(encoding="utf-8")
        + "$third = Invoke-RestMethod -Method Post -Uri $tokenEndpoint -Body @{ client_id = $appId; client_secret = 'Brand-New~Example~Secret' }\n",
        encoding="utf-8",
    )
    shutil.copy(FIXTURES / "cdo_ntlm_onprem.ps1", tree / "legacy" / "cdo_ntlm_onprem.ps1")
    new, code = execute_scan(ScanRequest(paths=[tree], use_cache=False, jobs=1, quiet=True, baseline=baseline))
    assert sorted((f.location.path, f.rule) for f in new.findings) == [
        ("graph/secrets_token.ps1", "SEC004"),
        ("legacy/cdo_ntlm_onprem.ps1", "SMTP004"),
    ]
    assert code == 1


@pytest.mark.parametrize("content", ["not json at all", '{"findings": [{"fingerprint": 1}', '{"findings": 3}', "[1, 2]"])
def test_a_baseline_that_is_not_a_report_is_a_one_line_error(tree: Path, tmp_path: Path, content: str) -> None:
    """A damaged baseline crashed with a NameError traceback (the message's own sanitiser was not
    imported): it is a usage error, one line, exit 2."""
    from typer.testing import CliRunner

    from scanner.cli import app

    baseline = tmp_path / "baseline.json"
    baseline.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(tree), "--baseline", str(baseline), "-q", "--no-cache"])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, NameError)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a smtp2graph JSON report usable as a baseline" in lines[0]
