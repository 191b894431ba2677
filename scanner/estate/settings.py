"""The configuration every command reads the same way: `.smtp2graph.toml` (or `[tool.smtp2graph]` in
pyproject.toml) at the project root, merged with the command line into the options of one run of
the estate analysis. `scan`, `fix`, `snippet` and the kit all come through here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from scanner.declared import EstateFacts, parse_estate
from scanner.estate.options import ScanOptions
from scanner.migrate.safety import FixStyle
from scanner.model import Severity
from scanner.ruleconfig import RuleConfig
from scanner.rules import catalogue

CONFIG_FILE = ".smtp2graph.toml"


class UsageError(Exception):
    """A mistake in the command line or the configuration: exit code 2 with one line."""


@dataclass
class ProjectConfig:
    """`.smtp2graph.toml` (or `[tool.smtp2graph]` in pyproject.toml) at the scan root."""

    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # glob -> owner
    source: Optional[Path] = None
    estate: EstateFacts = field(default_factory=EstateFacts)


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read configuration: {exc}") from exc


def load_project_config(root: Path, explicit: Optional[Path] = None) -> ProjectConfig:
    """Read the project configuration; unknown keys and wrong types are usage errors naming the file."""
    data: dict[str, Any] = {}
    source: Optional[Path] = None
    if explicit is not None:
        source = explicit
        data = _load_toml(explicit)
        data = data.get("tool", {}).get("smtp2graph", data) if explicit.name == "pyproject.toml" else data
    elif (root / CONFIG_FILE).is_file():
        source = root / CONFIG_FILE
        data = _load_toml(source)
    elif (root / "pyproject.toml").is_file():
        pyproject = _load_toml(root / "pyproject.toml")
        if "smtp2graph" in pyproject.get("tool", {}):
            source = root / "pyproject.toml"
            data = pyproject["tool"]["smtp2graph"]
    config = ProjectConfig(source=source)
    estate_keys = {"exchange-online-hosts", "relay-hosts", "assume"}
    allowed = {"select", "ignore", "exclude", "severity", "per-path-ignores", "owners"} | estate_keys
    try:
        config.estate = parse_estate({k: v for k, v in data.items() if k in estate_keys}, source.name if source is not None else "")
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from exc
    for key, value in data.items():
        if key in estate_keys:
            continue
        if key not in allowed:
            raise UsageError(f"{source}: unknown setting {key!r} (expected one of {', '.join(sorted(allowed))})")
        if key in ("select", "ignore", "exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{source}: {key} must be a list of strings")
            setattr(config, key, value)
        elif key == "severity":
            if not isinstance(value, dict) or not all(v in {s.value for s in Severity} for v in value.values()):
                raise UsageError(f"{source}: severity must map rule ids to one of {', '.join(s.value for s in Severity)}")
            config.severity = {str(k): str(v) for k, v in value.items()}
        elif key == "owners":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise UsageError(f"{source}: owners must map globs to owner names (\"reports/**\" = \"@ops\")")
            config.owners = {str(k): v for k, v in value.items()}
        else:
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise UsageError(f"{source}: per-path-ignores must map globs to lists of rule ids")
            config.per_path_ignores = {str(k): [str(r) for r in v] for k, v in value.items()}
    return config


def usable_cpus() -> int:
    """CPUs this process may run on (a container or `taskset` can allow fewer than the host has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def project_root(paths: list[Path]) -> Path:
    """Where the project configuration is looked for: the folder given, else the current folder."""
    return paths[0] if len(paths) == 1 and paths[0].is_dir() else Path.cwd()


@dataclass
class Settings:
    """One run's configuration: the project file as read, and the options of the estate analysis."""

    project: ProjectConfig
    options: ScanOptions


def estate_settings(
    paths: list[Path],
    *,
    config: Optional[Path] = None,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    respect_gitignore: bool = True,
    jobs: Optional[int] = None,
    use_cache: bool = True,
    cache_dir: Optional[Path] = None,
    max_file_size: int = 10 * 1024 * 1024,
    fix_detail: str = "full",
    fix_style: FixStyle = FixStyle.MODULE,
    judge: str = "auto",
    keep_plans: bool = False,
) -> Settings:
    """The options of one run: the project configuration merged with the command line (its
    --select replaces the file's select; ignore and exclude lists add up). Raises UsageError."""
    if all(not p.exists() for p in paths):
        raise UsageError(f"{paths[0]}: no such file or directory")
    project = load_project_config(project_root(paths), config)
    known = catalogue()
    for rid in [*select, *ignore, *project.select, *project.ignore]:
        if not any(r.startswith(rid.upper()) for r in known):
            raise UsageError(f"unknown rule or prefix {rid!r} (see `smtp2graph rules`)")
    rules = RuleConfig(
        select=tuple(select or project.select),
        ignore=tuple([*ignore, *project.ignore]),
        severity_overrides=tuple(sorted(project.severity.items())),
        per_path_ignores=tuple((glob, tuple(rules)) for glob, rules in sorted(project.per_path_ignores.items())),
    )
    workers = jobs if jobs is not None else usable_cpus()
    if workers < 1:
        raise UsageError("--jobs must be at least 1")
    options = ScanOptions(
        rules=rules,
        jobs=workers,
        use_cache=use_cache,
        cache_dir=cache_dir,
        excludes=tuple([*exclude, *project.exclude]),
        respect_gitignore=respect_gitignore,
        max_bytes=max_file_size,
        estate=project.estate,
        fix_detail=fix_detail,
        fix_style=fix_style,
        judge=judge,
        keep_plans=keep_plans,
    )
    return Settings(project, options)
