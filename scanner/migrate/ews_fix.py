"""Fix plans for EWS sends (issue 24, item 3): the Send-GraphMailMessage edit and its safety, per finding.

Not wired into the fix writer yet: scanner.migrate.patch calls these through a small hook (see
docs/ews.md, "Wiring the fix"), so that `fix`, the scan's preview and the oracle share one rewrite.

The edit replaces the send itself and nothing else:

- Managed API `$m.Send()` / `$m.SendAndSaveCopy()`: `Send-GraphMailMessage -MailMessage (…)` with a
  MailMessage filled from the EmailMessage object at run time (the addresses of `$m.ToRecipients`,
  `$m.Subject`, `$m.Body.Text`, HTML unless `$m.Body.BodyType` says Text, the files of
  `$m.Attachments`, the importance), so a message built in a loop or in a function is sent as built,
  and a failure stops the statement as the method's exception did; From is the mailbox the service
  acted as; `-SaveToSentItems` for SendAndSaveCopy.
- SOAP `CreateItem` (SendOnly / SendAndSaveCopy): the post is replaced by `Send-GraphMailMessage`
  with the values of the request (constants, or the variables an expandable string puts there).

Replies, forwards, meeting messages, SendItem (a draft in the mailbox), web service proxies and other
EWS use have no drop-in rewrite (Graph's reply/forward/send-draft endpoints need the item's Graph id):
display-only, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from scanner.migrate.mapping import ps_quote
from scanner.model import Api, Assessment, BindKind, BoundParam, Confidence, FixApplicability, MailCall, ServerClass
from scanner.lexer import ElementKind, lex_arguments

COMMAND = "Send-GraphMailMessage"
_MANAGED_FORMS = ("send", "send-and-save-copy")
_NO_REWRITE = {
    "reply": "a reply to an item in the mailbox: Graph has POST /users/{id}/messages/{id}/reply (or createReply + send), which needs the item's Graph id; rewrite it by hand",
    "forward": "a forward of an item in the mailbox: Graph has POST /users/{id}/messages/{id}/forward, which needs the item's Graph id; rewrite it by hand",
    "meeting-message": "a meeting message from a calendar item: Graph has POST /users/{id}/events/{id}/cancel (accept, decline); rewrite it by hand",
    "soap-senditem": "SendItem sends a draft already in the mailbox: Graph has POST /users/{id}/messages/{id}/send, which needs the draft's Graph id",
    "web-service-proxy": "the request is an object built in code for a web service proxy: rewrite it by hand with the Graph snippet",
    "other-ews-use": "no fix: EWS reads, searches and calendar work move to Microsoft Graph by hand",
}


@dataclass(frozen=True)
class EwsEdit:
    start: int
    end: int
    replacement: str


def _static(bound: Optional[BoundParam]) -> Optional[str]:
    if bound is None or bound.conditional or not isinstance(bound.value, str):
        return None
    return bound.value


def sender(call: MailCall) -> Optional[str]:
    """The mailbox the send goes out from, as a PowerShell argument, or None when the file does not show it."""
    bound = call.params.get("From")
    value = _static(bound)
    if value is not None:
        return ps_quote(value)
    if bound is not None and re.fullmatch(r"\$[\w:]+", bound.text.strip()):
        return bound.text.strip()
    return None


def classify(call: MailCall, assessment: Optional[Assessment]) -> tuple[FixApplicability, str]:
    """Fix safety of one EWS finding: display-only for shapes with no drop-in rewrite; unsafe for partial mappings."""
    if call.api is not Api.EWS:
        raise ValueError("not an EWS call")
    if call.form in _NO_REWRITE:
        return FixApplicability.DISPLAY_ONLY, _NO_REWRITE[call.form]
    if not call.sent:
        return FixApplicability.DISPLAY_ONLY, _NO_REWRITE["other-ews-use"]
    if any("read from the mailbox" in note or "read or copied from the mailbox" in note or "origin this file does not show" in note for note in call.notes):
        return FixApplicability.DISPLAY_ONLY, "the message is an item of the mailbox (a draft, a copy): Graph sends it with POST /users/{id}/messages/{id}/send; rewrite it by hand"
    if assessment is not None and assessment.breaks is False:
        return FixApplicability.DISPLAY_ONLY, f"no change needed: {assessment.verdict}"
    if sender(call) is None:
        return FixApplicability.DISPLAY_ONLY, ("the sending mailbox is not known from this file (no From on the message, no impersonated "
                                              "or Autodiscover mailbox, no user in the credential): Graph sends as /users/{mailbox}; give -From by hand")
    reasons: list[str] = []
    extras = call.params.get("Extras")
    if extras is not None:
        reasons.append(f"the message also carries {extras.text}, which Send-GraphMailMessage does not send")
    if "SavedItemFolder" in call.params:
        reasons.append(f"the copy was saved to {call.params['SavedItemFolder'].text}; Graph saves to Sent Items only")
    if "Autodiscover" in call.params:
        reasons.append("AutodiscoverUrl stays in the script and still calls Exchange: remove the ExchangeService setup by hand once nothing else uses EWS")
    if call.variants:
        reasons.append("the service differs by call site; the fix changes every caller")
    if call.in_error_region or call.confidence is Confidence.LOW:
        reasons.append("the call was recognised with doubt (a region tree-sitter could not parse, or low confidence)")
    if call.form.startswith("soap"):
        reasons.append("the SOAP response is no longer there for code that reads it; check what follows the post")
        unresolved = [n for n in ("To", "Subject", "Body") if n in call.params and call.params[n].kind is BindKind.EXPRESSION and call.params[n].value is None
                      and not re.fullmatch(r"\$\w+", call.params[n].text.strip())]
        if unresolved:
            reasons.append("values filled into the request at run time (" + ", ".join(unresolved) + ") cannot be carried over")
    if assessment is not None and assessment.server is not ServerClass.EXO_EWS:
        reasons.append("the EWS endpoint is not known to be Exchange Online; Graph changes the mail path if it is on-premises")
    attachments = call.params.get("Attachments")
    if attachments is not None and call.form.startswith("soap"):
        reasons.append("the attachment bytes are inside the SOAP request; attach the files by hand")
    if reasons:
        return FixApplicability.UNSAFE, "; ".join(reasons)
    return FixApplicability.SAFE, "the send becomes Send-GraphMailMessage with the message the script built; the EWS objects it fills stay and are harmless"


def _message_variable(call: MailCall, text: str) -> Optional[str]:
    start, end = call.call_span
    m = re.match(r"(\$[\w:]+)\.(?:Send|SendAndSaveCopy)\s*\(", text[start:end], re.I)
    return m.group(1) if m else None


def _managed_replacement(call: MailCall, text: str) -> Optional[str]:
    """`Send-GraphMailMessage -MailMessage (…)` with a MailMessage filled from the EmailMessage at run time.

    The MailMessage parameter set fails as a method call does (a statement-terminating error that
    try/catch and trap see, the script going on after it otherwise), where the Message set writes a
    non-terminating error: EmailMessage.Send() threw, so the -MailMessage form keeps the control flow.
    """
    variable = _message_variable(call, text)
    mailbox = sender(call)
    if variable is None or mailbox is None:
        return None
    v = variable
    steps = ["$smtp2graphMessage = [System.Net.Mail.MailMessage]::new()", f"$smtp2graphMessage.From = {mailbox}"]
    for collection, target in (("ToRecipients", "To"), ("CcRecipients", "CC"), ("BccRecipients", "Bcc"), ("ReplyTo", "ReplyToList")):
        steps.append(f"foreach ($smtp2graphAddress in {v}.{collection}) {{ $smtp2graphMessage.{target}.Add([System.Net.Mail.MailAddress]::new($smtp2graphAddress.Address, [string]$smtp2graphAddress.Name)) }}")
    steps.append(f"$smtp2graphMessage.Subject = {v}.Subject")
    steps.append(f"if ($null -ne {v}.Body) {{ $smtp2graphMessage.Body = [string]{v}.Body.Text; $smtp2graphMessage.IsBodyHtml = [string]{v}.Body.BodyType -ne 'Text' }}")
    steps.append(f"foreach ($smtp2graphFile in {v}.Attachments) {{ $smtp2graphMessage.Attachments.Add([System.Net.Mail.Attachment]::new($smtp2graphFile.FileName)) }}")
    steps.append(f"$smtp2graphMessage.Priority = if ([string]{v}.Importance -in 'High', 'Low') {{ [string]{v}.Importance }} else {{ 'Normal' }}")
    steps.append("$smtp2graphMessage")
    save = " -SaveToSentItems" if call.form == "send-and-save-copy" else ""
    return f"{COMMAND} -MailMessage (& {{ {'; '.join(steps)} }}){save}"


def _argument(bound: BoundParam) -> str:
    """A SOAP value as a command argument: a constant quoted, a `$variable` as written."""
    text = bound.text.strip()
    if re.fullmatch(r"\$\w+", text):
        return text  # the variable the request expanded: its value at the send, whatever the path
    if isinstance(bound.value, str) and bound.kind is BindKind.LITERAL and not bound.conditional:
        return ps_quote(bound.value)
    if isinstance(bound.value, list):
        return ", ".join(ps_quote(v) for v in bound.value)
    return ps_quote(text)


def _soap_replacement(call: MailCall) -> Optional[str]:
    mailbox = sender(call)
    if mailbox is None or "To" not in call.params:
        return None
    parts = [COMMAND, f"-From {mailbox}"]
    for name in ("To", "Cc", "Bcc", "ReplyTo", "Subject", "Body"):
        bound = call.params.get(name)
        if bound is None:
            continue
        parts.append(f"-{name} {_argument(bound)}")
    html = call.params.get("BodyAsHtml")
    if html is not None and html.value is True:
        parts.append("-BodyAsHtml")
    priority = call.params.get("Priority")
    if priority is not None and isinstance(priority.value, str):
        parts.append(f"-Priority {priority.value}")
    save = call.params.get("SaveToSentItems")
    if save is not None and save.value is True:
        parts.append("-SaveToSentItems")
    return " ".join(parts)


_WEB_CMDLET = re.compile(r"(?i)(Invoke-RestMethod|Invoke-WebRequest|irm|iwr)\b")
# Common parameters of the post that the replacing command keeps (a try/catch around it still works).
_KEPT = re.compile(r"(?i)^-(ErrorAction|EA|ErrorVariable|EV|WarningAction|WA|WarningVariable|WV)$")


def _post_span(call: MailCall, text: str) -> Optional[tuple[int, int, list[str]]]:
    """The web cmdlet that posts a SOAP request (the related "post" location): its span and the common
    parameters it carries. A .NET post (WebClient, HttpClient, WebRequest) is not rewritten."""

    post = next((r for r in call.related if r.role == "post"), None)
    if post is None:
        return None
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    if post.line > len(starts):
        return None
    start = starts[post.line - 1] + post.column - 1
    name = _WEB_CMDLET.match(text, start)
    if name is None:
        return None
    arguments = lex_arguments(text, name.end())
    if arguments.terminator == "|" and not re.match(r"(?i)\|\s*Out-Null\b", text[arguments.end : arguments.end + 40].lstrip(" \t")):
        return None  # piped on: what follows reads the response (`| Out-Null` reads nothing and stays)
    kept: list[str] = []
    elements = arguments.elements
    for index, element in enumerate(elements):
        if element.kind is ElementKind.PARAMETER and _KEPT.match(element.text.split(":", 1)[0]):
            value = element.value.text if element.value is not None else (
                elements[index + 1].text if index + 1 < len(elements) and elements[index + 1].kind is ElementKind.VALUE else "")
            kept.append(f"{element.text.split(':', 1)[0]} {value}".strip())
    return start, arguments.end, kept


def edit_for(call: MailCall, text: str) -> Optional[EwsEdit]:
    """The module-style edit of one EWS send, or None when it has none."""
    if call.api is not Api.EWS or not call.sent:
        return None
    if call.form in _MANAGED_FORMS:
        replacement = _managed_replacement(call, text)
        if replacement is None:
            return None
        start, end = call.call_span
        return EwsEdit(start, end, replacement)
    if call.form == "soap-createitem":
        span = _post_span(call, text)
        replacement = _soap_replacement(call)
        if span is None or replacement is None:
            return None
        start, end, kept = span
        # `$response = Invoke-RestMethod …` keeps its assignment (outside the span): the variable exists, empty.
        spacer = " " if text[end : end + 1] == "|" else ""
        return EwsEdit(start, end, " ".join([replacement, *kept]) + spacer)
    return None
