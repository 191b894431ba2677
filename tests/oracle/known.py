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
    kind: str  # "intended", "finding", or "module-missing" (the no-module mode: the send fails another way, no wider)
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
    Known(("smm-dno-onfailure",), BOTH, r"^ok: (#\d+ )?Other notifications:", "intended",
          "DeliveryNotificationOption Delay/Never has no Graph equivalent (OnSuccess maps to isDeliveryReceiptRequested; "
          "OnFailure asks for the non-delivery report Exchange Online sends anyway); fix marks the call unsafe"),
    Known(("sc-headers-other",), BOTH, r"^ok: Headers:", "intended",
          "Graph accepts only custom headers whose names start with x- (at most 5); fix marks the call unsafe"),
    Known(("sc-alternate-views", "sc-inline-image"), BOTH, r"^ok: (Body|HTML|Attachments|Alternate views):", "intended",
          "F9 a MailMessage with AlternateViews / LinkedResources is multipart/alternative; a Graph message holds one "
          "body: the module sends the HTML view as the body (the plain Body is not sent) with linked images as inline "
          "attachments, the inline request sends the Body only; fix marks the call unsafe saying so"),
    Known(("smm-non-ascii", "smm-non-ascii-bomless", "fixture-utf8-bom", "fixture-utf16le-bom"), BOTH, r"^ok: (Subject|Body):", "intended",
          "P2 Send-MailMessage without -Encoding sends Subject and Body as ASCII ('?' for every non-ASCII character); "
          "Graph sends UTF-8, the real text; fix marks the call unsafe when it can read the text (literal or resolved)"),
    # --- module missing (the no-module mode, compared with the original's failed send): the Send-GraphMailMessage call
    # fails as a command that is not found (a statement-terminating CommandNotFoundException), not as a refused send;
    # the script goes on exactly as far (Terminated and Exit code never differ: those would be wider, and no entry
    # here explains them). The inline style fails as a send (its try/catch reports the missing token command).
    Known(("sc-catch-typed-status", "smm-catch-typed-status"), INLINE, r"^no-module: Output:", "module-missing",
          "the inline request fails as a send (an SmtpException, so typed catches still run) but with StatusCode "
          "GeneralFailure: Get-Smtp2GraphToken is missing, so Graph never answered (as the module reports a sign-in "
          "that got no answer)"),
    Known(("sc-catch-typed", "sc-catch-typed-status", "smm-catch-typed-status"), MODULE, r"^no-module: Output:", "module-missing",
          "catch [System.Net.Mail.SmtpException] does not match CommandNotFoundException: the next catch runs; fix notes it "
          "at the call (under $ErrorActionPreference = 'Stop' with no other catch the script would stop there)"),
    Known(("smm-try-no-stop", "smm-script-module-eap"), MODULE, r"^no-module: (Output|Errors):", "module-missing",
          "a command that is not found stops its statement: the catch runs where Send-MailMessage's non-terminating "
          "error let the try block go on (also from inside a module function the try calls)"),
    Known(("smm-comma-list",), MODULE, r"^no-module: Errors:", "module-missing",
          "Send-MailMessage reported the refused address and then 'A recipient must be specified' (two errors); the "
          "missing command is one error, and nothing more happens"),
    Known(("fixture-already-imported",), BOTH, r"^no-module: Errors:", "module-missing",
          "the script's own `Import-Module Smtp2Graph` (written before the fix, without -ErrorAction) reports the "
          "missing module too; fix leaves a line the script wrote as it is"),
    Known(("smm-errorvariable",), MODULE, r"^no-module: (Output|Errors):", "module-missing",
          "-ErrorVariable and -ErrorAction SilentlyContinue do not apply to a command that is not found: the error is "
          "shown and the variable stays empty; fix notes it at the call"),
    # --- findings still open on main (see /work/wt/ORACLE_FINDINGS.md); F1-F8 F10-F13 P3 P4 P14 P15 fixed, F9 P2 intended
)

NOT_PATCHED: tuple[Refusal, ...] = (
    Refusal(("fixture-display-only",), BOTH, r"^display-only: no change needed: .*relay"),
    # The inline style refuses what one request cannot express (use --style module).
    Refusal(("smm-pipe-gci", "smm-pipe-gci-many", "smm-pipe-strings", "smm-pipe-csv", "smm-pipe-object",
             "smm-pipe-object-attachments", "example-disk-report"), INLINE, r"^display-only: pipeline input"),
    Refusal(("smm-splat-conditional", "example-mailtools", "example-license-summary"), INLINE,
            r"^display-only: set only on some code paths"),
    Refusal(("smm-wrapper-psbound",), INLINE, r"^display-only: values come from @PSBoundParameters"),
    Refusal(("smm-errorvariable",), INLINE, r"^display-only: -errorvariable on the call"),
)


def explain(shape: str, style: str, line: str) -> Known | None:
    for entry in KNOWN:
        if entry.matches(shape, style, line):
            return entry
    return None
