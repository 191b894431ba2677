"""Every example of every rule does what its docs say; every rule is documented in the shared template."""

from __future__ import annotations

import pytest

from scanner.check import analyze_script
from scanner.estate.prefilter import Prefilter, default_prefilter
from scanner.ruleconfig import RuleConfig
from scanner.rules import Example, Rule, catalogue
from scanner.script import Script

RULES = list(catalogue().values())
EXAMPLES = [
    (rule, kind, i, example)
    for rule in RULES
    for kind, examples in (("bad", rule.bad), ("good", rule.good))
    for i, example in enumerate(examples)
]


@pytest.mark.parametrize("rule,kind,index,example", EXAMPLES, ids=[f"{r.id}-{k}{i}" for r, k, i, _ in EXAMPLES])
def test_rule_example(rule: Rule, kind: str, index: int, example: Example) -> None:
    analysis = analyze_script(Script(example.code, f"{rule.id}-{kind}{index}.ps1"), RuleConfig())
    hits = [f for f in analysis.findings if f.rule == rule.id]
    assert len(hits) == example.findings, f"{rule.id} {kind} example {index}: {[f.message for f in analysis.findings]}"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_is_documented(rule: Rule) -> None:
    docs = rule.docs()
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety", "## References"):
        assert heading in docs
    assert rule.bad, f"{rule.id} has no bad example"
    assert rule.good, f"{rule.id} has no good example"
    assert any(e.findings > 0 for e in rule.bad)
    assert rule.help_uri.endswith(rule.id.lower())


@pytest.mark.parametrize("rule,kind,index,example", [e for e in EXAMPLES if e[3].findings > 0], ids=lambda v: getattr(v, "id", str(v)))
def test_prefilter_passes_every_bad_example(rule: Rule, kind: str, index: int, example: Example) -> None:
    """The prefilter is built from the recognizers' tokens: no example a rule reports may be skipped."""
    prefilter = default_prefilter()
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        assert prefilter.matches(example.code.encode(encoding)), f"{rule.id} example skipped as {encoding}"


def test_prefilter_rejects_unrelated_code() -> None:
    prefilter = Prefilter(["send-mailmessage"])
    assert not prefilter.matches(b"Get-ChildItem | Sort-Object Name\n")
    assert prefilter.matches(b"SEND-MAILMESSAGE -to x\n")
    assert prefilter.matches("Send-MailMessage".encode("utf-16-le"))


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    """docs/rules.md is where every SARIF helpUri points: regenerate it with `smtp2graph rules --markdown`."""
    from pathlib import Path

    from scanner.run import rules_markdown

    page = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert page.read_text(encoding="utf-8") == rules_markdown(), "run: smtp2graph rules --markdown > docs/rules.md"
    for rule in RULES:
        assert f"## {rule.id.lower()}\n" in page.read_text(encoding="utf-8")
