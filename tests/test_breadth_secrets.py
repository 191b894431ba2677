"""No secret literal of the fixtures reaches any report format; JSON and SARIF stay valid with the new rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions
from scanner.model import ScanResult
from scanner.reports.formats import Format
from scanner.reports.render import render
from scanner.script import Script
from scanner.secrets import find_secrets

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "breadth"
EXAMPLES = ROOT / "examples"
SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"  # kept with the tests: no skip on a plain clone

# Written out so the test cannot pass just because the detector missed one.
KNOWN_SECRETS = (
    "MailKit-Example-Pa55",
    "Cdo-Example-Pa55",
    "WebMail-Example-Pa55",
    "Sec1-Example-Pa55",
    "Sec1b-Example-Pa55",
    "Sec2-Example-Pa55",
    "Sec2b-Example-Pa55",
    "U2VjMy1FeGFtcGxlLVBhNTU=",
    "U2VjM2ItRXhhbXBsZS1QYTU1",
    "Sec4-Example~Secret~Value",
    "Sec4b-Example~Secret~Value",
    "P@ssw0rd-example",
    "Example~Secret~Value-0000",
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    shutil.copytree(FIXTURES, root / "breadth")
    for sub in ("legacy", "graph"):
        if (EXAMPLES / sub).is_dir():
            shutil.copytree(EXAMPLES / sub, root / sub)
    return root


@pytest.fixture(scope="module")
def result(tree: Path) -> ScanResult:
    return scan([tree], ScanOptions(use_cache=False, jobs=1), tree)


def _detected_literals(tree: Path) -> set[str]:
    found: set[str] = set()
    for path in tree.rglob("*.ps1"):
        script = Script(path.read_text(encoding="utf-8"), path.name)
        for secret in find_secrets(script):
            literal = script.text[secret.start : secret.end].strip("'\"")
            if len(literal) >= 6 and not literal.startswith("http"):
                found.add(literal)
    return found


def test_the_fixtures_do_hold_the_secrets(tree: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in tree.rglob("*.ps1"))
    for secret in KNOWN_SECRETS:
        assert secret in text, secret
    assert set(KNOWN_SECRETS) - {"P@ssw0rd-example", "Example~Secret~Value-0000"} <= _detected_literals(tree) | {"P@ssw0rd-example"}


def test_secret_rules_fire_on_the_tree(result: ScanResult) -> None:
    rules = {f.rule for f in result.findings}
    assert {"SEC001", "SEC002", "SEC003", "SEC004"} <= rules


@pytest.mark.parametrize("fmt", [Format.JSON, Format.SARIF, Format.TERMINAL, Format.HTML, Format.MARKDOWN])
def test_no_secret_literal_in_any_output(fmt: Format, result: ScanResult, tree: Path) -> None:
    output = render(result, fmt)
    assert output
    for secret in set(KNOWN_SECRETS) | _detected_literals(tree):
        assert secret not in output, f"{secret!r} leaked into the {fmt.value} report"
    if fmt in (Format.JSON, Format.SARIF, Format.HTML):
        assert "***" in output  # the masked snippets are there, so the check above looked at them


def test_json_is_valid_and_uses_the_new_apis(result: ScanResult) -> None:
    document = json.loads(render(result, Format.JSON))
    apis = {f["call"]["api"] for f in document["findings"] if f.get("call")}
    assert {"mailkit", "cdo", "system-web-mail", "outlook-com", "graph-sendmail", "send-mgusermail"} <= apis
    prints = [f["fingerprint"] for f in document["findings"]]
    assert len(prints) == len(set(prints))
    for finding in document["findings"]:
        assert finding["severity"] in {"info", "low", "medium", "high", "critical"}
        assert finding["line"] >= 1 and finding["column"] >= 1


def test_sarif_is_valid(result: ScanResult) -> None:
    import jsonschema

    document = json.loads(render(result, Format.SARIF))
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    rule_ids = {r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert {"SMTP003", "SMTP004", "SMTP005", "SMTP006", "GRAPH002", "GRAPH003", "GRAPH004", "GRAPH005", "SEC001", "SEC004"} <= rule_ids
