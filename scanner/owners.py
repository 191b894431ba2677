"""Who owns each finding, in which repository, and by when: CODEOWNERS, the `owners` map, git blame.

The owner of a finding comes from the first source that names one:

1. a CODEOWNERS file (``.github/CODEOWNERS``, ``CODEOWNERS`` or ``docs/CODEOWNERS``) of the
   finding's repository, then of the scan root (GitHub's rules: the last matching pattern wins);
2. the ``owners`` map of ``.smtp2graph.toml`` (gitignore-style glob relative to the scan root →
   owner; the last matching glob wins, as in CODEOWNERS);
3. the last author of the call's line (``git blame``), only when the file is in a git work tree.

Repositories are git roots found below the scan root, the git repository the scan root is in, or
else the top folders of the scan root: a folder holding 22 checked-out repositories is 22
repositories, never one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

import pathspec

from scanner.model import Ownership, OwnerSource, RepositoryInfo, ScanResult

# Exchange Online disables SMTP AUTH basic auth by default at the end of December 2026 (GRAPH_NOTES.md).
CUT_OVER = date(2026, 12, 31)
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# What a report says where a finding has no owner: how to name one (every source above, in its order).
HOW_TO_NAME_OWNERS = (
    'Name an owner in a CODEOWNERS file of the repository (a line such as "/scripts/hr/ @contoso/hr-team") or in '
    'the [owners] map of .smtp2graph.toml at the scan root ("hr-tools/**" = "hr@contoso.com"), then scan again; '
    "in a git work tree the last author of the line is the owner unless --no-blame is given."
)
_BLAME_TIMEOUT = 60.0
_NOT_COMMITTED = "not.committed.yet"


@dataclass(frozen=True)
class _Repo:
    name: str
    folder: Path  # absolute
    prefix: str  # the repository folder relative to the scan root ("" root, ".." above it)
    kind: str  # git | folder


@dataclass
class OwnerSettings:
    """What decides owners and due dates besides the files themselves."""

    owners: dict[str, str] = field(default_factory=dict)  # glob -> owner, from .smtp2graph.toml
    deadline: date = CUT_OVER
    use_git: bool = True


def _has_git(folder: Path) -> bool:
    return (folder / ".git").exists()


class RepositoryMap:
    """Which repository each scanned file belongs to (memoized per folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._root_text = str(self.root)
        self._folder_repo: dict[str, Optional[_Repo]] = {}
        self._top_folders: dict[str, _Repo] = {}
        self._enclosing = self._enclosing_repository()

    def _enclosing_repository(self) -> Optional[_Repo]:
        """The git work tree the scan root is inside (the root itself included), if any."""
        for folder in (self.root, *self.root.parents):
            if _has_git(folder):
                rel = os.path.relpath(self.root, folder)
                prefix = "" if rel == "." else ".."
                return _Repo(folder.name or str(folder), folder, prefix, "git")
        return None

    def _nested_git_root(self, folder_rel: str) -> Optional[_Repo]:
        """The deepest folder at or above `folder_rel` (root-relative) and strictly below the root with a .git."""
        if folder_rel in self._folder_repo:
            return self._folder_repo[folder_rel]
        found: Optional[_Repo] = None
        if folder_rel:
            if os.path.exists(os.path.join(self._root_text, folder_rel, ".git")):  # strings: one stat per folder
                found = _Repo(folder_rel, self.root / folder_rel, folder_rel, "git")
            else:
                found = self._nested_git_root(folder_rel.rpartition("/")[0])
        self._folder_repo[folder_rel] = found
        return found

    def repository(self, rel_path: str) -> tuple[_Repo, str]:
        """(the repository of a root-relative file path, the path relative to that repository)."""
        nested = self._nested_git_root(rel_path.rpartition("/")[0])
        if nested is not None:
            return nested, rel_path[len(nested.prefix) + 1 :]
        if self._enclosing is not None:
            enclosing = self._enclosing
            if enclosing.prefix:
                inner = (self.root / rel_path).relative_to(enclosing.folder).as_posix()
                return enclosing, inner
            return enclosing, rel_path
        head, sep, tail = rel_path.partition("/")
        if sep:
            top = self._top_folders.get(head)
            if top is None:
                top = self._top_folders[head] = _Repo(head, self.root / head, head, "folder")
            return top, tail
        return _Repo(self.root.name or str(self.root), self.root, "", "folder"), rel_path


def _codeowners_of(folder: Path) -> Optional[object]:
    from codeowners import CodeOwners

    for location in CODEOWNERS_LOCATIONS:
        path = folder / location
        if path.is_file():
            try:
                return CodeOwners(path.read_text(encoding="utf-8-sig", errors="replace"))
            except (OSError, ValueError):
                return None
    return None


class OwnerResolver:
    """Owner of a line of a scanned file; CODEOWNERS files and blame results are read once."""

    def __init__(self, root: Path, settings: OwnerSettings) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.repos = RepositoryMap(self.root)
        self._codeowners: dict[Path, Optional[object]] = {}
        self._specs = [
            (pathspec.GitIgnoreSpec.from_lines([glob]), owner) for glob, owner in settings.owners.items()
        ]
        self._git = shutil.which("git") if settings.use_git else None
        self._blame: dict[tuple[Path, str], dict[int, str]] = {}

    def _codeowners_owner(self, folder: Path, path: str) -> str:
        if folder not in self._codeowners:
            self._codeowners[folder] = _codeowners_of(folder)
        owners = self._codeowners[folder]
        if owners is None:
            return ""
        try:
            matched = owners.of(path)  # type: ignore[attr-defined]
        except (ValueError, IndexError):  # a malformed pattern: no owner from this file
            return ""
        return " ".join(str(name) for _kind, name in matched)

    def _config_owner(self, rel_path: str) -> str:
        owner = ""
        for spec, name in self._specs:
            if spec.match_file(rel_path):
                owner = name
        return owner

    def prefetch_blame(self, wanted: dict[str, set[int]]) -> None:
        """Blame every wanted line of every file with one `git blame` per file."""
        if self._git is None:
            return
        for rel_path, lines in wanted.items():
            repo, inner = self.repos.repository(rel_path)
            if repo.kind != "git" or (repo.folder, inner) in self._blame:
                continue
            self._blame[(repo.folder, inner)] = self._run_blame(repo.folder, inner, sorted(lines))

    def _run_blame(self, folder: Path, inner: str, lines: list[int]) -> dict[int, str]:
        assert self._git is not None
        ranges: list[str] = []
        for line in lines:
            ranges += ["-L", f"{line},{line}"]
        try:
            completed = subprocess.run(
                [self._git, "-C", str(folder), "blame", "--porcelain", *ranges, "--", inner],
                capture_output=True, timeout=_BLAME_TIMEOUT, check=False,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            )
        except (OSError, subprocess.TimeoutExpired):
            return {}
        if completed.returncode != 0:  # untracked file, line past the end, not a work tree
            return {}
        return _parse_porcelain(completed.stdout.decode("utf-8", errors="replace"))

    def ownership(self, rel_path: str, line: int) -> Ownership:
        """Repository, owner (with its source) and due date of the finding at `rel_path:line`."""
        repo, inner = self.repos.repository(rel_path)
        due = self.settings.deadline.isoformat()
        owner = self._codeowners_owner(repo.folder, inner)
        if not owner and repo.folder != self.root:
            owner = self._codeowners_owner(self.root, rel_path)
        if owner:
            return Ownership(repo.name, inner, owner, OwnerSource.CODEOWNERS, due)
        owner = self._config_owner(rel_path)
        if owner:
            return Ownership(repo.name, inner, owner, OwnerSource.CONFIG, due)
        if repo.kind == "git" and self._git is not None:
            blamed = self._blame.get((repo.folder, inner))
            if blamed is None:
                blamed = self._blame[(repo.folder, inner)] = self._run_blame(repo.folder, inner, [line])
            author = blamed.get(line, "")
            if author:
                return Ownership(repo.name, inner, author, OwnerSource.GIT_BLAME, due)
        return Ownership(repo.name, inner, "", OwnerSource.NONE, due)


def _parse_porcelain(text: str) -> dict[int, str]:
    """Line number -> author e-mail (or name) from `git blame --porcelain` output."""
    authors: dict[str, tuple[str, str]] = {}
    result: dict[int, str] = {}
    commit, final_line = "", 0
    name = mail = ""
    for raw in text.splitlines():
        if raw.startswith("\t"):
            known = authors.get(commit)
            if known is None:
                known = authors[commit] = (name, mail)
            who_name, who_mail = known
            if who_mail and _NOT_COMMITTED not in who_mail:
                result[final_line] = who_mail
            elif who_name and who_name != "Not Committed Yet":
                result[final_line] = who_name
            name = mail = ""
            continue
        parts = raw.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and all(c in "0123456789abcdef" for c in parts[0]):
            commit, final_line = parts[0], int(parts[2])
        elif raw.startswith("author "):
            name = raw[len("author ") :]
        elif raw.startswith("author-mail "):
            mail = raw[len("author-mail ") :].strip("<>")
    return result


def assign_owners(result: ScanResult, settings: OwnerSettings) -> None:
    """Give every finding of `result` its repository, owner and due date, and list the repositories."""
    resolver = OwnerResolver(Path(result.root), settings)
    result.deadline = settings.deadline.isoformat()
    wanted: dict[str, set[int]] = defaultdict(set)
    for finding in result.findings:
        wanted[finding.location.path].add(finding.location.line)
    resolver.prefetch_blame(wanted)
    for finding in result.findings:
        finding.ownership = resolver.ownership(finding.location.path, finding.location.line)
    counts: Counter[_Repo] = Counter()
    # The repository depends only on a file's folder: one lookup per folder, not per file.
    per_folder: Counter[str] = Counter(rel_path.rpartition("/")[0] for rel_path in result.scanned_paths or sorted(wanted))
    for folder, count in per_folder.items():
        counts[resolver.repos.repository(f"{folder}/_" if folder else "_")[0]] += count
    for finding in result.findings:  # a finding in a file the list does not hold still names a repository
        repo = resolver.repos.repository(finding.location.path)[0]
        counts.setdefault(repo, 0)
    result.repositories = sorted(
        (RepositoryInfo(repo.name, repo.prefix, repo.kind, count) for repo, count in counts.items()),
        key=lambda info: info.name,
    )



def parse_deadline(text: Optional[str]) -> date:
    """The --deadline value (YYYY-MM-DD), or the cut-over date when none is given."""
    if not text:
        return CUT_OVER
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--deadline {text!r}: expected a date as YYYY-MM-DD (e.g. 2026-11-30)") from None


def filter_findings(result: ScanResult, owners: list[str], repositories: list[str]) -> None:
    """Keep only the findings of these owners and in these repositories (case-insensitive; empty: all).

    An owner matches a finding whose owner list names it (`@ops` matches "@ops @sec"); `none` selects
    findings nobody owns.
    """
    if owners:
        wanted = {owner.lower() for owner in owners}

        def owned(owner: str) -> bool:
            names = {name.lower() for name in owner.split()}
            return bool(names & wanted) or (not names and "none" in wanted)

        result.findings = [f for f in result.findings if f.ownership is not None and owned(f.ownership.owner)]
    if repositories:
        wanted_repos = {name.lower() for name in repositories}
        result.findings = [
            f for f in result.findings if f.ownership is not None and f.ownership.repository.lower() in wanted_repos
        ]
