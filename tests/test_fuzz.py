"""Random bytes and mutated fixture scripts never crash the scanner; what it cannot read becomes an error."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.check import analyze_script
from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions
from scanner.ruleconfig import RuleConfig
from scanner.script import Script

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "scan").glob("*.ps1"))
SOURCES = [p.read_text(encoding="utf-8") for p in FIXTURES]
TOKENS = ["'", '"', "`", "@{", "}", "(", ")", "{", "@'\n", "\n'@", "#", "<#", "#>", "$(", ",", "|", ";", "-", "–", "\r\n", "\\", "\x00", "é", "@", ":"]


@st.composite
def mutated_script(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if action == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        else:
            text = text[:pos] + text[pos : pos + 40] + text[pos:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_script())
def test_mutated_scripts_never_crash(text: str) -> None:
    analysis = analyze_script(Script(text, "fuzz.ps1"), RuleConfig())
    for finding in analysis.findings:
        assert 1 <= finding.location.line <= text.count("\n") + 1
        assert finding.location.column >= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=2000), st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]))
def test_random_bytes_never_crash(tmp_path_factory: object, data: bytes, prefix: bytes) -> None:
    root = tmp_path_factory.mktemp("fuzz")  # type: ignore[attr-defined]
    (root / "random.ps1").write_bytes(prefix + b"Send-MailMessage " + data)
    result = scan([root], ScanOptions(use_cache=False))
    assert result.files_scanned + result.files_failed == 1
    assert len(result.errors) == result.files_failed
    for error in result.errors:
        assert error.path == "random.ps1" and error.message
