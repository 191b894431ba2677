"""Output formats of verify and audit; kept import-light so cli.py can use it without loading requests or msal."""

from __future__ import annotations

from enum import Enum


class OutputFormat(str, Enum):
    """`--format` of verify and audit."""

    TABLE = "table"
    JSON = "json"
