"""Formatters for verify and audit results: a rich table for people, JSON for machines."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table

from scanner.graph.audit import AuditReport, PlannedRead
from scanner.graph.formats import OutputFormat
from scanner import __version__
from scanner.graph.client import PlannedRequest
from scanner.graph.verify import VerifyReport, VerifyTarget
from scanner.safetext import json_safe, safe_line, safe_text


class Command(str):
    """A command line to copy: printed whole, never wrapped or parsed as markup."""


def _add_row(table: Table, *cells: str) -> None:
    """A table row whose cells cannot drive the terminal: a value from a scan report or from the tenant (an
    app's display name, a sign-in's account) may hold ESC, OSC or newlines; each is shown as an escape."""
    table.add_row(*(safe_line(cell) for cell in cells))


def _console_text(*renderables: object) -> str:
    """The renderables as plain text (no colour); every control character but newline and tab escaped."""
    buffer = io.StringIO()
    # A fixed wide console: the output is identical in a terminal, a pipe and a test.
    console = Console(file=buffer, width=120, color_system=None, highlight=False, soft_wrap=False)
    for renderable in renderables:
        if isinstance(renderable, str):
            # Messages carry text like "[WWW-Authenticate: …]": never read it as rich markup.
            # A message is one line (an embedded newline would forge a line of its own); a command keeps its lines.
            text = safe_text(renderable) if isinstance(renderable, Command) else safe_line(renderable)
            console.print(text, markup=False, soft_wrap=isinstance(renderable, Command))
        else:
            console.print(renderable)
    return safe_text(buffer.getvalue())


def format_plan(targets: list[VerifyTarget], planned: list[PlannedRequest], skipped: list[tuple[str, str]],
                output: OutputFormat, through: str = "graph") -> str:
    """`verify --dry-run`: the plan table (sender, purpose, request), then the first request in full (the others
    differ only in the sender); or the plan JSON, which holds every request in full."""
    purposes = {"send": "send", "denied": "expect-denied"}
    if output is OutputFormat.JSON:
        document = {
            "schema_version": 2, "kind": "verify-plan", "tool": {"name": "smtp2graph", "version": __version__},
            "send_path": "smtp2graph-module" if through == "module" else "graph-client",
            "plan": [{"sender": t.sender, "purpose": purposes[t.expectation.value], "method": r.method, "url": r.url,
                      "headers": dict(r.headers), "body": r.json_body} for t, r in zip(targets, planned)],
            "skipped": [{"sender": sender, "reason": reason} for sender, reason in skipped],
        }
        return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    table = Table(title="smtp2graph verify --dry-run — the plan (nothing is sent)", title_justify="left")
    for column in ("Sender", "Purpose", "Request"):
        table.add_column(column, overflow="fold")
    for target, request in zip(targets, planned):
        _add_row(table, target.sender, purposes[target.expectation.value], f"{request.method} {request.url}")
    for sender, reason in skipped:
        _add_row(table, sender, "skipped", reason)
    parts: list[object] = [table]
    if through == "module":
        parts.append("sends go through Send-GraphMailMessage of the generated Smtp2Graph module in pwsh; the "
                     "module builds the same request")
    if planned:
        parts.append(f"The request for {targets[0].sender}, exactly as it would be sent:")
        parts.append(Command(planned[0].render() + "\n"))
        if len(planned) > 1:
            parts.append(f"The other {len(planned) - 1} request(s) differ only in the sender (URL, subject, text); "
                         "--format json shows each in full.")
    return _console_text(*parts)


def format_audit_plan(tenant: str, plan: list[PlannedRead], output: OutputFormat, token_url: str) -> str:
    """`audit --dry-run`: the reads the audit would make, the section each fills and the permission it needs."""
    if output is OutputFormat.JSON:
        document = {"schema_version": 2, "kind": "audit-plan", "tool": {"name": "smtp2graph", "version": __version__},
                    "tenant": tenant, "token_url": token_url, "plan": [read.to_json() for read in plan]}
        return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    parts: list[object] = [
        f"smtp2graph audit --dry-run — tenant {tenant}: the reads the audit would make (nothing is sent)",
        "Sign-in first (not requested in a dry run):", Command(f"  POST {token_url}"), ""]
    for number, read in enumerate(plan, 1):
        if read.method == "-":
            parts.append(f"{number}. {read.section}: skipped — {read.note}")
            continue
        parts.append(f"{number}. {read.section} — needs {read.permission}")
        parts.append(Command(f"   {read.method} {read.url}"))
        if read.note:
            parts.append(f"   {read.note}")
    parts += ["", "Every request is a GET: the audit changes nothing. A permission the token lacks, or no Entra ID "
              "P1 licence for the sign-ins, marks only that section degraded; the Exchange Online commands the audit "
              "prints (scoping, SMTP AUTH switches, EWS) need no request."]
    return _console_text(*parts)


def format_verify(report: VerifyReport, output: OutputFormat) -> str:
    """The verify result as a table (sender → verdict → what to do) or as the verify JSON."""
    if output is OutputFormat.JSON:
        return json_safe(json.dumps(report.to_json(), indent=2)) + "\n"
    parts: list[object] = [f"note: {note}" for note in report.notes]
    parts += [f"skipped: {sender}: {reason}" for sender, reason in report.skipped]
    if report.send_path == "smtp2graph-module":
        parts.append("sent through: Send-GraphMailMessage of the generated Smtp2Graph module in pwsh "
                     "(the code the patched scripts run)")
    if report.credentials is not None:
        for item in report.credentials.items:
            prefix = "WARNING: " if item.state != "ok" else ""
            parts.append(f"{prefix}credential: {item.line()}")
        parts += [f"credential: {message}" for message in report.credentials.messages]
    table = Table(title=f"smtp2graph verify — app {report.app_id or '?'} in {report.tenant}", title_justify="left")
    table.add_column("Sender")
    table.add_column("Expected")
    table.add_column("Result")
    table.add_column("HTTP")
    table.add_column("What it means / what to do", overflow="fold")
    for result in report.results:
        verdict = {"pass": "OK ", "fail": "FAIL ", "inconclusive": "INCONCLUSIVE "}[result.verdict.value]
        _add_row(table, result.sender, result.expectation.value, verdict + result.outcome.value,
                      str(result.status) if result.status is not None else "-", result.message)
    parts.append(table)
    counts = {v: sum(1 for r in report.results if r.verdict.value == v) for v in ("pass", "fail", "inconclusive")}
    summary = (f"{len(report.results)} checked: {counts['pass']} proven, {counts['fail']} failed, "
               f"{counts['inconclusive']} inconclusive — verdict: {report.verdict.value.upper()}")
    if report.verdict.value == "pass":
        summary += " (202 = accepted and queued by Graph; delivery is not proven until the messages arrive)"
    parts.append(summary)
    return _console_text(*parts)


def _section_line(title: str, section: object) -> str:
    status = getattr(section, "status").value
    message = getattr(section, "message")
    return f"{title}: {status}{' — ' + message if message else ''}"


def format_audit(report: AuditReport, output: OutputFormat) -> str:
    """The audit as tables (one per section) or as the audit JSON."""
    if output is OutputFormat.JSON:
        return json_safe(json.dumps(report.to_json(), indent=2)) + "\n"
    parts: list[object] = [f"smtp2graph audit — tenant {report.tenant} ({report.cloud} cloud), last {report.days} days"]
    parts += [f"note: {note}" for note in report.notes]

    apps = Table(title="Apps holding Microsoft Graph Mail.Send (application permission, tenant-wide)",
                 title_justify="left")
    for column in ("Display name", "App id", "Service principal", "Granted", "Note"):
        apps.add_column(column, overflow="fold")
    for app_item in report.mail_send_apps.items:
        _add_row(apps, app_item.display_name, app_item.app_id, app_item.service_principal_id, app_item.granted,
                     app_item.note)
    if report.mail_send_apps.status.value != "ok" or report.mail_send_apps.message:
        parts.append(_section_line("Apps holding Mail.Send", report.mail_send_apps))
    if report.mail_send_apps.items:
        parts.append(apps)

    delegated = report.delegated_mail_send
    if delegated.status.value != "ok" or not delegated.items:
        parts.append(_section_line("Delegated Mail.Send grants", delegated) +
                     ("" if delegated.items or delegated.status.value != "ok" else " (none)"))
    if delegated.items:
        table = Table(title="Delegated Mail.Send grants (oauth2PermissionGrants)", title_justify="left")
        for column in ("Client app", "App id", "Consent", "User (object id)", "Scope", "Note"):
            table.add_column(column, overflow="fold")
        for grant in delegated.items:
            _add_row(table, grant.client_display_name, grant.client_app_id, grant.consent_type,
                          grant.principal_id or "everyone", grant.scope, grant.note)
        parts.append(table)

    parts.append(_section_line("Exchange Online scoping (RBAC for Applications, access policies)",
                               report.exchange_scoping))
    parts += [Command(f"    {command}") for command in report.exchange_scoping.commands]

    signins = Table(title="SMTP AUTH sign-ins per account", title_justify="left")
    for column in ("Account", "Count", "Success", "Failure", "Last seen", "Client IPs"):
        signins.add_column(column)
    for account in report.smtp_auth_signins.items:
        _add_row(signins, account.account, str(account.count), str(account.success), str(account.failure),
                        account.last_seen, ", ".join(account.client_ips))
    if report.smtp_auth_signins.status.value != "ok" or report.smtp_auth_signins.message:
        parts.append(_section_line("SMTP AUTH sign-ins", report.smtp_auth_signins))
    if report.smtp_auth_signins.status.value == "ok" or report.smtp_auth_signins.items:
        parts.append(signins)

    usage = report.email_app_usage
    parts.append(_section_line("Email app usage report (SMTP column)", usage))
    if usage.items:
        table = Table(title="Accounts using SMTP (email app usage report)", title_justify="left")
        for column in ("Account", "Display name", "Last activity"):
            table.add_column(column)
        for usage_row in usage.items:
            _add_row(table, usage_row.account, usage_row.display_name, usage_row.last_activity)
        parts.append(table)

    parts.append(_section_line("SMTP AUTH switches", report.smtp_auth_switches))
    parts += [Command(f"    {command}") for command in report.smtp_auth_switches.commands]

    parts += _ews_parts(report)

    correlation = report.correlation
    if correlation is not None:
        if correlation.status.value != "ok":
            parts.append(f"Correlation with the scan: {correlation.message}")
        else:
            if correlation.message:
                parts.append(f"Correlation with the scan: {correlation.message}")
            table = Table(title="Correlation with the scan", title_justify="left")
            for column in ("Account", "Finding", "Detail", "Advice"):
                table.add_column(column, overflow="fold")
            for unscanned in correlation.unscanned_accounts:
                _add_row(table, unscanned.account, "uses SMTP AUTH, in no scanned script",
                              f"{unscanned.count} sign-in(s)", unscanned.advice)
            for silent in correlation.silent_senders:
                _add_row(table, silent.account, "in scanned scripts, no SMTP AUTH sign-in",
                              ", ".join(silent.scripts), silent.advice)
            parts.append(table)
            scripts = Table(title="Scanned scripts and their accounts", title_justify="left")
            for column in ("Script", "Accounts", "State", "Evidence"):
                scripts.add_column(column, overflow="fold")
            for row in correlation.scripts:
                _add_row(scripts, row.script, ", ".join(row.accounts), row.state, row.evidence)
            parts.append(scripts)
    return _console_text(*parts)


def _ews_parts(report: AuditReport) -> list[object]:
    """The EWS retirement sections: apps with EWS / SMTP OAuth permissions, the EWS switches, scripts per app."""
    parts: list[object] = []
    apps = report.ews_apps
    title = "Apps holding EWS or SMTP OAuth permissions on Office 365 Exchange Online"
    if apps.status.value != "ok" or apps.message or not apps.items:
        parts.append(_section_line(title, apps) + ("" if apps.items or apps.status.value != "ok" else " (none)"))
    if apps.items:
        table = Table(title=title + " (EWS in Exchange Online: blocked by default since 1 October 2026, off on 1 April 2027)",
                      title_justify="left")
        for column in ("Display name", "App id", "Permission", "Kind", "Granted / consent", "Scripts", "Note"):
            table.add_column(column, overflow="fold")
        for app_item in apps.items:
            consent = app_item.granted if app_item.kind == "application" else f"{app_item.consent_type} {app_item.principal_id}".strip()
            _add_row(table, app_item.display_name, app_item.app_id, app_item.permission, app_item.kind, consent,
                     ", ".join(app_item.scripts), app_item.note)
        parts.append(table)
    parts.append(_section_line("EWS switches (EwsEnabled, app allow list)", report.ews_switches))
    parts += [Command(f"    {command}") for command in report.ews_switches.commands]
    correlation = report.ews_correlation
    if correlation is not None:
        if correlation.status.value != "ok" or correlation.message:
            parts.append(_section_line("Scanned EWS scripts and their apps", correlation))
        if correlation.items:
            table = Table(title="Scanned EWS scripts and their apps", title_justify="left")
            for column in ("Script", "App id", "State", "What it means"):
                table.add_column(column, overflow="fold")
            for row in correlation.items:
                _add_row(table, row.script, row.app_id or "-", row.state, row.detail)
            parts.append(table)
    return parts
