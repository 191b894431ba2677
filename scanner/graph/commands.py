"""The verify and audit commands end to end: options in, text out, exit code back. cli.py calls these."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, TextIO

from scanner.graph.auth import (
    AUTHORITY_HOST_ENV,
    SECRET_ENV,
    AuthMode,
    AuthSettings,
    TokenProvider,
    infer_mode,
)
from scanner.graph.client import GraphClient, RetryPolicy
from scanner.graph.errors import GraphConnectionError, GraphError, ToolError, UnreachableError
from scanner.graph.render import OutputFormat, format_audit, format_audit_plan, format_plan, format_verify
from scanner.graph.verify import VerifyTarget
from scanner.outputs import error_line, prepare_output, warning_line
from scanner.safetext import safe_line, safe_text

if TYPE_CHECKING:
    from scanner.graph.claims import TokenClaims
    from scanner.graph.clouds import CloudEndpoints
    from scanner.graph.credentials import CredentialHealth

GRAPH_URL_ENV = "SMTP2GRAPH_GRAPH_URL"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
AUDIT_PERMISSIONS = ("AuditLog.Read.All", "Application.Read.All", "Reports.Read.All", "Directory.Read.All")
VERIFY_PERMISSIONS = ("Mail.Send",)


@dataclass
class ConnectionOptions:
    """The options verify and audit share: tenant, app, credential and (hidden) endpoint overrides."""

    tenant: Optional[str]
    client_id: Optional[str] = None
    certificate: Optional[Path] = None
    device_code: bool = False
    managed_identity: bool = False
    managed_identity_client_id: Optional[str] = None
    secret_env: str = SECRET_ENV
    prompt_secret: bool = False
    token_cache: Optional[Path] = None
    authority_host: Optional[str] = None
    graph_url: Optional[str] = None
    timeout: float = 30.0
    cloud: str = "global"

    def endpoints(self) -> "CloudEndpoints":
        """The --cloud endpoints (authority, Graph host, token resource, what the cloud lacks)."""
        from scanner.graph.clouds import endpoints

        return endpoints(self.cloud)

    def resolved_graph_url(self) -> str:
        """--graph-url, else $SMTP2GRAPH_GRAPH_URL, else Graph v1.0 of --cloud."""
        url = (self.graph_url or os.environ.get(GRAPH_URL_ENV) or self.endpoints().graph_url).rstrip("/")
        if not url.startswith("https://"):
            raise ToolError(f"--graph-url {url}: Graph must be reached over https")
        return url

    def resolved_authority_host(self) -> str:
        """--authority-host, else $SMTP2GRAPH_AUTHORITY_HOST, else the authority of --cloud."""
        return self.authority_host or os.environ.get(AUTHORITY_HOST_ENV) or self.endpoints().authority_host

    def settings(self, delegated_permissions: tuple[str, ...]) -> AuthSettings:
        """AuthSettings from the options; a missing or conflicting choice is a ToolError."""
        if not self.tenant:
            raise ToolError("--tenant is required (contoso.onmicrosoft.com or the tenant GUID)")
        mode = infer_mode(self.certificate, self.device_code, self.managed_identity, self.secret_env, self.prompt_secret)
        from scanner.graph.clouds import check_consistent, graph_resource

        cloud = self.endpoints()
        graph_url = self.resolved_graph_url()
        authority_host = self.resolved_authority_host()
        check_consistent(cloud, authority_host, graph_url)
        return AuthSettings(
            tenant=self.tenant,
            client_id=self.client_id,
            mode=mode,
            certificate=self.certificate,
            secret_env=self.secret_env,
            prompt_for_secret=self.prompt_secret,
            token_cache=self.token_cache or (default_token_cache() if mode is AuthMode.DEVICE_CODE else None),
            delegated_permissions=delegated_permissions,
            graph_resource=graph_resource(cloud, graph_url),
            managed_identity_client_id=self.managed_identity_client_id,
            authority_host=authority_host,
            timeout=self.timeout,
        )


def default_token_cache() -> Path:
    """Where the device-code token cache lives unless --token-cache says otherwise (per-user cache dir)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("smtp2graph")) / "msal-token-cache.json"


@dataclass
class Runtime:
    """What tests replace: the clock, sleeping, prompts and the output streams."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    sleep: Optional[Callable[[float], None]] = None
    prompt: Optional[Callable[[str], str]] = None
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def _no_token() -> str:
    raise ToolError("internal: a dry run must not request a token")


def _error_text(error: Exception, options: ConnectionOptions) -> str:
    """The one error line of verify and audit: a connection failure also says which proxy (masked) and CA
    bundle the request used, by the names of the settings that change them."""
    from scanner.graph.network import network_hint

    text = str(error)
    url = ""
    if isinstance(error, UnreachableError):
        url = options.resolved_authority_host()
        url = url if "://" in url else "https://" + url
    elif isinstance(error, GraphConnectionError):
        url = getattr(error, "url", "") or options.resolved_graph_url()
    return error_line(f"{text} — {network_hint(url)}" if url else text)


def _emit(text: str, output_file: Optional[Path], runtime: Runtime, what: str) -> bool:
    """Print a result on stdout, or write it to ``output_file`` (its folder created, and said); False when the
    file cannot be written (said in one line)."""
    if output_file is None or str(output_file) == "-":  # `-o -`: standard output
        runtime.stdout.write(text)
        return True
    from scanner.migrate.writer import OutputRefused, write_output_file

    try:
        prepare_output(output_file, what, runtime.stderr)
        # Atomic, never through a symbolic link nor over a read-only file (OutputRefused says so).
        write_output_file(output_file, [text.encode("utf-8")], make_parents=False)
    except OutputRefused as exc:
        print(error_line(str(exc)), file=runtime.stderr)
        return False
    except OSError as exc:
        print(error_line(f"{output_file}: cannot write {what} ({exc.strerror or exc})"), file=runtime.stderr)
        return False
    print(safe_line(f"wrote {what} to {output_file}"), file=runtime.stderr)
    return True


def _client(options: ConnectionOptions, provider: Callable[[], str], runtime: Runtime) -> GraphClient:
    retry = RetryPolicy(sleep=runtime.sleep) if runtime.sleep else RetryPolicy()
    return GraphClient(provider, base_url=options.resolved_graph_url(), timeout=options.timeout, retry=retry)


def _provider(settings: AuthSettings, runtime: Runtime) -> TokenProvider:
    notify: Callable[[str], None] = lambda text: print(safe_text(text), file=runtime.stderr)
    return TokenProvider(settings, prompt=runtime.prompt, notify=notify)


def _show_claims(provider: TokenProvider, runtime: Runtime) -> "TokenClaims":
    """Acquire the token and print its claims summary to stderr; returns the decoded claims."""
    from scanner.graph.claims import decode_claims

    claims = decode_claims(provider())
    print(safe_text(claims.summary()), file=runtime.stderr)
    return claims


def parse_changed_at(text: Optional[str], now: datetime) -> Optional[datetime]:
    """`--scope-changed-at`: an ISO-8601 time (UTC when no offset is given) or an age such as 45m, 1h30m, 90s."""
    import re
    from datetime import timedelta

    if text is None or not text.strip():
        return None
    value = text.strip()
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m(?:in)?)?\s*(?:(\d+)s)?(?:\s+ago)?", value, re.IGNORECASE)
    if match and any(match.groups()):
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return now - timedelta(hours=hours, minutes=minutes, seconds=seconds)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ToolError(f"--scope-changed-at {value}: give a time (2026-12-01T14:30Z) or an age (45m, 1h30m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment > now:
        raise ToolError(f"--scope-changed-at {value}: that time is in the future")
    return moment


def _addresses(values: list[str], option: str) -> list[str]:
    from scanner.graph.senders import parse_address

    addresses = []
    for value in values:
        address = parse_address(value)
        if address is None:
            raise ToolError(f"{option} {value}: not an email address")
        addresses.append(address)
    return addresses


def _collect_targets(senders: list[str], senders_from: Optional[Path], expect_denied: list[str],
                     runtime: Runtime, include_relay: bool = False) -> tuple[list[VerifyTarget], list[tuple[str, str]]]:
    """--from, the scan's static senders (relay-only ones skipped unless asked), then --expect-denied."""
    from scanner.graph.senders import load_scan
    from scanner.graph.verify import build_targets

    wanted = _addresses(senders, "--from")
    skipped: list[tuple[str, str]] = []
    if senders_from is not None:
        scanned = load_scan(senders_from)
        plan = scanned.plan
        if not plan.mailboxes:
            print(warning_line(f"{senders_from}: no sender mailbox in the app's scope in the scan report"), file=runtime.stderr)
        wanted.extend(s.mailbox for s in plan.mailboxes if s.mailbox not in wanted)
        relay = scanned.relay_only()
        for item in plan.out_of_scope:
            if item.mailbox in wanted:
                continue
            if include_relay and item.mailbox in relay:
                wanted.append(item.mailbox)
            elif item.mailbox in relay:
                skipped.append((item.mailbox, relay[item.mailbox] + "; not test-sent (--include-relay to test it)"))
            else:
                skipped.append((item.mailbox, f"not in the app's scope: {item.reason}; not test-sent"))
        for decide in plan.decide:
            print(warning_line(f"{senders_from}: {decide.path}:{decide.line} sends as a mailbox known only at run time "
                               f"({decide.where}); add it with --from"), file=runtime.stderr)
    targets = build_targets(wanted, _addresses(expect_denied, "--expect-denied"))
    if not targets:
        raise ToolError("nothing to verify: give --from, --senders-from or --expect-denied"
                        + (" (every scanned sender is relay-only: add --include-relay)" if skipped else ""))
    return targets, skipped


def _credential_health(options: ConnectionOptions, settings: AuthSettings, client: GraphClient, app_id: str,
                       runtime: Runtime) -> "CredentialHealth":
    """App registration and local certificate expiry; a managed identity has no credential of its own."""
    from scanner.graph.auth import PASSPHRASE_ENV
    from scanner.graph.credentials import CredentialHealth, credential_health

    if settings.mode is AuthMode.MANAGED_IDENTITY:
        return CredentialHealth(messages=["managed identity: Azure rotates its credential, nothing expires here"])
    return credential_health(client, app_id, options.certificate, os.environ.get(PASSPHRASE_ENV), runtime.now())


def verify_command(
    options: ConnectionOptions,
    *,
    senders: list[str],
    senders_from: Optional[Path],
    to: Optional[str],
    expect_denied: list[str],
    dry_run: bool,
    output: OutputFormat,
    scope_changed_at: Optional[str] = None,
    include_relay: bool = False,
    through: str = "graph",
    module: Optional[Path] = None,
    wait_for_arrival: float = 0.0,
    output_file: Optional[Path] = None,
    runtime: Optional[Runtime] = None,
) -> int:
    """Run `smtp2graph verify`; returns the exit code.

    0 every expectation proven, 1 one failed, 2 usage/tool error, 3 nothing failed but something
    could not be proven (inconclusive).
    """
    from scanner.graph.ratelimit import MailboxRateLimiter
    from scanner.graph.senders import parse_address
    from scanner.graph.verify import TokenFacts, Verdict, plan_requests, run_verify

    runtime = runtime or Runtime()
    try:
        changed_at = parse_changed_at(scope_changed_at, runtime.now())
        if not to:
            raise ToolError("--to is required: the mailbox that receives the test messages")
        recipient = parse_address(to)
        if recipient is None:
            raise ToolError(f"--to {to}: not an email address")
        if through not in ("graph", "module"):
            raise ToolError(f"--through {through}: choose graph or module")
        targets, skipped = _collect_targets(senders, senders_from, expect_denied, runtime, include_relay)
        if dry_run:
            # No credential is read and no token requested: the token provider here refuses to run.
            client = _client(options, _no_token, runtime)
            app_id = options.client_id or "(managed identity)"
            planned = plan_requests(client, targets, recipient, app_id, runtime.now())
            if not _emit(format_plan(targets, planned, skipped, output, through), output_file, runtime, "the verify plan"):
                return EXIT_USAGE
            print(f"dry run: {len(targets)} request(s) planned, nothing sent, no token requested", file=runtime.stderr)
            return EXIT_OK
        settings = options.settings(VERIFY_PERMISSIONS)
        if through == "module":
            from scanner.graph.module_verify import check_module_prerequisites

            check_module_prerequisites(settings, options.certificate)
        provider = _provider(settings, runtime)
        client = _client(options, provider, runtime)
        claims = _show_claims(provider, runtime)
        app_id = claims.app_id or settings.client_id or "(managed identity)"
        limiter = MailboxRateLimiter(sleep=runtime.sleep) if runtime.sleep else MailboxRateLimiter()
        token = TokenFacts.from_claims(claims)
        if wait_for_arrival < 0:
            raise ToolError(f"--wait-for-arrival {wait_for_arrival:g}: give the seconds to wait (0 = do not wait)")
        import uuid

        run_id = uuid.uuid4().hex[:8] if wait_for_arrival else ""
        if through == "module":
            from scanner.graph.module_verify import send_through_module
            from scanner.graph.verify import judge_attempts

            started = runtime.now()
            attempts = send_through_module(targets, recipient, app_id, settings=settings,
                                           graph_url=options.resolved_graph_url(), certificate=options.certificate,
                                           module=module, client=client, now=runtime.now, run_id=run_id)
            report = judge_attempts(attempts, targets, recipient, app_id=app_id, tenant=settings.tenant, token=token,
                                    scope_changed_at=changed_at, started=started, now=runtime.now())
            report.send_path = "smtp2graph-module"
        else:
            report = run_verify(client, targets, recipient, app_id=app_id, tenant=settings.tenant,
                                token=token, scope_changed_at=changed_at, limiter=limiter, now=runtime.now,
                                run_id=run_id)
        if wait_for_arrival:
            import time

            from scanner.graph.verify import confirm_arrival

            confirm_arrival(client, report, recipient, wait=wait_for_arrival, run_id=run_id,
                            sleep=runtime.sleep or time.sleep)
        report.skipped = skipped
        report.credentials = _credential_health(options, settings, client, app_id, runtime)
    except (ToolError, GraphError) as error:
        print(_error_text(error, options), file=runtime.stderr)
        return EXIT_USAGE
    if not _emit(format_verify(report, output), output_file, runtime, "the verify result"):
        return EXIT_USAGE
    return {Verdict.PASS: EXIT_OK, Verdict.FAIL: EXIT_FAILED, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}[report.verdict]


def audit_command(
    options: ConnectionOptions,
    *,
    scan: Optional[Path],
    days: int,
    output: OutputFormat,
    output_file: Optional[Path] = None,
    dry_run: bool = False,
    runtime: Optional[Runtime] = None,
) -> int:
    """Run `smtp2graph audit`; returns 0 (degraded sections included) or 2 on a usage/tool error.
    With ``dry_run`` it prints the reads it would make and contacts nothing (no credential read)."""
    from scanner.graph.audit import audit_plan, run_audit
    from scanner.graph.senders import load_scan

    runtime = runtime or Runtime()
    try:
        if not 1 <= days <= 180:
            # The usage report goes back 180 days; sign-in logs 30 (said in that section).
            raise ToolError(f"--days {days}: choose 1 to 180 (sign-in logs cover at most 30 days, the email app "
                            "usage report 180)")
        scanned = load_scan(scan) if scan is not None else None
        if dry_run:
            from scanner.graph.auth import authority_base

            if not options.tenant:
                raise ToolError("--tenant is required (contoso.onmicrosoft.com or the tenant GUID)")
            token_url = f"{authority_base(options.resolved_authority_host())}/{options.tenant}/oauth2/v2.0/token"
            plan = audit_plan(options.resolved_graph_url(), days=days, now=runtime.now(), cloud=options.endpoints())
            if not _emit(format_audit_plan(options.tenant, plan, output, token_url), output_file, runtime, "the audit plan"):
                return EXIT_USAGE
            print(f"dry run: {len(plan)} read(s) planned, nothing sent, no token requested", file=runtime.stderr)
            return EXIT_OK
        settings = options.settings(AUDIT_PERMISSIONS)
        cloud = options.endpoints()
        for feature in cloud.lacks:
            # Said before anything runs, so nobody reads a missing section as "nothing found".
            print(f"note: the {cloud.cloud.value} cloud does not offer {feature}; that section is skipped",
                  file=runtime.stderr)
        provider = _provider(settings, runtime)
        client = _client(options, provider, runtime)
        _show_claims(provider, runtime)
        report = run_audit(client, tenant=settings.tenant, days=days, scanned=scanned, now=runtime.now, cloud=cloud)
    except (ToolError, GraphError) as error:
        print(_error_text(error, options), file=runtime.stderr)
        return EXIT_USAGE
    return EXIT_OK if _emit(format_audit(report, output), output_file, runtime, "the audit") else EXIT_USAGE
