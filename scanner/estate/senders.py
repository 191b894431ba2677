"""The one sender list: who the scanned scripts send as, for the new app's scope and for verify.

Every command that needs senders takes them from here: the kit (`fix --out` and `kit
--senders-from`), `verify --senders-from`, the reports' Senders section and the JSON report. Only
mailbox addresses are in the app's scope; a sender known only at run time (`$cred.UserName`, a
parameter, a display name) is a "decide" item that says where the value comes from; the senders of
calls already on Graph (through their own app), consumer Outlook.com accounts and senders whose
every call goes to a relay (or direct send, or High Volume Email) are listed as out of scope, with
why. The input is a finding as the scan has it or as a scan JSON report has it: one rule for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from scanner.migrate.mapping import credential_sender
from scanner.model import Finding

GRAPH_APIS = frozenset({"graph-sendmail", "send-mgusermail"})
SENDING_APIS = frozenset({"send-mailmessage", "smtpclient", "mailkit", "cdo", "system-web-mail", "ews", "native-smtp-tool", "pnp-send-mail"}) | GRAPH_APIS
CONSUMER_DOMAINS = frozenset({
    "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "hotmail.co.uk", "hotmail.fr",
    "hotmail.de", "hotmail.it", "hotmail.es", "live.co.uk", "live.fr", "live.de", "live.nl", "outlook.fr",
    "outlook.de", "outlook.es", "outlook.it", "outlook.co.uk",
})
# An apostrophe is valid in a local part (o'brien@contoso.com); not in the domain.
_ADDRESS = re.compile(r"^[^@\s<>\"$`(){}]+@[^@\s<>\"'$`(){}]+\.[^@\s<>\"'$`(){}]+$")


@dataclass(frozen=True)
class SenderEvidence:
    """What one mail call says about its sender (from a Finding, or a finding of a scan JSON report)."""

    path: str
    line: int
    api: str
    sender: Optional[str]  # the static mailbox address, lower case
    from_text: str  # From as the script writes it ("" when there is none)
    from_reason: str  # why its value is not known, or where it came from
    credential: str  # credential kind (explicit, default-windows-logon, none, unknown)
    credential_user: Optional[str]
    server: str  # the scanner's server class
    server_text: str
    breaks: Optional[bool]  # the verdict: True breaks, False not affected, None cannot tell
    verdict: str
    repo: str = ""  # the repository, in a merged estate report


@dataclass
class SenderUse:
    """One sender mailbox in the app's scope, and the calls that send as it."""

    mailbox: str
    scripts: list[str] = field(default_factory=list)  # paths, '/' separators
    lines: list[str] = field(default_factory=list)  # "path:line" of each call
    credential: str = ""  # credential kinds seen, comma-joined
    smtp_server: str = ""  # SMTP servers as written, comma-joined
    apis: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)  # "breaks", "may break" (the calls that need the app)
    credential_users: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)


@dataclass
class DecideItem:
    """A call whose sender is known only at run time: someone must find the mailbox and add it."""

    path: str
    line: int
    from_text: str
    where: str  # where the value comes from
    verdict: str
    repo: str = ""


@dataclass
class OutOfScope:
    """A sender the new app must not be scoped to, and why."""

    mailbox: str
    reason: str
    scripts: list[str] = field(default_factory=list)


@dataclass
class SenderPlan:
    mailboxes: list[SenderUse] = field(default_factory=list)  # the app's scope; what verify tests
    decide: list[DecideItem] = field(default_factory=list)
    out_of_scope: list[OutOfScope] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "mailboxes": [
                {"mailbox": s.mailbox, "scripts": s.scripts, "calls": s.lines, "credential": s.credential,
                 "smtp_server": s.smtp_server, "apis": s.apis, "verdicts": s.verdicts}
                for s in self.mailboxes
            ],
            "decide": [{"path": d.path, "line": d.line, "from": d.from_text, "where": d.where, "verdict": d.verdict} for d in self.decide],
            "out_of_scope": [{"mailbox": o.mailbox, "reason": o.reason, "scripts": o.scripts} for o in self.out_of_scope],
        }


def parse_address(text: str) -> Optional[str]:
    """The lower-case address in `"Name <a@b.com>"`, `'a@b.com'` or `a@b.com`; None when not a constant address."""
    value = text.strip()
    if len(value) >= 3 and value[0] == value[-1] == "'":
        # A PowerShell single-quoted string doubles its apostrophes: 'o''brien@contoso.com'.
        value = value[1:-1].replace("''", "'").strip()
    elif len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].strip()
    match = re.search(r"<([^<>]+)>", value)
    if match:
        value = match.group(1).strip()
    return value.lower() if _ADDRESS.match(value) else None


def evidence_of(finding: Finding) -> Optional[SenderEvidence]:
    """What a finding of the scan says about its call's sender (None: not a mail send)."""
    call = finding.call
    if call is None or call.api.value not in SENDING_APIS or not call.sent or call.form == "shadowing-function":
        return None
    bound = call.params.get("From")
    assessment = finding.assessment
    sender = parse_address(finding.sender) if finding.sender else None
    if sender is None and bound is not None:
        # From is the user name of the call's own credential, known from the file: that mailbox (the fix offers it).
        credential = call.params.get("Credential")
        sender = credential_sender(bound.text, credential.text if credential is not None else "", finding.credential_user)
    return SenderEvidence(
        path=finding.location.path, line=finding.location.line, api=call.api.value,
        sender=sender,
        from_text=bound.text if bound is not None else "", from_reason=bound.reason if bound is not None else "",
        credential=assessment.credential.value if assessment is not None else "unknown",
        credential_user=finding.credential_user,
        server=assessment.server.value if assessment is not None else "unknown",
        server_text=assessment.server_text if assessment is not None else "",
        breaks=assessment.breaks if assessment is not None else None,
        verdict=assessment.verdict if assessment is not None else "",
    )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


_STATIC_KINDS = frozenset({"literal", "splat", "default", "splat-literal"})


def _quoted_constant(text: str) -> bool:
    text = text.strip()
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "'\"":
        return False
    return not (text[0] == '"' and "$" in text)  # a double-quoted string with $ expands at run time


def evidence_from_json(finding: object, repo: str = "") -> Optional[SenderEvidence]:
    """What a finding of a scan JSON report says about its call's sender (None: not a mail send)."""
    if not isinstance(finding, dict):
        return None
    call = finding.get("call")
    if not isinstance(call, dict) or call.get("api") not in SENDING_APIS or call.get("sent") is False:
        return None
    if call.get("form") == "shadowing-function":
        return None
    params = call.get("params")
    bound = params.get("From") if isinstance(params, dict) else None
    bound = bound if isinstance(bound, dict) else {}
    raw = finding.get("assessment")
    assessment = raw if isinstance(raw, dict) else {}
    breaks = assessment.get("breaks")
    line = finding.get("line")
    user = finding.get("credential_user")
    sender = parse_address(_str(finding.get("sender"))) if _str(finding.get("sender")) else None
    if sender is None and _str(bound.get("kind")) in _STATIC_KINDS and _quoted_constant(_str(bound.get("text"))):
        sender = parse_address(_str(bound.get("text")))  # a report without `sender` (older, or written by hand)
    if sender is None and isinstance(user, str):
        credential = params.get("Credential") if isinstance(params, dict) else None
        sender = credential_sender(_str(bound.get("text")), _str(credential.get("text")) if isinstance(credential, dict) else "", user)
    return SenderEvidence(
        path=_str(finding.get("path")) or "?", line=line if isinstance(line, int) and not isinstance(line, bool) else 0,
        api=_str(call.get("api")), sender=sender,
        from_text=_str(bound.get("text")), from_reason=_str(bound.get("reason")),
        credential=_str(assessment.get("credential")) or "unknown",
        credential_user=user.strip().lower() if isinstance(user, str) and user.strip() else None,
        server=_str(assessment.get("server")) or "unknown", server_text=_str(assessment.get("server_text")),
        breaks=breaks if isinstance(breaks, bool) else None, verdict=_str(assessment.get("verdict")), repo=repo,
    )


_CREDENTIAL_USER = re.compile(r"(?i)^\$(\w+)\.(UserName|GetNetworkCredential\(\)\.UserName)$")
_NOT_AFFECTED = {
    "exchange-online-direct-send": "direct send (*.mail.protection.outlook.com), which the SMTP AUTH retirement does not touch",
    "other-relay": "a relay (on-premises or third party), which the SMTP AUTH retirement does not touch",
    "exchange-online-hve": "High Volume Email, which keeps basic authentication until September 2028",
}


def _where(evidence: SenderEvidence) -> str:
    """Where a run-time sender's value comes from, in words."""
    text = evidence.from_text.strip()
    if not text:
        return "the call sets no From (the mail library's default, or a message object built elsewhere)"
    credential = _CREDENTIAL_USER.match(text)
    if credential:
        return (f"the user name of the credential ${credential.group(1)}, known only when the script runs "
                "(the mailbox is usually that account)")
    if text[:1] in "'\"" and "@" not in text and "$" not in text:
        return f"a display name without an address ({text}): the mailbox is not in the script"
    reason = evidence.from_reason
    return f"{text}: {reason}" if reason else f"{text}: a value computed when the script runs"


def _join(items: list[str]) -> str:
    return ", ".join(dict.fromkeys(item for item in items if item))


def sender_plan(evidence: Iterable[Optional[SenderEvidence]]) -> SenderPlan:
    """The sender list from what each call says (evidence None is skipped)."""
    scope: dict[str, list[SenderEvidence]] = {}
    excluded: dict[str, list[tuple[str, SenderEvidence]]] = {}
    decide: list[DecideItem] = []
    seen: set[tuple[str, str, int, str]] = set()
    for item in evidence:
        if item is None or (item.repo, item.path, item.line, item.api) in seen:
            continue
        seen.add((item.repo, item.path, item.line, item.api))
        needs_app = item.api not in GRAPH_APIS and item.breaks is not False
        if item.sender is None:
            if needs_app:
                verdict = "breaks" if item.breaks else "may break"
                decide.append(DecideItem(item.path, item.line, item.from_text, _where(item), verdict, item.repo))
            continue
        domain = item.sender.rsplit("@", 1)[-1]
        if item.api in GRAPH_APIS:
            excluded.setdefault(item.sender, []).append(("already sends through Microsoft Graph with its own app", item))
        elif domain in CONSUMER_DOMAINS or item.server == "outlook-consumer":
            excluded.setdefault(item.sender, []).append(
                ("a consumer Outlook.com account: an app-only Graph app cannot send as it (move the script to a Microsoft 365 mailbox)", item))
        elif not needs_app:
            excluded.setdefault(item.sender, []).append(
                (f"every call goes to {_NOT_AFFECTED.get(item.server, 'a server the retirement does not touch')}", item))
        else:
            scope.setdefault(item.sender, []).append(item)
    plan = SenderPlan()
    for mailbox, calls in sorted(scope.items()):
        plan.mailboxes.append(SenderUse(
            mailbox=mailbox,
            scripts=sorted({c.path for c in calls}),
            lines=[f"{c.path}:{c.line}" for c in sorted(calls, key=lambda c: (c.path, c.line))],
            credential=_join([c.credential for c in calls]),
            smtp_server=_join([c.server_text for c in calls]),
            apis=sorted({c.api for c in calls}),
            verdicts=sorted({"breaks" if c.breaks else "may break" for c in calls}),
            credential_users=sorted({c.credential_user for c in calls if c.credential_user}),
            repos=sorted({c.repo for c in calls if c.repo}),
        ))
    for mailbox, reasons in sorted(excluded.items()):
        if mailbox in scope:
            continue  # another call of the mailbox needs the app
        plan.out_of_scope.append(OutOfScope(mailbox, _join([r for r, _ in reasons]), sorted({c.path for _, c in reasons})))
    plan.decide = sorted(decide, key=lambda d: (d.repo, d.path, d.line))
    return plan


def plan_of_findings(findings: Iterable[Finding]) -> SenderPlan:
    return sender_plan(evidence_of(f) for f in findings)


def plan_of_document(document: dict[str, object]) -> SenderPlan:
    """The sender list of a scan JSON report (from its findings, by the same rule as the scan's)."""
    findings = document.get("findings")
    return sender_plan(evidence_from_json(f) for f in (findings if isinstance(findings, list) else []))
