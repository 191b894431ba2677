"""GRAPH004 malformed-content-type: a Graph sendMail request with a broken Content-Type."""

from __future__ import annotations

import re
from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict

_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(?:\s*;\s*[A-Za-z0-9_.-]+=[^;]+)*\s*;?$")
_ACCEPTED = ("application/json", "text/plain")


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    bound = call.params.get("ContentType")
    if bound is None or not isinstance(bound.value, str):
        return None
    value = bound.value.strip()
    if not _MEDIA_TYPE.match(value):
        hint = " (a backslash instead of a slash)" if "\\" in value else ""
        return Verdict(
            f"Content-Type '{value}' is not a media type{hint}: PowerShell 7 refuses the request and Graph rejects it "
            "(415/400), so no mail is sent. Use 'application/json'.",
            Severity.HIGH,
        )
    media = value.split(";", 1)[0].strip().lower()
    if media not in _ACCEPTED:
        return Verdict(
            f"Content-Type '{value}': Graph sendMail takes 'application/json' (or 'text/plain' for a base64 MIME "
            "message); this request is rejected. Use 'application/json'.",
            Severity.HIGH,
        )
    return None


RULE = Rule(
    id="GRAPH004",
    name="malformed-content-type",
    severity=Severity.HIGH,
    summary="A Graph sendMail request whose Content-Type is malformed (application\\json) or not one sendMail accepts.",
    what_it_does=(
        "Reads the `-ContentType` of Graph sendMail calls, or the `Content-Type` key of their `-Headers` "
        "hashtable, and checks it is a media type sendMail accepts: `application/json`, or `text/plain` for "
        "the MIME form."
    ),
    why_bad=(
        "A typo such as `application\\json` is not a media type: PowerShell 7 throws before sending and "
        "Windows PowerShell sends a header Graph rejects. The script fails every time it runs, typically "
        "unnoticed in a scheduled task."
    ),
    example="Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application\\json' -Body $json",
    use_instead="Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application/json' -Body $json",
    fix_safety="No automatic fix yet; replacing the value with 'application/json' is safe.",
    references=("https://learn.microsoft.com/graph/api/user-sendmail",),
    apis=(Api.GRAPH_SENDMAIL,),
    check=check,
    bad=(
        Example("Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@contoso.com/sendMail' -ContentType 'application\\json' -Body $j\n", 1),
        Example(
            "$h = @{ Authorization = \"Bearer $t\"; 'Content-Type' = 'application/jsn' }\n"
            "Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@contoso.com/sendMail' -Headers $h -Body $j\n",
            1,
        ),
    ),
    good=(
        Example("Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@contoso.com/sendMail' -ContentType 'application/json; charset=utf-8' -Body $j\n", 0),
        Example("Invoke-RestMethod -Uri 'https://example.com/api' -ContentType 'application\\json'\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("graph", "bug"),
)
