"""Which rules run where, and at what severity: the rule part of the configuration."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable

from scanner import __version__
from scanner.model import Severity


@dataclass(frozen=True)
class RuleConfig:
    """Which rules run where, and at what severity."""

    select: tuple[str, ...] = ()  # rule ids or prefixes; empty selects every rule
    ignore: tuple[str, ...] = ()
    severity_overrides: tuple[tuple[str, str], ...] = ()  # (rule id, severity)
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, rule ids or prefixes)

    def enabled(self, rule_id: str, path: str = "") -> bool:
        def hit(patterns: Iterable[str]) -> bool:
            return any(rule_id.upper().startswith(p.upper()) for p in patterns)

        if self.select and not hit(self.select):
            return False
        if hit(self.ignore):
            return False
        return not any(fnmatch.fnmatch(path, glob) and hit(rules) for glob, rules in self.per_path_ignores)

    def severity(self, rule_id: str, default: Severity) -> Severity:
        for rid, sev in self.severity_overrides:
            if rid.upper() == rule_id.upper():
                return Severity(sev)
        return default

    def salt(self) -> str:
        """Part of every cache key: the tool version and this configuration."""
        return f"{__version__}|{self!r}"
