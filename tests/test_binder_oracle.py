"""PowerShell's own binder (StaticParameterBinder.BindCommand) is the oracle of the scanner's binding.

Every Send-MailMessage call in tests/fixtures, examples/ and the rules' examples is bound by both; the
parameters each binds (names, values' source text, named or positional) and PowerShell's binding
exceptions against the scanner's notes must agree, except for the few differences listed below.
bench/binder_oracle.py runs the same comparison on the public corpus.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scanner.powershell import BinderArgument, ScriptBinding, bind_send_mailmessage

pytestmark = pytest.mark.pwsh

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


oracle = _load("binder_oracle")

# (path, line, kind, parameter): where the scanner and the binder legitimately differ.
ALLOWED = {
    # StaticParameterBinder leaves out a switch bound to the constant $false (`-BodyAsHtml:$false`),
    # while a real run binds it (IsPresent false, listed in $PSBoundParameters). The scanner keeps it
    # so that the report and the patch show the switch was turned off on purpose.
    ("tests/fixtures/scan/smm_colon_and_switches.ps1", 1, "extra-parameter", "BodyAsHtml"),
    # `& $sender …` after `$sender = Get-Command -Name Send-MailMessage`: PowerShell's parser sees a command
    # whose name is a variable (GetCommandName() is null until run time); the run invokes Send-MailMessage.
    ("tests/fixtures/breadth/sends_after_param_and_through_a_variable.ps1", 12, "extra-call", ""),
}


FORMS = (
    "Send-MailMessage 'a@contoso.com' -Subject:'s' -UseSsl -Foo x\n"
    "& 'Send-MailMessage' -To b@contoso.com @extra\n"
    "Microsoft.PowerShell.Utility\\Send-MailMessage -To c@contoso.com -To d@contoso.com\n"
    "Set-Alias -Name mailer -Value Send-MailMessage\n"
    "mailer -To '\U0001f4e7e@contoso.com' -Sub x\n"
    "Other\\Send-MailMessage -To nope\n"
    "function Send-MailMessage { param($To) }\n"
    "Send-MailMessage -To f@contoso.com\n"
)
# `<placeholder>` is a parse error (RedirectionNotSupported): PowerShell would not run the script at all.
BROKEN = "Send-MailMessage -To ops@contoso.com -Subject ok\nSend-MailMessage -To <your address> -From a@contoso.com\n"
DIFFERENT = "Send-MailMessage -To ops@contoso.com 'Subject' -Pr High -S x\n"
MANY = [f"Send-MailMessage -To u{i}@contoso.com -Subject s{i}\n" for i in range(50)] + [""]


@dataclass
class Bound:
    comparisons: list[Any]  # bench/binder_oracle.py's CallComparison
    forms: ScriptBinding
    broken: ScriptBinding
    different: ScriptBinding
    many: list[ScriptBinding]


@pytest.fixture(scope="module")
def bound() -> Bound:
    """Everything this module asks the binder, bound in one pwsh process (pwsh starts in about a second)."""
    items = oracle.repository_items()
    results = bind_send_mailmessage([text for _, text in items] + [FORMS, BROKEN, DIFFERENT, *MANY])
    comparisons = [c for (path, text), b in zip(items, results) for c in oracle.compare_script(path, text, b)]
    n = len(items)
    return Bound(comparisons, results[n], results[n + 1], results[n + 2], results[n + 3 :])


@pytest.fixture(scope="module")
def comparisons(bound: Bound) -> list[Any]:
    return bound.comparisons


def test_scanner_binds_every_repository_call_as_powershell_does(comparisons: list[Any]) -> None:
    found = {
        (r.path, r.line, d.kind, d.parameter): d.detail
        for r in comparisons
        if r.outcome == "disagree"
        for d in r.disagreements
    }
    unexplained = {key: detail for key, detail in found.items() if key not in ALLOWED}
    assert not unexplained, "\n".join(f"{p}:{line}: {kind}: {detail}" for (p, line, kind, _), detail in sorted(unexplained.items()))
    stale = ALLOWED - set(found)
    assert not stale, f"allow-list entries that no longer differ (remove them): {sorted(stale)}"


def test_the_comparison_covers_the_repository(comparisons: list[Any]) -> None:
    summary = oracle.summarize(comparisons)
    # Fixtures, examples and rule examples hold 75+ Send-MailMessage calls; nearly all are judged.
    assert summary.compared >= 70, summary.format()
    assert summary.parameters_compared >= 250, summary.format()
    assert sum(summary.cannot_judge.values()) <= summary.calls // 10, summary.format()
    paths = {r.path for r in comparisons}
    assert any(p.startswith("examples/") for p in paths) and any(p.startswith("rules/") for p in paths)


def test_the_oracle_reports_a_scanner_that_binds_differently(bound: Bound) -> None:
    # The comparison can fail: a scanner call bound from another text disagrees on every count.
    other = "Send-MailMessage -Cc ops@contoso.com -Subject 'Subject' -Priority High\n"
    (scanned,) = oracle.scanner_calls(other, "other.ps1")
    result = oracle.compare_call("x.ps1", scanned, bound.different.calls[0], 0, 1, 1)
    kinds = {(d.kind, d.parameter) for d in result.disagreements}
    assert {("missing-parameter", "To"), ("extra-parameter", "Cc"), ("positional-flag", "Subject"), ("exception", "AmbiguousParameter")} <= kinds
    assert result.outcome == "disagree"


def test_binder_results_are_typed_and_cover_the_call_forms(bound: Bound) -> None:
    script, text = bound.forms, FORMS
    assert script.parse_errors == 0
    first, call_op, qualified, alias, shadowed = script.calls
    assert first.line == 1 and first.name_start == 0
    assert BinderArgument("To", "'a@contoso.com'", True) in first.arguments
    assert BinderArgument("Subject", "'s'", False) in first.arguments
    assert BinderArgument("UseSsl", None, False) in first.arguments
    assert [p.error_id for p in first.problems] == ["NamedParameterNotFound"]
    assert call_op.splats == ("extra",) and text[call_op.start] == "&" and text[call_op.name_start] == "'"
    assert qualified.name.startswith("Microsoft.PowerShell.Utility\\")
    assert [p.error_id for p in qualified.problems] == ["ParameterAlreadyBound"]
    assert alias.name == "mailer" and BinderArgument("Subject", "x", False) in alias.arguments
    # Offsets are code points even after an astral character on the line.
    assert text[alias.start : alias.end].startswith("mailer") and text[alias.end - 5 : alias.end] == "Sub x"
    # The function shadows the later call; the binder still binds it against the cmdlet, not the function.
    assert shadowed.shadowed and not first.shadowed and BinderArgument("To", "f@contoso.com", False) in shadowed.arguments


def test_a_call_powershell_cannot_parse_is_not_judged(bound: Bound) -> None:
    script = bound.broken
    assert script.parse_errors >= 1
    sound, broken = script.calls
    assert sound.parse_errors == 0 and broken.parse_errors >= 1
    results = oracle.compare_script("broken.ps1", BROKEN, script)
    assert [r.outcome for r in results] == ["agree", "cannot-judge"]
    assert "parser" in results[1].cannot_judge


def test_bind_handles_many_texts_in_one_process(bound: Bound) -> None:
    results = bound.many
    assert len(results) == 51 and results[-1].calls == ()
    assert [r.calls[0].arguments[0].text for r in results[:50]] == [f"u{i}@contoso.com" for i in range(50)]
