"""GRAPH003 me-sendmail-app-only: /me/sendMail called with an application (app-only) token."""

from __future__ import annotations

from scanner.extract.graph import app_only_evidence
from scanner.model import Confidence, FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check


def file_check(context: FileContext) -> list[RuleResult]:
    """Each /me/sendMail call in a script that gets an app-only token."""
    script = context.script
    me_calls = [c for c in context.calls_of("graph") if c.params.get("From") is not None and c.params["From"].text == "me"]
    if not me_calls:
        return []
    evidence = app_only_evidence(script)
    if not evidence:
        return []
    results: list[RuleResult] = []
    for call in me_calls:
        first = evidence[0]
        message = (
            f"{call.command} posts to /me/sendMail, but this script gets an app-only token ({first.what}, line "
            f"{script.line_of(first.start)}): an application has no signed-in user, so Graph answers 400/403 and no mail "
            "is sent. Use /users/{sender}/sendMail with the sender mailbox."
        )
        related = tuple((e.start, "token") for e in evidence)
        start, end = call.call_span
        results.append(RuleResult(start, end, message, Severity.HIGH, Confidence.HIGH, related, call))
    return results


RULE = Rule(
    id="GRAPH003",
    name="me-sendmail-app-only",
    severity=Severity.HIGH,
    summary="/me/sendMail with an app-only token (client credentials, certificate, managed identity) cannot work.",
    what_it_does=(
        "Finds Graph sendMail calls to `/me/sendMail` in scripts that get an application token: a "
        "`grant_type = client_credentials` request, `Connect-MgGraph -ClientId … -CertificateThumbprint` (or "
        "`-Certificate`, `-ClientSecretCredential`, `-Identity`), `Get-MsalToken -ClientSecret`, or "
        "`AcquireTokenForClient`."
    ),
    why_bad=(
        "`/me` is the signed-in user. An app-only token has no user, so `/me/sendMail` fails every time "
        "(Graph: \"/me request is only valid with delegated authentication flow\"). Unattended scripts must "
        "name the sender: `/users/{id | userPrincipalName}/sendMail`."
    ),
    example=(
        "Connect-MgGraph -ClientId $appId -TenantId $tenantId -CertificateThumbprint $thumb\n"
        "Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body $body"
    ),
    use_instead="Invoke-MgGraphRequest -Method POST -Uri \"https://graph.microsoft.com/v1.0/users/$sender/sendMail\" -Body $body",
    fix_safety="No automatic fix: the sender mailbox must be chosen (and the app scoped to it).",
    references=(
        "https://learn.microsoft.com/graph/api/user-sendmail",
        "https://learn.microsoft.com/graph/auth-v2-service",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "Connect-MgGraph -ClientId $id -TenantId $t -CertificateThumbprint $thumb\n"
            "Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body $b\n",
            1,
        ),
        Example(
            "$tok = Invoke-RestMethod -Method Post -Uri \"https://login.microsoftonline.com/$t/oauth2/v2.0/token\" -Body @{ grant_type = 'client_credentials'; client_id = $id; client_secret = $s; scope = 'https://graph.microsoft.com/.default' }\n"
            "Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Headers @{ Authorization = \"Bearer $($tok.access_token)\" } -Body $b\n",
            1,
        ),
    ),
    good=(
        Example(
            "Connect-MgGraph -Scopes 'Mail.Send'\nInvoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body $b\n",
            0,
        ),
        Example(
            "Connect-MgGraph -ClientId $id -TenantId $t -CertificateThumbprint $thumb\n"
            "Invoke-MgGraphRequest -Method POST -Uri \"https://graph.microsoft.com/v1.0/users/$sender/sendMail\" -Body $b\n",
            0,
        ),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("graph", "bug"),
    file_check=file_check,
)
