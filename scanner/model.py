"""Dataclasses and enums shared by every layer: what a script meant to send, and what we found."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class FailOn(str, Enum):
    """`scan --fail-on`: a severity, or "may-break" (any call that breaks or whose verdict is unknown)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    MAY_BREAK = "may-break"


class Confidence(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Api(str, Enum):
    SEND_MAILMESSAGE = "send-mailmessage"
    SMTPCLIENT = "smtpclient"
    MAILKIT = "mailkit"
    CDO = "cdo"
    SYSTEM_WEB_MAIL = "system-web-mail"
    OUTLOOK_COM = "outlook-com"
    NATIVE_SMTP = "native-smtp-tool"  # blat, mailsend, sendEmail, swaks, curl smtp://: a command-line SMTP client
    PNP_MAIL = "pnp-send-mail"  # PnP PowerShell's Send-PnPMail through SMTP (-Server, or the older module's -Password)
    EWS = "ews"  # Exchange Web Services: the EWS Managed API, SOAP CreateItem/SendItem, New-WebServiceProxy
    GRAPH_SENDMAIL = "graph-sendmail"
    SEND_MGUSERMAIL = "send-mgusermail"


class BindKind(str, Enum):
    """How a parameter's value was obtained."""

    LITERAL = "literal"  # a constant written at the call (string, number, switch, $true)
    EXPRESSION = "expression"  # PowerShell code evaluated at run time ($var, (Get-Date), "x $y")
    POSITIONAL = "positional"  # bound by position, not by name
    SPLAT = "splat"  # from a hashtable splatted with @name
    DEFAULT = "default"  # $PSDefaultParameterValues / $PSEmailServer
    PIPELINE = "pipeline"  # from pipeline input (Attachments)
    UNRESOLVED = "unresolved"  # we know the parameter may be set but not to what; see reason


class FixApplicability(str, Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class ServerClass(str, Enum):
    """What the SMTP endpoint a call talks to means for the basic-auth retirement."""

    EXO_SUBMISSION = "exchange-online-submission"  # smtp.office365.com
    EXO_LEGACY_TLS = "exchange-online-legacy-tls"  # smtp-legacy.office365.com
    EXO_HVE = "exchange-online-hve"  # smtp-hve.office365.com
    EXO_DIRECT_SEND = "exchange-online-direct-send"  # *.mail.protection.outlook.com
    OUTLOOK_CONSUMER = "outlook-consumer"  # smtp-mail.outlook.com
    AZURE_COMMUNICATION = "azure-communication-services"  # smtp.azurecomm.net
    EXO_EWS = "exchange-online-ews"  # EWS at outlook.office365.com (and the sovereign clouds)
    EWS_ON_PREMISES = "exchange-on-premises-ews"  # EWS on an Exchange server: keeps working
    OTHER = "other-relay"  # on-premises Exchange, third party, localhost
    UNKNOWN = "unknown"  # an expression, an unresolved variable, or nothing at all


class Outcome(str, Enum):
    """The verdict on one call, as a closed set (the JSON report's ``assessment.outcome``)."""

    BREAKS = "breaks"  # SMTP AUTH basic to Exchange Online: fails when basic auth is disabled (end of December 2026)
    CONSUMER_BASIC_AUTH = "consumer-basic-auth-removed"  # a password to Outlook.com consumer SMTP
    HVE_UNTIL_2028 = "not-affected-until-september-2028"  # High Volume Email with basic auth
    NOT_AFFECTED = "not-affected"
    UNKNOWN = "unknown"  # counts as "may break" everywhere: never as fine

    @property
    def may_break(self) -> bool:
        return self in (Outcome.BREAKS, Outcome.CONSUMER_BASIC_AUTH, Outcome.UNKNOWN)


class Provenance(str, Enum):
    """Where a bound value came from, beyond how it was bound (BindKind)."""

    WRITTEN = "written"  # at the call, in a splat or a default of this file
    CONFIG_FILE = "config-file"  # a configuration file the script loads (path and key in ``source``)
    CALL_SITE = "call-site"  # a wrapper's parameter, from the call site that passes it
    DECLARED = "declared"  # an `assume` value or host fact of .smtp2graph.toml


class CredentialKind(str, Enum):
    EXPLICIT = "explicit"  # -Credential / .Credentials = ...
    DEFAULT_LOGON = "default-windows-logon"  # UseDefaultCredentials, or Send-MailMessage with neither -Credential nor -UseSsl
    NONE = "none"  # anonymous
    OAUTH = "oauth"  # an OAuth 2.0 bearer token (EWS OAuthCredentials, an Authorization: Bearer header)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Location:
    """A place in a decoded source file. Lines and columns are 1-based; offsets index the decoded text."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class RelatedLocation:
    path: str
    line: int
    column: int
    role: str  # client, message, splat, default, alias, wrapper, call-site, credential …


@dataclass
class BoundParam:
    """One parameter of a mail call, with its PowerShell source text and how it got there."""

    name: str  # canonical Send-MailMessage name (To, From, Subject, …) or an extra (MailMessage)
    text: str  # PowerShell source text of the value ("$true" for a bare switch)
    kind: BindKind
    value: Optional[Union[str, bool, int, list[str]]] = None  # static value when the text is a constant
    conditional: bool = False  # set only on some code paths (inside if/switch/loop/try)
    reason: str = ""  # why unresolved, or where a default/splat value came from
    line: int = 0
    provenance: Provenance = Provenance.WRITTEN
    source: str = ""  # for config-file / declared values: "path: key" (or the toml entry)
    # When the value is one of several (configuration rows that differ): (file, row number, value) of
    # each row; the call is assessed once per distinct value and the worst verdict is its verdict.
    alternatives: list[tuple[str, int, Optional[Union[str, bool, int]]]] = field(default_factory=list)

    @property
    def is_static(self) -> bool:
        return self.value is not None and not self.conditional


@dataclass
class Variant:
    """One way a call can run when its settings depend on the path: a caller of the function that
    sends, a group of configuration rows that agree. Its params replace the call's for that path."""

    label: str  # "called at line 12 with $cloud", "rows 2-3 of relays.csv"
    params: dict[str, BoundParam] = field(default_factory=dict)


@dataclass
class MailCall:
    """What a script meant to send, independent of the API it used."""

    api: Api
    command: str  # the command or construct as written (Send-MailMessage, $smtp.Send, …)
    form: str  # how it was written: named, positional, splat, alias, call-operator, module-qualified, method, …
    location: Location
    params: dict[str, BoundParam] = field(default_factory=dict)
    related: list[RelatedLocation] = field(default_factory=list)
    confidence: Confidence = Confidence.HIGH
    notes: list[str] = field(default_factory=list)  # binding remarks (unresolved splat, parse recovery, …)
    sent: bool = True  # False when a client is configured but no send was seen in the file
    in_error_region: bool = False
    # Offsets (decoded text) of the command name / method member as written, for the patcher:
    # `Send-MailMessage`, `Microsoft.PowerShell.Utility\Send-MailMessage`, `'Send-MailMessage'`, or `.Send` in `$smtp.Send($m)`.
    name_span: tuple[int, int] = (0, 0)
    # Offsets of the whole call (command through its last argument, or `$smtp.Send(...)`).
    call_span: tuple[int, int] = (0, 0)
    # Settings that differ by path (callers, configuration rows): each is assessed and the worst
    # verdict is the call's; the differing params themselves stay unresolved on the call.
    variants: list[Variant] = field(default_factory=list)

    def param(self, name: str) -> Optional[BoundParam]:
        return self.params.get(name)

    def static_text(self, name: str) -> Optional[str]:
        """The parameter's constant string value, or None when absent or dynamic."""
        bound = self.params.get(name)
        if bound is None or not bound.is_static:
            return None
        value = bound.value
        if isinstance(value, list):
            return ",".join(value)
        return str(value)


@dataclass
class UndecidedValue:
    """A value that would decide an unknown verdict, and where the estate can declare it."""

    parameter: str  # SmtpServer, Credential
    written: str  # as the script writes it ($SmtpServer, @mail, $cfg.Smtp.Host)
    reason: str  # why the scanner cannot tell
    declare: str  # the .smtp2graph.toml line that would decide it


@dataclass
class Assessment:
    """What the basic-auth retirement does to one call."""

    server: ServerClass
    server_text: str  # the host as written or resolved, "" when absent
    credential: CredentialKind
    breaks: Optional[bool]  # True breaks, False keeps working, None cannot tell
    verdict: str  # one sentence for the report
    migration: str  # what to do
    severity: Severity
    outcome: Optional[Outcome] = None  # None: derived from ``breaks``
    undecided: list[UndecidedValue] = field(default_factory=list)  # what would decide an unknown verdict
    declared: list[str] = field(default_factory=list)  # .smtp2graph.toml facts this verdict relies on

    def __post_init__(self) -> None:
        if self.outcome is None:
            self.outcome = Outcome.UNKNOWN if self.breaks is None else Outcome.BREAKS if self.breaks else Outcome.NOT_AFFECTED

    @property
    def may_break(self) -> bool:
        """Breaks, or cannot tell: an unknown verdict is never counted as fine."""
        return self.breaks is not False


@dataclass
class FixInfo:
    available: bool
    applicability: FixApplicability
    reason: str
    graph_request: Optional[dict[str, object]] = None
    notes: list[str] = field(default_factory=list)
    snippet: Optional[dict[str, str]] = None
    diff: Optional[str] = None  # this call's edit (secrets masked); the whole file's patch is ``patch``
    patch: Optional[int] = None  # index of the file patch (ScanResult.patches) that applies this fix


@dataclass
class PatchView:
    """What `smtp2graph fix --out` writes for one file, as a diff a reviewer reads (secrets masked):
    the patch of the safe fixes, or (``unsafe_fixes``) the one `fix --unsafe-fixes` writes."""

    path: str
    unsafe_fixes: bool
    diff: Optional[str]  # None when too large to show (`fix --out` still writes it)
    applies: bool  # `git apply` accepts the diff (no secret on or right next to a changed line)
    fingerprints: list[str] = field(default_factory=list)  # the findings whose fix it applies


class OwnerSource(str, Enum):
    """Where a finding's owner came from (reports say which)."""

    CODEOWNERS = "CODEOWNERS"
    CONFIG = "config"  # the `owners` map of .smtp2graph.toml
    GIT_BLAME = "git-blame"  # the last author of the call's line
    NONE = "none"


@dataclass(frozen=True)
class Ownership:
    """Which repository a finding is in, who owns it and by when it must be migrated."""

    repository: str  # a git root below the scan root, the enclosing git repository, or a top folder
    repository_path: str  # the file's path relative to that repository, with /
    owner: str  # "" when no source names one
    source: OwnerSource
    due: str  # ISO date: the cut-over date or the user's --deadline


@dataclass
class Finding:
    rule: str
    name: str
    severity: Severity
    confidence: Confidence
    location: Location
    message: str
    snippet: str
    call: Optional[MailCall] = None
    assessment: Optional[Assessment] = None
    related: list[RelatedLocation] = field(default_factory=list)
    fix: FixInfo = field(
        default_factory=lambda: FixInfo(False, FixApplicability.DISPLAY_ONLY, "no automatic fix for this rule")
    )
    fingerprint: str = ""
    suppressed: bool = False
    # Source lines around the finding (secrets masked) for the report's code excerpt.
    context_start_line: int = 0
    context_lines: list[str] = field(default_factory=list)
    sender: Optional[str] = None  # static sender mailbox, lower-case
    credential_user: Optional[str] = None  # static user name of the credential, when the file shows it
    ownership: Optional[Ownership] = None  # set by scanner.owners after the scan

    @property
    def may_break(self) -> bool:
        """A send whose verdict is "breaks" or unknown (an unknown verdict is never counted as fine)."""
        return self.assessment is not None and self.assessment.may_break and self.call is not None and self.call.sent and self.call.form != "shadowing-function"

    @property
    def verdict_unknown(self) -> bool:
        return self.may_break and self.assessment is not None and self.assessment.breaks is None


@dataclass(frozen=True)
class FileError:
    path: str
    message: str


@dataclass
class UnusedSuppression:
    path: str
    line: int
    rules: tuple[str, ...]


@dataclass
class ScanResult:
    root: str
    files_scanned: int
    findings: list[Finding]
    errors: list[FileError]
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    files_failed: int = 0
    scanned_paths: list[str] = field(default_factory=list)  # root-relative paths of the files read
    repositories: list["RepositoryInfo"] = field(default_factory=list)  # set by scanner.owners
    deadline: str = ""  # ISO date every finding is due by (set with the owners)
    patches: list[PatchView] = field(default_factory=list)  # what `fix --out` writes, per file and option set
    fix_judge: str = ""  # which judge decided the patches parse no worse (PowerShell's parser, tree-sitter)


@dataclass(frozen=True)
class RepositoryInfo:
    """One repository inside a scan: a git root, the enclosing repository, or a top folder of the scan root."""

    name: str
    path: str  # its folder relative to the scan root ("" for the root itself, ".." when the root is inside it)
    kind: str  # "git" or "folder"
    files_scanned: int
