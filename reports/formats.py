"""The report formats and view options (names only: the CLI lists them without importing a renderer)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Format(str, Enum):
    TERMINAL = "terminal"
    CONCISE = "concise"
    GITHUB = "github"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    XLSX = "xlsx"


class ReportFormat(str, Enum):
    """The formats of `smtp2graph report` (the merge of many JSON scans)."""

    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    XLSX = "xlsx"
    TERMINAL = "terminal"
    CONCISE = "concise"


class GroupBy(str, Enum):
    """How the terminal view groups findings."""

    WORK = "work"  # the order of work (default)
    OWNER = "owner"
    REPOSITORY = "repository"


BINARY_FORMATS = frozenset({Format.XLSX})


@dataclass(frozen=True)
class RenderOptions:
    group_by: GroupBy = GroupBy.WORK
