"""Recognizers: one per mail API. Each declares the byte tokens a file must contain for it to match.

The engine's prefilter is built from these tokens and nothing else, so a recognizer can never be
skipped by a prefilter that does not know about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from scanner.model import Api, MailCall
from scanner.extract import tokens
from scanner.script import Script


@dataclass(frozen=True)
class Recognizer:
    name: str
    apis: tuple[Api, ...]
    # Case-insensitive ASCII tokens: a file containing none of them cannot hold a call this recognizer finds.
    tokens: tuple[str, ...]
    find: Callable[[Script], list[MailCall]]


def _send_mailmessage(script: Script) -> list[MailCall]:
    from scanner.extract.generated import generated_calls
    from scanner.extract.send_mailmessage import find_send_mailmessage

    return find_send_mailmessage(script) + generated_calls(script, find_send_mailmessage)


def _smtpclient(script: Script) -> list[MailCall]:
    from scanner.extract.csharp import find_add_type_smtp
    from scanner.extract.generated import generated_calls
    from scanner.extract.smtpclient import find_smtpclient

    return find_smtpclient(script) + generated_calls(script, find_smtpclient) + find_add_type_smtp(script)


def _mailkit(script: Script) -> list[MailCall]:
    from scanner.extract.mailkit import find_mailkit

    return find_mailkit(script)


def _cdo(script: Script) -> list[MailCall]:
    from scanner.extract.cdo import find_cdo

    return find_cdo(script)


def _webmail(script: Script) -> list[MailCall]:
    from scanner.extract.webmail import find_webmail

    return find_webmail(script)


def _outlook(script: Script) -> list[MailCall]:
    from scanner.extract.outlook import find_outlook

    return find_outlook(script)


def _ews(script: Script) -> list[MailCall]:
    from scanner.extract.ews import find_ews

    return find_ews(script)


def _native(script: Script) -> list[MailCall]:
    from scanner.extract.native import find_native_smtp

    return find_native_smtp(script)


def _pnp(script: Script) -> list[MailCall]:
    from scanner.extract.pnp import find_pnp_mail

    return find_pnp_mail(script)


def _graph(script: Script) -> list[MailCall]:
    from scanner.extract.graph import find_graph

    return find_graph(script)


def _no_calls(script: Script) -> list[MailCall]:
    return []


RECOGNIZERS: list[Recognizer] = [
    Recognizer("send-mailmessage", (Api.SEND_MAILMESSAGE, Api.GRAPH_SENDMAIL), tokens.SEND_MAILMESSAGE, _send_mailmessage),
    Recognizer("smtpclient", (Api.SMTPCLIENT,), tokens.SMTPCLIENT, _smtpclient),
    Recognizer("mailkit", (Api.MAILKIT,), tokens.MAILKIT, _mailkit),
    Recognizer("cdo", (Api.CDO,), tokens.CDO, _cdo),
    Recognizer("system-web-mail", (Api.SYSTEM_WEB_MAIL,), tokens.SYSTEM_WEB_MAIL, _webmail),
    Recognizer("outlook-com", (Api.OUTLOOK_COM,), tokens.OUTLOOK_COM, _outlook),
    Recognizer("ews", (Api.EWS,), tokens.EWS, _ews),
    Recognizer("native-smtp-tool", (Api.NATIVE_SMTP,), tokens.NATIVE_SMTP, _native),
    Recognizer("pnp-send-mail", (Api.PNP_MAIL,), tokens.PNP_MAIL, _pnp),
    Recognizer("graph", (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL), tokens.GRAPH, _graph),
    Recognizer("token-requests", (), tokens.TOKEN_REQUESTS, _no_calls),
]


def may_find(recognizer: Recognizer, script: Script) -> bool:
    """Whether the script holds one of the recognizer's tokens (without one it cannot find a call)."""
    return tokens.holds_any(script, recognizer.tokens)


def recognizer_named(name: str) -> Recognizer:
    return next(r for r in RECOGNIZERS if r.name == name)


def register(recognizer: Recognizer) -> None:
    """Add a recognizer (used by the modules of other mail APIs)."""
    if all(r.name != recognizer.name for r in RECOGNIZERS):
        RECOGNIZERS.append(recognizer)


def all_tokens() -> tuple[str, ...]:
    tokens: list[str] = []
    for recognizer in RECOGNIZERS:
        for token in recognizer.tokens:
            if token.lower() not in tokens:
                tokens.append(token.lower())
    return tuple(tokens)
