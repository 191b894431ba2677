"""The tenant side of the EWS retirement (issue 24, item 4), for `smtp2graph audit`.

- Which service principals hold EWS permissions on Office 365 Exchange Online (`full_access_as_app`,
  application; `EWS.AccessAsUser.All`, delegated) and the SMTP OAuth permission (`SMTP.SendAsApp`).
  Role and scope ids are resolved by their value from the resource's own service principal
  (`appRoles`, `oauth2PermissionScopes`), never hard-coded.
- The Exchange Online PowerShell commands that show whether EWS is on (organisation and mailbox
  `EwsEnabled`) and the app allow list (`EwsApplicationAccessPolicy`, `EwsAllowList`): Graph cannot
  read them.
- Which of those apps the scanned scripts use, where a script names its app (client) id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from scanner.graph.client import GraphClient
from scanner.graph.errors import GraphError, GraphMalformedResponse

EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # "Office 365 Exchange Online"
EWS_APP_ROLE = "full_access_as_app"
SMTP_APP_ROLE = "SMTP.SendAsApp"
EWS_DELEGATED_SCOPE = "EWS.AccessAsUser.All"
APP_ROLES = (EWS_APP_ROLE, SMTP_APP_ROLE)

EWS_SWITCH_COMMANDS = (
    "Connect-ExchangeOnline",
    "Get-OrganizationConfig | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList",
    "Get-CASMailbox -ResultSize Unlimited | Where-Object { $_.EwsEnabled -eq $false -or $_.EwsApplicationAccessPolicy } "
    "| Format-Table PrimarySmtpAddress,EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList",
)
EWS_SWITCH_MESSAGE = (
    "Graph cannot read the EWS switches: run these in Exchange Online PowerShell. Since 1 October 2026 an organisation "
    "whose EwsEnabled was unset has it False (every EWS call blocked) unless it was set True with an app allow list "
    "(EwsApplicationAccessPolicy EnforceAllowList, EwsAllowList); a False at organisation or mailbox level blocks the "
    "mailbox; on 1 April 2027 EWS in Exchange Online is switched off for good and these settings stop mattering"
)


@dataclass
class EwsApp:
    """A service principal holding an EWS or SMTP OAuth permission on Office 365 Exchange Online."""

    display_name: str
    app_id: str
    service_principal_id: str
    permission: str  # full_access_as_app, SMTP.SendAsApp or EWS.AccessAsUser.All
    kind: str  # application or delegated
    granted: str = ""  # ISO date of an app role assignment
    consent_type: str = ""  # delegated: AllPrincipals or Principal
    principal_id: str = ""  # delegated, consentType Principal: the user's object id
    scripts: list[str] = field(default_factory=list)  # scanned scripts that name this app id
    note: str = ""


@dataclass
class EwsScriptApp:
    """A scanned script that uses EWS, and what the tenant says about the app it names."""

    script: str
    app_id: str  # "" when the script names none
    state: str  # permitted / no-ews-permission / unnamed
    detail: str


@dataclass
class ExchangeResource:
    """Office 365 Exchange Online's service principal: its object id and the ids of the permissions audited."""

    id: str
    role_ids: dict[str, str]  # app role id -> value
    scope_values: set[str]


def resolve_resource(client: GraphClient) -> ExchangeResource:
    """Read the Exchange Online service principal with its appRoles and oauth2PermissionScopes."""
    body = client.request("GET", f"/servicePrincipals(appId='{EXCHANGE_ONLINE_APP_ID}')",
                          params={"$select": "id,appId,displayName,appRoles,oauth2PermissionScopes"}).body
    if not isinstance(body, dict) or not body.get("id"):
        raise GraphMalformedResponse(200, "WrongShape", "the Office 365 Exchange Online service principal has no id")
    roles = {str(r.get("id")): str(r.get("value")) for r in body.get("appRoles") or [] if isinstance(r, dict) and r.get("value") in APP_ROLES}
    scopes = {str(s.get("value")) for s in body.get("oauth2PermissionScopes") or [] if isinstance(s, dict)}
    missing = [value for value in APP_ROLES if value not in roles.values()]
    if missing:
        raise GraphMalformedResponse(200, "WrongShape", "Office 365 Exchange Online lists no app role " + ", ".join(missing))
    return ExchangeResource(str(body["id"]), roles, scopes)


def _principal(client: GraphClient, principal_id: str) -> tuple[dict[str, Any], str]:
    try:
        body = client.request("GET", f"/servicePrincipals/{quote(principal_id, safe='')}",
                              params={"$select": "id,appId,displayName"}).body
    except GraphError as error:
        if error.status in (0, 401):
            raise
        return {}, f"unreadable: {error.status} {error.code} (request-id {error.server_request_id or '?'})"
    return (body if isinstance(body, dict) else {}), ""


def list_ews_apps(client: GraphClient) -> tuple[list[EwsApp], int]:
    """Apps holding full_access_as_app / SMTP.SendAsApp (app role assignments) or EWS.AccessAsUser.All (grants).

    Returns the apps and how many rows were read before a failure (the caller degrades the section)."""
    resource = resolve_resource(client)
    apps: list[EwsApp] = []
    path = f"/servicePrincipals(appId='{EXCHANGE_ONLINE_APP_ID}')/appRoleAssignedTo"
    for assignment in client.get_paged(path, {"$top": "999"}):
        value = resource.role_ids.get(str(assignment.get("appRoleId") or ""))
        if value is None:
            continue
        principal_id = str(assignment.get("principalId") or "")
        principal, note = _principal(client, principal_id)
        apps.append(EwsApp(
            display_name=str(assignment.get("principalDisplayName") or principal.get("displayName") or ""),
            app_id=str(principal.get("appId") or ""), service_principal_id=principal_id, permission=value,
            kind="application", granted=str(assignment.get("createdDateTime") or ""), note=note,
        ))
    if EWS_DELEGATED_SCOPE in resource.scope_values:
        for grant in client.get_paged("/oauth2PermissionGrants", {"$filter": f"resourceId eq '{resource.id}'"}):
            scopes = str(grant.get("scope") or "").split()
            if EWS_DELEGATED_SCOPE not in scopes:
                continue
            client_id = str(grant.get("clientId") or "")
            principal, note = _principal(client, client_id)
            apps.append(EwsApp(
                display_name=str(principal.get("displayName") or ""), app_id=str(principal.get("appId") or ""),
                service_principal_id=client_id, permission=EWS_DELEGATED_SCOPE, kind="delegated",
                consent_type=str(grant.get("consentType") or ""), principal_id=str(grant.get("principalId") or ""), note=note,
            ))
    apps.sort(key=lambda a: (a.display_name.lower(), a.app_id, a.permission))
    return apps, len(apps)


def ews_switch_commands(mailboxes: list[str]) -> list[str]:
    """The Exchange Online PowerShell that shows EwsEnabled and the app allow list, per scanned EWS mailbox too."""
    commands = list(EWS_SWITCH_COMMANDS)
    for mailbox in sorted(set(mailboxes)):
        commands.append(f"Get-CASMailbox -Identity {mailbox} | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList")
    return commands


def correlate_ews(apps: list[EwsApp], app_scripts: dict[str, list[str]], ews_scripts: list[str]) -> list[EwsScriptApp]:
    """Each scanned EWS script with the app it names: an app that holds an EWS permission, one that holds none, or none named."""
    by_app: dict[str, list[EwsApp]] = {}
    for app in apps:
        if app.app_id:
            by_app.setdefault(app.app_id.lower(), []).append(app)
    rows: list[EwsScriptApp] = []
    named: set[str] = set()
    for app_id, scripts in sorted(app_scripts.items()):
        holders = by_app.get(app_id.lower(), [])
        for holder in holders:
            holder.scripts = sorted(set(holder.scripts) | set(scripts))
        for script in sorted(scripts):
            named.add(script)
            if holders:
                permissions = ", ".join(sorted({f"{h.permission} ({h.kind})" for h in holders}))
                ews = [h for h in holders if h.permission != SMTP_APP_ROLE]
                state = "permitted" if ews else "no-ews-permission"
                detail = (f"{holders[0].display_name or app_id} holds {permissions}: EWS for it is blocked unless the tenant's "
                          "EwsEnabled is True with this app on the allow list, and ends on 1 April 2027; move it to Graph"
                          if ews else f"{holders[0].display_name or app_id} holds only {permissions}: its EWS calls fail")
            else:
                state = "no-ews-permission"
                detail = (f"the app {app_id} holds no EWS permission in this tenant: the script fails already, or it signs in "
                          "to another tenant")
            rows.append(EwsScriptApp(script, app_id, state, detail))
    for script in sorted(set(ews_scripts) - named):
        rows.append(EwsScriptApp(script, "", "unnamed", "the script names no app id (a password, the Windows logon, or a token "
                                                       "from elsewhere): match it with the apps above by hand"))
    return rows


def to_json_rows(items: list[Any]) -> list[dict[str, Any]]:
    return [{k: list(v) if isinstance(v, list) else v for k, v in vars(item).items()} for item in items]
