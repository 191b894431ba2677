"""Formatters for verify and audit results: a rich table for people, JSON for machines."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table

from scanner.graph.audit import AuditReport
from scanner.graph.formats import OutputFormat
from scanner.graph.verify import VerifyReport


def _console_text(*renderables: object) -> str:
    buffer = io.StringIO()
    # A fixed wide console: the output is identical in a terminal, a pipe and a test.
    console = Console(file=buffer, width=120, color_system=None, highlight=False, soft_wrap=False)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()


def format_verify(report: VerifyReport, output: OutputFormat) -> str:
    """The verify result as a table (sender → verdict → what to do) or as the verify JSON."""
    if output is OutputFormat.JSON:
        return json.dumps(report.to_json(), indent=2) + "\n"
    parts: list[object] = [f"note: {note}" for note in report.notes]
    table = Table(title=f"smtp2graph verify — app {report.app_id or '?'} in {report.tenant}", title_justify="left")
    table.add_column("Sender")
    table.add_column("Expected")
    table.add_column("Result")
    table.add_column("HTTP")
    table.add_column("What it means / what to do", overflow="fold")
    for result in report.results:
        verdict = {"pass": "OK ", "fail": "FAIL ", "inconclusive": "INCONCLUSIVE "}[result.verdict.value]
        table.add_row(result.sender, result.expectation.value, verdict + result.outcome.value,
                      str(result.status) if result.status is not None else "-", result.message)
    parts.append(table)
    counts = {v: sum(1 for r in report.results if r.verdict.value == v) for v in ("pass", "fail", "inconclusive")}
    summary = (f"{len(report.results)} checked: {counts['pass']} proven, {counts['fail']} failed, "
               f"{counts['inconclusive']} inconclusive — verdict: {report.verdict.value.upper()}")
    if report.verdict.value == "pass":
        summary += " (202 = accepted and queued by Graph; delivery is not proven until the messages arrive)"
    parts.append(summary)
    return _console_text(*parts)


def format_audit(report: AuditReport, output: OutputFormat) -> str:
    """The audit as tables (one per section) or as the audit JSON."""
    if output is OutputFormat.JSON:
        return json.dumps(report.to_json(), indent=2) + "\n"
    parts: list[object] = [f"smtp2graph audit — tenant {report.tenant}, last {report.days} days"]

    apps = Table(title="Apps holding Microsoft Graph Mail.Send (application)", title_justify="left")
    for column in ("Display name", "App id", "Service principal", "Granted"):
        apps.add_column(column)
    for app_item in report.mail_send_apps.items:
        apps.add_row(app_item.display_name, app_item.app_id, app_item.service_principal_id, app_item.granted)
    parts.append(apps if report.mail_send_apps.status.value == "ok" else
                 f"Apps holding Mail.Send: {report.mail_send_apps.message}")

    signins = Table(title="SMTP AUTH sign-ins per account", title_justify="left")
    for column in ("Account", "Count", "Success", "Failure", "Last seen", "Client IPs"):
        signins.add_column(column)
    for account in report.smtp_auth_signins.items:
        signins.add_row(account.account, str(account.count), str(account.success), str(account.failure),
                        account.last_seen, ", ".join(account.client_ips))
    parts.append(signins if report.smtp_auth_signins.status.value == "ok" else
                 f"SMTP AUTH sign-ins: {report.smtp_auth_signins.message}")

    correlation = report.correlation
    if correlation is not None:
        if correlation.status.value != "ok":
            parts.append(f"Correlation with the scan: {correlation.message}")
        else:
            table = Table(title="Correlation with the scan", title_justify="left")
            for column in ("Account", "Finding", "Detail", "Advice"):
                table.add_column(column)
            for unscanned in correlation.unscanned_accounts:
                table.add_row(unscanned.account, "uses SMTP AUTH, in no scanned script",
                              f"{unscanned.count} sign-in(s)", unscanned.advice)
            for silent in correlation.silent_senders:
                table.add_row(silent.account, "in scanned scripts, no SMTP AUTH sign-in",
                              ", ".join(silent.scripts), silent.advice)
            parts.append(table)
    return _console_text(*parts)
