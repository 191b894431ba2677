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
    """Rewrites each record's final message through `redact`, and keeps its traceback out: a library's
    exception text quotes what the server answered (a token endpoint's 400 page can echo the request,
    client secret and all), so only the exception's type is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask credentials in the formatted message, drop the traceback; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info or record.exc_text or record.stack_info:
            kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] is not None else "exception"
            cleaned = f"{cleaned} ({kind})"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()
_PACKAGES = ("msal", "urllib3", "requests", "scanner")


def _module_loggers(package: str) -> list[str]:
    """The names of the loggers a package's modules create with getLogger(__name__), created now, so a
    logger a module makes later (MSAL's OAuth2 client makes its own when it is first used) is the one
    that holds the filter (a logger's filters are not inherited by its children)."""
    import importlib
    import pkgutil

    try:
        module = importlib.import_module(package)
    except ImportError:
        return []
    names = [package]
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), package + "."):
        names.append(info.name)
    return names


def install_log_redaction() -> None:
    """Attach the filter to every msal / urllib3 / requests / smtp2graph logger (logger filters are not
    inherited), the ones their modules will create included; and give MSAL's loggers a handler that
    prints nothing, so a record nobody asked for never reaches Python's last-resort stderr handler
    (a user who configures logging still gets every record, masked and without a traceback)."""
    names = [name for name in list(logging.Logger.manager.loggerDict) if name.split(".")[0] in _PACKAGES]
    names += _module_loggers("msal")
    for name in names + ["msal", "urllib3", "requests", "scanner"]:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    msal_logger = logging.getLogger("msal")
    if not any(isinstance(handler, logging.NullHandler) for handler in msal_logger.handlers):
        msal_logger.addHandler(logging.NullHandler())
