"""Every difference the oracle may see, explained: intended (Graph cannot do it) or a finding (a defect).

An *intended* difference must sit on a call that `fix` marks unsafe or display-only (the reason says
what is lost); on a call marked safe it is a failure. A *finding* is a defect someone owns (module:
scanner/migrate/templates/module; patch: scanner/migrate/patch.py and friends), written up in
/work/wt/ORACLE_FINDINGS.md; tests/test_oracle.py turns it into a strict xfail, so the row flips
to a failure the day the defect is fixed and the entry must go.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    shapes: tuple[str, ...]  # fnmatch patterns of shape names
    styles: tuple[str, ...]  # "module", "inline"
    difference: str  # regex searched in the difference line ("<mode>: <field>: original ... / patched ...")
    kind: str  # "intended" or "finding"
    text: str  # the reason (intended) or the finding as ORACLE_FINDINGS.md words it
    owner: str = ""  # finding: "module" or "patch"

    def applies(self, shape: str, style: str) -> bool:
        return style in self.styles and any(fnmatch.fnmatchcase(shape, p) for p in self.shapes)

    def matches(self, shape: str, style: str, line: str) -> bool:
        return self.applies(shape, style) and re.search(self.difference, line) is not None


@dataclass(frozen=True)
class Refusal:
    """A shape `fix` does not patch, and why (a regex searched in fix's reason)."""

    shapes: tuple[str, ...]
    styles: tuple[str, ...]
    reason: str

    def applies(self, shape: str, style: str) -> bool:
        return style in self.styles and any(fnmatch.fnmatchcase(shape, p) for p in self.shapes)


BOTH = ("module", "inline")
MODULE = ("module",)
INLINE = ("inline",)

FLOW = r"^(403|404|429-503): (Output|Errors|Terminated|Exit code):"
ANY = r"."

KNOWN: tuple[Known, ...] = (
    # --- intended: Graph cannot carry it, and fix marks the call unsafe saying so ----------------------
    Known(("smm-dno-onfailure", "fixture-behaviour-differences"), BOTH, r"^ok: (#\d+ )?Other notifications:", "intended",
          "DeliveryNotificationOption OnFailure/Delay/Never has no Graph equivalent (only OnSuccess maps, to "
          "isDeliveryReceiptRequested); fix marks the call unsafe"),
    Known(("sc-headers-other",), BOTH, r"^ok: Headers:", "intended",
          "Graph accepts only custom headers whose names start with x- (at most 5); fix marks the call unsafe"),
    # --- findings: module (scanner/migrate/templates/module) -----------------------------------------------
    Known(("smm-eap-stop-try", "smm-function-eap", "example-disk-report"), MODULE, FLOW, "finding",
          "F1 Send-GraphMailMessage does not see the caller's $ErrorActionPreference = 'Stop' (script module "
          "scope): the failure stays non-terminating, the script prints 'sent' instead of entering catch", "module"),
    Known(("sc-try-catch", "sc-exit-code", "sc-finally-dispose", "sc-catch-typed"), MODULE, FLOW, "finding",
          "F2 SmtpClient.Send() always throws; the patched Send-GraphMailMessage -MailMessage writes a "
          "non-terminating error, so catch is skipped and 'sent' is printed after a refused send", "module"),
    Known(("smm-pipe-csv", "smm-pipe-object", "smm-pipe-object-attachments"), MODULE, ANY, "finding",
          "F3 no parameter of Send-GraphMailMessage binds from the pipeline by property name (Import-Csv / "
          "PSCustomObject): To is missing and nothing is sent", "module"),
    Known(("smm-attachments", "smm-attachment-relative", "smm-pipe-gci", "smm-pipe-gci-many", "smm-pipe-strings",
           "smm-splat-attachments", "example-mailtools", "example-welcome-mail", "example-disk-report"), MODULE,
          r"^ok: Attachments: .*application/octet-stream", "finding",
          "F4 attachment content type: Send-MailMessage sends every file as application/octet-stream; "
          "Send-GraphMailMessage guesses from the extension (text/csv, text/plain, application/pdf)", "module"),
    Known(("smm-defaults-scriptblock",), MODULE, r"^ok: Subject:", "finding",
          "F5 a scriptblock value in $PSDefaultParameterValues is copied as its text instead of being run", "module"),
    Known(("smm-defaults-attachments",), MODULE, r"^ok: Attachments:", "finding",
          "F6 a $PSDefaultParameterValues default for Attachments is dropped", "module"),
    Known(("sc-reply-to-obsolete",), MODULE, r"^ok: Reply-To:", "finding",
          "F7 MailMessage.ReplyTo (the obsolete single property) is dropped; only ReplyToList is read", "module"),
    Known(("sc-sender",), MODULE, r"^ok: (From|Sender):", "finding",
          "F8 -MailMessage with Sender set: the mail is sent from the Sender mailbox and From is lost (no "
          "message.from unless From has a display name)", "module"),
    Known(("sc-alternate-views", "sc-inline-image"), BOTH, r"^ok: Alternate views:", "finding",
          "F9 AlternateViews and their LinkedResources (inline images) are dropped, on a call fix marks safe "
          "(Graph's MIME sendMail could keep them; else mark the call unsafe)", "module"),
    Known(("smm-comma-list",), BOTH, r"^(ok|403): (Messages|Errors):", "finding",
          "F10 -To 'a@x,b@x': Send-MailMessage refuses the comma ('An invalid character was found in the mail "
          "header') and sends nothing; the patch splits it and sends to both", "module"),
    Known(("smm-attachment-brackets",), BOTH, r"^ok: (Messages|Errors):", "finding",
          "F11 an attachment path with [ ]: PowerShell 7.6's Send-MailMessage treats it as a wildcard that "
          "matches nothing and sends nothing (terminating); the patch sends the mail", "module"),
    Known(("fixture-using-and-requires",), MODULE, r"^ok: (Messages|Errors):", "finding",
          "F12 SmtpClient.Send(from, to, subject, $null) sends; the patched -Body $null fails "
          "ValidateNotNullOrEmpty and the second mail is lost", "module"),
    Known(("sc-catch-typed",), BOTH, FLOW, "finding",
          "F13 catch [System.Net.Mail.SmtpException] no longer matches: the Graph failure is another type", "module"),
    # --- findings: patch (scanner/migrate/patch.py, mapping, snippets) ----------------------------------
    Known(("smm-begin-process-end", "smm-cmdletbinding-blocks"), BOTH, ANY, "finding",
          "P1 Import-Module Smtp2Graph is inserted between param() and begin/process/end: PowerShell then "
          "runs 'begin {...}' as a command and the script breaks (nothing is sent)", "patch"),
    Known(("smm-non-ascii", "fixture-utf8-bom", "fixture-utf16le-bom"), BOTH, r"^ok: (Subject|Body):", "finding",
          "P2 Send-MailMessage without -Encoding sends ASCII ('?' for every non-ASCII character); Graph sends "
          "the real text: a visible change on a call fix labels safe ('nothing lost')", "patch"),
    Known(("fixture-cp1252",), BOTH, r"^ok: (Messages|Errors):", "finding",
          "P3 From has a non-ASCII local part: SmtpClient refuses it and the original never sends; fix labels "
          "the call safe and the patch starts sending", "patch"),
    Known(("smm-try-no-stop", "smm-dollar-question", "smm-errorvariable", "smm-script-module-eap", "sc-catch-typed"),
          INLINE, FLOW, "finding",
          "P4 inline style: Invoke-RestMethod's failure is terminating and inside '& { }': try/catch catches "
          "what Send-MailMessage reported as non-terminating, $? and -ErrorVariable no longer see it", "patch"),
    Known(("sc-dno",), INLINE, r"^ok: Delivery receipt:", "finding",
          "P5 inline style, MailMessage: DeliveryNotificationOptions OnSuccess is dropped "
          "(isDeliveryReceiptRequested never set)", "patch"),
    Known(("sc-reply-to-obsolete",), INLINE, r"^ok: Reply-To:", "finding",
          "P6 inline style, MailMessage: the obsolete ReplyTo property is dropped", "patch"),
    Known(("smm-pipe-csv", "smm-pipe-object", "smm-pipe-object-attachments", "smm-pipe-gci", "smm-pipe-gci-many",
           "smm-pipe-strings", "example-disk-report"), INLINE, ANY, "finding",
          "P7 inline style on a pipeline call (fix says 'pipeline input cannot be expanded inline', unsafe) "
          "still rewrites it: attachments or recipients from the pipeline are lost, or the script stops", "patch"),
    Known(("smm-attachment-relative",), INLINE, r"^ok: Attachments: .*application/octet-stream", "finding",
          "P13 inline style: an attachment's content type is guessed from its extension (text/plain) where "
          "Send-MailMessage sends application/octet-stream (for a literal relative path)", "patch"),
    Known(("smm-splat-conditional",), INLINE, r"^ok: Bcc:", "finding",
          "P8 inline style merges keys set on exclusive code paths: a Bcc added under if ($false) is sent", "patch"),
    Known(("smm-wrapper-psbound",), INLINE, ANY, "finding",
          "P9 inline style on Send-MailMessage @PSBoundParameters: the expanded request has no recipients; "
          "nothing is sent", "patch"),
    Known(("smm-defaults-scriptblock",), INLINE, r"^ok: Subject:", "finding",
          "P10 inline style copies a scriptblock default from $PSDefaultParameterValues as a scriptblock: the "
          "subject becomes its text", "patch"),
)

NOT_PATCHED: tuple[Refusal, ...] = (
    Refusal(("fixture-display-only",), BOTH, r"^display-only: no change needed: .*relay"),
    # A finding (P11): the client IS sent with, inside the function ($Client.Send($Message)).
    Refusal(("sc-in-function",), BOTH, r"^display-only: a mail client is configured but nothing in this file sends"),
    # A finding (P12): PowerShell parses the rewrite; tree-sitter's judgement refuses [void]/$null = (Send-...).
    Refusal(("sc-void-cast", "fixture-using-and-requires"), INLINE, r"would not parse cleanly"),
)


def explain(shape: str, style: str, line: str) -> Known | None:
    for entry in KNOWN:
        if entry.matches(shape, style, line):
            return entry
    return None
