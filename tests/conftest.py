"""Shared pytest set-up: the ``pwsh`` marker for tests that run real PowerShell."""

from __future__ import annotations

import os

import pytest

from scanner.powershell import find_pester, find_pwsh

PWSH_MISSING = (
    "pwsh (PowerShell 7) and Pester 5 are needed: run `bash .ci/install-powershell` "
    "(installs both from NuGet into ~/.cache/smtp2graph-tools) or put pwsh on PATH"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pwsh: runs real PowerShell 7 (and Pester); skipped without pwsh, fails under CI=true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if find_pwsh() is not None and find_pester() is not None:
        return
    needs = [item for item in items if item.get_closest_marker("pwsh") is not None]
    if not needs:
        return
    if _in_ci():
        # CI must never pass by skipping the PowerShell half of the suite.
        raise pytest.UsageError(f"CI=true but {PWSH_MISSING} ({len(needs)} test(s) need it)")
    skip = pytest.mark.skip(reason=PWSH_MISSING)
    for item in needs:
        item.add_marker(skip)
