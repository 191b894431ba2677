"""The example scripts for the new APIs (examples/legacy, examples/graph): valid PowerShell, and what scan says."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.script import Script

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "legacy/mailkit-report.ps1": {("SMTP003", "high")},
    "legacy/cdo-alert.ps1": {("SMTP004", "high"), ("SEC002", "high")},
    "legacy/webmail-notify.ps1": {("SMTP005", "medium")},
    "legacy/outlook-weekly.ps1": {("SMTP006", "low")},
    "graph/graph-rest-report.ps1": {("GRAPH001", "info"), ("GRAPH002", "high"), ("GRAPH004", "high"), ("GRAPH005", "medium"), ("SEC004", "high")},
    "graph/mg-sdk-send.ps1": {("GRAPH001", "info"), ("GRAPH003", "high")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings(name: str) -> None:
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    found = analyze_script(Script(source, name), RuleConfig()).findings
    assert {(f.rule, f.severity.value) for f in found} == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_parses_cleanly(name: str) -> None:
    import tree_sitter as ts
    import tree_sitter_powershell as tsp

    tree = ts.Parser(ts.Language(tsp.language())).parse((EXAMPLES / name).read_bytes())
    assert not tree.root_node.has_error


def test_every_new_api_has_an_example() -> None:
    from scanner.check import calls_in_text

    apis = set()
    for name in EXPECTED:
        apis |= {c.api.value for c in calls_in_text((EXAMPLES / name).read_text(encoding="utf-8"), name)}
    assert apis == {"mailkit", "cdo", "system-web-mail", "outlook-com", "graph-sendmail", "send-mgusermail"}
