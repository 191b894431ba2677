"""The oracle's verdict per row and the table `python -m tests.oracle` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .harness import Outcome
from .known import Known, explain


@dataclass
class Row:
    outcome: Outcome
    verdict: str  # pass, intended, xfail, FAIL, not patched, error
    note: str = ""
    unexplained: list[str] = field(default_factory=list)
    findings: list[Known] = field(default_factory=list)
    intended: list[Known] = field(default_factory=list)
    missing_module: list[Known] = field(default_factory=list)  # explained differences of the no-module mode

    @property
    def owners(self) -> list[str]:
        return sorted({k.owner for k in self.findings})


def classify(outcome: Outcome) -> Row:
    if not outcome.patched:
        return Row(outcome, "not patched", outcome.not_patched_reason)
    if outcome.error:
        return Row(outcome, "error", outcome.error)
    row = Row(outcome, "pass")
    for line in outcome.differences():
        known = explain(outcome.shape.name, outcome.style, line)
        if known is None:
            row.unexplained.append(line)
        elif known.kind == "finding":
            if known not in row.findings:
                row.findings.append(known)
        elif known.kind == "module-missing":
            if known not in row.missing_module:
                row.missing_module.append(known)
        elif known not in row.intended:
            row.intended.append(known)
    if row.intended and outcome.applicability == "safe":
        row.unexplained += [f"intended difference on a call fix marks safe: {k.text}" for k in row.intended]
    if row.unexplained:
        row.verdict, row.note = "FAIL", row.unexplained[0]
    elif row.findings:
        row.verdict = "xfail"
        row.note = "; ".join(f"[{k.owner}] {k.text}" for k in row.findings)
    elif row.intended:
        row.verdict, row.note = "intended", "; ".join(k.text for k in row.intended)
    elif row.missing_module:
        row.note = "module missing: " + "; ".join(k.text for k in row.missing_module)
    return row


def classify_all(outcomes: list[Outcome]) -> list[Row]:
    return [classify(outcome) for outcome in outcomes]


def rows_as_json(rows: list[Row]) -> list[dict[str, object]]:
    """Every row as plain data (the test shares it between xdist workers; --json writes it)."""
    return [{"shape": r.outcome.shape.name, "style": r.outcome.style, "category": r.outcome.shape.category,
             "source": r.outcome.shape.source, "verdict": r.verdict, "note": r.note, "unexplained": r.unexplained,
             "findings": [k.text for k in r.findings], "owners": r.owners, "intended": [k.text for k in r.intended],
             "missing_module": [k.text for k in r.missing_module],
             "reason": r.outcome.not_patched_reason, "differences": r.outcome.differences(),
             "applicability": r.outcome.applicability, "modes": r.outcome.modes} for r in rows]


def render_table(rows: list[Row], *, details: bool = False, seconds: float = 0.0) -> str:
    width = max([len(r.outcome.shape.name) for r in rows] + [5])
    lines = [f"{'shape':<{width}}  {'style':<6}  {'fix':<12}  {'compared':<28}  result"]
    lines.append("-" * (width + 80))
    for row in sorted(rows, key=lambda r: (r.outcome.shape.name, r.outcome.style)):
        o = row.outcome
        compared = f"{o.fields_compared} fields ({'+'.join(o.modes)})" if o.patched and not o.error else "-"
        verdict = row.verdict if row.verdict != "xfail" else f"xfail ({', '.join(row.owners)})"
        note = f": {row.note}" if row.note else ""
        if len(note) > 160 and not details:
            note = note[:157] + "..."
        lines.append(f"{o.shape.name:<{width}}  {o.style:<6}  {o.applicability:<12}  {compared:<28}  {verdict}{note}")
        if details and row.verdict not in ("pass", "not patched"):
            for diff in o.differences():
                lines.append(f"{'':<{width}}      {diff}")
    counts = Counter(row.verdict for row in rows)
    missing = sum(1 for row in rows if row.missing_module)
    owners = Counter(owner for row in rows if row.verdict == "xfail" for owner in row.owners)
    shapes = {row.outcome.shape.name for row in rows}
    matrix = {row.outcome.shape.name for row in rows if row.outcome.shape.source == "matrix"}
    lines.append("")
    lines.append(f"{len(shapes)} shapes ({len(matrix)} generated, {len(shapes) - len(matrix)} fixtures/examples) x "
                 f"{len({r.outcome.style for r in rows})} styles = {len(rows)} rows: "
                 + ", ".join(f"{counts[k]} {k}" for k in ("pass", "intended", "xfail", "FAIL", "not patched", "error"))
                 + (f" ({missing} of them fail another way, no wider, when Smtp2Graph is missing)" if missing else "")
                 + ("; xfail by owner: " + ", ".join(f"{k} {v}" for k, v in sorted(owners.items())) if owners else "")
                 + (f"; {seconds:.0f} s" if seconds else ""))
    return "\n".join(lines) + "\n"
