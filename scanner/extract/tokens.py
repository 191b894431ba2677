"""The tokens each recognizer needs in a file, kept apart from the recognizers themselves: the
prefilter is built from them without importing a recognizer, and a recognizer checks its own
tokens without importing the registry (``scanner.extract``)."""

from __future__ import annotations

from scanner.script import Script

SEND_MAILMESSAGE = ("send-mailmessage", "send-graphmailmessage")
SMTPCLIENT = ("smtpclient",)
MAILKIT = ("mailkit", "send-emailmessage")
CDO = ("cdo.message", "cdo/configuration")
SYSTEM_WEB_MAIL = ("web.mail",)
OUTLOOK_COM = ("outlook.application",)
# EWS: the Managed API namespace and service, the SOAP endpoint and operations that send, a web service proxy.
EWS = ("webservices.data", "exchangeservice", "exchange.asmx", "createitem", "senditem", "new-webserviceproxy")
# Command-line SMTP tools a script runs (curl only with an smtp:// URL).
NATIVE_SMTP = ("blat", "mailsend", "sendemail", "swaks", "smtp://", "smtps://")
# PnP PowerShell's mail cmdlet (and the older module's alias).
PNP_MAIL = ("send-pnpmail", "send-spomail")
GRAPH = ("sendmail", "send-mguser", "send-mgbetauser", "/send")
# No calls: these let files that only request a Graph/Entra token reach the SEC rules.
TOKEN_REQUESTS = ("oauth2", "client_secret", "connect-mggraph")


def holds_any(script: Script, tokens: tuple[str, ...]) -> bool:
    """Whether the script holds one of ``tokens`` (case-insensitive): without one, a recognizer
    whose tokens they are cannot find a call in it."""
    low = script.text_lower
    return any(t in low for t in tokens)
