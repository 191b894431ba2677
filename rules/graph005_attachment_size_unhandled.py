"""GRAPH005 attachment-size-unhandled: file attachments put into contentBytes with no size handling."""

from __future__ import annotations

from scanner.extract.graph import attachment_issues
from scanner.model import Confidence, FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check


def file_check(context: FileContext) -> list[RuleResult]:
    """Each `contentBytes` filled from a file in a script that never checks the size or uses an upload session."""
    results: list[RuleResult] = []
    for issue in attachment_issues(context.script):
        message = (
            "A file is read into contentBytes with no size check and no upload session: Graph caps a sendMail request "
            "at 4 MB (base64 adds a third), so any attachment over about 3 MB fails with 413/ErrorMessageSizeExceeded. "
            "Check the size and use a draft with createUploadSession (needs Mail.ReadWrite) for 3–150 MB."
        )
        results.append(RuleResult(issue.start, issue.end, message, Severity.MEDIUM, Confidence.MEDIUM))
    return results


RULE = Rule(
    id="GRAPH005",
    name="attachment-size-unhandled",
    severity=Severity.MEDIUM,
    summary="Attachments read into contentBytes with no size handling: anything over ~3 MB fails in sendMail.",
    what_it_does=(
        "Finds `contentBytes` values built from a file (`[IO.File]::ReadAllBytes`, `Get-Content -Encoding Byte` / "
        "`-AsByteStream`, directly or through a variable) in scripts that never compare a file size "
        "(`.Length -gt 3MB`, …) and never call `createUploadSession`."
    ),
    why_bad=(
        "A Graph sendMail request is limited to 4 MB and base64 grows the file by a third, so attachments above "
        "about 3 MB fail. Logs and reports grow over time: the script works in testing and breaks months later."
    ),
    example=(
        "$bytes = [IO.File]::ReadAllBytes($path)\n"
        "$attachment = @{ '@odata.type' = '#microsoft.graph.fileAttachment'; name = 'report.csv'; contentBytes = [Convert]::ToBase64String($bytes) }"
    ),
    use_instead=(
        "if ((Get-Item $path).Length -gt 3MB) {\n"
        "    # create a draft, then POST .../attachments/createUploadSession and upload in chunks\n"
        "} else {\n"
        "    $attachment = @{ '@odata.type' = '#microsoft.graph.fileAttachment'; name = 'report.csv'; contentBytes = [Convert]::ToBase64String([IO.File]::ReadAllBytes($path)) }\n"
        "}"
    ),
    fix_safety="No automatic fix: large attachments need a different request sequence (draft + upload session).",
    references=(
        "https://learn.microsoft.com/graph/outlook-large-attachments",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$a = @{ name = 'r.csv'; contentBytes = [Convert]::ToBase64String([IO.File]::ReadAllBytes($p)) }\n"
            "Send-MgUserMail -UserId $u -BodyParameter @{ message = @{ subject = 's'; attachments = @($a) } }\n",
            1,
        ),
    ),
    good=(
        Example(
            "if ((Get-Item $p).Length -gt 3MB) { throw 'too large for sendMail' }\n"
            "$a = @{ name = 'r.csv'; contentBytes = [Convert]::ToBase64String([IO.File]::ReadAllBytes($p)) }\n",
            0,
        ),
        Example("$a = @{ name = 'note.txt'; contentBytes = 'SGVsbG8=' }\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("graph", "bug"),
    file_check=file_check,
)
