"""The wheel carries the rule catalogue, the report templates and the module templates under `scanner`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_maps_rules_and_reports_into_the_package(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("smtp2graph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule in (ROOT / "rules").glob("*.py"):
        assert f"scanner/rules/{rule.name}" in names
    for template in (ROOT / "reports" / "templates").glob("*"):
        assert f"scanner/reports/templates/{template.name}" in names
    assert "scanner/reports/json_report.py" in names
    # Every package of the source tree is in the wheel (pyproject lists them one by one).
    for init in (ROOT / "scanner").rglob("__init__.py"):
        if "templates" not in init.parts:
            assert init.relative_to(ROOT).as_posix() in names, f"{init.parent.name} is missing from pyproject's packages"
    assert not any(n.startswith(("rules/", "reports/", "tests/", "examples/")) for n in names)
    module_templates = [n for n in names if n.startswith("scanner/migrate/templates/")]
    assert any(n.endswith(".psm1") or n.endswith(".psm1.j2") for n in module_templates), module_templates
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "smtp2graph = scanner.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

