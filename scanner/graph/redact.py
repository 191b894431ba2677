"""Keep credentials out of logs, even when a user turns on DEBUG logging for MSAL or urllib3."""

from __future__ import annotations

import logging
import re

MASK = "********"
# MSAL's token-cache debug event prints the redeemed device / auth `code`; mask it with the other credentials.
_JSON_FIELD = re.compile(
    r'("(?:code|device_code|refresh_token|client_assertion|client_secret|access_token|id_token|assertion|'
    r'password|passphrase)"\s*:\s*)"[^"]*"'
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9\-_.~+/=]+")
# Pre-authenticated URLs (upload sessions) carry their credential in the query string.
_QUERY = re.compile(r"([?&](?:authtoken|code|sig|token|client_secret)=)[^&\s\"]+", re.IGNORECASE)


# Form-encoded bodies (token requests) that an endpoint echoes back: `client_secret=...&client_assertion=...`.
_FORM_FIELD = re.compile(
    r"((?:^|[?&\s\"'])(?:client_secret|client_assertion|assertion|refresh_token|device_code|password|code)=)[^&\s\"']+",
    re.IGNORECASE,
)
# A JWT (access token, id token, client assertion) wherever it appears: three base64url parts, the first a JSON header.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_known: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a credential value of this run (secret, passphrase, token) so every output masks it by value."""
    if value and len(value) >= 4:
        _known.add(value)


def redact(text: str) -> str:
    """The text with credential values replaced by a mask."""
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    text = _JSON_FIELD.sub(r'\1"' + MASK + '"', text)
    text = _BEARER.sub(r"\1" + MASK, text)
    text = _FORM_FIELD.sub(r"\1" + MASK, text)
    text = _JWT.sub(MASK, text)
    return _QUERY.sub(r"\1" + MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask credentials in the formatted message; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the filter to every msal / urllib3 / smtp2graph logger (logger filters are not inherited)."""
    names = [name for name in list(logging.Logger.manager.loggerDict)
             if name.split(".")[0] in ("msal", "urllib3", "requests", "scanner")]
    for name in names + ["msal", "urllib3", "scanner"]:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
