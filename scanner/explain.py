"""`smtp2graph scan --explain-unknown`: for each unknown verdict, the value that would decide it and where to declare it."""

from __future__ import annotations

from collections import defaultdict

from scanner.declared import CONFIG_NAME
from scanner.model import ScanResult


def explain_unknown(result: ScanResult, config_name: str = CONFIG_NAME) -> str:
    """A plain-text list of the unknown verdicts, then the .smtp2graph.toml entries that would decide them."""
    unknown = [f for f in result.findings if f.verdict_unknown]
    if not unknown:
        return "No unknown verdicts: every send has a verdict.\n"
    lines = [f"{len(unknown)} call(s) with an unknown verdict (each counts as \"may break\"):"]
    suggestions: dict[str, list[str]] = defaultdict(list)
    for finding in sorted(unknown, key=lambda f: (f.location.path, f.location.line)):
        where = f"{finding.location.path}:{finding.location.line}"
        assert finding.assessment is not None
        lines.append(f"  {where}  {finding.assessment.server_text or 'no server shown'} / credential {finding.assessment.credential.value}")
        if not finding.assessment.undecided:
            lines.append("      nothing in the scanned tree would decide it; review the call by hand")
        for undecided in finding.assessment.undecided:
            lines.append(f"      decided by {undecided.parameter} = {undecided.written}: {undecided.reason}")
            lines.append(f"      declare: {undecided.declare}")
            suggestions[undecided.declare].append(where)
    declarable = {line: wheres for line, wheres in suggestions.items() if line.startswith("[assume] ")}
    if declarable:
        lines.append("")
        lines.append(f"In {config_name} at the scan root (replace the example values with the real ones):")
        lines.append("[assume]")
        for line, wheres in sorted(declarable.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(wheres[:3]) + (f" and {len(wheres) - 3} more" if len(wheres) > 3 else "")
            lines.append(f"{line[len('[assume] '):]}  # {len(wheres)} call(s): {shown}")
        lines.append('# Hosts you know: exchange-online-hosts = ["mail.contoso.com"]; [relay-hosts] "relay.contoso.local" = "anonymous" | "authenticated"')
    return "\n".join(lines) + "\n"
