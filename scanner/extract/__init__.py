"""Recognizers: one per mail API. Each declares the byte tokens a file must contain for it to match.

The engine's prefilter is built from these tokens and nothing else, so a recognizer can never be
skipped by a prefilter that does not know about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from scanner.model import Api, MailCall
from scanner.script import Script


@dataclass(frozen=True)
class Recognizer:
    name: str
    apis: tuple[Api, ...]
    # Case-insensitive ASCII tokens: a file containing none of them cannot hold a call this recognizer finds.
    tokens: tuple[str, ...]
    find: Callable[[Script], list[MailCall]]


def _send_mailmessage(script: Script) -> list[MailCall]:
    from scanner.extract.send_mailmessage import find_send_mailmessage

    return find_send_mailmessage(script)


def _smtpclient(script: Script) -> list[MailCall]:
    from scanner.extract.smtpclient import find_smtpclient

    return find_smtpclient(script)


RECOGNIZERS: list[Recognizer] = [
    Recognizer("send-mailmessage", (Api.SEND_MAILMESSAGE, Api.GRAPH_SENDMAIL), ("send-mailmessage", "send-graphmailmessage"), _send_mailmessage),
    Recognizer("smtpclient", (Api.SMTPCLIENT,), ("smtpclient",), _smtpclient),
]


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
