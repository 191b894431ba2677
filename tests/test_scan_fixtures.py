"""Every fixture in tests/fixtures/scan has its expected calls beside it (.expected.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.check import calls_in_text
from scanner.model import MailCall

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
CASES = sorted(p for p in FIXTURES.glob("*.ps1"))


def _check_call(call: MailCall, expected: dict[str, Any], where: str) -> None:
    for key in ("line", "api", "form", "command", "confidence", "sent"):
        if key in expected:
            actual = {
                "line": call.location.line,
                "api": call.api.value,
                "form": call.form,
                "command": call.command,
                "confidence": call.confidence.value,
                "sent": call.sent,
            }[key]
            assert actual == expected[key], f"{where}: {key} is {actual!r}, expected {expected[key]!r}"
    for name, want in expected.get("params", {}).items():
        assert name in call.params, f"{where}: parameter {name} not bound; bound: {sorted(call.params)}"
        bound = call.params[name]
        for field, value in want.items():
            actual = {"value": bound.value, "kind": bound.kind.value, "text": bound.text, "conditional": bound.conditional}[field]
            assert actual == value, f"{where}: {name}.{field} is {actual!r}, expected {value!r}"
    for name in expected.get("absent", []):
        assert name not in call.params, f"{where}: {name} should not be bound, got {call.params[name]}"
    if "notes_contain" in expected:
        assert any(expected["notes_contain"] in note for note in call.notes), f"{where}: notes {call.notes}"
    for role in expected.get("related_roles", []):
        assert role in [r.role for r in call.related], f"{where}: no related location with role {role}: {call.related}"


@pytest.mark.parametrize("fixture", CASES, ids=[p.stem for p in CASES])
def test_fixture_calls(fixture: Path) -> None:
    expected = json.loads(fixture.with_suffix(".expected.json").read_text(encoding="utf-8"))
    calls = calls_in_text(fixture.read_text(encoding="utf-8"), fixture.name)
    if "apis" in expected:  # the fixture is about these APIs; other recognizers have their own fixtures
        calls = [c for c in calls if c.api.value in expected["apis"]]
    lines = [c.location.line for c in calls]
    assert len(calls) == len(expected["calls"]), f"found calls on lines {lines}, expected {[c.get('line') for c in expected['calls']]}"
    for call, want in zip(calls, expected["calls"]):
        _check_call(call, want, f"{fixture.name}:{call.location.line}")


def test_every_fixture_has_expectations() -> None:
    for fixture in CASES:
        assert fixture.with_suffix(".expected.json").is_file(), f"{fixture.name} has no .expected.json"
    assert len(CASES) >= 20
