"""The senders and credential accounts of a smtp2graph scan JSON report, for verify and audit.

The sender list itself is the scan's (scanner.estate.senders): the same rule decides who the app is
scoped to, who verify test-sends as, and what the reports list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from scanner.estate.senders import GRAPH_APIS, SenderPlan, evidence_from_json, parse_address, sender_plan
from scanner.graph.errors import ToolError

__all__ = ["ScannedAccounts", "load_scan", "parse_address"]

# Out-of-scope reasons that mean "a relay the retirement does not touch" (verify --include-relay tests them).
_RELAY_REASON = "every call goes to "


@dataclass
class ScannedAccounts:
    """Who the scanned scripts send as, and which accounts their SMTP credentials use."""

    plan: SenderPlan = field(default_factory=SenderPlan)
    senders: dict[str, list[str]] = field(default_factory=dict)  # every static SMTP sender -> script paths
    credential_users: dict[str, list[str]] = field(default_factory=dict)  # account -> script paths
    # EWS (issue 24): scripts that use EWS, the app (client) ids they name, and the mailboxes they send as.
    ews_scripts: list[str] = field(default_factory=list)
    ews_app_ids: dict[str, list[str]] = field(default_factory=dict)  # app id (lower case) -> script paths
    ews_senders: dict[str, list[str]] = field(default_factory=dict)  # mailbox -> script paths

    def relay_only(self) -> dict[str, str]:
        """Senders whose every call goes to a relay, direct send or High Volume Email: sender -> why."""
        return {o.mailbox: f"relay-only: {o.reason}" for o in self.plan.out_of_scope if o.reason.startswith(_RELAY_REASON)}

    def all_accounts(self) -> dict[str, list[str]]:
        """Senders and credential accounts together (the names a sign-in log would show)."""
        merged: dict[str, list[str]] = {}
        for source in (self.senders, self.credential_users):
            for account, scripts in source.items():
                bucket = merged.setdefault(account, [])
                bucket.extend(s for s in scripts if s not in bucket)
        return merged


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
    except RecursionError:
        raise ToolError(f"{path}: too deeply nested to be a smtp2graph scan report") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ToolError(f"{path}: not a smtp2graph scan report (no \"findings\" list)")
    evidence = [evidence_from_json(finding) for finding in document["findings"]]
    accounts = ScannedAccounts(plan=sender_plan(evidence))
    for item in evidence:
        # An account a sign-in log could show for SMTP: not the senders of calls already on Graph.
        if item is not None and item.sender and item.api not in GRAPH_APIS:
            scripts = accounts.senders.setdefault(item.sender, [])
            if item.path not in scripts:
                scripts.append(item.path)
    for finding, item in zip(document["findings"], evidence):
        if not isinstance(finding, dict):
            continue
        _add_ews(accounts, finding, str(finding.get("path") or "?"), item.sender if item is not None else None)
        user = finding.get("credential_user")
        if isinstance(user, str) and user.strip():
            scripts = accounts.credential_users.setdefault(user.strip().lower(), [])
            script = str(finding.get("path") or "?")
            if script not in scripts:
                scripts.append(script)
    return accounts


_APP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    if _APP_ID.fullmatch(text):
        scripts = accounts.ews_app_ids.setdefault(text, [])
        if script not in scripts:
            scripts.append(script)
    if sender and call.get("sent", True):
        scripts = accounts.ews_senders.setdefault(sender, [])
        if script not in scripts:
            scripts.append(script)
