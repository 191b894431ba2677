"""What a bound mail call means as a Microsoft Graph sendMail request (pure: no I/O).

The request is the JSON body of ``POST /users/{sender}/sendMail``. Values known when the
script is read appear as themselves; values computed at run time appear as the PowerShell
source text that computes them, so a reviewer sees exactly what the rewritten code sends.
A string where Graph expects an array or an object is such PowerShell text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from scanner.model import Api, BindKind, BoundParam, MailCall

# Send-MailMessage's own parameters, in declaration order, plus the extras the scanner binds.
MESSAGE_PARAMS: tuple[str, ...] = (
    "To",
    "Cc",
    "Bcc",
    "From",
    "ReplyTo",
    "Subject",
    "Body",
    "BodyAsHtml",
    "Attachments",
    "Priority",
    "DeliveryNotificationOption",
    "Encoding",
    "Headers",
    "MailMessage",
)
SMTP_ONLY_PARAMS: tuple[str, ...] = ("SmtpServer", "Port", "UseSsl", "Credential")

# Graph rejects more than this many internetMessageHeaders in one message.
MAX_GRAPH_HEADERS = 5

_CONTENT_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".htm": "text/html",
    ".html": "text/html",
    ".xml": "application/xml",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".7z": "application/x-7z-compressed",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".svg": "image/svg+xml",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".eml": "message/rfc822",
    ".ics": "text/calendar",
}

_UTF8_NAMES = {"utf8", "utf-8", "utf8nobom", "utf8bom", "utf8encoding"}

# What recipients of a Graph send see where Send-MailMessage's default ASCII sent '?' (a script PowerShell reads as written).
ASCII_CHANGE = "(recipients see the real characters where they saw '?')."
# The same for a BOM-less UTF-8 script, which Windows PowerShell 5.1 reads in the ANSI code page (about_Character_Encoding).
ASCII_CHANGE_BOMLESS = ("(on PowerShell 7 recipients see the real characters where they saw '?'; Windows PowerShell 5.1 "
                        "reads this file, UTF-8 without a BOM, in the ANSI code page, so there the script's text is "
                        "already garbled and recipients see mojibake, such as 'Ã©' for 'é', where they saw '?').")

# Exchange Online sends a non-delivery report to the sender of every message it cannot deliver ("Email non-delivery
# reports in Exchange Online", learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-
# online/non-delivery-reports-in-exchange-online), a Graph send included (it leaves from the sender's mailbox).
ON_FAILURE_NOTE = ("DeliveryNotificationOption OnFailure: Graph has no such field, and needs none: Exchange Online "
                   "sends the sender a non-delivery report for any message it cannot deliver, as OnFailure asked.")


class NoteKind(str, Enum):
    """Whether a remark means behaviour is lost (blocks a safe fix) or is only worth knowing."""

    LOST = "lost"
    INFO = "info"


@dataclass(frozen=True)
class MappingNote:
    kind: NoteKind
    text: str


@dataclass(frozen=True)
class PsValue:
    """One value of the request: a PowerShell expression that yields it, and the constant when known."""

    ps: str  # PowerShell expression (a quoted literal for constants)
    static: str | bool | None = None

    @property
    def is_static(self) -> bool:
        return self.static is not None

    def json(self) -> object:
        """The value as it appears in the report's request: the constant, or the PowerShell text."""
        return self.static if self.static is not None else self.ps


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str = ""


@dataclass(frozen=True)
class RecipientList:
    """A recipient field: parsed constants, or an expression evaluated at run time."""

    static: tuple[Recipient, ...] = ()
    expression: str | None = None  # PowerShell expression yielding strings, when not constant
    # Each string is one address (Send-MailMessage: new MailAddress(s)), not a list MailAddressCollection splits.
    one_each: bool = False


@dataclass(frozen=True)
class AttachmentSpec:
    """A file attachment: its path expression, and its name and MIME type when the path is constant."""

    path: PsValue
    name: str | None
    content_type: str


@dataclass
class GraphMapping:
    """The Graph sendMail request one mail call means, and what cannot be carried over."""

    sender: str | None  # static sender mailbox address (lower-case), or None
    sender_text: str  # PowerShell text of the sender expression ("" when there is none)
    request: dict[str, object]
    notes: list[str]
    lossless: bool
    api: Api = Api.SEND_MAILMESSAGE
    command: str = ""
    # Structured parts the code generators use (the request dict is for people and JSON).
    recipients: dict[str, RecipientList] = field(default_factory=dict)  # toRecipients, ccRecipients, …
    subject: PsValue | None = None
    body: PsValue | None = None
    content_type: PsValue | None = None
    importance: PsValue | None = None
    delivery_receipt: PsValue | None = None
    attachments: list[AttachmentSpec] = field(default_factory=list)
    attachments_expression: str | None = None  # paths computed at run time (generated code reads them)
    sender_is_literal: bool = False  # From is a constant written at the call (not a variable's value)
    headers: list[tuple[str, PsValue]] = field(default_factory=list)
    from_recipient: RecipientList | None = None  # `from` with a display name, when it must be sent
    mail_message: str | None = None  # expression of a MailMessage object built at run time
    # SMTP submission never kept a copy in Sent Items; keep it that way unless asked.
    save_to_sent_items: bool = False
    note_items: list[MappingNote] = field(default_factory=list)


# --------------------------------------------------------------------------- a sender kept in the credential

# From written as the user name of a credential: $cred.UserName, $cred.GetNetworkCredential().UserName.
_CREDENTIAL_USER_FROM = re.compile(r"(?i)^\$(?:script:|global:|local:)?(\w+)\.(?:UserName|GetNetworkCredential\(\)\.UserName)$")
_CREDENTIAL_TEXT = re.compile(r"(?i)^\$(?:script:|global:|local:)?(\w+)(?:\.GetNetworkCredential\(\))?$")
_MAILBOX = re.compile(r"^[^@\s<>\"'$`(){}]+@[^@\s<>\"'$`(){}]+\.[^@\s<>\"'$`(){}]+$")


def credential_variable(from_text: str) -> str | None:
    """The credential variable whose user name From is (`$cred.UserName` -> "cred"), or None."""
    match = _CREDENTIAL_USER_FROM.match(from_text.strip())
    return match.group(1) if match else None


def credential_sender(from_text: str, credential_text: str, credential_user: str | None) -> str | None:
    """The sender a call sends as when From is the user name of its own credential and that user name is known
    from the file (`New-Object PSCredential('svc@contoso.com', ...)`, `Get-Credential -UserName ...`): that mailbox
    (lower case), else None. The sender list (scanner.estate.senders) and the fix plan both resolve it here."""
    variable = credential_variable(from_text)
    credential = _CREDENTIAL_TEXT.match(credential_text.strip())
    if variable is None or credential is None or credential.group(1).lower() != variable.lower() or not credential_user:
        return None
    user = credential_user.strip().lower()
    return user if _MAILBOX.match(user) else None


# --------------------------------------------------------------------------- helpers


def ps_quote(text: str) -> str:
    """A single-quoted PowerShell literal for ``text`` (PowerShell treats curly quotes as quotes too)."""
    if not _SINGLE_QUOTE.search(text):
        return "'" + text + "'"
    return "'" + _SINGLE_QUOTE.sub(r"\1\1", text) + "'"


_SINGLE_QUOTE = re.compile(r"(['\u2018\u2019\u201a\u201b])")


_SIMPLE_VARIABLE = re.compile(r"^\$(?:\{[^}]+\}|[A-Za-z_][\w]*(?::[\w]+)?)(?:\.[A-Za-z_]\w*|\[[^\]\[]*\])*$")
_QUOTED_SINGLE = re.compile(r"^'(?:[^'\u2018\u2019\u201a\u201b]|['\u2018\u2019\u201a\u201b]{2})*'$", re.DOTALL)
_QUOTED_DOUBLE = re.compile(r'^"(?:[^"`]|`.|"")*"$', re.DOTALL)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# `$PSScriptRoot\a.csv`: a variable glued to a path is a bare word (command mode only).
_VARIABLE_THEN_PATH = re.compile(r"^\$(?:\{[^}]+\}|[\w:]+)[\\/]")


def is_literal_text(text: str) -> bool:
    """True when argument text is a constant as written (no variable, no sub-expression)."""
    stripped = text.strip()
    return "$" not in stripped and not stripped.startswith(("(", "@(", "@{", "["))


def ps_expression(text: str) -> str:
    """Turn argument text written in command mode into an expression usable in expression mode.

    `-Attachments $PSScriptRoot\\a.csv` is a bare word in command mode (an expandable string);
    the same text in a hashtable would be a parse error, so bare words become double-quoted.
    """
    text = text.strip()
    if not text:
        return "$null"
    if _SIMPLE_VARIABLE.match(text) or _QUOTED_SINGLE.match(text) or _QUOTED_DOUBLE.match(text):
        return text
    if _NUMBER.match(text) or text.lower() in ("$true", "$false", "$null"):
        return text
    if _VARIABLE_THEN_PATH.match(text) or text.startswith("-"):
        return '"' + _escape_double(text) + '"'
    if _wrapped_in_parentheses(text):
        return text
    if text[0] in "($@['\"":
        return "(" + text + ")"
    # A bare word: PowerShell expands variables in it like a double-quoted string.
    return '"' + _escape_double(text) + '"'


def _wrapped_in_parentheses(text: str) -> bool:
    """True when the first `(` closes at the very end: `(Get-Date)`, not `(a) + (b)`."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and index != len(text) - 1:
                return False
    return depth == 0


def _escape_double(text: str) -> str:
    return text.replace("`", "``").replace('"', '`"').replace("\u201c", "`\u201c").replace("\u201d", "`\u201d")


def split_addresses(text: str) -> list[str]:
    """Split an address list the way MailAddressCollection.Add does: on commas outside quotes and <>."""
    if "," not in text and ";" not in text and '"' not in text and "<" not in text:
        # Nothing to split on and no quote or angle bracket to track: the one address, if any.
        stripped = text.strip()
        return [stripped] if stripped else []
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_angle = False
    for char in text:
        if char == '"' and not in_angle:
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_angle = True
        elif char == ">" and not in_quotes:
            in_angle = False
        if char in ",;" and not in_quotes and not in_angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


_NAMED_ADDRESS = re.compile(r'^\s*(?:"(?P<qname>(?:[^"\\]|\\.)*)"|(?P<name>[^<]*?))\s*<(?P<addr>[^<>]+)>\s*$')


def parse_recipient(text: str) -> Recipient:
    """Parse `a@b`, `Name <a@b>` or `"Last, First" <a@b>` into address and display name."""
    match = _NAMED_ADDRESS.match(text)
    if match:
        name = match.group("qname")
        if name is None:
            name = match.group("name") or ""
        else:
            name = re.sub(r"\\(.)", r"\1", name)
        return Recipient(address=match.group("addr").strip(), name=name.strip())
    return Recipient(address=text.strip().strip("<>").strip())


def content_type_for(file_name: str) -> str:
    """A MIME type from a file name's extension (application/octet-stream when unknown)."""
    dot = file_name.rfind(".")
    if dot < 0:
        return "application/octet-stream"
    return _CONTENT_TYPES.get(file_name[dot:].lower(), "application/octet-stream")


def file_name_of(path: str) -> str:
    """The file name part of a Windows or POSIX path."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def _source(bound: BoundParam) -> str:
    """PowerShell text that yields the parameter's value at the call.

    A script block in $PSDefaultParameterValues is not the value: PowerShell runs it and binds what it
    returns, so the rewritten code runs it too (`(& { … })`) instead of copying its text.
    """
    text = bound.text.strip()
    if bound.kind is BindKind.DEFAULT and text.startswith("{") and text.endswith("}"):
        return f"(& {text})"
    return bound.text


def _static_strings(bound: BoundParam) -> list[str] | None:
    """The parameter's constant strings, or None when any part is computed at run time.

    A value set only on some code paths still counts: the report shows it, and check_binding notes
    that it is conditional.
    """
    if bound.value is None:
        return None
    value = bound.value
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return None
    return [str(value)]


def _static_scalar(bound: BoundParam) -> str | None:
    strings = _static_strings(bound)
    if strings is None or len(strings) != 1:
        return None
    return strings[0]


def _is_true_switch(bound: BoundParam) -> bool | None:
    """A switch's constant state: True/False, or None when set by an expression."""
    value = bound.value
    if isinstance(value, bool):
        return value if not bound.conditional else None
    text = bound.text.strip().lower()
    if text in ("$true", "", "true"):
        return True if not bound.conditional else None
    if text in ("$false", "false"):
        return False if not bound.conditional else None
    if bound.is_static and isinstance(value, (str, int)):
        return str(value).strip().lower() in ("true", "1", "$true")
    return None


# --------------------------------------------------------------------------- the mapping


class _Builder:
    """Accumulates the parts of one mapping; one instance per call."""

    def __init__(self, call: MailCall) -> None:
        self.call = call
        self.notes: list[MappingNote] = []
        self.mapping = GraphMapping(
            sender=None, sender_text="", request={}, notes=[], lossless=True, api=call.api, command=call.command
        )

    def note(self, kind: NoteKind, text: str) -> None:
        if all(existing.text != text for existing in self.notes):
            self.notes.append(MappingNote(kind, text))

    def value(self, bound: BoundParam) -> PsValue:
        scalar = _static_scalar(bound)
        if scalar is not None:
            if is_literal_text(bound.text):
                return PsValue(ps=ps_quote(scalar), static=scalar)
            # Resolved from a variable: the report shows the value, the code keeps the variable.
            return PsValue(ps=ps_expression(_source(bound)), static=scalar)
        return PsValue(ps=ps_expression(_source(bound)))

    def recipients(self, bound: BoundParam, one_each: bool = False) -> RecipientList:
        """A recipient field. ``one_each``: each string is one address, as Send-MailMessage reads To/Cc/Bcc/ReplyTo
        (`new MailAddress(s)`; 'a@x,b@x' is refused with a FormatException); otherwise a string is a list that
        MailAddressCollection.Add splits (SmtpClient's `MailMessage(from, to)`)."""
        strings = _static_strings(bound)
        if strings is not None:
            if one_each and any(len(split_addresses(item)) != 1 for item in strings):
                # Not plainly one address per string: MailAddress decides at run time, exactly as the cmdlet did.
                listed = [item for item in strings if len(split_addresses(item)) != 1]
                self.note(NoteKind.INFO, f"{bound.name or 'A recipient'} {', '.join(repr(item) for item in listed)} is not one "
                          "address per string: Send-MailMessage reads each string as one address and refuses "
                          "such a string (a FormatException; the other recipients still get the mail); the "
                          "rewritten call does the same. Give each address as its own string.")
                if is_literal_text(bound.text):
                    expression = "@(" + ", ".join(ps_quote(item) for item in strings) + ")"
                else:
                    expression = ps_expression(_source(bound))
                return RecipientList(expression=expression, one_each=True)
            parsed: list[Recipient] = []
            for item in strings:
                parsed.extend(parse_recipient(part) for part in split_addresses(item))
            if is_literal_text(bound.text):
                return RecipientList(static=tuple(parsed), one_each=one_each)
            return RecipientList(static=tuple(parsed), expression=ps_expression(_source(bound)), one_each=one_each)
        return RecipientList(expression=ps_expression(_source(bound)), one_each=one_each)

    # -- one method per concern, called in order by build()

    def check_binding(self) -> None:
        for name, bound in self.call.params.items():
            if bound.kind == BindKind.UNRESOLVED:
                where = f" ({bound.reason})" if bound.reason else ""
                self.note(NoteKind.LOST, f"{name}: its value could not be resolved{where}; review the rewritten call.")
            elif bound.kind == BindKind.DEFAULT and name not in SMTP_ONLY_PARAMS and name != "DeliveryMethod":
                self.note(
                    NoteKind.INFO,
                    f"{name} comes from a default ({bound.reason or '$PSDefaultParameterValues'}): Send-GraphMailMessage "
                    "applies defaults written for Send-MailMessage; the inline styles copy the value to the call.",
                )
            elif bound.conditional and name in MESSAGE_PARAMS:
                self.note(
                    NoteKind.INFO,
                    f"{name} is set only on some code paths (line {bound.line}); the rewritten call keeps that.",
                )

    def sender(self) -> None:
        bound = self.call.param("From")
        if bound is None:
            mail_message = self.call.param("MailMessage")
            if mail_message is not None:
                self.mapping.sender_text = f"{ps_expression(_source(mail_message))}.From.Address"
            return
        recipients = self.recipients(bound)
        self.mapping.sender_text = _source(bound).strip()
        if recipients.static:
            first = recipients.static[0]
            self.mapping.sender = first.address.lower()
            if recipients.expression is None:
                self.mapping.sender_is_literal = True
                if first.name:
                    # The mailbox in the URL sends; `from` only carries the display name the script used.
                    self.mapping.from_recipient = RecipientList(static=(first,))
            else:
                self.mapping.from_recipient = RecipientList(static=(first,), expression=recipients.expression)
            if len(recipients.static) > 1:
                self.note(NoteKind.LOST, "From lists several addresses; Graph sends from the first one only.")
        else:
            self.mapping.from_recipient = RecipientList(expression=recipients.expression)
        self.note(
            NoteKind.INFO,
            "The sender must be a mailbox (user or shared): Graph sends as /users/{From}; a distribution "
            "group cannot send, and a From that differs from the mailbox needs SendAs (ErrorSendAsDenied).",
        )

    def addressees(self) -> None:
        for param, field_name in (
            ("To", "toRecipients"),
            ("Cc", "ccRecipients"),
            ("Bcc", "bccRecipients"),
            ("ReplyTo", "replyTo"),
        ):
            bound = self.call.param(param)
            if bound is not None:
                self.mapping.recipients[field_name] = self.recipients(bound, one_each=self.call.api is Api.SEND_MAILMESSAGE)
        if self.call.param("ReplyTo") is not None and self.call.api == Api.SEND_MAILMESSAGE:
            self.note(
                NoteKind.INFO,
                "ReplyTo exists on Send-MailMessage only from PowerShell 6.2; Send-GraphMailMessage accepts it "
                "on Windows PowerShell 5.1 too, so a call that failed there now sends.",
            )

    def content(self) -> None:
        subject = self.call.param("Subject")
        if subject is not None:
            self.mapping.subject = self.value(subject)
        body = self.call.param("Body")
        if body is not None:
            self.mapping.body = self.value(body)
        html = self.call.param("BodyAsHtml")
        if html is None:
            self.mapping.content_type = PsValue(ps="'Text'", static="Text")
        else:
            state = _is_true_switch(html)
            if state is None:
                condition = ps_expression(_source(html))
                self.mapping.content_type = PsValue(ps=f"$(if ({condition}) {{ 'HTML' }} else {{ 'Text' }})")
            else:
                kind = "HTML" if state else "Text"
                self.mapping.content_type = PsValue(ps=ps_quote(kind), static=kind)

    def ascii_default(self) -> None:
        """Send-MailMessage without -Encoding sends Subject and Body as ASCII: each non-ASCII character became '?'.

        Graph sends UTF-8, so the patched call sends a different message (the real characters): that is a
        change a reviewer must accept, not a drop-in. Only text the scanner can read is seen (literals and
        values resolved from the file); a Subject or Body computed at run time (Get-Content, a parameter,
        a function's result) cannot be checked, and its non-ASCII characters change the same way.
        Display names are not affected: MailAddress encodes them as UTF-8 whatever -Encoding says.
        """
        if self.call.api is not Api.SEND_MAILMESSAGE or self.call.param("Encoding") is not None:
            return
        changed = [name for name in ("Subject", "Body")
                   if not (self.call.static_text(name) or "").isascii()]
        if changed:
            self.note(NoteKind.LOST, "Send-MailMessage without -Encoding sends " + " and ".join(changed)
                      + " as ASCII, so each non-ASCII character arrived as '?'; Graph sends UTF-8: the message "
                      "changes " + ASCII_CHANGE)

    def priority(self) -> None:
        bound = self.call.param("Priority")
        if bound is None:
            return
        scalar = _static_scalar(bound)
        if scalar is not None:
            words = re.findall(r"[A-Za-z]+", scalar)
            level = words[-1].lower() if words else ""
            if level in ("high", "low", "normal"):
                self.mapping.importance = PsValue(ps=ps_quote(level), static=level)
                return
            self.note(NoteKind.LOST, f"Priority {scalar!r} is not High, Normal or Low; importance is left out.")
            return
        self.mapping.importance = PsValue(ps=f"([string]{ps_expression(_source(bound))}).ToLower()")

    def delivery_notification(self) -> None:
        bound = self.call.param("DeliveryNotificationOption")
        if bound is None:
            return
        strings = _static_strings(bound)
        if strings is None:
            expression = ps_expression(_source(bound))
            self.mapping.delivery_receipt = PsValue(ps=f"([string]{expression} -match 'OnSuccess')")
            self.note(
                NoteKind.LOST,
                "DeliveryNotificationOption is computed at run time: only OnSuccess maps to Graph "
                "(isDeliveryReceiptRequested); OnFailure, Delay and Never have no Graph equivalent.",
            )
            return
        options = {
            token.strip().split(".")[-1].lower()
            for item in strings
            for token in re.split(r"[,\s|]+", item)
            if token.strip()
        }
        if "onsuccess" in options:
            self.mapping.delivery_receipt = PsValue(ps="$true", static=True)
        if "onfailure" in options and "never" not in options:
            # OnFailure asks for a non-delivery report, which Exchange Online sends the sender of any message it
            # cannot deliver, however it was submitted ("Email non-delivery reports in Exchange Online", Microsoft
            # Learn): nothing to ask for, nothing lost.
            self.note(NoteKind.INFO, ON_FAILURE_NOTE)
        lost = sorted(option for option in options if option in ("delay", "never"))
        if lost:
            names = {"delay": "Delay", "never": "Never"}
            self.note(
                NoteKind.LOST,
                "DeliveryNotificationOption "
                + ", ".join(names[option] for option in lost)
                + ": Graph has no equivalent (delivery notifications follow the tenant's defaults; Never cannot "
                "turn off the non-delivery report Exchange Online sends the sender).",
            )

    def encoding(self) -> None:
        bound = self.call.param("Encoding")
        if bound is None:
            return
        scalar = _static_scalar(bound)
        words = re.findall(r"[A-Za-z0-9-]+", scalar if scalar is not None else bound.text)
        # `UTF8`, 'utf-8', [System.Text.Encoding]::UTF8, (New-Object System.Text.UTF8Encoding): the last word decides.
        if words and words[-1].lower() in _UTF8_NAMES:
            return
        self.note(
            NoteKind.LOST,
            f"Encoding {scalar or bound.text.strip()}: Graph always sends UTF-8; recipients that relied on "
            "another charset will see UTF-8.",
        )

    def attachments(self) -> None:
        bound = self.call.param("Attachments")
        if bound is None:
            return
        if bound.kind == BindKind.PIPELINE:
            self.note(
                NoteKind.INFO,
                "Attachments come from pipeline input: Send-GraphMailMessage accepts the pipeline the same way; "
                "the inline snippets read the paths from $attachments, so collect the pipeline into it first.",
            )
            self.mapping.attachments_expression = "$attachments"
        else:
            strings = _static_strings(bound)
            if strings is not None:
                for path in strings:
                    name = file_name_of(path)
                    self.mapping.attachments.append(
                        AttachmentSpec(path=PsValue(ps=ps_quote(path), static=path), name=name,
                                       content_type=content_type_for(name))
                    )
            if strings is None or not is_literal_text(bound.text):
                self.mapping.attachments_expression = ps_expression(_source(bound))
        self.note(
            NoteKind.INFO,
            "Send-GraphMailMessage (--style module) sends attachments over 3 MB through a draft and an upload "
            "session, which needs the Mail.ReadWrite application permission in addition to Mail.Send (150 MB at "
            "most); an inline request (--style inline, the snippets) is one sendMail request of 4 MB at most, "
            "every attachment in base64 and the body included.",
        )

    def headers(self) -> None:
        bound = self.call.param("Headers")
        if bound is None:
            return
        pairs = _header_pairs(bound)
        if pairs is None:
            self.note(
                NoteKind.LOST,
                "Headers are computed at run time: Graph keeps only headers whose names start with x- "
                f"(at most {MAX_GRAPH_HEADERS}); others are dropped.",
            )
            return
        kept: list[tuple[str, PsValue]] = []
        dropped: list[str] = []
        for name, value in pairs:
            if name.lower().startswith("x-"):
                kept.append((name, value))
            else:
                dropped.append(name)
        if dropped:
            self.note(
                NoteKind.LOST,
                "Headers " + ", ".join(dropped) + " do not start with x-: Graph rejects them, so they are dropped "
                "(send MIME instead if they matter).",
            )
        if len(kept) > MAX_GRAPH_HEADERS:
            extra = [name for name, _ in kept[MAX_GRAPH_HEADERS:]]
            self.note(
                NoteKind.LOST,
                f"Graph accepts at most {MAX_GRAPH_HEADERS} internet message headers; " + ", ".join(extra)
                + " are dropped.",
            )
            kept = kept[:MAX_GRAPH_HEADERS]
        self.mapping.headers = kept

    def mail_message(self) -> None:
        bound = self.call.param("MailMessage")
        if bound is None:
            return
        # Generated code converts the object when it runs, so later changes to it (a loop adding
        # recipients) are kept; the report still shows what the scanner resolved from the file.
        self.mapping.mail_message = ps_expression(_source(bound))
        self.note(
            NoteKind.INFO,
            f"The message is built at run time from {bound.text.strip()}: recipients, subject, body, "
            "priority, attachments and x- headers carry over; alternate views, linked resources and "
            "other headers do not.",
        )

    def smtp_only(self) -> None:
        present = [name for name in SMTP_ONLY_PARAMS if name in self.call.params]
        if present:
            self.note(
                NoteKind.INFO,
                ", ".join(present) + " no longer matter: the app's Graph token authorises "
                "/users/{sender}/sendMail (Send-GraphMailMessage accepts and ignores them).",
            )

    def build(self) -> GraphMapping:
        self.check_binding()
        self.sender()
        self.addressees()
        self.content()
        self.ascii_default()
        self.priority()
        self.delivery_notification()
        self.encoding()
        self.attachments()
        self.headers()
        self.mail_message()
        self.smtp_only()
        mapping = self.mapping
        saved = self.call.params.get("SaveToSentItems")
        if saved is not None and saved.value is True and not saved.conditional:
            mapping.save_to_sent_items = True  # EWS SendAndSaveCopy / Graph saveToSentItems: the copy stays
        mapping.note_items = list(self.notes)
        mapping.notes = [note.text for note in self.notes]
        mapping.lossless = all(note.kind != NoteKind.LOST for note in self.notes)
        mapping.request = request_json(mapping)
        return mapping


_HEADER_PAIR = re.compile(
    r"""(?:'(?P<sq>(?:[^']|'')*)'|"(?P<dq>[^"]*)"|(?P<bare>[A-Za-z][\w-]*))\s*=\s*"""
    r"""(?P<value>'(?:[^']|'')*'|"(?:[^"`]|`.)*"|\$[\w:.]+|[^;\r\n}]+)"""
)


def _header_pairs(bound: BoundParam) -> list[tuple[str, PsValue]] | None:
    """Header names and values from `Name: value` strings or a literal hashtable, or None when dynamic."""
    strings = _static_strings(bound)
    if strings is not None:
        pairs: list[tuple[str, PsValue]] = []
        for item in strings:
            name, sep, value = item.partition(":")
            if not sep:
                name, sep, value = item.partition("=")
            if not sep:
                return None
            pairs.append((name.strip(), PsValue(ps=ps_quote(value.strip()), static=value.strip())))
        return pairs
    text = bound.text.strip()
    if not (text.startswith("@{") and text.endswith("}")):
        return None
    pairs = []
    for match in _HEADER_PAIR.finditer(text[2:-1]):
        name = match.group("sq")
        if name is not None:
            name = name.replace("''", "'")
        else:
            name = match.group("dq") if match.group("dq") is not None else match.group("bare")
        raw = match.group("value").strip()
        if _QUOTED_SINGLE.match(raw):
            literal = raw[1:-1].replace("''", "'")
            pairs.append((name, PsValue(ps=raw, static=literal)))
        else:
            pairs.append((name, PsValue(ps=ps_expression(raw))))
    return pairs


def _recipients_json(recipients: RecipientList) -> object:
    if not recipients.static and recipients.expression is not None:
        return recipients.expression
    out: list[dict[str, object]] = []
    for recipient in recipients.static:
        address: dict[str, object] = {"address": recipient.address}
        if recipient.name:
            address["name"] = recipient.name
        out.append({"emailAddress": address})
    return out


def request_json(mapping: GraphMapping) -> dict[str, object]:
    """The sendMail JSON body for the report: constants as values, run-time parts as PowerShell text."""
    if mapping.mail_message is not None and not mapping.recipients and mapping.subject is None:
        return {"message": mapping.mail_message, "saveToSentItems": mapping.save_to_sent_items}
    message: dict[str, object] = {}
    if mapping.subject is not None:
        message["subject"] = mapping.subject.json()
    body_content = mapping.body.json() if mapping.body is not None else ""
    content_type = mapping.content_type.json() if mapping.content_type is not None else "Text"
    message["body"] = {"contentType": content_type, "content": body_content}
    for field_name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        if field_name in mapping.recipients:
            message[field_name] = _recipients_json(mapping.recipients[field_name])
    if mapping.from_recipient is not None:
        from_json = _recipients_json(mapping.from_recipient)
        message["from"] = from_json[0] if isinstance(from_json, list) and from_json else from_json
    if mapping.importance is not None:
        message["importance"] = mapping.importance.json()
    if mapping.delivery_receipt is not None:
        message["isDeliveryReceiptRequested"] = mapping.delivery_receipt.json()
    if mapping.attachments:
        message["attachments"] = [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": spec.name,
                "contentType": spec.content_type,
                "contentBytes": f"[Convert]::ToBase64String([IO.File]::ReadAllBytes({spec.path.ps}))",
            }
            for spec in mapping.attachments
        ]
    elif mapping.attachments_expression is not None:
        message["attachments"] = mapping.attachments_expression
    if mapping.headers:
        message["internetMessageHeaders"] = [{"name": name, "value": value.json()} for name, value in mapping.headers]
    return {"message": message, "saveToSentItems": mapping.save_to_sent_items}


def map_call(call: MailCall) -> GraphMapping:
    """The Graph sendMail request a bound mail call means, with what cannot be preserved."""
    return _Builder(call).build()
