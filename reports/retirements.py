"""The deadline summary: each Exchange Online retirement the estate's sends depend on, with its own dates.

Two retirements, each a different date (GRAPH_NOTES.md):

- SMTP AUTH basic authentication: disabled by default at the end of December 2026;
- Exchange Web Services in Exchange Online: blocked by default since 1 October 2026 (unless the
  tenant set EWSEnabled with an app allow list), switched off for good on 1 April 2027.

A finding belongs to a retirement by the API of its call: ``ews`` calls to EWS, every other legacy
send to SMTP AUTH. Secrets and Graph findings belong to none. The merge counts each retirement's
sends by triage, and the other EWS use (reads, searches, calendar) apart from the sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

SMTP_AUTH = "smtp-auth"
EWS = "ews"

BASIC_AUTH_OFF = date(2026, 12, 31)
EWS_BLOCKED_BY_DEFAULT = date(2026, 10, 1)
EWS_SWITCHED_OFF = date(2027, 4, 1)

JsonDict = dict[str, Any]


@dataclass
class Milestone:
    date: str  # ISO date
    text: str  # what happens on that date


@dataclass
class Retirement:
    """One retirement, its dates and the estate's sends it affects."""

    key: str  # smtp-auth or ews
    label: str
    deadline: str  # ISO date a send must be migrated by
    days_left: int  # until the deadline (negative once past)
    milestones: list[Milestone]
    sends: int = 0  # sends (calls that really send) affected or maybe affected
    will_break: int = 0
    may_break: int = 0
    already_broken: int = 0
    scripts: int = 0
    other_use_scripts: int = 0  # EWS: scripts that use EWS for more than sending (information)


_DEFINITIONS: dict[str, tuple[str, date, list[tuple[date, str]]]] = {
    SMTP_AUTH: ("SMTP AUTH basic authentication", BASIC_AUTH_OFF,
                [(BASIC_AUTH_OFF, "basic auth for SMTP AUTH disabled by default (end of December 2026)")]),
    EWS: ("Exchange Web Services (EWS) in Exchange Online", EWS_SWITCHED_OFF,
          [(EWS_BLOCKED_BY_DEFAULT, "EWS blocked by default (EWSEnabled False unless allow-listed)"),
           (EWS_SWITCHED_OFF, "EWS switched off for good, no exceptions")]),
}


def retirement_date(key: str) -> str:
    """The ISO date a send of this retirement must be migrated by."""
    return _DEFINITIONS[key][1].isoformat()


def _obj(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def retirement_of(finding: JsonDict) -> str:
    """The retirement a finding's call depends on: "ews", "smtp-auth", or "" (secrets, Graph, no call)."""
    rule = str(finding.get("rule", ""))
    call = _obj(finding.get("call"))
    if not call or rule.startswith(("SEC", "GRAPH")):
        return ""
    api = call.get("api")
    if api in ("graph-sendmail", "send-mgusermail"):
        return ""
    return EWS if api == EWS else SMTP_AUTH


def is_send(finding: JsonDict) -> bool:
    """A call that really sends (not a configured client, not other EWS use)."""
    call = _obj(finding.get("call"))
    return bool(call) and call.get("sent", True) is not False and call.get("form") != "shadowing-function"


@dataclass
class RetirementTally:
    """Counts per retirement, one finding at a time (the merge calls `add` from its single pass)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    scripts: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    other_use: set[tuple[str, str]] = field(default_factory=set)

    def add(self, finding: JsonDict) -> None:
        key = str(finding.get("retirement") or "")
        if not key:
            return
        script = (str(finding.get("repo")), str(finding.get("path")))
        if not is_send(finding):
            if key == EWS:
                self.other_use.add(script)
            return
        counts = self.counts.setdefault(key, {})
        counts["sends"] = counts.get("sends", 0) + 1
        triage = str(finding.get("triage"))
        counts[triage] = counts.get(triage, 0) + 1
        self.scripts.setdefault(key, set()).add(script)

    def build(self, now: datetime) -> list[Retirement]:
        """The retirements in date order; EWS only when the estate uses EWS at all."""
        out = []
        for key, (label, deadline, milestones) in _DEFINITIONS.items():
            counts = self.counts.get(key, {})
            if key == EWS and not counts and not self.other_use:
                continue
            out.append(Retirement(
                key=key, label=label, deadline=deadline.isoformat(), days_left=(deadline - now.date()).days,
                milestones=[Milestone(day.isoformat(), text) for day, text in milestones],
                sends=counts.get("sends", 0), will_break=counts.get("will-break", 0), may_break=counts.get("may-break", 0),
                already_broken=counts.get("already-broken", 0), scripts=len(self.scripts.get(key, set())),
                other_use_scripts=len(self.other_use) if key == EWS else 0,
            ))
        return out


def ews_summary_clause(retirements: list[Retirement]) -> str:
    """The words the one-line summaries add when the estate sends through EWS ("" otherwise)."""
    ews = next((r for r in retirements if r.key == EWS), None)
    if ews is None:
        return ""
    parts = []
    if ews.sends:
        parts.append(f"{ews.sends} EWS send(s) in {ews.scripts} script(s) ({ews.will_break} break, {ews.may_break} may break, "
                     f"{ews.already_broken} already broken; EWS in Exchange Online blocked by default since 1 October 2026, "
                     "off 1 April 2027)")
    if ews.other_use_scripts:
        parts.append(f"{ews.other_use_scripts} script(s) with other EWS use")
    return "; ".join(parts)


def ews_already_broken(finding: JsonDict) -> bool:
    """An EWS call to Exchange Online with a password or the Windows logon: refused since October 2022."""
    assessment = _obj(finding.get("assessment"))
    return (_obj(finding.get("call")).get("api") == EWS and assessment.get("server") == "exchange-online-ews"
            and assessment.get("credential") in ("explicit", "default-windows-logon"))
