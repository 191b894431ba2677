"""What one run of the estate analysis is asked to do (from the command line and .smtp2graph.toml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from scanner.declared import EstateFacts
from scanner.migrate.safety import FixStyle
from scanner.ruleconfig import RuleConfig


@dataclass(frozen=True)
class ScanOptions:
    rules: RuleConfig = field(default_factory=RuleConfig)
    jobs: int = 1
    use_cache: bool = True
    cache_dir: Optional[Path] = None
    excludes: tuple[str, ...] = ()
    respect_gitignore: bool = True
    max_bytes: int = 10 * 1024 * 1024
    estate: EstateFacts = field(default_factory=EstateFacts)  # declared facts of .smtp2graph.toml
    # How much fix material each finding carries (scanner.fixes FULL / DIFF / NONE): only what
    # the output format shows is built (scanner.run.fix_detail_for).
    fix_detail: str = "full"
    fix_style: FixStyle = FixStyle.MODULE  # how the fix plans rewrite calls (`fix --style`)
    # Who judges the fix plans: "auto" (PowerShell's parser when pwsh is installed, else
    # tree-sitter), "powershell" or "tree-sitter" (`fix --judge`).
    judge: str = "auto"
    judge_id: str = ""  # the judge the run resolved (its description): part of the cache key
    code_id: str = ""  # the code installed (scanner.cache.code_digest): part of the cache key
    # `fix` applies the plans: a file whose cached findings have a fix is analysed again (the cache
    # keeps no source text and no edit, only what the reports show).
    keep_plans: bool = False

    def salt(self) -> str:
        """Part of every cache key: the tool version, the rules, the declared estate facts, the fix
        detail and style, and the judge that decided the fixes."""
        return (
            self.rules.salt()
            + (f"|{self.estate!r}" if self.estate else "")
            + ("" if self.fix_detail == "full" else f"|fix={self.fix_detail}")
            + ("" if self.fix_style is FixStyle.MODULE else f"|style={self.fix_style.value}")
            + (f"|judge={self.judge_id}" if self.judge_id else "")
            + (f"|code={self.code_id}" if self.code_id else "")
        )
