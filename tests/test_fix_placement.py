"""Where the import lands and what removing -Credential leaves behind (issue 23, item 2).

Never between a comment and the statement it describes (the comments right above a statement, no blank line
between), never splitting a trailing comment from its line, and never a line holding only a backtick (or only
spaces) where `-Credential $cred` was removed from a call continued over several lines.
"""

from __future__ import annotations

import pytest

from scanner.check import calls_in_text
from scanner.migrate.patch import patch_text
from scanner.migrate.placement import IMPORT_LINE
from scanner.powershell import parse_scripts

SEND = "Send-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -SmtpServer smtp.office365.com -UseSsl"


def patched(text: str, newline: str = "\n") -> str:
    result = patch_text(text, calls_in_text(text, "t.ps1"), unsafe_fixes=True, newline=newline)
    assert all(fix.applied for fix in result.fixes), [(f.reason, f.refused) for f in result.fixes]
    return result.patched


@pytest.mark.parametrize(("text", "expected"), [
    (f"param([string]$x)\n\n# Send the nightly report\n{SEND}\n",
     f"param([string]$x)\n{IMPORT_LINE}\n\n# Send the nightly report\n"),
    (f"# Send the nightly report\n# to the team\n{SEND}\n", f"{IMPORT_LINE}\n# Send the nightly report\n# to the team\n"),
    (f"#Requires -Version 5.1\n# Send the report\n{SEND}\n", f"#Requires -Version 5.1\n{IMPORT_LINE}\n# Send the report\n"),
    (f"<#\n.SYNOPSIS\nSends the report.\n#>\n{SEND}\n", f"<#\n.SYNOPSIS\nSends the report.\n#>\n{IMPORT_LINE}\n"),
    (f"param($a) # the recipient\n{SEND}\n", f"param($a) # the recipient\n{IMPORT_LINE}\n"),
])
def test_the_import_never_separates_a_comment_from_its_statement(text: str, expected: str) -> None:
    assert patched(text).startswith(expected)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(("call", "expected"), [
    # -Credential on a line of its own, continued: the whole line goes.
    ("Send-MailMessage -To 'a@contoso.com' `\n    -Credential $cred `\n    -From 'b@contoso.com' -Subject 's' "
     "-SmtpServer smtp.office365.com -UseSsl\n'after'\n",
     "Send-GraphMailMessage -To 'a@contoso.com' `\n    -From 'b@contoso.com' -Subject 's' "
     "-SmtpServer smtp.office365.com -UseSsl\n'after'\n"),
    # -Credential last, on a line of its own: the line goes, and the backtick that led to it.
    ("Send-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' `\n    -SmtpServer smtp.office365.com "
     "-UseSsl `\n    -Credential $cred\n'after'\n",
     "Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' `\n    -SmtpServer "
     "smtp.office365.com -UseSsl\n'after'\n"),
    # -Credential first on a line with more after it: the indentation stays.
    ("Send-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' `\n    -Credential $cred -UseSsl `\n"
     "    -SmtpServer smtp.office365.com\n",
     "Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' `\n    -UseSsl `\n"
     "    -SmtpServer smtp.office365.com\n"),
])
def test_removing_the_credential_leaves_no_line_of_only_a_backtick(call: str, expected: str, newline: str) -> None:
    text = ("$cred = Get-Credential\n" + call).replace("\n", newline)
    after = patched(text, newline)
    assert after.endswith(expected.replace("\n", newline)), repr(after)
    for line in after.splitlines():
        assert line.strip() not in ("`", ""), repr(after)


@pytest.mark.pwsh
def test_the_patched_continuations_parse_as_one_command() -> None:
    text = ("$cred = Get-Credential\nSend-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' `\n"
            "    -SmtpServer smtp.office365.com -UseSsl `\n    -Credential $cred\n'after'\n")
    after, = parse_scripts([patched(text)])
    assert after.errors == ()
