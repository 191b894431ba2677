"""GRAPH002 convertto-json-depth: a sendMail message serialized with a ConvertTo-Json depth too small for it."""

from __future__ import annotations

from scanner.extract.graph import json_depth_issues
from scanner.model import Confidence, FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check


def file_check(context: FileContext) -> list[RuleResult]:
    """One result per ConvertTo-Json of a mail message whose -Depth (default 2) loses part of it."""
    results: list[RuleResult] = []
    for issue in json_depth_issues(context.script):
        needed = issue.needed
        if issue.given is None and needed is not None:
            message = (
                f"ConvertTo-Json without -Depth serializes only 2 levels, but this message nests {needed}: the recipients "
                "become the string \"System.Collections.Hashtable\" and Graph rejects the request (400) or drops them. "
                f"Add -Depth {max(needed, 4)} (or more)."
            )
            confidence = Confidence.HIGH
        elif issue.given is None:
            message = (
                "ConvertTo-Json without -Depth serializes only 2 levels; a sendMail message (message > toRecipients > "
                "emailAddress > address) needs at least 4. Add -Depth 4 (or more)."
            )
            confidence = Confidence.MEDIUM
        else:
            message = (
                f"ConvertTo-Json -Depth {issue.given} is too small for this message, which nests {needed} levels: the deeper "
                f"parts (recipients, attachments) become \"System.Collections.Hashtable\". Use -Depth {needed} or more."
            )
            confidence = Confidence.HIGH
        related = [(issue.structure_at, "message")] if issue.structure_at >= 0 else []
        related += [(offset, "graph-call") for offset in issue.feeds]
        results.append(RuleResult(issue.start, issue.end, message, Severity.HIGH, confidence, tuple(related)))
    return results


RULE = Rule(
    id="GRAPH002",
    name="convertto-json-depth",
    severity=Severity.HIGH,
    summary="A Graph sendMail body built with ConvertTo-Json without -Depth (default 2) or with a depth too small for the message.",
    what_it_does=(
        "Finds `ConvertTo-Json` calls that serialize a mail message (a structure with `toRecipients`, "
        "`emailAddress`, … or the body of a Graph sendMail call), rebuilds the hashtable the script builds "
        "(literals, variables, `+=` and `.Add()` of recipients) and compares how deep it nests with `-Depth`."
    ),
    why_bad=(
        "ConvertTo-Json stops at depth 2 by default and writes anything deeper as its type name. A sendMail body "
        "nests four levels (`message` > `toRecipients` > item > `emailAddress`), so without `-Depth` the "
        "recipients turn into the string \"System.Collections.Hashtable\": Graph answers 400, or the mail "
        "goes out without the recipients that were lost. The script looks migrated but does not deliver."
    ),
    example=(
        "$body = @{ message = @{ subject = 'Report'; toRecipients = @(@{ emailAddress = @{ address = 'ops@contoso.com' } }) } }\n"
        "Invoke-RestMethod -Method Post -Uri \"https://graph.microsoft.com/v1.0/users/$sender/sendMail\" -Headers $headers `\n"
        "    -ContentType 'application/json' -Body ($body | ConvertTo-Json)"
    ),
    use_instead="... -Body ($body | ConvertTo-Json -Depth 10)",
    fix_safety="No automatic fix yet; adding `-Depth 10` is safe and is what the message suggests.",
    references=(
        "https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$m = @{ message = @{ subject = 's'; toRecipients = @(@{ emailAddress = @{ address = 'a@contoso.com' } }) } }\n"
            "$json = $m | ConvertTo-Json\nInvoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@contoso.com/sendMail' -Body $json -ContentType 'application/json'\n",
            1,
        ),
        Example(
            "$to = @()\nforeach ($a in $list) { $to += @{ emailAddress = @{ address = $a } } }\n"
            "$m = @{ message = @{ subject = 's'; toRecipients = $to } }\n"
            "Invoke-RestMethod -Method Post -Uri \"https://graph.microsoft.com/v1.0/users/$u/sendMail\" -Body (ConvertTo-Json $m -Depth 3)\n",
            1,
        ),
    ),
    good=(
        Example(
            "$m = @{ message = @{ subject = 's'; toRecipients = @(@{ emailAddress = @{ address = 'a@contoso.com' } }) } }\n"
            "Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@contoso.com/sendMail' -Body ($m | ConvertTo-Json -Depth 10)\n",
            0,
        ),
        Example("$state = @{ name = 'x'; count = 2 } | ConvertTo-Json\nSet-Content state.json $state\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("graph", "bug"),
    file_check=file_check,
)
