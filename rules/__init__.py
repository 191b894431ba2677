"""The rule catalogue (mapped into the package as ``scanner.rules``).

One module per rule, each exposing ``RULE``: its metadata, its documentation in the one template
every rule shares (What it does · Why is this bad · Example · Use instead · Fix safety ·
References), its bad/good PowerShell examples that the test suite runs, and its check.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

from scanner.model import Api, Assessment, Confidence, FixApplicability, MailCall, Severity
from scanner.script import Script
from scanner.secrets import SecretLiteral

HELP_BASE = "https://github.com/smtp2graph/smtp2graph/blob/main/docs/rules.md#"


@dataclass(frozen=True)
class Example:
    """A PowerShell example: ``findings`` is how many findings of the rule it must produce."""

    code: str
    findings: int


@dataclass(frozen=True)
class Verdict:
    """What a rule says about one call."""

    message: str
    severity: Severity
    confidence: Optional[Confidence] = None  # None: the call's own confidence


@dataclass(frozen=True)
class RuleResult:
    """What a whole-file rule reports at one place of the script (offsets ``start``..``end``); the
    framework (scanner.findings) builds the Finding: masked snippet, excerpt, fingerprint, severity."""

    start: int
    end: int
    message: str
    severity: Severity
    confidence: Confidence
    related: tuple[tuple[int, str], ...] = ()  # (offset, role) of other places it is about
    call: Optional[MailCall] = None  # the mail call the result is about, when it is one


@dataclass(frozen=True)
class FileContext:
    """What a whole-file rule sees: the script, every mail call the recognizers found in it (in
    source order, and by recognizer name) and its secret literals. Rules never run a recognizer."""

    script: Script
    calls: tuple[MailCall, ...]
    calls_by_recognizer: dict[str, tuple[MailCall, ...]]
    secrets: tuple[SecretLiteral, ...]

    def calls_of(self, recognizer: str) -> tuple[MailCall, ...]:
        return self.calls_by_recognizer.get(recognizer, ())


Check = Callable[[MailCall, Optional[Assessment]], Optional[Verdict]]
# A whole-file check: the file's context -> results (the framework calls it once per analysed file;
# rules/sec_support.py holds the helpers the secret rules share).
FileCheck = Callable[[FileContext], list[RuleResult]]


def no_call_check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    """The per-call check of a rule that only looks at whole files."""
    return None


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity  # the default; checks may raise or lower it per finding
    summary: str
    what_it_does: str
    why_bad: str
    example: str
    use_instead: str
    fix_safety: str
    references: tuple[str, ...]
    apis: tuple[Api, ...]  # the calls this rule looks at
    check: Check
    bad: tuple[Example, ...] = ()
    good: tuple[Example, ...] = ()
    fix: FixApplicability = FixApplicability.DISPLAY_ONLY
    tags: tuple[str, ...] = field(default_factory=tuple)
    file_check: Optional[FileCheck] = None

    @property
    def help_uri(self) -> str:
        return HELP_BASE + self.id.lower()

    def docs(self) -> str:
        """The rule's documentation as Markdown, in the shared template."""
        refs = "\n".join(f"- {r}" for r in self.references)
        return (
            f"# {self.id} {self.name}\n\n"
            f"## What it does\n{self.what_it_does}\n\n"
            f"## Why is this bad?\n{self.why_bad}\n\n"
            f"## Example\n```powershell\n{self.example.strip()}\n```\n\n"
            f"## Use instead\n```powershell\n{self.use_instead.strip()}\n```\n\n"
            f"## Fix safety\n{self.fix_safety}\n\n"
            f"## References\n{refs}\n"
        )


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Rule]:
    """Every rule shipped, by id, in id order."""
    rules: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            if rule.id in rules:
                raise RuntimeError(f"duplicate rule id {rule.id} in {info.name}")
            rules[rule.id] = rule
    return dict(sorted(rules.items()))
