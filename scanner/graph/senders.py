"""Static senders and credential accounts read from a smtp2graph scan JSON report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from scanner.graph.errors import ToolError

GRAPH_APIS = frozenset({"graph-sendmail", "send-mgusermail"})
STATIC_KINDS = frozenset({"splat", "default", "splat-literal"})
RELAY_SERVER_CLASSES = frozenset({"exchange-online-direct-send", "other-relay"})
RELAY_WORDS = {"exchange-online-direct-send": "direct send (*.mail.protection.outlook.com)",
               "other-relay": "another relay (on-premises, third party)"}
# An apostrophe is valid in a local part (o'brien@contoso.com); not in the domain.
_ADDRESS = re.compile(r"^[^@\s<>\"$`(){}]+@[^@\s<>\"'$`(){}]+\.[^@\s<>\"'$`(){}]+$")


@dataclass
class ScannedAccounts:
    """Who the scanned scripts send as, and which accounts their SMTP credentials use."""

    senders: dict[str, list[str]] = field(default_factory=dict)  # address -> script paths
    credential_users: dict[str, list[str]] = field(default_factory=dict)  # account -> script paths
    # sender -> the scanner's server classes of its calls ("exchange-online-submission", "other-relay", …)
    sender_servers: dict[str, set[str]] = field(default_factory=dict)
    # EWS (issue 24): scripts that use EWS, the app (client) ids they name, and the mailboxes they send as.
    ews_scripts: list[str] = field(default_factory=list)
    ews_app_ids: dict[str, list[str]] = field(default_factory=dict)  # app id (lower case) -> script paths
    ews_senders: dict[str, list[str]] = field(default_factory=dict)  # mailbox -> script paths

    def relay_only(self) -> dict[str, str]:
        """Senders whose every call goes to a relay or direct send (no SMTP AUTH): sender -> why."""
        found = {}
        for sender, servers in self.sender_servers.items():
            if servers and servers <= RELAY_SERVER_CLASSES:
                kinds = " and ".join(sorted(RELAY_WORDS[s] for s in servers))
                found[sender] = (f"relay-only: every call of this sender goes to {kinds}, which the SMTP AUTH "
                                 "retirement does not touch")
        return found

    def all_accounts(self) -> dict[str, list[str]]:
        """Senders and credential accounts together (the names a sign-in log would show)."""
        merged: dict[str, list[str]] = {}
        for source in (self.senders, self.credential_users):
            for account, scripts in source.items():
                bucket = merged.setdefault(account, [])
                bucket.extend(s for s in scripts if s not in bucket)
        return merged


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


def _quoted_constant(text: str) -> bool:
    text = text.strip()
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "'\"":
        return False
    # A double-quoted string with $ expands at run time.
    return not (text[0] == '"' and "$" in text)


def sender_of(finding: dict[str, Any]) -> Optional[str]:
    """The finding's static sender: the scanner's `sender` field first, else a constant `From` parameter."""
    explicit = finding.get("sender")
    if isinstance(explicit, str) and explicit.strip():
        return parse_address(explicit)
    call = finding.get("call") or {}
    if not isinstance(call, dict) or call.get("api") in GRAPH_APIS:
        # Graph calls without a resolved sender are not SMTP senders we can test.
        return None
    params = call.get("params") or {}
    from_param = params.get("From") if isinstance(params, dict) else None
    if not isinstance(from_param, dict):
        return None
    text, kind = str(from_param.get("text") or ""), str(from_param.get("kind") or "")
    if kind == "literal" or (kind in STATIC_KINDS and _quoted_constant(text)):
        return parse_address(text)
    return None


def load_scan(path: Path) -> ScannedAccounts:
    """Read a scan JSON report; a bad file is one clear ToolError naming the path."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ToolError(f"{path}: scan report not found (create it with: smtp2graph scan DIR --format json -o {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"{path}: cannot read the scan report ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise ToolError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ToolError(f"{path}: not a smtp2graph scan report (no \"findings\" list)")
    accounts = ScannedAccounts()
    for finding in document["findings"]:
        if not isinstance(finding, dict):
            continue
        script = str(finding.get("path") or "?")
        sender = sender_of(finding)
        if sender:
            scripts = accounts.senders.setdefault(sender, [])
            if script not in scripts:
                scripts.append(script)
            assessment = finding.get("assessment")
            server = assessment.get("server") if isinstance(assessment, dict) else None
            # A call without an assessment counts as "unknown": never a reason to skip the sender.
            accounts.sender_servers.setdefault(sender, set()).add(str(server or "unknown"))
        _add_ews(accounts, finding, script, sender)
        user = finding.get("credential_user")
        if isinstance(user, str) and user.strip():
            account = user.strip().lower()
            scripts = accounts.credential_users.setdefault(account, [])
            if script not in scripts:
                scripts.append(script)
    return accounts


def _add_ews(accounts: ScannedAccounts, finding: dict[str, Any], script: str, sender: Optional[str]) -> None:
    """Record a finding of an EWS call: its script, the app id it names, the mailbox it sends as."""
    call = finding.get("call")
    if not isinstance(call, dict) or call.get("api") != "ews":
        return
    if script not in accounts.ews_scripts:
        accounts.ews_scripts.append(script)
    params = call.get("params") if isinstance(call.get("params"), dict) else {}
    bound = params.get("AppId") if isinstance(params, dict) else None
    text = str(bound.get("text") or "").strip().lower() if isinstance(bound, dict) else ""
    if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        scripts = accounts.ews_app_ids.setdefault(text, [])
        if script not in scripts:
            scripts.append(script)
    if sender and call.get("sent", True):
        scripts = accounts.ews_senders.setdefault(sender, [])
        if script not in scripts:
            scripts.append(script)
