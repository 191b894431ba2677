"""The smtp2graph command line: each command is typed options, a docstring and one call into the package."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from scanner.model import FailOn
from scanner.graph.formats import OutputFormat as _GraphFormat  # light: no requests/msal
from scanner.reports.formats import Format, GroupBy
from scanner.reports.formats import ReportFormat as _ReportFormat

if TYPE_CHECKING:
    from scanner.graph.commands import ConnectionOptions

app = typer.Typer(
    name="smtp2graph",
    help="Find PowerShell scripts that send mail over SMTP AUTH and migrate them to Microsoft Graph sendMail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: no boxes, no <bool> after every flag, and "[tool.smtp2graph]" is not eaten as markup.
    rich_markup_mode=None,
)


# ---- scan / rules (scanner core) ----


class _JudgeOption(str, Enum):
    AUTO = "auto"
    POWERSHELL = "powershell"
    TREE_SITTER = "tree-sitter"



@app.command("scan")
def scan_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders to scan (default: the current folder).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.TERMINAL,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a finding has at least this severity (a call whose verdict is unknown counts as high), or with may-break when any call breaks or may break.")] = FailOn.LOW,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    select: Annotated[Optional[list[str]], typer.Option("--select", help="Only these rules (ids or prefixes, repeatable).")] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", help="Skip these rules (ids or prefixes, repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Skip paths matching this gitignore-style glob (repeatable).")] = None,
    no_gitignore: Annotated[bool, typer.Option("--no-gitignore", help="Scan files that .gitignore files exclude.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Parallel processes (default: CPU count; 1 runs in-process).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the content cache.")] = False,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Cache folder (default: the user cache folder).")] = None,
    max_file_size: Annotated[int, typer.Option("--max-file-size", help="Skip (and report) files larger than this many bytes.")] = 10 * 1024 * 1024,
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="A previous JSON report: report only findings not in it (matched by fingerprint).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="Configuration file (default: .smtp2graph.toml or [tool.smtp2graph] in pyproject.toml at the scan root).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary or progress on stderr.")] = False,
    deadline: Annotated[Optional[str], typer.Option("--deadline", metavar="YYYY-MM-DD", help="Due date of every finding (default: the cut-over, 2026-12-31).")] = None,
    owner: Annotated[Optional[list[str]], typer.Option("--owner", metavar="OWNER", help="Only findings of this owner (repeatable; 'none': unowned).")] = None,
    repository: Annotated[Optional[list[str]], typer.Option("--repository", metavar="NAME", help="Only findings in this repository (repeatable).")] = None,
    group_by: Annotated[GroupBy, typer.Option("--group-by", help="Terminal view: order of work, or per owner or repository.")] = GroupBy.WORK,
    no_blame: Annotated[bool, typer.Option("--no-blame", help="Do not ask git blame for owners.")] = False,
    explain_unknown: Annotated[bool, typer.Option("--explain-unknown", help="List each unknown verdict, the value that would decide it, and the .smtp2graph.toml entry that declares it.")] = False,
    judge: Annotated[_JudgeOption, typer.Option("--judge", help="Who decides each patch's fix safety, as for fix: auto, powershell or tree-sitter.")] = _JudgeOption.AUTO,
) -> None:
    """Find every script that sends mail over SMTP and say what the basic-auth retirement does to it."""
    from scanner.run import ScanRequest, run_scan

    code = run_scan(
        ScanRequest(
            paths=paths or [Path(".")], format=format.value, output=output, fail_on=fail_on, exit_zero=exit_zero,
            select=select or [], ignore=ignore or [], exclude=exclude or [], respect_gitignore=not no_gitignore,
            jobs=jobs, use_cache=not no_cache, cache_dir=cache_dir, max_file_size=max_file_size,
            baseline=baseline, config=config, quiet=quiet, deadline=deadline, owners=owner or [],
            repositories=repository or [], group_by=group_by.value, use_git=not no_blame, explain_unknown=explain_unknown,
            judge=judge.value,
        )
    )
    raise typer.Exit(code)


@app.command("rules")
def rules_command(
    rule: Annotated[Optional[str], typer.Argument(help="A rule id (SMTP001) or name to explain.", show_default=False)] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print every rule's documentation as Markdown (docs/rules.md).")] = False,
) -> None:
    """List the rule catalogue, or explain one rule."""
    from scanner.run import run_rules

    raise typer.Exit(run_rules(rule, markdown))


# ---- fix / snippet / kit (migration engine) ----



@app.command("kit")
def kit_command(
    dest: Annotated[Path, typer.Argument(
        help="Folder to write the kit into (created if missing).", metavar="DIR", show_default=False)],
    senders_from: Annotated[Optional[Path], typer.Option(
        "--senders-from", help="A scan JSON file (smtp2graph scan --format json): scope the kit to its senders.",
        metavar="SCAN.json")] = None,
) -> None:
    """Write the migration kit: the Smtp2Graph module, app registration, scoping and test-send scripts, README."""
    from scanner.migrate.commands import run_kit

    code = run_kit(dest, senders_from)
    if code:
        raise typer.Exit(code)


class _FixStyleOption(str, Enum):
    MODULE = "module"
    INLINE = "inline"
    INLINE_SDK = "inline-sdk"


class _SnippetFlavour(str, Enum):
    BOTH = "both"
    INVOKE_RESTMETHOD = "invoke-restmethod"
    SEND_MGUSERMAIL = "send-mgusermail"
    MAILKIT_XOAUTH2 = "mailkit-xoauth2"


@app.command("fix")
def fix_command(
    paths: Annotated[list[Path], typer.Argument(
        help="Scripts or folders to fix.", metavar="PATH", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write patched copies under DIR, plus the migration kit in DIR/smtp2graph-kit.",
        metavar="DIR")] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="Patch the files in place (refuses a dirty git work tree; outside git, the originals are "
        "copied to .smtp2graph-backup/ first).")] = False,
    allow_dirty: Annotated[bool, typer.Option(
        "--allow-dirty", help="With --write: patch even when the git work tree has uncommitted changes.")] = False,
    unsafe_fixes: Annotated[bool, typer.Option(
        "--unsafe-fixes", help="Also apply fixes that change behaviour (listed with their reason).")] = False,
    style: Annotated[_FixStyleOption, typer.Option(
        "--style", help="module: rename to Send-GraphMailMessage (smallest diff); inline: expanded "
        "Invoke-RestMethod request; inline-sdk: expanded Send-MgUserMail.")] = _FixStyleOption.MODULE,
    force: Annotated[bool, typer.Option(
        "--force", help="With --write: also patch read-only files (their permissions are kept).")] = False,
    no_backup: Annotated[bool, typer.Option(
        "--no-backup", help="With --write outside a git work tree (or with --allow-dirty): replace the files without "
        "first copying the originals to .smtp2graph-backup/.")] = False,
    judge: Annotated[_JudgeOption, typer.Option(
        "--judge", help="Who decides that a patch parses no worse and keeps the script's structure: auto "
        "(tree-sitter, and PowerShell's parser when pwsh is installed for what tree-sitter cannot read cleanly), "
        "powershell (PowerShell's parser for every file; required), tree-sitter.")]
    = _JudgeOption.AUTO,
    config: Annotated[Optional[Path], typer.Option("--config", help="Configuration file (default: .smtp2graph.toml or [tool.smtp2graph] in pyproject.toml at the scan root).")] = None,
    select: Annotated[Optional[list[str]], typer.Option("--select", help="Only these rules (ids or prefixes, repeatable), as for scan.")] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", help="Skip these rules (ids or prefixes, repeatable), as for scan.")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Skip paths matching this gitignore-style glob (repeatable), as for scan.")] = None,
    no_gitignore: Annotated[bool, typer.Option("--no-gitignore", help="Also fix files that .gitignore files exclude.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Parallel processes (default: CPU count).")] = None,
) -> None:
    """Rewrite SMTP mail calls to Microsoft Graph sendMail: a diff by default, --out DIR or --write to apply.

    The patches are the ones `smtp2graph scan` reports: the same configuration, exclusions and suppressions."""
    from scanner.migrate.commands import FixOptions, run_fix
    from scanner.migrate.safety import FixStyle

    options = FixOptions(
        style=FixStyle(style.value), unsafe_fixes=unsafe_fixes, judge=judge.value, config=config, select=tuple(select or ()),
        ignore=tuple(ignore or ()), exclude=tuple(exclude or ()), respect_gitignore=not no_gitignore, jobs=jobs,
    )
    code = run_fix(paths, out, write, allow_dirty, options, force, no_backup)
    if code:
        raise typer.Exit(code)


@app.command("snippet")
def snippet_command(
    location: Annotated[str, typer.Argument(
        help="The mail call, as FILE:LINE (the path and line a scan reports).", metavar="FILE:LINE",
        show_default=False)],
    flavour: Annotated[_SnippetFlavour, typer.Option(
        "--flavour", help="Which Graph equivalent to print (both: the two Graph flavours); mailkit-xoauth2: for a "
        "MailKit password logon to Exchange Online, the alternative that keeps MailKit with SMTP OAuth 2.0.")] = _SnippetFlavour.BOTH,
    config: Annotated[Optional[Path], typer.Option("--config", help="Configuration file (default: .smtp2graph.toml or [tool.smtp2graph] in pyproject.toml in the current folder).")] = None,
) -> None:
    """Print a standalone Graph equivalent (Invoke-RestMethod and Send-MgUserMail) of the mail call at FILE:LINE,
    or for a MailKit password logon the alternative that keeps MailKit with SMTP OAuth 2.0 (XOAUTH2)."""
    from scanner.migrate.commands import run_snippet

    code = run_snippet(location, flavour.value, config)
    if code:
        raise typer.Exit(code)


# ---- report (HTML / Markdown renderers) ----


@app.command("report")
def report_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Scan JSON files (smtp2graph scan --format json) and audit JSON files to merge.", metavar="FILE.json",
        show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write the report to this file instead of stdout.")] = None,
    report_format: Annotated[_ReportFormat, typer.Option(
        "--format", "-f", help="html: one self-contained page; markdown: for a PR or a wiki; csv / xlsx: the "
        "action plan; terminal / concise: text.")] = _ReportFormat.HTML,
    owner: Annotated[Optional[list[str]], typer.Option(
        "--owner", metavar="OWNER", help="Only findings of this owner (repeatable; 'none': unowned).")] = None,
    repository: Annotated[Optional[list[str]], typer.Option(
        "--repository", metavar="NAME", help="Only findings in this repository (repeatable).")] = None,
) -> None:
    """Merge scan (and tenant audit) JSON files into one estate report: HTML, Markdown, CSV or Excel."""
    from scanner.reports.command import run_report

    code = run_report(inputs, output, report_format, owners=owner or [], repositories=repository or [])
    if code:
        raise typer.Exit(code)


# ---- verify / audit (Graph) ----



_TenantOpt = Annotated[Optional[str], typer.Option("--tenant", help="Tenant: contoso.onmicrosoft.com or its GUID.")]
_ClientIdOpt = Annotated[Optional[str], typer.Option("--client-id", help="Application (client) id of the Entra app.")]
_CertOpt = Annotated[Optional[Path], typer.Option(
    "--certificate", help="PEM with private key + public certificate, or a .pfx (passphrase from "
    "$SMTP2GRAPH_CERTIFICATE_PASSPHRASE or --prompt-secret).")]
_SecretEnvOpt = Annotated[str, typer.Option(
    "--secret-env", help="Name of the environment variable holding the client secret (never pass a secret as an argument).")]
_PromptSecretOpt = Annotated[bool, typer.Option("--prompt-secret", help="Ask for the client secret / passphrase at a hidden prompt.")]
_DeviceCodeOpt = Annotated[bool, typer.Option("--device-code", help="Delegated sign-in with a device code.")]
_TokenCacheOpt = Annotated[Optional[Path], typer.Option(
    "--token-cache", help="Token cache file for --device-code (mode 0600; default: the per-user cache dir).")]
_ManagedIdentityOpt = Annotated[bool, typer.Option("--managed-identity", help="Use the Azure managed identity of this host.")]
_MiClientIdOpt = Annotated[Optional[str], typer.Option(
    "--managed-identity-client-id", help="Client id of a user-assigned managed identity.")]
_AuthorityOpt = Annotated[Optional[str], typer.Option(
    "--authority-host", hidden=True, envvar="SMTP2GRAPH_AUTHORITY_HOST",
    help="Advanced: identity platform host[:port] instead of login.microsoftonline.com.")]
_GraphUrlOpt = Annotated[Optional[str], typer.Option(
    "--graph-url", hidden=True, envvar="SMTP2GRAPH_GRAPH_URL",
    help="Advanced: Graph base URL instead of https://graph.microsoft.com/v1.0.")]
_TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each HTTP answer.")]


class _ThroughOption(str, Enum):
    GRAPH = "graph"
    MODULE = "module"


class _CloudOption(str, Enum):
    GLOBAL = "global"
    USGOV = "usgov"
    USGOVDOD = "usgovdod"
    CHINA = "china"


_CloudOpt = Annotated[_CloudOption, typer.Option(
    "--cloud", help="Microsoft cloud of the tenant: sets the sign-in authority, the Graph host and the token "
    "resource together.")]
_GraphFormatOpt = Annotated[_GraphFormat, typer.Option("--format", help="table for people, json for machines.")]


def _connection_options(values: dict[str, Any]) -> "ConnectionOptions":
    """The Graph connection settings shared by verify and audit, taken from the command's options."""
    import dataclasses

    from scanner.graph.commands import ConnectionOptions

    chosen = {f.name: values[f.name] for f in dataclasses.fields(ConnectionOptions) if f.name in values}
    if "cloud" in chosen:
        chosen["cloud"] = str(getattr(chosen["cloud"], "value", chosen["cloud"]))
    return ConnectionOptions(**chosen)


@app.command("verify")
def verify(
    tenant: _TenantOpt = None,
    client_id: _ClientIdOpt = None,
    certificate: _CertOpt = None,
    secret_env: _SecretEnvOpt = "SMTP2GRAPH_CLIENT_SECRET",
    prompt_secret: _PromptSecretOpt = False,
    device_code: _DeviceCodeOpt = False,
    token_cache: _TokenCacheOpt = None,
    managed_identity: _ManagedIdentityOpt = False,
    managed_identity_client_id: _MiClientIdOpt = None,
    sender: Annotated[Optional[list[str]], typer.Option("--from", help="Mailbox to test-send as (repeatable).")] = None,
    senders_from: Annotated[Optional[Path], typer.Option(
        "--senders-from", help="Test every distinct static sender of this scan JSON.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Recipient of the test messages.")] = None,
    expect_denied: Annotated[Optional[list[str]], typer.Option(
        "--expect-denied", help="Mailbox the app must NOT be able to send as (repeatable).")] = None,
    scope_changed_at: Annotated[Optional[str], typer.Option(
        "--scope-changed-at", help="When the app's RBAC scope was last changed (2026-12-01T14:30Z, or an age: 45m). "
        "Inside the 2 h propagation window a 403 proves nothing.")] = None,
    include_relay: Annotated[bool, typer.Option(
        "--include-relay", help="Also test-send as scanned senders that only use a relay or direct send.")] = False,
    through: Annotated[_ThroughOption, typer.Option(
        "--through", help="graph: send with smtp2graph's own client; module: send with Send-GraphMailMessage of "
        "the generated Smtp2Graph module in pwsh, the code the patched scripts run.")] = _ThroughOption.GRAPH,
    module: Annotated[Optional[Path], typer.Option(
        "--module", help="With --through module: a kit or module folder (default: the module as smtp2graph kit "
        "writes it).", metavar="DIR")] = None,
    wait_for_arrival: Annotated[float, typer.Option(
        "--wait-for-arrival", help="Seconds to wait for each test message to arrive in --to (read back; needs "
        "Mail.Read on it). Without it a 202 only proves the message was queued.", metavar="SECONDS")] = 0.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and the exact request; send nothing, read no credential.")] = False,
    output_format: _GraphFormatOpt = _GraphFormat.TABLE,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result (or the --dry-run plan) to this file.")] = None,
    authority_host: _AuthorityOpt = None,
    graph_url: _GraphUrlOpt = None,
    timeout: _TimeoutOpt = 30.0,
    cloud: _CloudOpt = _CloudOption.GLOBAL,
) -> None:
    """Prove the app can send as each sender, and cannot send as mailboxes outside its scope.

    Exit code 0 when every expectation is proven, 1 when one fails, 3 when one is inconclusive, 2 on error.
    """
    from scanner.graph.commands import verify_command

    options = _connection_options(locals())
    raise typer.Exit(verify_command(
        options, senders=sender or [], senders_from=senders_from, to=to, expect_denied=expect_denied or [],
        dry_run=dry_run, output=output_format, scope_changed_at=scope_changed_at, include_relay=include_relay,
        through=through.value, module=module, wait_for_arrival=wait_for_arrival, output_file=output,
    ))


@app.command("audit")
def audit(
    tenant: _TenantOpt = None,
    client_id: _ClientIdOpt = None,
    certificate: _CertOpt = None,
    secret_env: _SecretEnvOpt = "SMTP2GRAPH_CLIENT_SECRET",
    prompt_secret: _PromptSecretOpt = False,
    device_code: _DeviceCodeOpt = False,
    token_cache: _TokenCacheOpt = None,
    managed_identity: _ManagedIdentityOpt = False,
    managed_identity_client_id: _MiClientIdOpt = None,
    scan: Annotated[Optional[Path], typer.Option(
        "--scan", help="Scan JSON to correlate SMTP AUTH sign-ins with scanned scripts.")] = None,
    days: Annotated[int, typer.Option("--days", help="Sign-in log window in days (1-30).")] = 30,
    output_format: _GraphFormatOpt = _GraphFormat.TABLE,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result (or the --dry-run plan) to this file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the reads the audit would make and the permission each needs; send nothing, read no credential.")] = False,
    authority_host: _AuthorityOpt = None,
    graph_url: _GraphUrlOpt = None,
    timeout: _TimeoutOpt = 30.0,
    cloud: _CloudOpt = _CloudOption.GLOBAL,
) -> None:
    """List apps holding Mail.Send and accounts still signing in with SMTP AUTH, matched against a scan."""
    from scanner.graph.commands import audit_command

    options = _connection_options(locals())
    raise typer.Exit(audit_command(options, scan=scan, days=days, output=output_format, output_file=output,
                                   dry_run=dry_run))


def main() -> None:
    """Entry point of the `smtp2graph` console script: usage errors say `smtp2graph: error: OPTION: reason`."""
    from scanner.errors import run_cli

    code = run_cli(app)
    from scanner.estate import pool

    if pool.STOPPED_WORKERS:
        # Ctrl-C stopped a worker pool (scanner.estate.pool): end here, as the interpreter's own exit
        # would wait for the pool's manager thread, which may never return.
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
