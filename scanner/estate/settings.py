"""The configuration every command reads the same way: `.smtp2graph.toml` (or `[tool.smtp2graph]` in
pyproject.toml) at the project root, merged with the command line into the options of one run of
the estate analysis. `scan`, `fix`, `snippet` and the kit all come through here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from scanner.declared import EstateFacts, kind_of, parse_estate
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
        raise UsageError(f"{path}: cannot read configuration: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: cannot read configuration: nested too deeply (arrays or tables inside each "
                         "other hundreds of levels down)") from None


def _table(value: object, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: {key}: expected a table, got {kind_of(value)}")
    return value


def load_project_config(root: Path, explicit: Optional[Path] = None) -> ProjectConfig:
    """Read the project configuration; unknown keys and wrong types are usage errors naming the file."""
    data: dict[str, Any] = {}
    source: Optional[Path] = None
    if explicit is not None:
        source = explicit
        data = _load_toml(explicit)
        if explicit.name == "pyproject.toml":
            tool = _table(data.get("tool", {}), str(explicit), "tool")
            data = _table(tool["smtp2graph"], str(explicit), "tool.smtp2graph") if "smtp2graph" in tool else data
    elif (root / CONFIG_FILE).is_file():
        source = root / CONFIG_FILE
        data = _load_toml(source)
    elif (root / "pyproject.toml").is_file():
        pyproject = _load_toml(root / "pyproject.toml")
        tool = pyproject.get("tool", {})
        # Another tool's business when `tool` is not a table: only [tool.smtp2graph] is ours to judge.
        if isinstance(tool, dict) and "smtp2graph" in tool:
            source = root / "pyproject.toml"
            data = _table(tool["smtp2graph"], str(source), "tool.smtp2graph")
    config = ProjectConfig(source=source)
    if not isinstance(data, dict):  # pragma: no cover - tomllib always returns a table
        raise UsageError(f"{source}: expected a table of settings")
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
                raise UsageError(f"{source}: {key}: expected an array of strings, got {_describe(value)}")
            setattr(config, key, value)
        elif key == "severity":
            levels = {s.value for s in Severity}
            table = _table(value, str(source), key)
            for rule, level in table.items():
                if not isinstance(level, str) or level not in levels:
                    raise UsageError(f"{source}: severity.{rule}: expected one of {', '.join(sorted(levels))}, got {_describe(level)}")
            config.severity = {str(k): str(v) for k, v in table.items()}
        elif key == "owners":
            table = _table(value, str(source), key)
            for glob, owner in table.items():
                if not isinstance(owner, str):
                    raise UsageError(f"{source}: owners.\"{glob}\": expected an owner name as a string (\"reports/**\" = \"@ops\"), got {_describe(owner)}")
                _check_glob(str(source), f'owners."{glob}"', glob)
            config.owners = {str(k): v for k, v in table.items()}
        else:
            table = _table(value, str(source), key)
            for glob, rules in table.items():
                if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
                    raise UsageError(f"{source}: per-path-ignores.\"{glob}\": expected an array of rule ids, got {_describe(rules)}")
            config.per_path_ignores = {str(k): [str(r) for r in v] for k, v in table.items()}
    return config


def _describe(value: object) -> str:
    text = repr(value)
    return f"{kind_of(value)} ({text[:40]}{'…' if len(text) > 40 else ''})"


def _check_glob(where: str, key: str, glob: str) -> None:
    """A gitignore-style glob the pattern library compiles, or a UsageError naming it."""
    import pathspec

    try:
        pathspec.GitIgnoreSpec.from_lines([glob])
    except Exception as exc:  # noqa: BLE001 - re.error, ValueError …: whatever the library says is wrong with it
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{where}: {key}: not a valid glob ({reason})") from None


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
    if max_file_size < 1:
        raise UsageError(f"--max-file-size must be at least 1 byte (got {max_file_size})")
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
