"""SEC004 client-secret-literal: an Entra app client secret (or token) written in a script (also covers GRAPH006)."""

from __future__ import annotations

from scanner.model import FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check
from scanner.rules.sec_support import secret_results


def file_check(context: FileContext) -> list[RuleResult]:
    """Literal client secrets and tokens in scripts that request a token or send mail."""
    return secret_results(RULE, context)


RULE = Rule(
    id="SEC004",
    name="client-secret-literal",
    severity=Severity.HIGH,
    summary="A literal Entra client secret or token (client_secret, -ClientSecret, access_token) in a Graph or mail script.",
    what_it_does=(
        "Finds literal `client_secret` values in token requests (hashtable keys or `client_secret=` in a form "
        "body), `-ClientSecret`/`-Secret`/`-AccessToken` arguments and `$clientSecret = '...'` variables, in scripts "
        "that request a Graph/Entra token or send mail. This is the 'client secret in a migrated Graph script' "
        "check of the issue (GRAPH006 folded here). The value is always shown as `***`."
    ),
    why_bad=(
        "An app with Mail.Send can send as any mailbox unless it is scoped. A client secret in a script gives that "
        "power to anyone who reads the file or the repository history. Microsoft recommends certificates or "
        "managed identities for unattended apps."
    ),
    example=(
        "$body = @{ client_id = $appId; client_secret = 'Example~Secret~Value'; scope = 'https://graph.microsoft.com/.default'; grant_type = 'client_credentials' }\n"
        "$token = Invoke-RestMethod -Method Post -Uri \"https://login.microsoftonline.com/$tenantId/oauth2/v2.0/token\" -Body $body"
    ),
    use_instead="Connect-MgGraph -ClientId $appId -TenantId $tenantId -CertificateThumbprint $thumbprint",
    fix_safety="No automatic fix: rotate the secret, then move to a certificate or managed identity.",
    references=(
        "https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow",
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$b = @{ client_id = $id; client_secret = 'Example~Secret~Value'; grant_type = 'client_credentials'; scope = 'https://graph.microsoft.com/.default' }\n"
            "$t = Invoke-RestMethod -Method Post -Uri \"https://login.microsoftonline.com/$tenant/oauth2/v2.0/token\" -Body $b\n",
            1,
        ),
        Example(
            "$form = \"client_id=$id&client_secret=Example~Secret~Value&grant_type=client_credentials\"\n"
            "Invoke-RestMethod -Method Post -Uri 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token' -Body $form\n",
            1,
        ),
    ),
    good=(
        Example(
            "$b = @{ client_id = $id; client_secret = $env:GRAPH_CLIENT_SECRET; grant_type = 'client_credentials' }\n"
            "Invoke-RestMethod -Method Post -Uri \"https://login.microsoftonline.com/$tenant/oauth2/v2.0/token\" -Body $b\n",
            0,
        ),
        Example("$tokenUri = 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token'\nConnect-MgGraph -Identity\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("secret", "graph"),
    file_check=file_check,
)
