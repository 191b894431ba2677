"""Native SMTP command-line tools a script runs: blat, mailsend, sendEmail, swaks, and curl with an
smtp:// URL. Each logs on with the user name and password it is given (LOGIN/PLAIN; curl can also
present an OAuth 2.0 bearer token), so against Exchange Online they stop working with basic auth.

A tool is found where PowerShell runs it: a command (`blat …`, `blat.exe …`), the call operator with a
path (`& "C:\\Tools\\blat.exe" …`), `Start-Process blat -ArgumentList '…'` and `cmd /c blat …`. Its
switches are read from the rest of the statement (backtick continuations joined, a quoted argument
list split into its words); the call is reported with the form ``native-tool`` and never patched.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall
from scanner.script import Script

NATIVE_FORM = "native-tool"

_TOOL = re.compile(
    r"(?i)(?:(?P<amp>&)[ \t]*)?(?P<quote>['\"]?)(?P<path>[^'\"\s|;&]*[\\/])?"
    r"(?P<tool>blat|mailsend(?:-go)?|sendemail|swaks|curl)(?P<exe>\.exe)?(?P=quote)(?=[ \t])")
_RUNNER = re.compile(r"(?i)(?:Start-Process(?:[ \t]+-FilePath)?|cmd(?:\.exe)?[ \t]+/[ck])[ \t]+$")
_WORD = re.compile(r"\"[^\"]*\"|'[^']*'|\S+")

# tool -> {switch (lower case): mail parameter}
_SWITCHES: dict[str, dict[str, str]] = {
    "blat": {"-server": "SmtpServer", "-serversmtp": "SmtpServer", "-port": "Port", "-portsmtp": "Port", "-u": "User",
             "-username": "User", "-pw": "Password", "-password": "Password", "-f": "From", "-from": "From", "-to": "To",
             "-t": "To", "-s": "Subject", "-subject": "Subject", "-body": "Body"},
    "mailsend": {"-smtp": "SmtpServer", "-port": "Port", "-user": "User", "-pass": "Password", "-f": "From", "-t": "To",
                 "-sub": "Subject", "-m": "Body"},
    "sendemail": {"-s": "SmtpServer", "-xu": "User", "-xp": "Password", "-f": "From", "-t": "To", "-u": "Subject", "-m": "Body"},
    "swaks": {"--server": "SmtpServer", "-s": "SmtpServer", "--port": "Port", "-p": "Port", "--auth-user": "User", "-au": "User",
              "--auth-password": "Password", "-ap": "Password", "--from": "From", "-f": "From", "--to": "To", "-t": "To"},
    "curl": {"--url": "Url", "--user": "UserPassword", "-u": "UserPassword", "--mail-from": "From", "--mail-rcpt": "To",
             "--oauth2-bearer": "OAuth2"},
}
_SMTP_URL = re.compile(r"(?i)^smtps?://(?:[^@/\s]*@)?([^:/\s]+)(?::(\d+))?")


def _statement(text: str, start: int) -> tuple[str, int]:
    """The rest of the statement from ``start`` (backtick line continuations joined) and where it ends."""
    end = start
    parts = []
    while True:
        nl = text.find("\n", end)
        line_end = len(text) if nl < 0 else nl
        line = text[end:line_end].rstrip("\r")
        if line.rstrip().endswith("`") and nl >= 0:
            parts.append(line.rstrip()[:-1])
            end = nl + 1
            continue
        parts.append(line)
        return " ".join(parts), line_end


def _words(arguments: str) -> list[str]:
    """The words of an argument list; a quoted one holding spaces (an -ArgumentList string) is split again."""
    out: list[str] = []
    for word in _WORD.findall(arguments):
        if word[:1] in "'\"" and word[-1:] == word[:1] and len(word) >= 2:
            inner = word[1:-1]
            if " " in inner.strip() and inner.lstrip().startswith("-"):
                out.extend(_words(inner))
                continue
            out.append(inner)
        else:
            out.append(word)
    return out


def _bound(name: str, word: str, tool: str, line: int) -> BoundParam:
    dynamic = "$" in word or word.startswith("(")
    return BoundParam(name, word, BindKind.EXPRESSION if dynamic else BindKind.LITERAL, None if dynamic else word,
                      reason=f"passed to {tool}", line=line)


def _runs_here(script: Script, at: int, match: re.Match[str]) -> bool:
    """Whether the tool at ``at`` is run: in command position, or handed to Start-Process / cmd /c."""
    code = script.code
    if match.group("amp"):
        return code[at] == "&" and script.at_command_position(at)
    line_start = code.rfind("\n", 0, at) + 1
    handed = _RUNNER.search(code[line_start:at]) is not None  # Start-Process [-FilePath] x, cmd /c x
    if match.group("quote"):
        return handed  # otherwise a quoted path without `&` is a string, not a command
    if code[at] == " ":
        return False  # inside a string or a comment
    return handed or script.at_command_position(at)


def find_native_smtp(script: Script) -> list[MailCall]:
    """Each native SMTP tool the script runs, with the server, port, sender, recipients and log-on it is given."""
    if script.is_data_file:
        return []
    text = script.text
    calls: list[MailCall] = []
    defined = {f.name.lower() for f in script.structure.functions}
    installed: Optional[tuple[int, dict[str, BoundParam]]] = None  # `blat -install …`: the profile later calls use
    for match in _TOOL.finditer(text):
        at = match.start()
        if not _runs_here(script, at, match):
            continue
        tool = match.group("tool").lower().replace("-go", "")
        if not (match.group("exe") or match.group("path")) and tool in defined:
            continue  # the script's own function of that name
        arguments, end = _statement(text, match.end())
        words = _words(arguments)
        if tool == "curl" and not any(_SMTP_URL.match(w) for w in words):
            continue  # curl for anything but mail
        switches = _SWITCHES[tool]
        if not any(word.lower() in switches for word in words) and tool != "curl":
            continue  # none of the tool's mail switches: another program of that name, or no send
        line = script.line_of(at)
        params: dict[str, BoundParam] = {}
        user: Optional[str] = None
        password: Optional[str] = None
        i = 0
        while i < len(words):
            word = words[i]
            low = word.lower()
            name = switches.get(low)
            if name is None and tool == "curl" and _SMTP_URL.match(word):
                name, i = "Url", i - 1
            if name is None:
                i += 1
                continue
            value = words[i + 1] if i + 1 < len(words) else ""
            i += 2
            if name == "Url":
                url = _SMTP_URL.match(value)
                if url is not None:
                    params["SmtpServer"] = _bound("SmtpServer", url.group(1), tool, line)
                    if url.group(2):
                        params["Port"] = _bound("Port", url.group(2), tool, line)
            elif name == "UserPassword":
                user, _, secret = value.partition(":")
                password = secret or None
            elif name == "User":
                user = value
            elif name == "Password":
                password = value
            elif name == "OAuth2":
                params["OAuth2"] = BoundParam("OAuth2", "$true", BindKind.LITERAL, True, reason=f"{tool} --oauth2-bearer", line=line)
            elif name == "SmtpServer" and ":" in value and "$" not in value and not value.startswith("["):
                host, _, port = value.partition(":")
                params["SmtpServer"] = _bound("SmtpServer", host, tool, line)
                if port.isdigit():
                    params["Port"] = _bound("Port", port, tool, line)
            else:
                params[name] = _bound(name, value, tool, line)
        if "Port" in params and isinstance(params["Port"].value, str) and params["Port"].value.isdigit():
            params["Port"].value = int(params["Port"].value)
        if password is not None:
            # The log-on as the tool gets it: the user name shown, the password never (masked where written).
            params["Credential"] = BoundParam("Credential", user or "", BindKind.EXPRESSION, None,
                                              reason=f"user name and password passed to {tool}", line=line)
        if tool == "blat" and any(w.lower() in ("-install", "-installsmtp") for w in words):
            installed = (line, params)  # saves the server and log-on in the registry: no mail is sent here
            continue
        if tool == "blat" and "SmtpServer" not in params:
            # Without -server blat uses the profile saved by `blat -install` (the registry): its server and log-on.
            if installed is not None:
                for name, bound in installed[1].items():
                    if name not in params:
                        params[name] = dataclasses.replace(bound, kind=BindKind.DEFAULT,
                                                           reason=f"saved by blat -install (line {installed[0]})")
            else:
                params["SmtpServer"] = BoundParam("SmtpServer", "(blat profile)", BindKind.UNRESOLVED, None, line=line,
                                                  reason="no -server: blat uses the profile saved by `blat -install` on the machine")
                params.setdefault("Credential", BoundParam("Credential", "(blat profile)", BindKind.UNRESOLVED, None, line=line,
                                                           reason="no -u/-pw: the profile saved by `blat -install` may hold a log-on"))
        written = match.group("tool") + (match.group("exe") or "")
        name_start = match.start("tool")
        calls.append(MailCall(
            api=Api.NATIVE_SMTP,
            command=written,
            form=NATIVE_FORM,
            location=script.location(at, end),
            params=params,
            confidence=Confidence.MEDIUM,
            notes=[f"{written} is a command-line SMTP tool: replace its line with Send-GraphMailMessage (no automatic rewrite)"],
            name_span=(name_start, name_start + len(written)),
            call_span=(at, end),
        ))
    return calls
