"""The smtp2graph command line: each command is typed options, a docstring and one call into the package."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="smtp2graph",
    help="Find PowerShell scripts that send mail over SMTP AUTH and migrate them to Microsoft Graph sendMail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# ---- scan / rules (scanner core) ----


# ---- fix / snippet / kit (migration engine) ----


# ---- report (HTML / Markdown renderers) ----


# ---- verify / audit (Graph) ----


def main() -> None:
    """Entry point of the `smtp2graph` console script."""
    app()
