"""The structure judge must know every helper function the inline rewrite defines inside its own block."""

import re
from pathlib import Path

from scanner.migrate.judge import GENERATED_FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]


def test_every_function_the_rewrites_define_is_known_to_the_judge() -> None:
    # A helper the inline style adds and the judge does not know makes PowerShell's judge refuse every
    # inline patch ("the script's functions change from 0 to 1"), as ConvertTo-GraphSendFailure once did.
    defined = set()
    for name in ("edits.py", "snippets.py"):
        text = (ROOT / "scanner" / "migrate" / name).read_text(encoding="utf-8")
        defined |= {m.lower() for m in re.findall(r"(?m)^\s*function\s+([A-Za-z]+-[A-Za-z]+)\s*\{", text)}
    assert defined, "no generated helper function found: the pattern no longer matches the templates"
    assert defined <= GENERATED_FUNCTIONS, sorted(defined - GENERATED_FUNCTIONS)
